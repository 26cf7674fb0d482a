/**
 * {@linkcode createDevice}: a ublk device and its server in one process — ADD_DEV, the
 * target's params, one {@linkcode UblkQueue} per hardware queue, START_DEV — returning the
 * control client, the block device front end and the ways to end it (`stop`, a simulated
 * server death with `kill`, user recovery with `recover`).
 *
 * @module
 */

import {
  ErrnoError,
  O_RDWR,
  UBLK_CMD_DEL_DEV,
  UBLK_CMD_STOP_DEV,
  UBLK_F_NEED_GET_DATA,
  UBLK_F_USER_RECOVERY,
  UBLK_F_USER_RECOVERY_FAIL_IO,
  UBLK_F_USER_RECOVERY_REISSUE,
  UBLK_U_CMD_DEL_DEV,
  UBLK_U_CMD_STOP_DEV,
  type UblksrvCtrlDevInfoValue,
} from "@ublk-ts/uapi";
import type { BlockDevice, Kernel } from "@ublk-ts/ring";
import { validateFlags } from "@ublk-ts/rsrc";
import { UblkCtrl } from "./ctrl.ts";
import {
  assertDataMode,
  type DataMode,
  dataModeFlags,
  dataModeOf,
  isZeroCopyMode,
} from "./data_mode.ts";
import { UblkQueue } from "./queue.ts";
import type { Target, TargetDevInfo } from "./target.ts";

/** How long {@linkcode UblkDevice.recover} retries START_USER_RECOVERY while it is -EBUSY. */
const RECOVERY_BUSY_WAIT_MS = 30_000;

/** Options of {@linkcode createDevice}. */
export interface CreateDeviceOptions {
  /** Device id, or -1 (default) for the lowest free one. */
  devId?: number;
  /** Hardware queues (default 1). */
  queues?: number;
  /** Tags per queue (default 128). */
  depth?: number;
  /** Largest request in bytes (default 512 KiB). */
  maxIoBufBytes?: number;
  /**
   * How data moves (default "copy"): "user-copy" (UBLK_F_USER_COPY), "register"
   * (UBLK_F_SUPPORT_ZERO_COPY), "auto" (UBLK_F_AUTO_BUF_REG), "fused" (the model's RFC).
   * Checked against GET_FEATURES first: a mode the kernel lacks throws a `DataModeError`
   * with the one-line reason.
   */
  dataMode?: DataMode;
  /**
   * With `dataMode: "auto"`: `true` asks for UBLK_AUTO_BUF_REG_FALLBACK (adds
   * UBLK_F_SUPPORT_ZERO_COPY so the server can register by hand); `"always"` also names a
   * buffer index no table has, so every request takes the fallback (a test of that path).
   */
  autoFallback?: boolean | "always";
  /** How to name the kernel in a refusal (e.g. "6.12"). */
  kernelName?: string;
  /** RFC fused zero copy (the model-only UBLK_F_RFC_FUSED_ZC): `dataMode: "fused"`. */
  zeroCopy?: boolean;
  /** UBLK_F_NEED_GET_DATA (copy mode only). */
  needGetData?: boolean;
  /** UBLK_F_USER_RECOVERY. */
  userRecovery?: boolean;
  /** UBLK_F_USER_RECOVERY_REISSUE (implies user recovery). */
  userRecoveryReissue?: boolean;
  /** UBLK_F_USER_RECOVERY_FAIL_IO (implies user recovery). */
  userRecoveryFailIo?: boolean;
  /** More UBLK_F_* flags. */
  flags?: bigint;
  /** Legacy opcodes for control and io commands. */
  legacyOpcodes?: boolean;
}

/** A running device ({@linkcode createDevice}). */
export class UblkDevice {
  /** The control client. */
  readonly ctrl: UblkCtrl;
  /** The negotiated device info. */
  readonly info: UblksrvCtrlDevInfoValue;
  #target: Target;
  #queues: UblkQueue[];
  #charFd: number;
  readonly #kernel: Kernel;
  readonly #legacy: boolean;
  readonly #forceFallback: boolean;
  #stopped = false;

  /** @internal */
  constructor(
    kernel: Kernel,
    ctrl: UblkCtrl,
    info: UblksrvCtrlDevInfoValue,
    target: Target,
    queues: UblkQueue[],
    charFd: number,
    legacy: boolean,
    forceFallback = false,
  ) {
    this.#kernel = kernel;
    this.ctrl = ctrl;
    this.info = info;
    this.#target = target;
    this.#queues = queues;
    this.#charFd = charFd;
    this.#legacy = legacy;
    this.#forceFallback = forceFallback;
  }

  /** The device's data mode (from the negotiated flags). */
  get dataMode(): DataMode {
    return dataModeOf(this.info.flags);
  }

