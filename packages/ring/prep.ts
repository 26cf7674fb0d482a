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
  IoUringSqe,
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
  if (o.userData !== undefined) {
    sqe.view.setBigUint64(sqe.offset + IoUringSqe.OFFSET_USER_DATA, o.userData, true);
  }
  if (o.flags !== undefined) sqe.setFlags(o.flags);
}

const TWO32 = 4294967296;
/** Byte offset of the high half of a little-endian u64. */
const U64_HI = 4;

/**
 * Writes a u64 field from a number (an integer; negatives as two's complement, -1 = all ones)
 * or a bigint, without making a bigint for safe non-negative numbers.
 *
 * @param v The SQE memory.
 * @param o Byte offset of the field.
 * @param x The value.
 */
export function setSqeU64(v: DataView, o: number, x: number | bigint): void {
  if (typeof x === "number" && x >= 0 && x <= Number.MAX_SAFE_INTEGER) {
    // The hot path (offsets, addresses below 2^53): two u32 stores, no call, no bigint. `lo` is
    // a whole number exactly when `x` is.
    const hi = (x / TWO32) >>> 0;
    const lo = x - hi * TWO32;
    if (lo === lo >>> 0) {
      v.setUint32(o, lo, true);
      v.setUint32(o + U64_HI, hi, true);
      return;
    }
  }
  if (typeof x === "bigint") {
    v.setBigUint64(o, BigInt.asUintN(64, x), true);
  } else if (Number.isInteger(x)) {
    // -1 (all ones), other negatives (two's complement) and integers beyond 2^53 (exact
    // doubles): through a bigint, off the hot path.
    v.setBigUint64(o, BigInt.asUintN(64, BigInt(x)), true);
  } else {
    throw new RangeError(`Cannot write a u64 SQE field: ${x} is not an integer`);
  }
}

/**
 * `io_uring_prep_rw` on raw SQE memory: the one base every `prep*` helper of this package is
 * layered on (the {@linkcode Sqe} helpers call it with the handle's view and offset). Writes
 * opcode, fd, `off`, `addr` and `len`; leaves every other field as it is (a slot from
 * {@linkcode Ring.getSqe} or {@linkcode Ring.getSqeOffset} is zeroed).
 *
 * The zero-allocation fast path: `const o = ring.getSqeOffset(); prepRwAt(ring.sqes, o, …)`.
 *
 * @param v The SQE memory (`ring.sqes`).
 * @param o Byte offset of the SQE.
 * @param op IORING_OP_*.
 * @param fd The fd, or a registered-file index (then set IOSQE_FIXED_FILE with
 *   {@linkcode sqeSetFlags}).
 * @param addr `addr` (a kernel-visible address, or an offset for lent/registered buffers).
 * @param len `len`.
 * @param off `off` (file offset; -1 = current position).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { IORING_OP_READ, IoUringSqe } from "@ublk-ts/uapi";
 * import { prepRwAt } from "@ublk-ts/ring";
 * const v = new DataView(new ArrayBuffer(64));
 * prepRwAt(v, 0, IORING_OP_READ, 3, 4096, 512, 8192);
 * assert.equal(v.getUint32(IoUringSqe.OFFSET_LEN, true), 512);
 * ```
 */
export function prepRwAt(
  v: DataView,
  o: number,
  op: number,
  fd: number,
  addr: number | bigint,
  len: number,
  off: number | bigint,
): void {
  v.setUint8(o + IoUringSqe.OFFSET_OPCODE, op);
  v.setInt32(o + IoUringSqe.OFFSET_FD, fd, true);
  setSqeU64(v, o + IoUringSqe.OFFSET_OFF, off);
  setSqeU64(v, o + IoUringSqe.OFFSET_ADDR, addr);
  v.setUint32(o + IoUringSqe.OFFSET_LEN, len >>> 0, true);
}

/**
 * ORs IOSQE_* flags into an SQE (`sqe->flags |= flags`).
 *
 * @param v The SQE memory.
 * @param o Byte offset of the SQE.
 * @param flags IOSQE_* flags.
 */
