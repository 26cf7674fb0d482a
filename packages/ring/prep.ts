/**
 * `prep*` helpers (liburing's `io_uring_prep_*`), one per supported opcode, all through
 * {@linkcode prepRw}. Each takes the SQE, at most two required arguments, and an options
 * object; common options set `user_data` and IOSQE_* flags. A {@linkcode Fixed} target sets
 * IOSQE_FIXED_FILE.
 *
 * @module
 */

import {
  IORING_ASYNC_CANCEL_FD,
  IORING_FSYNC_DATASYNC,
  IORING_OP_ASYNC_CANCEL,
  IORING_OP_FALLOCATE,
  IORING_OP_FSYNC,
  IORING_OP_LINK_TIMEOUT,
  IORING_OP_NOP,
  IORING_OP_READ,
  IORING_OP_READ_FIXED,
  IORING_OP_READV,
  IORING_OP_RECV,
  IORING_OP_SEND,
  IORING_OP_SEND_ZC,
  IORING_OP_TIMEOUT,
  IORING_OP_URING_CMD,
  IORING_OP_WRITE,
  IORING_OP_WRITE_FIXED,
  IORING_OP_WRITEV,
  IOSQE_FIXED_FILE,
} from "@ublk-ts/uapi";
import { Fixed, type Sqe, type Target } from "./sqe.ts";

/** Options every prep helper takes. */
export interface PrepCommon {
  /** `user_data`. */
  userData?: bigint;
  /** IOSQE_* flags (IOSQE_FIXED_FILE comes from a Fixed target). */
  flags?: number;
}

/** Options of read/write helpers. */
export interface PrepRwOptions extends PrepCommon {
  /** File offset; -1 (or u64 max) = current position. Default 0. */
  offset?: number | bigint;
  /** `rw_flags` (RWF_*). */
  rwFlags?: number;
  /** `ioprio`. */
  ioprio?: number;
}

function u64(v: number | bigint): bigint {
  if (typeof v === "bigint") return BigInt.asUintN(64, v);
  if (v === -1) return 0xffffffffffffffffn;
  return BigInt.asUintN(64, BigInt(v));
}

function common(sqe: Sqe, o: PrepCommon | undefined): void {
  if (!o) return;
  if (o.userData !== undefined) sqe.view.setBigUint64(sqe.offset + 32, o.userData, true);
  if (o.flags !== undefined) sqe.setFlags(o.flags);
}

/**
 * `io_uring_prep_rw`: the base of every helper. Writes opcode, fd (or fixed index + FIXED_FILE),
 * addr, len and off; the SQE was zeroed by `getSqe`.
 *
 * @param sqe The SQE.
 * @param op The opcode.
 * @param target fd or {@linkcode Fixed}.
 * @param addr `addr`.
 * @param len `len`.
 * @param off `off`.
 */
export function prepRw(
  sqe: Sqe,
  op: number,
  target: Target,
  addr: bigint,
  len: number,
  off: bigint,
): void {
  const v = sqe.view;
  const o = sqe.offset;
  v.setUint8(o, op);
  if (target instanceof Fixed) {
    v.setUint8(o + 1, v.getUint8(o + 1) | IOSQE_FIXED_FILE);
    v.setInt32(o + 4, target.index, true);
  } else {
    v.setInt32(o + 4, target, true);
  }
  v.setBigUint64(o + 8, off, true);
  v.setBigUint64(o + 16, addr, true);
  v.setUint32(o + 24, len, true);
}

/** Writes a non-negative safe-integer or -1 offset without a bigint. */
function setOff(sqe: Sqe, off: number | bigint | undefined): void {
  if (off === undefined || off === 0) return;
  const v = sqe.view;
  const o = sqe.offset + 8;
  if (typeof off === "bigint") {
    v.setBigUint64(o, BigInt.asUintN(64, off), true);
  } else if (off === -1) {
    v.setUint32(o, 0xffffffff, true);
    v.setUint32(o + 4, 0xffffffff, true);
  } else if (Number.isSafeInteger(off) && off > 0) {
    v.setUint32(o, off >>> 0, true);
    v.setUint32(o + 4, Math.floor(off / 4294967296), true);
  } else {
    v.setBigUint64(o, u64(off), true);
  }
}

