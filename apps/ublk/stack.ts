/**
 * The in-process stack behind `ublk run/bench/add/features`: a `ModelKernel` (sync or native
 * data backend) with `IORING_OP_FUSED_CMD` and the ublk driver installed, and the targets the
 * CLI knows (null, loop, nbd) turned into running devices.
 *
 * @module
 */

import type { IoBackend, Kernel } from "@ublk-ts/ring";
import {
  UBLK_S_DEV_DEAD,
  UBLK_S_DEV_FAIL_IO,
  UBLK_S_DEV_LIVE,
  UBLK_S_DEV_QUIESCED,
} from "@ublk-ts/uapi";
import { ModelKernel } from "@ublk-ts/model";
import { installFusedCmd } from "@ublk-ts/fused-cmd";
import {
  bestZeroCopy,
  createDevice,
  type DataMode,
  DataModeError,
  dataModeRefusal,
  type Target,
  UblkCtrl,
  type UblkDevice,
} from "@ublk-ts/ublk";
import { installUblk } from "@ublk-ts/ublk-drv";
import { LoopTarget, NbdTarget, NullTarget } from "@ublk-ts/targets";
import { NativeBackend, NativeKernel } from "@ublk-ts/native";
import { describeDeviceOptions, type DeviceOptions } from "./device_options.ts";
import type { WorkloadDevice } from "./workload.ts";
import { formatSize } from "./units.ts";
import { describeLegTarget, makeLegTarget } from "./legs.ts";

/** Options of {@linkcode openStack}. */
export interface StackOptions {
  /** Run the model's data ops on the real io_uring (`@ublk-ts/native`). */
  native: boolean;
  /** The real kernel's io_uring and ublk driver (`/dev/ublk-control`) instead of the model. */
  real?: boolean;
}

/**
 * The name of a `UBLK_S_DEV_*` state.
 *
 * @param state The state number.
 * @returns `LIVE`, `QUIESCED`, `FAIL_IO`, `DEAD`, or `state N`.
 */
export function stateName(state: number): string {
  switch (state) {
    case UBLK_S_DEV_DEAD:
      return "DEAD";
    case UBLK_S_DEV_LIVE:
      return "LIVE";
    case UBLK_S_DEV_QUIESCED:
      return "QUIESCED";
    case UBLK_S_DEV_FAIL_IO:
      return "FAIL_IO";
    default:
      return `state ${state}`;
  }
}

/** A device made by {@linkcode Stack.addDevice}. */
export interface RunningDevice {
  /** N of `/dev/ublkbN`. */
  readonly devId: number;
  /** Size in bytes. */
  readonly size: number;
  /** The block device (model only: on a real kernel open `/dev/ublkbN`). */
  readonly bdev: WorkloadDevice;
  /** Hardware queues asked for. */
  readonly queuesAsked: number;
  /** The ublk device (control, queues, block device). */
  readonly device: UblkDevice;
  /** How the target serves it, e.g. `O_DIRECT`, `buffered`, `sync backend`. */
  readonly note: string;
  /**
   * Several lines: dev_info and params as the driver reports them.
   *
   * @param state The device state to show (default LIVE).
   */
  describe(state?: number): string;
  /** STOP_DEV, DEL_DEV, closes the target. Safe twice. */
  delete(): Promise<void>;
}