export function sqeSetFlags(v: DataView, o: number, flags: number): void {
  const f = o + IoUringSqe.OFFSET_FLAGS;
  v.setUint8(f, v.getUint8(f) | flags);
}

/**
 * Sets the per-op flags word (`rw_flags`, `fsync_flags`, `uring_cmd_flags`, `msg_flags`…).
 *
 * @param v The SQE memory.
 * @param o Byte offset of the SQE.
 * @param flags The value.
 */
export function sqeSetOpFlags(v: DataView, o: number, flags: number): void {
  v.setUint32(o + IoUringSqe.OFFSET_OP_FLAGS, flags >>> 0, true);
}

/**
 * Sets `user_data` from two u32 halves (no bigint on the hot path).
 *
 * @param v The SQE memory.
 * @param o Byte offset of the SQE.
 * @param lo Bits 0–31.
 * @param hi Bits 32–63.
 */
export function sqeSetUserData32(v: DataView, o: number, lo: number, hi: number): void {
  v.setUint32(o + IoUringSqe.OFFSET_USER_DATA, lo >>> 0, true);
  v.setUint32(o + IoUringSqe.OFFSET_USER_DATA + 4, hi >>> 0, true);
}

/**
 * Sets `buf_index` (READ_FIXED/WRITE_FIXED, provided-buffer group, SEND_ZC fixed buffers).
 *
 * @param v The SQE memory.
 * @param o Byte offset of the SQE.
 * @param index The index.
 */
export function sqeSetBufIndex(v: DataView, o: number, index: number): void {
  v.setUint16(o + IoUringSqe.OFFSET_BUF_INDEX, index, true);
}

/**
 * Sets `ioprio`.
 *
 * @param v The SQE memory.
 * @param o Byte offset of the SQE.
 * @param ioprio The value.
 */
export function sqeSetIoprio(v: DataView, o: number, ioprio: number): void {
  v.setUint16(o + IoUringSqe.OFFSET_IOPRIO, ioprio, true);
}

/**
 * Sets `personality`.
 *
 * @param v The SQE memory.
 * @param o Byte offset of the SQE.
 * @param id A personality id from IORING_REGISTER_PERSONALITY.
 */
export function sqeSetPersonality(v: DataView, o: number, id: number): void {
  v.setUint16(o + IoUringSqe.OFFSET_PERSONALITY, id, true);
}

/**
 * `io_uring_prep_fsync` on raw SQE memory (IORING_OP_FSYNC).
 *
 * @param v The SQE memory.
 * @param o Byte offset of the SQE.
 * @param fd The fd or registered-file index.
 * @param fsyncFlags IORING_FSYNC_DATASYNC or 0.
 */
export function prepFsyncAt(v: DataView, o: number, fd: number, fsyncFlags: number): void {
  prepRwAt(v, o, IORING_OP_FSYNC, fd, 0, 0, 0);
  sqeSetOpFlags(v, o, fsyncFlags);
}

/**
 * `io_uring_prep_fallocate` on raw SQE memory (IORING_OP_FALLOCATE: `len` carries the mode,
 * `addr` the length, `off` the offset).
 *
 * @param v The SQE memory.
 * @param o Byte offset of the SQE.
 * @param fd The fd or registered-file index.
 * @param mode FALLOC_FL_* mode.
 * @param offset Byte offset.
 * @param length Byte length.
 */
export function prepFallocateAt(
  v: DataView,
  o: number,
  fd: number,
  mode: number,
  offset: number | bigint,
  length: number | bigint,
): void {
  prepRwAt(v, o, IORING_OP_FALLOCATE, fd, length, mode, offset);
}

/**
 * `io_uring_prep_uring_cmd` on raw SQE memory (IORING_OP_URING_CMD): opcode, fd and `cmd_op`;
 * the caller writes the payload at `o + IoUringSqe.OFFSET_CMD` with a uapi codec.
 *
 * @param v The SQE memory.
 * @param o Byte offset of the SQE.
 * @param fd The device fd or registered-file index.
 * @param cmdOp `cmd_op`.
 */