  /** The target of the current server (the new one after a {@linkcode UblkDevice.recover}). */
  get target(): Target {
    return this.#target;
  }

  /** The device id. */
  get id(): number {
    return this.info.devId;
  }

  /** The block device node, `/dev/ublkbN`. */
  get blockPath(): string {
    return `/dev/ublkb${this.info.devId}`;
  }

  /**
   * An in-process client of `/dev/ublkbN`, when the kernel offers one
   * ({@linkcode Kernel.blockDevice}: the model kernel does; on a real kernel open
   * {@linkcode UblkDevice.blockPath} instead).
   *
   * @throws {TypeError} When the kernel has no in-process client of the disk.
   */
  get bdev(): BlockDevice {
    const b = this.#kernel.blockDevice?.(this.blockPath);
    if (b === undefined) {
      throw new TypeError(
        `Cannot use ${this.blockPath} in process: the ${this.#kernel.name} kernel offers no client of it (open the node instead)`,
      );
    }
    return b;
  }

  /** The server's queues (current server after a recovery). */
  get queues(): readonly UblkQueue[] {
    return this.#queues;
  }

  #closeServer(): void {
    for (const q of this.#queues) q.close();
    if (this.#charFd >= 0) {
      this.#kernel.closeFd(this.#charFd);
      this.#charFd = -1;
    }
  }

  /**
   * Stops and deletes the device: STOP_DEV (requests in flight finish), the queues end, the
   * char device is closed, DEL_DEV, the target closes. Safe twice.
   *
   * @throws {ErrnoError} When STOP_DEV or DEL_DEV failed (everything is closed anyway).
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    const legacy = this.ctrl.legacyOpcodes;
    let stop = 0;
    let del = 0;
    try {
      stop = await this.ctrl.command(legacy ? UBLK_CMD_STOP_DEV : UBLK_U_CMD_STOP_DEV);
      await Promise.all(this.#queues.map((q) => q.done));
    } finally {
      this.#closeServer();
      del = await this.ctrl.command(legacy ? UBLK_CMD_DEL_DEV : UBLK_U_CMD_DEL_DEV);
      this.ctrl.close();
      await this.#target.close?.();
    }
    if (stop < 0) throw ErrnoError.fromResult(stop, "STOP_DEV");
    if (del < 0) throw ErrnoError.fromResult(del, "DEL_DEV");
  }

  /**
   * Simulates the server dying: closes every queue ring and the char device without
   * STOP_DEV. Without recovery the driver fails what was in flight with -EIO and removes the
   * disk; with recovery it holds I/O until {@linkcode UblkDevice.recover}.
   */
  kill(): void {
    this.#closeServer();
  }

  /**
   * User recovery with a new server (same or new target): a new target is initialised
   * (`init`, e.g. a zero-copy NBD target adopts its socket); after a {@linkcode kill} it waits
   * until the dead server's char device is released (its rings may still wait for file I/O in
   * flight); then START_USER_RECOVERY, new queues fetch every tag, END_USER_RECOVERY. Held I/O
   * then completes. On success the new target becomes {@linkcode UblkDevice.target} (the one
   * `stop()` closes); the old target is not closed — its owner closes it.
   *
   * @param target The new server's target (default: the current one, not initialised again).
   * @throws {ErrnoError} When the driver refuses (not quiesced, char device still open…).
   * @throws {Error} What the new target's `init` throws.
   */
  async recover(target: Target = this.#target): Promise<void> {
    if (target !== this.#target) await target.init(targetDevInfo(this.info));
    // The dead server's char device may not be released yet (its rings can still wait for
    // file I/O in flight): START_USER_RECOVERY says -EBUSY until it is.
    await this.ctrl.startUserRecovery({ retryBusyMs: RECOVERY_BUSY_WAIT_MS });
    const fd = this.#kernel.open(`/dev/ublkc${this.id}`, O_RDWR);
    if (fd < 0) throw ErrnoError.fromResult(fd, "open /dev/ublkc" + this.id);
    this.#charFd = fd;
    this.#queues = startQueues(
      this.#kernel,
      this.info,
      fd,
      target,
      this.#legacy,
      this.#forceFallback,
    );
    this.#target = target;
    await this.ctrl.endUserRecovery();
  }

