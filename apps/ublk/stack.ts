/**
 * The in-process stack behind `ublk run/bench/add/features`: a `ModelKernel` (sync or native
 * data backend) with `IORING_OP_FUSED_CMD` and the ublk driver installed, and the targets the
 * CLI knows (null, loop, nbd) turned into running devices.
 *
 * @module
 */

import type { IoBackend } from "@ublk-ts/ring";
import { ModelKernel } from "@ublk-ts/model";
import { installFusedCmd } from "@ublk-ts/fused-cmd";
import { createDevice, type Target, UblkCtrl, type UblkDevice } from "@ublk-ts/ublk";
import { installUblk } from "@ublk-ts/ublk-drv";
import { LoopTarget, NbdTarget, NullTarget } from "@ublk-ts/targets";
import { NativeBackend } from "@ublk-ts/native";
import type { DeviceOptions } from "./device_options.ts";
import type { WorkloadDevice } from "./workload.ts";
import { formatSize } from "./units.ts";

/** Options of {@linkcode openStack}. */
export interface StackOptions {
  /** Run the model's data ops on the real io_uring (`@ublk-ts/native`). */
  native: boolean;
}

/** A device made by {@linkcode Stack.addDevice}. */
export interface RunningDevice {
  /** N of `/dev/ublkbN`. */
  readonly devId: number;
  /** Size in bytes. */
  readonly size: number;
  /** The block device. */
  readonly bdev: WorkloadDevice;
  /** The ublk device (control, queues, block device). */
  readonly device: UblkDevice;
  /** How the target serves it, e.g. `O_DIRECT`, `buffered`, `sync backend`. */
  readonly note: string;
  /** Several lines: dev_info and params as the driver reports them. */
  describe(): string;
  /** STOP_DEV, DEL_DEV, closes the target. Safe twice. */
  delete(): Promise<void>;
}

/** The kernel with fused-cmd and ublk installed. */
export interface Stack {
  /** The model kernel. */
  readonly kernel: ModelKernel;
  /** The data backend's name ("sync" or "native"). */
  readonly backend: string;
  /**
   * UBLK_U_CMD_GET_FEATURES of the model driver.
   *
   * @returns The UBLK_F_* mask.
   */
  features(): Promise<bigint>;
  /**
   * Makes the target (checking its inputs before any device exists) and the device.
   *
   * @param o Checked device options.
   * @returns The running device.
   */
  addDevice(o: DeviceOptions): Promise<RunningDevice>;
  /** Deletes what is left and closes the kernel. */
  close(): Promise<void>;
}

function nativeBackend(): IoBackend & { close(): void } {
  try {
    return new NativeBackend();
  } catch (e) {
    throw new Error(`Cannot use --native: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
    });
  }
}

/**
 * Makes the target for `o`. Loop checks its backing file and nbd connects before any device
 * exists, so bad input fails here.
 *
 * @param kernel The kernel (opens the loop backing file).
 * @param o The options.
 * @returns The target.
 */
export async function makeTarget(kernel: ModelKernel, o: DeviceOptions): Promise<Target> {
  switch (o.type) {
    case "null":
      return new NullTarget(o.size === undefined ? {} : { size: o.size });
    case "loop":
      return new LoopTarget(kernel, o.file!, { direct: !o.bufferedIo });
    case "nbd":
      return await NbdTarget.connect({
        ...(o.unix !== undefined ? { path: o.unix } : { hostname: o.host!, port: o.port }),
        exportName: o.exportName,
        zeroCopy: o.zeroCopy,
        sendZc: o.sendZc,
        kernel,
      });
  }
}

/**
 * Builds the stack.
 *
 * @param options Native or sync data backend.
 * @returns The stack.
 * @throws {Error} when `--native` is asked for and unavailable.
 */
export function openStack(options: StackOptions): Stack {
  const backend = options.native ? nativeBackend() : undefined;
  const kernel = new ModelKernel(backend ? { backend } : {});
  installFusedCmd(kernel);
  installUblk(kernel); // fused zero copy: hands buffers over through @ublk-ts/fused-cmd
  const devices = new Set<RunningDevice>();
  return {
    kernel,
    backend: kernel.backend.name,
    async features(): Promise<bigint> {
      const ctrl = UblkCtrl.open(kernel);
      try {
        return await ctrl.getFeatures();
      } finally {
        ctrl.close();
      }
    },
    async addDevice(o: DeviceOptions): Promise<RunningDevice> {
      const target = await makeTarget(kernel, o);
      let device: UblkDevice;
      try {
        device = await createDevice(kernel, target, {
          queues: o.queues,
          depth: o.depth,
          zeroCopy: o.zeroCopy,
        });
      } catch (e) {
        await target.close?.();
        throw e;
      }
      let deleted = false;
      const running: RunningDevice = {
        devId: device.id,
        size: device.bdev.size,
        bdev: device.bdev,
        device,
        note: [
          kernel.backend.name + " backend",
          ...(target instanceof LoopTarget
            ? [
              kernel.backend.name === "sync"
                ? "page cache: the sync backend has no O_DIRECT"
                : target.direct
                ? "O_DIRECT"
                : o.bufferedIo
                ? "page cache"
                : "page cache: O_DIRECT refused",
            ]
            : []),
        ].join(", "),
        describe(): string {
          const i = device.info;
          return [
            `dev_id ${i.devId}  state ${i.state === 1 ? "LIVE" : i.state}`,
            `nr_hw_queues ${i.nrHwQueues}  queue_depth ${i.queueDepth}  max_io_buf_bytes ${
              formatSize(i.maxIoBufBytes)
            }`,
            `flags 0x${i.flags.toString(16)}  size ${
              formatSize(device.bdev.size)
            }  target ${device.target.name}`,
          ].join("\n");
        },
        async delete(): Promise<void> {
          if (deleted) return;
          deleted = true;
          devices.delete(running);
          await device.stop();
        },
      };
      devices.add(running);
      return running;
    },
    async close(): Promise<void> {
      for (const d of [...devices]) await d.delete();
      kernel.close();
      backend?.close();
    },
  };
}
