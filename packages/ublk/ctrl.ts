/**
 * {@linkcode UblkCtrl}: the control side of a ublk server — `URING_CMD`s to
 * `/dev/ublk-control` on its own SQE128 ring (ADD_DEV, SET_PARAMS, START_DEV, STOP_DEV,
 * DEL_DEV, GET_*, user recovery), with ioctl-encoded opcodes by default and legacy ones on
 * request. Commands may be in flight together (START_DEV waits for the queues' FETCHes).
 *
 * @module
 */

import {
  EBADF,
  EBUSY,
  EIO,
  ErrnoError,
  IORING_SETUP_SQE128,
  IOSQE_FIXED_FILE,
  IoUringCqe,
  IoUringSqe,
  O_RDWR,
  UBLK_CMD_ADD_DEV,
  UBLK_CMD_DEL_DEV,
  UBLK_CMD_END_USER_RECOVERY,
  UBLK_CMD_GET_DEV_INFO,
  UBLK_CMD_GET_DEV_INFO2,
  UBLK_CMD_GET_PARAMS,
  UBLK_CMD_GET_QUEUE_AFFINITY,
  UBLK_CMD_SET_PARAMS,
  UBLK_CMD_START_DEV,
  UBLK_CMD_START_USER_RECOVERY,
  UBLK_CMD_STOP_DEV,
  UBLK_PARAM_TYPE_BASIC,
  UBLK_PARAM_TYPE_DISCARD,
  UBLK_U_CMD_ADD_DEV,
  UBLK_U_CMD_DEL_DEV,
  UBLK_U_CMD_END_USER_RECOVERY,
  UBLK_U_CMD_GET_DEV_INFO,
  UBLK_U_CMD_GET_DEV_INFO2,
  UBLK_U_CMD_GET_FEATURES,
  UBLK_U_CMD_GET_PARAMS,
  UBLK_U_CMD_GET_QUEUE_AFFINITY,
  UBLK_U_CMD_SET_PARAMS,
  UBLK_U_CMD_START_DEV,
  UBLK_U_CMD_START_USER_RECOVERY,
  UBLK_U_CMD_STOP_DEV,
  UblkParams,
  type UblkParamsValue,
  UblksrvCtrlCmd,
  UblksrvCtrlDevInfo,
  type UblksrvCtrlDevInfoValue,
} from "@ublk-ts/uapi";
import type { TargetParams } from "./target.ts";
import { type Kernel, prepUringCmdAt, Ring, sqeSetFlags, sqeSetUserData32 } from "@ublk-ts/ring";

/** Options of {@linkcode UblkCtrl.addDev}. */
export interface AddDevOptions {
  /** Device id, or -1 (default) to let the driver pick the lowest free one. */
  devId?: number;
  /** Hardware queues (default 1). */
  nrHwQueues?: number;
  /** Tags per queue (default 128). */
  queueDepth?: number;
  /** Largest request in bytes (default 512 KiB). */
  maxIoBufBytes?: number;
  /** UBLK_F_* flags asked for (the driver masks what it does not support). */
  flags?: bigint;
  /** `ublksrv_flags` (server-private). */
  ublksrvFlags?: bigint;
}

/** Options of {@linkcode UblkCtrl.open}. */
export interface UblkCtrlOptions {
  /** Use the legacy opcodes (0x01…) instead of the ioctl-encoded `UBLK_U_CMD_*`. */
  legacyOpcodes?: boolean;
  /** Control device path (default `/dev/ublk-control`). */
  path?: string;
}

/** Raw fields of one control command ({@linkcode UblkCtrl.command}). */
export interface CtrlCommand {
  /** `dev_id` (default: the controlled device, or -1). */
  devId?: number;
  /** `queue_id` (default -1). */
  queueId?: number;
  /** Buffer named by `addr`/`len` (its address is taken in the kernel's address space). */
  buf?: Uint8Array;
  /** `addr` override (e.g. 0 or a bad address), else the address of `buf`. */
  addr?: bigint;
  /** `len` override, else `buf.length`. */
  len?: number;
  /** `data[0]`. */
  data?: bigint;
  /** `dev_path_len`. */
  devPathLen?: number;
}

