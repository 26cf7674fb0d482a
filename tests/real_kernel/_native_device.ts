/**
 * A ublk device of the REAL `ublk_drv` served by this process with the project's server
 * library (`UblkCtrl`, `UblkQueue` of `@ublk-ts/ublk`) on `@ublk-ts/native` rings: what
 * `createDevice` does on the model, minus the model-only parts (the driver lookup for the
 * descriptor `mmap` and the in-process block device). The io descriptor area is mapped here
 * with `mmap(2)` through the native library's `syscall` symbol.
 *
 * @module
 */

import {
  ErrnoError,
  UBLK_CMD_DEL_DEV,
  UBLK_CMD_END_USER_RECOVERY,
  UBLK_CMD_START_USER_RECOVERY,
  UBLK_CMD_STOP_DEV,
  UBLK_U_CMD_DEL_DEV,
  UBLK_U_CMD_END_USER_RECOVERY,
  UBLK_U_CMD_START_USER_RECOVERY,
  UBLK_U_CMD_STOP_DEV,
  type UblksrvCtrlDevInfoValue,
} from "@ublk-ts/uapi";
import { type Target, UblkCtrl, UblkQueue } from "@ublk-ts/ublk";
import type { NativeKernel } from "@ublk-ts/native";

const SYS_MMAP = 9n;
const SYS_MUNMAP = 11n;
const PROT_READ = 1n;
const MAP_SHARED = 1n;
const PAGE = 4096;
/** `ublk_max_cmd_buf_size()`: UBLK_MAX_QUEUE_DEPTH (4096) descriptors of 24 bytes. */
const MAX_CMD_BUF = Math.ceil((4096 * 24) / PAGE) * PAGE;

/** A read-only shared mapping of a char device. */
interface Mapping {
  readonly buffer: ArrayBuffer;
  readonly addr: bigint;
  readonly len: number;
}

function mmapRead(kernel: NativeKernel, fd: number, offset: number, len: number): Mapping {
  const libc = kernel.library.libc;
  const r = BigInt(
    libc.syscall(SYS_MMAP, 0n, BigInt(len), PROT_READ, MAP_SHARED, BigInt(fd), BigInt(offset)),
  );
  if (r < 0n) throw new ErrnoError(kernel.library.errno(), { op: "mmap /dev/ublkc" });
  const ptr = Deno.UnsafePointer.create(r);
  if (ptr === null) throw new ErrnoError(14, { op: "mmap /dev/ublkc" });
  return { buffer: Deno.UnsafePointerView.getArrayBuffer(ptr, len), addr: r, len };
}

/** Options of {@linkcode NativeDevice.create}. */
export interface NativeDeviceOptions {
  /** Tags per queue (default 16). */
  depth?: number;
  /** Hardware queues (default 1). */
  queues?: number;
  /** `max_io_buf_bytes` (default 512 KiB). */
  maxIoBufBytes?: number;
  /** Extra UBLK_F_* flags. */
  flags?: bigint;
  /** Legacy control and io opcodes instead of the ioctl-encoded ones. */
  legacyOpcodes?: boolean;
}

/** A started device served by this process on the real driver. */
export class NativeDevice {
  /** The control client. */
  readonly ctrl: UblkCtrl;
  /** The negotiated device info. */
  readonly info: UblksrvCtrlDevInfoValue;
  /** The target. */
  readonly target: Target;
  readonly #kernel: NativeKernel;
  readonly #legacy: boolean;
  #queues: UblkQueue[] = [];
  #maps: Mapping[] = [];
  #charFd = -1;
  #stopped = false;

  private constructor(
    kernel: NativeKernel,
    ctrl: UblkCtrl,
    info: UblksrvCtrlDevInfoValue,
    target: Target,
    legacy: boolean,
  ) {
    this.#kernel = kernel;
    this.ctrl = ctrl;
    this.info = info;
    this.target = target;
    this.#legacy = legacy;
  }

  /** The current server's queues. */
  get queues(): readonly UblkQueue[] {
    return this.#queues;
  }