function rwCommon(sqe: Sqe, o: PrepRwOptions | undefined): void {
  if (!o) return;
  if (o.rwFlags) sqe.view.setUint32(sqe.offset + 28, o.rwFlags, true);
  if (o.ioprio) sqe.view.setUint16(sqe.offset + 2, o.ioprio, true);
  common(sqe, o);
}

/**
 * `io_uring_prep_nop` (IORING_OP_NOP).
 *
 * @param sqe The SQE.
 * @param options Common options.
 */
export function prepNop(sqe: Sqe, options?: PrepCommon): void {
  prepRw(sqe, IORING_OP_NOP, -1, 0n, 0, 0n);
  common(sqe, options);
}

/**
 * `io_uring_prep_read` (IORING_OP_READ): reads up to `buf.length` bytes.
 *
 * Returns (cqe.res): bytes read (short at EOF), or -EBADF, -EFAULT, -EINVAL, -EISDIR, …
 *
 * @param sqe The SQE.
 * @param target fd or {@linkcode Fixed}.
 * @param buf Destination (must stay alive until the CQE).
 * @param options Offset, rw_flags, common.
 */
export function prepRead(sqe: Sqe, target: Target, buf: Uint8Array, options?: PrepRwOptions): void {
  prepRw(
    sqe,
    IORING_OP_READ,
    target,
    buf.length ? sqe.ring.addressOf(buf) : 0n,
    buf.length,
    0n,
  );
  setOff(sqe, options?.offset);
  rwCommon(sqe, options);
}

/**
 * `io_uring_prep_write` (IORING_OP_WRITE).
 *
 * @param sqe The SQE.
 * @param target fd or {@linkcode Fixed}.
 * @param buf Source (must stay alive until the CQE).
 * @param options Offset, rw_flags, common.
 */
export function prepWrite(
  sqe: Sqe,
  target: Target,
  buf: Uint8Array,
  options?: PrepRwOptions,
): void {
  prepRw(
    sqe,
    IORING_OP_WRITE,
    target,
    buf.length ? sqe.ring.addressOf(buf) : 0n,
    buf.length,
    0n,
  );
  setOff(sqe, options?.offset);
  rwCommon(sqe, options);
}

/**
 * An `iovec` array in memory (16 bytes per entry), built once and reused across SQEs.
 *
 * Safety: keep it (and its buffers) alive until every SQE naming it has completed.
 */
export class Iovecs {
  /** The encoded `struct iovec[]`. */
  readonly bytes: Uint8Array;
  /** Entries. */
  readonly count: number;
  /** The buffers. */
  readonly buffers: readonly Uint8Array[];

  /**
   * Encodes `buffers` with addresses from `owner`.
   *
   * @param owner Anything with `addressOf` (a Ring or a Kernel).
   * @param buffers The buffers.
   */
  constructor(owner: { addressOf(b: Uint8Array): bigint }, buffers: readonly Uint8Array[]) {
    this.buffers = buffers;
    this.count = buffers.length;
    this.bytes = new Uint8Array(Math.max(16, 16 * buffers.length));
    const dv = new DataView(this.bytes.buffer);
    buffers.forEach((b, i) => {
      dv.setBigUint64(i * 16, b.length ? owner.addressOf(b) : 0n, true);
      dv.setBigUint64(i * 16 + 8, BigInt(b.length), true);
    });
  }
}

/**
 * `io_uring_prep_readv` (IORING_OP_READV).
 *
 * @param sqe The SQE.
 * @param target fd or {@linkcode Fixed}.
 * @param iovecs The iovec array.
 * @param options Offset, rw_flags, common.
 */