const LEGACY: Record<number, number> = {
  [UBLK_U_CMD_ADD_DEV]: UBLK_CMD_ADD_DEV,
  [UBLK_U_CMD_DEL_DEV]: UBLK_CMD_DEL_DEV,
  [UBLK_U_CMD_START_DEV]: UBLK_CMD_START_DEV,
  [UBLK_U_CMD_STOP_DEV]: UBLK_CMD_STOP_DEV,
  [UBLK_U_CMD_SET_PARAMS]: UBLK_CMD_SET_PARAMS,
  [UBLK_U_CMD_GET_PARAMS]: UBLK_CMD_GET_PARAMS,
  [UBLK_U_CMD_GET_DEV_INFO]: UBLK_CMD_GET_DEV_INFO,
  [UBLK_U_CMD_GET_DEV_INFO2]: UBLK_CMD_GET_DEV_INFO2,
  [UBLK_U_CMD_GET_QUEUE_AFFINITY]: UBLK_CMD_GET_QUEUE_AFFINITY,
  [UBLK_U_CMD_START_USER_RECOVERY]: UBLK_CMD_START_USER_RECOVERY,
  [UBLK_U_CMD_END_USER_RECOVERY]: UBLK_CMD_END_USER_RECOVERY,
};

/**
 * Encodes {@linkcode TargetParams} as `struct ublk_params` (BASIC, plus DISCARD when given).
 *
 * @param p The target's params.
 * @param maxIoBufBytes The device's `max_io_buf_bytes` (default for `max_sectors`).
 * @returns The params value (`len` = the bytes up to the last type present).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeTargetParams } from "@ublk-ts/ublk";
 * const p = encodeTargetParams({ devSize: 1 << 20 }, 1 << 19);
 * assert.equal(p.basic.devSectors, 2048n);
 * assert.equal(p.basic.maxSectors, 1024);
 * assert.equal(p.types, 1);
 * ```
 */
export function encodeTargetParams(p: TargetParams, maxIoBufBytes: number): UblkParamsValue {
  const v = UblkParams.zero();
  const lbs = p.logicalBsShift ?? 9;
  v.types = UBLK_PARAM_TYPE_BASIC;
  v.basic.attrs = p.attrs ?? 0;
  v.basic.logicalBsShift = lbs;
  v.basic.physicalBsShift = p.physicalBsShift ?? lbs;
  v.basic.ioOptShift = p.ioOptShift ?? lbs;
  v.basic.ioMinShift = p.ioMinShift ?? lbs;
  v.basic.maxSectors = p.maxSectors ?? Math.floor(maxIoBufBytes / 512);
  v.basic.chunkSectors = p.chunkSectors ?? 0;
  v.basic.devSectors = BigInt(Math.floor(p.devSize / 512));
  if (p.discard !== undefined) {
    const d = p.discard;
    v.types |= UBLK_PARAM_TYPE_DISCARD;
    v.discard.discardAlignment = d.alignment ?? 0;
    v.discard.discardGranularity = d.granularity ?? 1 << lbs;
    v.discard.maxDiscardSectors = d.maxDiscardSectors ?? 0;
    v.discard.maxWriteZeroesSectors = d.maxWriteZeroesSectors ?? 0;
    v.discard.maxDiscardSegments = d.maxDiscardSegments ?? 1;
  }
  v.len = UblkParams.lenFor(v.types);
  return v;
}

/** Options of {@linkcode UblkCtrl.startUserRecovery}. */
export interface StartUserRecoveryOptions {
  /** Retry that many milliseconds while the driver answers -EBUSY (default 0: no retry). */
  retryBusyMs?: number;
}

/**
 * A client of `/dev/ublk-control`.
 *
 * @example Add, inspect and delete a device (model kernel)
 * ```ts ignore
 * await using ctrl = UblkCtrl.open(kernel);
 * const info = await ctrl.addDev({ nrHwQueues: 1, queueDepth: 64 });
 * await ctrl.del();
 * ```
 */
export class UblkCtrl {
  /** The kernel. */
  readonly kernel: Kernel;
  /** Uses the legacy opcodes. */
  readonly legacyOpcodes: boolean;
  readonly #ring: Ring;
  readonly #fd: number;
  readonly #pending: Map<number, (res: number) => void> = new Map();
  #seq = 1;
  #reaping = false;
  #closed = false;
  #devId = -1;
  #added = false;
  #info: UblksrvCtrlDevInfoValue | null = null;

  private constructor(kernel: Kernel, fd: number, ring: Ring, legacy: boolean) {
    this.kernel = kernel;
    this.#fd = fd;
    this.#ring = ring;
    this.legacyOpcodes = legacy;
  }