  /** {@linkcode UblkDevice.stop}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/** What a target's `init` learns from the negotiated device info. */
function targetDevInfo(info: UblksrvCtrlDevInfoValue): TargetDevInfo {
  return {
    devId: info.devId,
    nrHwQueues: info.nrHwQueues,
    queueDepth: info.queueDepth,
    maxIoBufBytes: info.maxIoBufBytes,
    flags: info.flags,
    dataMode: dataModeOf(info.flags),
    zeroCopy: isZeroCopyMode(dataModeOf(info.flags)),
  };
}

function startQueues(
  kernel: Kernel,
  info: UblksrvCtrlDevInfoValue,
  fd: number,
  target: Target,
  legacy: boolean,
  forceAutoFallback: boolean,
): UblkQueue[] {
  const qs: UblkQueue[] = [];
  try {
    for (let q = 0; q < info.nrHwQueues; q++) {
      qs.push(
        new UblkQueue(kernel, info, q, fd, target, { legacyOpcodes: legacy, forceAutoFallback }),
      );
    }
  } catch (e) {
    for (const q of qs) q.close();
    throw e;
  }
  for (const q of qs) q.start();
  return qs;
}

/**
 * Creates a ublk device served in this process by `target`.
 *
 * @param kernel A kernel with the ublk driver installed (`installUblk`).
 * @param target The target.
 * @param options Queues, depth, zero copy, NEED_GET_DATA, recovery…
 * @returns The running device.
 * @throws {TypeError} When the kernel has no ublk driver.
 * @throws {ErrnoError} When a control command fails.
 * @example
 * ```ts ignore
 * const kernel = new ModelKernel();
 * installUblk(kernel);
 * await using dev = await createDevice(kernel, new RamDiskTarget(1 << 20), { depth: 64 });
 * const buf = new Uint8Array(4096);
 * assert.equal(await dev.bdev.read(0, buf), 4096);
 * ```
 */
export async function createDevice(
  kernel: Kernel,
  target: Target,
  options: CreateDeviceOptions = {},
): Promise<UblkDevice> {
  let flags = options.flags ?? 0n;
  const mode: DataMode = options.dataMode ?? (options.zeroCopy ? "fused" : "copy");
  const fallback = mode === "auto" && options.autoFallback !== undefined &&
    options.autoFallback !== false;
  if (options.autoFallback === "always" && mode !== "auto") {
    throw new TypeError('Cannot force the auto-registration fallback: dataMode is not "auto"');
  }
  const modeFlags = dataModeFlags(mode, fallback);
  flags |= modeFlags;
  if (options.needGetData) flags |= UBLK_F_NEED_GET_DATA;
  if (options.userRecovery) flags |= UBLK_F_USER_RECOVERY;
  if (options.userRecoveryReissue) flags |= UBLK_F_USER_RECOVERY | UBLK_F_USER_RECOVERY_REISSUE;
  if (options.userRecoveryFailIo) flags |= UBLK_F_USER_RECOVERY | UBLK_F_USER_RECOVERY_FAIL_IO;
  if (validateFlags(flags) < 0) {
    throw new TypeError(
      `Cannot create a ublk device: flags 0x${
        flags.toString(16)
      } combine zero copy or auto buffer registration with NEED_GET_DATA or USER_COPY`,
    );
  }
  const legacy = options.legacyOpcodes === true;
  const forceFallback = options.autoFallback === "always";
  const ctrl = UblkCtrl.open(kernel, { legacyOpcodes: legacy });
  let info: UblksrvCtrlDevInfoValue;
  let fd = -1;
  let queues: UblkQueue[] = [];
  if (modeFlags !== 0n) {
    // The real driver drops flags it does not know: ask first, refuse with the reason.
    try {
      assertDataMode(mode, await ctrl.getFeatures(), fallback, options.kernelName);
    } catch (e) {
      ctrl.close();
      throw e;
    }
  }
  try {
    info = await ctrl.addDev({
      devId: options.devId ?? -1,
      nrHwQueues: options.queues ?? 1,
      queueDepth: options.depth ?? 128,
      maxIoBufBytes: options.maxIoBufBytes ?? 512 * 1024,
      flags,
    });
    const params = await target.init(targetDevInfo(info));
    await ctrl.setParams(params);
    fd = kernel.open(`/dev/ublkc${info.devId}`, O_RDWR);
    if (fd < 0) throw ErrnoError.fromResult(fd, "open /dev/ublkc" + info.devId);
    if ((info.flags & modeFlags) !== modeFlags) {
      throw new TypeError(
        `Cannot serve data mode ${mode}: ADD_DEV granted flags 0x${info.flags.toString(16)}`,
      );
    }
    queues = startQueues(kernel, info, fd, target, legacy, forceFallback);
    await ctrl.start();
  } catch (e) {
    for (const q of queues) q.close();
    if (fd >= 0) kernel.closeFd(fd);
    if (ctrl.devId >= 0) await ctrl.command(legacy ? UBLK_CMD_DEL_DEV : UBLK_U_CMD_DEL_DEV);
    ctrl.close();
    throw e;
  }
  return new UblkDevice(kernel, ctrl, info, target, queues, fd, legacy, forceFallback);
}