export function prepReadv(sqe: Sqe, target: Target, iovecs: Iovecs, options?: PrepRwOptions): void {
  prepRw(
    sqe,
    IORING_OP_READV,
    target,
    sqe.ring.addressOf(iovecs.bytes),
    iovecs.count,
    u64(options?.offset ?? 0),
  );
  rwCommon(sqe, options);
}

/**
 * `io_uring_prep_writev` (IORING_OP_WRITEV).
 *
 * @param sqe The SQE.
 * @param target fd or {@linkcode Fixed}.
 * @param iovecs The iovec array.
 * @param options Offset, rw_flags, common.
 */
export function prepWritev(
  sqe: Sqe,
  target: Target,
  iovecs: Iovecs,
  options?: PrepRwOptions,
): void {
  prepRw(
    sqe,
    IORING_OP_WRITEV,
    target,
    sqe.ring.addressOf(iovecs.bytes),
    iovecs.count,
    u64(options?.offset ?? 0),
  );
  rwCommon(sqe, options);
}

/** Options of the fixed-buffer helpers. */
export interface PrepFixedOptions extends PrepRwOptions {
  /** The registered buffer slot. */
  bufIndex: number;
}

/**
 * `io_uring_prep_read_fixed` (IORING_OP_READ_FIXED): `buf` must lie inside registered buffer
 * `bufIndex` (else -EFAULT).
 *
 * @param sqe The SQE.
 * @param target fd or {@linkcode Fixed}.
 * @param buf Destination inside the registered buffer.
 * @param options Buffer index, offset, common.
 */
export function prepReadFixed(
  sqe: Sqe,
  target: Target,
  buf: Uint8Array,
  options: PrepFixedOptions,
): void {
  prepRw(
    sqe,
    IORING_OP_READ_FIXED,
    target,
    sqe.ring.addressOf(buf),
    buf.length,
    u64(options.offset ?? 0),
  );
  sqe.setBufIndex(options.bufIndex);
  rwCommon(sqe, options);
}

/**
 * `io_uring_prep_write_fixed` (IORING_OP_WRITE_FIXED).
 *
 * @param sqe The SQE.
 * @param target fd or {@linkcode Fixed}.
 * @param buf Source inside the registered buffer.
 * @param options Buffer index, offset, common.
 */
export function prepWriteFixed(
  sqe: Sqe,
  target: Target,
  buf: Uint8Array,
  options: PrepFixedOptions,
): void {
  prepRw(
    sqe,
    IORING_OP_WRITE_FIXED,
    target,
    sqe.ring.addressOf(buf),
    buf.length,
    u64(options.offset ?? 0),
  );
  sqe.setBufIndex(options.bufIndex);
  rwCommon(sqe, options);
}

/** Options of {@linkcode prepFsync}. */
export interface PrepFsyncOptions extends PrepCommon {
  /** IORING_FSYNC_DATASYNC. */
  datasync?: boolean;
}

/**
 * `io_uring_prep_fsync` (IORING_OP_FSYNC).
 *
 * @param sqe The SQE.
 * @param target fd or {@linkcode Fixed}.
 * @param options Datasync, common.
 */
export function prepFsync(sqe: Sqe, target: Target, options?: PrepFsyncOptions): void {
  prepRw(sqe, IORING_OP_FSYNC, target, 0n, 0, 0n);
  if (options?.datasync) sqe.view.setUint32(sqe.offset + 28, IORING_FSYNC_DATASYNC, true);
  common(sqe, options);
}

/** Options of {@linkcode prepFallocate}. */
export interface PrepFallocateOptions extends PrepCommon {
  /** FALLOC_FL_* mode (default 0). */
  mode?: number;
  /** Offset (default 0). */
  offset?: number;
  /** Length. */
  len: number;
}

/**
 * `io_uring_prep_fallocate` (IORING_OP_FALLOCATE): mode in `len`, length in `addr`.
 *
 * @param sqe The SQE.
 * @param target fd or {@linkcode Fixed}.
 * @param options Mode, offset, length, common.
 */