  /**
   * Opens the control device and sets up an SQE128 ring.
   *
   * @param kernel The kernel (the model with the ublk driver installed).
   * @param options Options.
   * @returns The client.
   * @throws {ErrnoError} When the control device cannot be opened.
   */
  static open(kernel: Kernel, options: UblkCtrlOptions = {}): UblkCtrl {
    const path = options.path ?? "/dev/ublk-control";
    const fd = kernel.open(path, O_RDWR);
    if (fd < 0) throw ErrnoError.fromResult(fd, "open " + path);
    let ring: Ring;
    try {
      ring = Ring.create(kernel, 32, { flags: IORING_SETUP_SQE128 });
    } catch (e) {
      kernel.closeFd(fd);
      throw e;
    }
    try {
      ring.registerFiles([fd]);
    } catch (e) {
      ring.close();
      kernel.closeFd(fd);
      throw e;
    }
    return new UblkCtrl(kernel, fd, ring, options.legacyOpcodes === true);
  }

  /** The controlled device id (-1 before ADD_DEV or {@linkcode UblkCtrl.attach}). */
  get devId(): number {
    return this.#devId;
  }

  /** The device info from the last ADD_DEV/GET_DEV_INFO. */
  get info(): UblksrvCtrlDevInfoValue | null {
    return this.#info;
  }

  /**
   * Controls an existing device (recovery, list, delete).
   *
   * @param devId The device id.
   */
  attach(devId: number): void {
    this.#devId = devId;
  }