export function prepUringCmdAt(v: DataView, o: number, fd: number, cmdOp: number): void {
  prepRwAt(v, o, IORING_OP_URING_CMD, fd, 0, 0, 0);
  v.setUint32(o + IoUringSqe.OFFSET_CMD_OP, cmdOp >>> 0, true);
}

/**
 * `io_uring_prep_rw`: the base of every {@linkcode Sqe} helper, over {@linkcode prepRwAt}.
 * A {@linkcode Fixed} target sets IOSQE_FIXED_FILE.
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
  addr: number | bigint,
  len: number,
  off: number | bigint,
): void {
  if (target instanceof Fixed) {
    prepRwAt(sqe.view, sqe.offset, op, target.index, addr, len, off);
    sqeSetFlags(sqe.view, sqe.offset, IOSQE_FIXED_FILE);
  } else {
    prepRwAt(sqe.view, sqe.offset, op, target, addr, len, off);
  }
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
    v.setUint32(o + U64_HI, 0xffffffff, true);
  } else if (Number.isSafeInteger(off) && off > 0) {
    v.setUint32(o, off >>> 0, true);
    v.setUint32(o + U64_HI, Math.floor(off / 4294967296), true);
  } else {
    v.setBigUint64(o, u64(off), true);
  }
}

function rwCommon(sqe: Sqe, o: PrepRwOptions | undefined): void {
  if (!o) return;
  if (o.rwFlags) sqe.view.setUint32(sqe.offset + IoUringSqe.OFFSET_OP_FLAGS, o.rwFlags, true);
  if (o.ioprio) sqe.view.setUint16(sqe.offset + IoUringSqe.OFFSET_IOPRIO, o.ioprio, true);
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
   * Encodes `buffers` with addresses from `owner`. A zero-length buffer keeps its address
   * (`iov_base` of a subarray of length 0 is where it points); only a view of an empty
   * ArrayBuffer is NULL.
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
      // A zero-length entry keeps its base (as C's `{ .iov_base = p, .iov_len = 0 }`); only a
      // view of an empty ArrayBuffer, which has no address, is encoded as NULL.
      dv.setBigUint64(i * 16, b.buffer.byteLength > 0 ? owner.addressOf(b) : 0n, true);
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
  if (options?.datasync) {
    sqe.view.setUint32(sqe.offset + IoUringSqe.OFFSET_OP_FLAGS, IORING_FSYNC_DATASYNC, true);
  }
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
  if (o?.msgFlags) sqe.view.setUint32(sqe.offset + IoUringSqe.OFFSET_OP_FLAGS, o.msgFlags, true);
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
  if (options?.timeoutFlags) {
    sqe.view.setUint32(sqe.offset + IoUringSqe.OFFSET_OP_FLAGS, options.timeoutFlags, true);
  }
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
  if (options?.timeoutFlags) {
    sqe.view.setUint32(sqe.offset + IoUringSqe.OFFSET_OP_FLAGS, options.timeoutFlags, true);
  }
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
  if (options?.cancelFlags) {
    sqe.view.setUint32(sqe.offset + IoUringSqe.OFFSET_OP_FLAGS, options.cancelFlags, true);
  }
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
  sqe.view.setUint32(
    sqe.offset + IoUringSqe.OFFSET_OP_FLAGS,
    IORING_ASYNC_CANCEL_FD | (options?.cancelFlags ?? 0),
    true,
  );
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
  sqe.view.setUint32(sqe.offset + IoUringSqe.OFFSET_CMD_OP, cmdOp >>> 0, true);
  const cmd = options?.cmd;
  if (cmd) {
    const room = sqe.size - 48;
    if (cmd.length > room) {
      throw new RangeError(`Cannot write command: ${cmd.length} bytes exceed ${room}`);
    }
    sqe.bytes.set(cmd, sqe.offset + 48);
  }
  if (options?.cmdFlags) {
    sqe.view.setUint32(sqe.offset + IoUringSqe.OFFSET_OP_FLAGS, options.cmdFlags, true);
  }
  common(sqe, options);
}