export function prepFallocate(sqe: Sqe, target: Target, options: PrepFallocateOptions): void {
  prepRw(
    sqe,
    IORING_OP_FALLOCATE,
    target,
    BigInt(options.len),
    options.mode ?? 0,
    u64(options.offset ?? 0),
  );
  common(sqe, options);
}

/** Options of the socket helpers. */
export interface PrepNetOptions extends PrepCommon {
  /** `msg_flags` (MSG_WAITALL, …). */
  msgFlags?: number;
  /** IORING_RECVSEND_* / SEND_ZC flags (in `ioprio`). */
  sendFlags?: number;
  /** Registered buffer (SEND_ZC with IORING_RECVSEND_FIXED_BUF). */
  bufIndex?: number;
}

function net(sqe: Sqe, op: number, target: Target, buf: Uint8Array, o?: PrepNetOptions): void {
  prepRw(sqe, op, target, buf.length ? sqe.ring.addressOf(buf) : 0n, buf.length, 0n);
  if (o?.msgFlags) sqe.view.setUint32(sqe.offset + 28, o.msgFlags, true);
  if (o?.sendFlags) sqe.setIoprio(o.sendFlags);
  if (o?.bufIndex) sqe.setBufIndex(o.bufIndex);
  common(sqe, o);
}

/**
 * `io_uring_prep_send` (IORING_OP_SEND).
 *
 * @param sqe The SQE.
 * @param target Socket fd or {@linkcode Fixed}.
 * @param buf Bytes.
 * @param options msg_flags, common.
 */
export function prepSend(
  sqe: Sqe,
  target: Target,
  buf: Uint8Array,
  options?: PrepNetOptions,
): void {
  net(sqe, IORING_OP_SEND, target, buf, options);
}

/**
 * `io_uring_prep_recv` (IORING_OP_RECV).
 *
 * @param sqe The SQE.
 * @param target Socket fd or {@linkcode Fixed}.
 * @param buf Destination.
 * @param options msg_flags (MSG_WAITALL), common.
 */
export function prepRecv(
  sqe: Sqe,
  target: Target,
  buf: Uint8Array,
  options?: PrepNetOptions,
): void {
  net(sqe, IORING_OP_RECV, target, buf, options);
}

/**
 * `io_uring_prep_send_zc` (IORING_OP_SEND_ZC): a result CQE with IORING_CQE_F_MORE, then a
 * IORING_CQE_F_NOTIF CQE with the same user_data when the buffer may be reused.
 *
 * @param sqe The SQE.
 * @param target Socket fd or {@linkcode Fixed}.
 * @param buf Bytes.
 * @param options msg_flags, zc flags, common.
 */
export function prepSendZc(
  sqe: Sqe,
  target: Target,
  buf: Uint8Array,
  options?: PrepNetOptions,
): void {
  net(sqe, IORING_OP_SEND_ZC, target, buf, options);
}

/**
 * A `struct __kernel_timespec` (16 bytes) for TIMEOUT / LINK_TIMEOUT.
 *
 * @param ms Milliseconds.
 * @returns The memory.
 */
export function timespec(ms: number): Uint8Array {
  const b = new Uint8Array(16);
  const dv = new DataView(b.buffer);
  const sec = Math.floor(ms / 1000);
  dv.setBigInt64(0, BigInt(sec), true);
  dv.setBigInt64(8, BigInt(Math.round((ms - sec * 1000) * 1e6)), true);
  return b;
}

/** Options of {@linkcode prepTimeout}. */
export interface PrepTimeoutOptions extends PrepCommon {
  /** Completion count (`off`): complete with 0 after this many CQEs. */
  count?: number;
  /** IORING_TIMEOUT_* flags. */
  timeoutFlags?: number;
}

/**
 * `io_uring_prep_timeout` (IORING_OP_TIMEOUT): -ETIME on expiry, 0 when `count` CQEs came
 * first.
 *
 * @param sqe The SQE.
 * @param ts A {@linkcode timespec}.
 * @param options Count, flags, common.
 */