  #op(u: number): number {
    return this.legacyOpcodes ? (LEGACY[u] ?? u) : u;
  }

  /**
   * Sends one control command and resolves with its CQE result (never throws for a negative
   * result). Low level: tests use it for misuse.
   *
   * @param cmdOp The cmd_op (as given: no legacy translation).
   * @param cmd The payload fields.
   * @returns The result.
   */
  command(cmdOp: number, cmd: CtrlCommand = {}): Promise<number> {
    if (this.#closed) return Promise.resolve(-EBADF);
    const ring = this.#ring;
    let off = ring.getSqeOffset();
    if (off < 0) {
      // SQ full (the kernel left SQEs unconsumed): flush, then take a slot.
      ring.submit();
      off = ring.getSqeOffset();
      if (off < 0) return Promise.resolve(-EBUSY);
    }
    const v = ring.sqes;
    prepUringCmdAt(v, off, 0, cmdOp); // fixed file 0: /dev/ublk-control
    sqeSetFlags(v, off, IOSQE_FIXED_FILE);
    const seq = this.#seq;
    this.#seq = (this.#seq + 1) >>> 0 || 1;
    sqeSetUserData32(v, off, seq, 0);
    const buf = cmd.buf;
    const addr = cmd.addr ??
      (buf !== undefined && buf.length > 0 ? this.kernel.addressOf(buf) : 0n);
    const p0 = off + IoUringSqe.OFFSET_CMD;
    UblksrvCtrlCmd.set(
      v,
      p0,
      cmd.devId ?? this.#devId,
      cmd.queueId ?? -1,
      addr,
      cmd.len ?? buf?.length ?? 0,
      cmd.data ?? 0n,
    );
    v.setUint16(p0 + UblksrvCtrlCmd.OFFSET_DEV_PATH_LEN, cmd.devPathLen ?? 0, true);
    const p = new Promise<number>((resolve) => this.#pending.set(seq, resolve));
    try {
      ring.submit();
    } catch (e) {
      this.#pending.delete(seq);
      return Promise.resolve(e instanceof ErrnoError ? e.toResult() : -EIO);
    }
    this.#reap();
    return p;
  }

  #reap(): void {
    if (this.#reaping) return;
    this.#reaping = true;
    (async () => {
      const ring = this.#ring;
      while (this.#pending.size > 0 && !this.#closed) {
        this.#drain();
        if (this.#pending.size === 0) break;
        const w = await ring.wait(1);
        if (w < 0) {
          for (const [, f] of this.#pending) f(w);
          this.#pending.clear();
          break;
        }
      }
      this.#reaping = false;
    })();
  }

  #drain(): void {
    const ring = this.#ring;
    const n = ring.cqReady();
    const cv = ring.cqView;
    for (let i = 0; i < n; i++) {
      const o = ring.cqeOffset(i);
      const seq = cv.getUint32(o + IoUringCqe.OFFSET_USER_DATA, true);
      const res = cv.getInt32(o + IoUringCqe.OFFSET_RES, true);
      const f = this.#pending.get(seq);
      if (f !== undefined) {
        this.#pending.delete(seq);
        f(res);
      }
    }
    ring.cqAdvance(n);
  }

  async #must(what: string, p: Promise<number>): Promise<number> {
    const r = await p;
    if (r < 0) throw ErrnoError.fromResult(r, what);
    return r;
  }

  /**
   * GET_FEATURES.
   *
   * @returns The UBLK_F_* flags the driver supports.
   * @throws {ErrnoError} On failure.
   */
  async getFeatures(): Promise<bigint> {
    const buf = new Uint8Array(8);
    await this.#must("GET_FEATURES", this.command(UBLK_U_CMD_GET_FEATURES, { buf, devId: -1 }));
    return new DataView(buf.buffer).getBigUint64(0, true);
  }

  /**
   * ADD_DEV: creates a device; `/dev/ublkcN` appears.
   *
   * @param options Queues, depth, buffer size, flags, id.
   * @returns The negotiated info (id, flags, clamped queues, aligned buffer size).
   * @throws {ErrnoError} On failure (EEXIST, EINVAL, EACCES…).
   */
  async addDev(options: AddDevOptions = {}): Promise<UblksrvCtrlDevInfoValue> {
    const info = UblksrvCtrlDevInfo.zero();
    info.nrHwQueues = options.nrHwQueues ?? 1;
    info.queueDepth = options.queueDepth ?? 128;
    info.maxIoBufBytes = options.maxIoBufBytes ?? 512 * 1024;
    info.devId = options.devId === undefined || options.devId < 0 ? 0xffffffff : options.devId;
    info.ublksrvPid = -1;
    info.flags = options.flags ?? 0n;
    info.ublksrvFlags = options.ublksrvFlags ?? 0n;
    const buf = new Uint8Array(UblksrvCtrlDevInfo.SIZE);
    const view = new DataView(buf.buffer);
    UblksrvCtrlDevInfo.encode(view, 0, info);
    await this.#must(
      "ADD_DEV",
      this.command(this.#op(UBLK_U_CMD_ADD_DEV), { buf, devId: info.devId }),
    );
    const out = UblksrvCtrlDevInfo.decode(view, 0);
    this.#devId = out.devId;
    this.#added = true;
    this.#info = out;
    return out;
  }

  /**
   * SET_PARAMS.
   *
   * @param params A params value, or a target's params (encoded with the device's buffer size).
   * @throws {ErrnoError} On failure (EACCES once started, EINVAL for bad params).
   */
  async setParams(params: UblkParamsValue | TargetParams): Promise<void> {
    const v = "devSize" in params
      ? encodeTargetParams(params, this.#info?.maxIoBufBytes ?? 512 * 1024)
      : params;
    const buf = new Uint8Array(UblkParams.SIZE);
    UblkParams.encode(new DataView(buf.buffer), 0, v);
    const len = v.len || UblkParams.SIZE;
    await this.#must(
      "SET_PARAMS",
      this.command(this.#op(UBLK_U_CMD_SET_PARAMS), { buf: buf.subarray(0, len), len }),
    );
  }

  /**
   * GET_PARAMS.
   *
   * @returns The params (DEVT filled by the driver).
   * @throws {ErrnoError} On failure.
   */
  async getParams(): Promise<UblkParamsValue> {
    const buf = new Uint8Array(UblkParams.SIZE);
    const view = new DataView(buf.buffer);
    view.setUint32(0, UblkParams.SIZE, true);
    await this.#must("GET_PARAMS", this.command(this.#op(UBLK_U_CMD_GET_PARAMS), { buf }));
    // The driver copies its stored struct, whose `len` is what SET_PARAMS gave; DEVT lies
    // beyond a short one, so decode the whole buffer.
    return UblkParams.decode(view, 0, UblkParams.SIZE);
  }

  /**
   * START_DEV: resolves once every tag of every queue was fetched and the disk exists.
   *
   * @param pid The server pid (`data[0]`); default `Deno.pid`.
   * @throws {ErrnoError} On failure.
   */
  async start(pid: number = Deno.pid): Promise<void> {
    await this.#must(
      "START_DEV",
      this.command(this.#op(UBLK_U_CMD_START_DEV), { data: BigInt(pid) }),
    );
  }

  /**
   * STOP_DEV: removes the disk once the requests in flight are done; pending io commands
   * complete with UBLK_IO_RES_ABORT.
   *
   * @throws {ErrnoError} On failure.
   */
  async stop(): Promise<void> {
    await this.#must("STOP_DEV", this.command(this.#op(UBLK_U_CMD_STOP_DEV)));
  }

  /**
   * DEL_DEV: stops if needed and removes the device; resolves once `/dev/ublkcN` is closed.
   *
   * @throws {ErrnoError} On failure.
   */
  async del(): Promise<void> {
    await this.#must("DEL_DEV", this.command(this.#op(UBLK_U_CMD_DEL_DEV)));
    this.#added = false;
  }

  /**
   * GET_DEV_INFO (or GET_DEV_INFO2 with the char device path).
   *
   * @param v2 Use GET_DEV_INFO2.
   * @returns The info.
   * @throws {ErrnoError} On failure.
   */
  async getInfo(v2 = false): Promise<UblksrvCtrlDevInfoValue> {
    if (!v2) {
      const buf = new Uint8Array(UblksrvCtrlDevInfo.SIZE);
      await this.#must("GET_DEV_INFO", this.command(this.#op(UBLK_U_CMD_GET_DEV_INFO), { buf }));
      this.#info = UblksrvCtrlDevInfo.decode(new DataView(buf.buffer), 0);
      return this.#info;
    }
    const path = new TextEncoder().encode(`/dev/ublkc${this.#devId}`);
    const buf = new Uint8Array(path.length + UblksrvCtrlDevInfo.SIZE);
    buf.set(path);
    await this.#must(
      "GET_DEV_INFO2",
      this.command(this.#op(UBLK_U_CMD_GET_DEV_INFO2), { buf, devPathLen: path.length }),
    );
    this.#info = UblksrvCtrlDevInfo.decode(new DataView(buf.buffer, path.length), 0);
    return this.#info;
  }

  /**
   * GET_QUEUE_AFFINITY.
   *
   * @param qid The queue.
   * @param bytes Size of the cpumask buffer (a multiple of 8; default 8).
   * @returns The cpumask.
   * @throws {ErrnoError} On failure.
   */
  async getQueueAffinity(qid: number, bytes = 8): Promise<Uint8Array> {
    const buf = new Uint8Array(bytes);
    await this.#must(
      "GET_QUEUE_AFFINITY",
      this.command(this.#op(UBLK_U_CMD_GET_QUEUE_AFFINITY), { buf, data: BigInt(qid) }),
    );
    return buf;
  }

  /**
   * START_USER_RECOVERY (the old server is gone, the device is quiesced).
   *
   * @param options `retryBusyMs`: keep retrying (with backoff up to 100 ms) that long while the
   *   driver answers -EBUSY (the dead server's char device not yet released). Default 0.
   * @throws {ErrnoError} On failure (EBUSY while the char device is open or the device live).
   */
  async startUserRecovery(options: StartUserRecoveryOptions = {}): Promise<void> {
    const deadline = Date.now() + (options.retryBusyMs ?? 0);
    for (let delay = 1;; delay = Math.min(delay * 2, 100)) {
      const r = await this.command(this.#op(UBLK_U_CMD_START_USER_RECOVERY));
      if (r !== -EBUSY || Date.now() >= deadline) {
        if (r < 0) throw ErrnoError.fromResult(r, "START_USER_RECOVERY");
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  /**
   * END_USER_RECOVERY: resolves once the new server fetched every tag; the device is LIVE.
   *
   * @param pid The new server pid.
   * @throws {ErrnoError} On failure.
   */
  async endUserRecovery(pid: number = Deno.pid): Promise<void> {
    await this.#must(
      "END_USER_RECOVERY",
      this.command(this.#op(UBLK_U_CMD_END_USER_RECOVERY), { data: BigInt(pid) }),
    );
  }

  /** Closes the ring and the control fd (commands in flight resolve -ECANCELED). Safe twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#ring.close();
    this.kernel.closeFd(this.#fd);
    for (const [, f] of this.#pending) f(-125);
    this.#pending.clear();
  }

  /** Stops and deletes the device this client added (if still there), then closes. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#added && !this.#closed) {
      await this.command(this.#op(UBLK_U_CMD_STOP_DEV));
      await this.command(this.#op(UBLK_U_CMD_DEL_DEV));
      this.#added = false;
    }
    this.close();
  }
}