  /** Opens `/dev/ublkcN`, maps each queue's descriptors and FETCHes every tag. */
  #startServer(): void {
    const info = this.info;
    const fd = this.#kernel.open(`/dev/ublkc${info.devId}`, 2 /* O_RDWR */);
    if (fd < 0) throw ErrnoError.fromResult(fd, `open /dev/ublkc${info.devId}`);
    this.#charFd = fd;
    const iodLen = Math.ceil((info.queueDepth * 24) / PAGE) * PAGE;
    for (let q = 0; q < info.nrHwQueues; q++) {
      const m = mmapRead(this.#kernel, fd, q * MAX_CMD_BUF, iodLen);
      this.#maps.push(m);
      this.#queues.push(
        new UblkQueue(this.#kernel, info, q, fd, this.target, {
          descriptors: m.buffer,
          legacyOpcodes: this.#legacy,
        }),
      );
    }
    for (const q of this.#queues) q.start();
  }

  /** Closes the queue rings, unmaps the descriptors, closes `/dev/ublkcN`. */
  #closeServer(): void {
    for (const q of this.#queues) q.close();
    this.#queues = [];
    for (const m of this.#maps.splice(0)) {
      this.#kernel.library.libc.syscall(SYS_MUNMAP, m.addr, BigInt(m.len), 0n, 0n, 0n, 0n);
    }
    if (this.#charFd >= 0) {
      this.#kernel.closeFd(this.#charFd);
      this.#charFd = -1;
    }
  }

  /** Closes only the queue rings (the kernel cancels their FETCHes); `/dev/ublkcN` stays open. */
  killQueues(): void {
    for (const q of this.#queues) q.close();
  }

  /**
   * A dying server without STOP_DEV: every queue ring and `/dev/ublkcN` are closed at once (the
   * kernel cancels the pending FETCHes).
   */
  kill(): void {
    this.#closeServer();
  }

  /**
   * User recovery: START_USER_RECOVERY, a new server (char device, mappings, queues that
   * FETCH every tag), END_USER_RECOVERY.
   *
   * @returns The results of START_USER_RECOVERY and END_USER_RECOVERY (the latter is 1 when
   *   START failed and it was not sent).
   */
  async recover(): Promise<{ start: number; end: number }> {
    const start = await this.ctrl.command(
      this.#legacy ? UBLK_CMD_START_USER_RECOVERY : UBLK_U_CMD_START_USER_RECOVERY,
    );
    if (start < 0) return { start, end: 1 };
    this.#startServer();
    const end = await this.ctrl.command(
      this.#legacy ? UBLK_CMD_END_USER_RECOVERY : UBLK_U_CMD_END_USER_RECOVERY,
      { data: BigInt(Deno.pid) },
    );
    return { start, end };
  }

  /** `/dev/ublkbN`. */
  get blockPath(): string {
    return `/dev/ublkb${this.info.devId}`;
  }

  /**
   * ADD_DEV, SET_PARAMS (from the target), open `/dev/ublkcN`, map each queue's descriptors,
   * FETCH every tag, START_DEV.
   *
   * @param kernel The native kernel (the running kernel must have `ublk_drv`).
   * @param target The target serving the I/O.
   * @param options Geometry.
   * @returns The started device.
   * @throws {ErrnoError} When a control command or a mapping fails (the device is deleted).
   */
  static async create(
    kernel: NativeKernel,
    target: Target,
    options: NativeDeviceOptions = {},
  ): Promise<NativeDevice> {
    const legacyOpcodes = options.legacyOpcodes === true;
    const ctrl = UblkCtrl.open(kernel, { legacyOpcodes });
    let dev: NativeDevice | undefined;
    try {
      const info = await ctrl.addDev({
        nrHwQueues: options.queues ?? 1,
        queueDepth: options.depth ?? 16,
        maxIoBufBytes: options.maxIoBufBytes ?? 512 * 1024,
        flags: options.flags ?? 0n,
      });
      const params = await target.init({
        devId: info.devId,
        nrHwQueues: info.nrHwQueues,
        queueDepth: info.queueDepth,
        maxIoBufBytes: info.maxIoBufBytes,
        flags: info.flags,
        zeroCopy: false,
      });
      await ctrl.setParams(params);
      dev = new NativeDevice(kernel, ctrl, info, target, legacyOpcodes);
      dev.#startServer();
      await ctrl.start();
      return dev;
    } catch (e) {
      if (dev !== undefined) dev.#closeServer();
      if (ctrl.devId >= 0) {
        await ctrl.command(legacyOpcodes ? UBLK_CMD_DEL_DEV : UBLK_U_CMD_DEL_DEV);
      }
      ctrl.close();
      throw e;
    }
  }

  /**
   * STOP_DEV (the queues see UBLK_IO_RES_ABORT and end), close rings, unmap, close the char
   * device, DEL_DEV. Safe twice.
   *
   * @returns The results of STOP_DEV and DEL_DEV.
   */
  async stop(): Promise<{ stop: number; del: number }> {
    if (this.#stopped) return { stop: 0, del: 0 };
    this.#stopped = true;
    const legacy = this.ctrl.legacyOpcodes;
    const stop = await this.ctrl.command(legacy ? UBLK_CMD_STOP_DEV : UBLK_U_CMD_STOP_DEV);
    await Promise.all(this.#queues.map((q) => q.done));
    this.#closeServer();
    const del = await this.ctrl.command(legacy ? UBLK_CMD_DEL_DEV : UBLK_U_CMD_DEL_DEV);
    this.ctrl.close();
    return { stop, del };
  }
}