/** The kernel with fused-cmd and ublk installed. */
export interface Stack<K extends Kernel = ModelKernel> {
  /** The kernel (a ModelKernel, or the NativeKernel of a real ublk driver). */
  readonly kernel: K;
  /** Whether this is the real kernel. */
  readonly real: boolean;
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
  /**
   * Wraps a device made elsewhere (recovery) as a running device of this stack.
   *
   * @param device The device.
   * @param target Its target.
   * @param o Its options.
   * @param realSize Its size (real kernel; the model reads it from the block device).
   * @returns The running device.
   */
  wrap(device: UblkDevice, target: Target, o: DeviceOptions, realSize: number): RunningDevice;
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
export async function makeTarget(kernel: Kernel, o: DeviceOptions): Promise<Target> {
  switch (o.type) {
    case "null":
      return new NullTarget(o.size === undefined ? {} : { size: o.size });
    case "loop":
      return new LoopTarget(kernel, o.file!, { direct: !o.bufferedIo, readOnly: o.readOnly });
    case "nbd": {
      if (o.zeroCopy && !(kernel instanceof ModelKernel)) {
        throw new Error(
          "Cannot serve nbd with zero copy on the real ublk driver: the connection is Deno's socket, which the queue's ring cannot name (use copy or -u)",
        );
      }
      return await NbdTarget.connect({
        ...(o.unix !== undefined ? { path: o.unix } : { hostname: o.host!, port: o.port }),
        exportName: o.exportName,
        zeroCopy: o.zeroCopy,
        sendZc: o.sendZc,
        ...(kernel instanceof ModelKernel ? { kernel } : {}),
        ...(o.timeout !== undefined ? { timeout: o.timeout } : {}),
        ...(o.reconnect > 0 ? { reconnect: o.reconnect } : {}),
        readOnly: o.readOnly,
      });
    }
    case "stripe":
    case "mirror":
    case "fault_inject":
      return await makeLegTarget(
        kernel,
        { type: o.type, legs: o.legs!, zeroCopy: o.zeroCopy, bufferedIo: o.bufferedIo },
        (m) => console.error(`ublk: ${m}`),
      );
  }
}

/**
 * Builds the stack.
 *
 * @param options Native or sync data backend.
 * @returns The stack.
 * @throws {Error} when `--native` is asked for and unavailable.
 */
export function openStack(options: StackOptions & { real?: false }): Stack;
export function openStack(options: StackOptions): Stack<Kernel>;
export function openStack(options: StackOptions): Stack<Kernel> {
  const real = options.real === true;
  const backend = options.native && !real ? nativeBackend() : undefined;
  let kernel: Kernel;
  let backendName: string;
  if (real) {
    const native = new NativeKernel();
    kernel = native;
    backendName = "native io_uring";
  } else {
    const model = new ModelKernel(backend ? { backend } : {});
    installFusedCmd(model);
    installUblk(model); // fused zero copy: hands buffers over through @ublk-ts/fused-cmd
    kernel = model;
    backendName = model.backend.name;
  }
  const devices = new Set<RunningDevice>();
  return {
    kernel,
    real,
    backend: backendName,
    async features(): Promise<bigint> {
      const ctrl = UblkCtrl.open(kernel);
      try {
        return await ctrl.getFeatures();
      } finally {
        ctrl.close();
      }
    },
    async addDevice(asked: DeviceOptions): Promise<RunningDevice> {
      const kernelName = real ? (/^\d+\.\d+/.exec(Deno.osRelease())?.[0] ?? "this") : "model";
      let mode: DataMode;
      if (asked.dataMode === "best") {
        const features = await this.features();
        const best = bestZeroCopy(features);
        if (best === null) {
          throw new DataModeError(
            "register",
            dataModeRefusal("register", features, false, kernelName)!,
          );
        }
        mode = best;
      } else {
        mode = asked.dataMode;
      }
      if (real && mode === "fused") {
        throw new Error(
          "Cannot use --zc-mode fused on the real ublk driver: IORING_OP_FUSED_CMD is the 2023 RFC, never merged (use --model, or -z for the kernel's zero copy)",
        );
      }
      const o: DeviceOptions = { ...asked, dataMode: mode };
      const target = await makeTarget(kernel, o);
      let device: UblkDevice;
      try {
        device = await createDevice(kernel, target, {
          devId: o.devId,
          queues: o.queues,
          depth: o.depth,
          dataMode: mode,
          ...(mode === "auto" && o.autoFallback !== false ? { autoFallback: o.autoFallback } : {}),
          kernelName,
          needGetData: o.needGetData,
          userRecovery: o.userRecovery,
          userRecoveryFailIo: o.recoveryFailIo,
          userRecoveryReissue: o.recoveryReissue,
        });
      } catch (e) {
        await target.close?.();
        throw e;
      }
      const size = real ? Number((await device.ctrl.getParams()).basic.devSectors) * 512 : 0;
      return wrap(device, target, o, size);
    },
    wrap,
    async close(): Promise<void> {
      for (const d of [...devices]) await d.delete();
      if (kernel instanceof ModelKernel) kernel.close();
      backend?.close();
    },
  };

  function wrap(
    device: UblkDevice,
    target: Target,
    o: DeviceOptions,
    realSize: number,
  ): RunningDevice {
    let deleted = false;
    const size = real ? realSize : device.bdev.size;
    const running: RunningDevice = {
      devId: device.id,
      size,
      get bdev(): WorkloadDevice {
        return device.bdev;
      },
      queuesAsked: o.queues,
      device,
      note: [
        backendName + " backend",
        ...(target instanceof LoopTarget
          ? [
            backendName === "sync"
              ? "page cache: the sync backend has no O_DIRECT"
              : target.direct
              ? "O_DIRECT"
              : o.bufferedIo
              ? "page cache"
              : "page cache: O_DIRECT refused",
          ]
          : []),
      ].join(", "),
      describe(state?: number): string {
        const i = device.info;
        return [
          `dev_id ${i.devId}  state ${stateName(state ?? UBLK_S_DEV_LIVE)}`,
          `nr_hw_queues ${i.nrHwQueues}  queue_depth ${i.queueDepth}  max_io_buf_bytes ${
            formatSize(i.maxIoBufBytes)
          }`,
          `flags 0x${i.flags.toString(16)}  size ${formatSize(size)}  target ${device.target.name}`,
          ...describeLegTarget(device.target),
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
  }
}

/**
 * The header line of a running device: size and the options the driver granted (it clamps
 * queues to nr_cpu_ids, which the line says).
 *
 * @param dev The device.
 * @param o The options it was made with.
 * @returns `/dev/ublkb0: 8m, loop /tmp/x.img, 2 queues x 128 tags, copy (sync backend, …)`.
 */
export function describeRunning(dev: RunningDevice, o: DeviceOptions): string {
  const queues = dev.device.info.nrHwQueues;
  const granted = { ...o, queues, depth: dev.device.info.queueDepth };
  const clamped = queues !== dev.queuesAsked
    ? ` (asked for ${dev.queuesAsked} queues: the driver clamps to nr_cpu_ids, ${queues})`
    : "";
  return `/dev/ublkb${dev.devId}: ${formatSize(dev.size)}, ${
    describeDeviceOptions(granted)
  }${clamped} (${dev.note})`;
}