export function prepTimeout(sqe: Sqe, ts: Uint8Array, options?: PrepTimeoutOptions): void {
  prepRw(sqe, IORING_OP_TIMEOUT, -1, sqe.ring.addressOf(ts), 1, BigInt(options?.count ?? 0));
  if (options?.timeoutFlags) sqe.view.setUint32(sqe.offset + 28, options.timeoutFlags, true);
  common(sqe, options);
}

/**
 * `io_uring_prep_link_timeout` (IORING_OP_LINK_TIMEOUT): must follow a request with IOSQE_IO_LINK.
 *
 * @param sqe The SQE.
 * @param ts A {@linkcode timespec}.
 * @param options Flags, common.
 */
export function prepLinkTimeout(sqe: Sqe, ts: Uint8Array, options?: PrepTimeoutOptions): void {
  prepRw(sqe, IORING_OP_LINK_TIMEOUT, -1, sqe.ring.addressOf(ts), 1, 0n);
  if (options?.timeoutFlags) sqe.view.setUint32(sqe.offset + 28, options.timeoutFlags, true);
  common(sqe, options);
}

/** Options of {@linkcode prepCancel}. */
export interface PrepCancelOptions extends PrepCommon {
  /** IORING_ASYNC_CANCEL_* flags. */
  cancelFlags?: number;
}

/**
 * `io_uring_prep_cancel64` (IORING_OP_ASYNC_CANCEL) by user_data.
 *
 * @param sqe The SQE.
 * @param target The user_data to cancel.
 * @param options Cancel flags, common.
 */
export function prepCancel(sqe: Sqe, target: bigint, options?: PrepCancelOptions): void {
  prepRw(sqe, IORING_OP_ASYNC_CANCEL, -1, target, 0, 0n);
  if (options?.cancelFlags) sqe.view.setUint32(sqe.offset + 28, options.cancelFlags, true);
  common(sqe, options);
}

/**
 * `io_uring_prep_cancel_fd` (IORING_OP_ASYNC_CANCEL with IORING_ASYNC_CANCEL_FD).
 *
 * @param sqe The SQE.
 * @param fd The fd whose requests to cancel.
 * @param options Extra cancel flags (ALL), common.
 */
export function prepCancelFd(sqe: Sqe, fd: number, options?: PrepCancelOptions): void {
  prepRw(sqe, IORING_OP_ASYNC_CANCEL, fd, 0n, 0, 0n);
  sqe.view.setUint32(sqe.offset + 28, IORING_ASYNC_CANCEL_FD | (options?.cancelFlags ?? 0), true);
  common(sqe, options);
}

/** Options of {@linkcode prepUringCmd}. */
export interface PrepUringCmdOptions extends PrepCommon {
  /** The command payload (16 bytes max, 80 on SQE128 rings), copied to `cmd[]` at offset 48. */
  cmd?: Uint8Array;
  /** `uring_cmd_flags`. */
  cmdFlags?: number;
}

/**
 * `io_uring_prep_uring_cmd` (IORING_OP_URING_CMD).
 *
 * @param sqe The SQE.
 * @param target Device fd or {@linkcode Fixed}.
 * @param cmdOp `cmd_op`.
 * @param options Payload, flags, common.
 */
export function prepUringCmd(
  sqe: Sqe,
  target: Target,
  cmdOp: number,
  options?: PrepUringCmdOptions,
): void {
  prepRw(sqe, IORING_OP_URING_CMD, target, 0n, 0, 0n);
  sqe.view.setUint32(sqe.offset + 8, cmdOp >>> 0, true);
  const cmd = options?.cmd;
  if (cmd) {
    const room = sqe.size - 48;
    if (cmd.length > room) {
      throw new RangeError(`Cannot write command: ${cmd.length} bytes exceed ${room}`);
    }
    sqe.bytes.set(cmd, sqe.offset + 48);
  }
  if (options?.cmdFlags) sqe.view.setUint32(sqe.offset + 28, options.cmdFlags, true);
  common(sqe, options);
}
