/**
 * Private SQE writers of the targets: the few data ops they issue (READ, WRITE, FSYNC,
 * FALLOCATE), written straight into the ring's SQE memory. u64 fields are written as two u32
 * halves so no BigInt is made per I/O.
 *
 * @module
 */

import {
  IORING_FSYNC_DATASYNC,
  IORING_OP_FALLOCATE,
  IORING_OP_FSYNC,
  IOSQE_FIXED_FILE,
} from "@ublk-ts/uapi";

/** `FALLOC_FL_KEEP_SIZE` (linux/falloc.h). */
export const FALLOC_FL_KEEP_SIZE = 0x01;
/** `FALLOC_FL_PUNCH_HOLE`. */
export const FALLOC_FL_PUNCH_HOLE = 0x02;
/** `FALLOC_FL_ZERO_RANGE`. */
export const FALLOC_FL_ZERO_RANGE = 0x10;

const TWO32 = 4294967296;

/**
 * Writes a u64 that fits in a double as two u32 halves.
 *
 * @param v The view.
 * @param o Byte offset.
 * @param x The value (0 ≤ x < 2^53).
 */
export function setU64(v: DataView, o: number, x: number): void {
  v.setUint32(o, x % TWO32, true);
  v.setUint32(o + 4, Math.floor(x / TWO32), true);
}

/**
 * Zeroes the first 64 bytes of an SQE (8 u64 stores).
 *
 * @param v The view.
 * @param o Byte offset of the SQE.
 */
export function clearSqe(v: DataView, o: number): void {
  for (let i = 0; i < 64; i += 4) v.setUint32(o + i, 0, true);
}

/**
 * Preps a read/write style SQE (`io_uring_prep_rw`): opcode, fd (fixed when `fixed`), addr as
 * a bigint (a kernel-visible address), len and file offset.
 *
 * @param v The view.
 * @param o Byte offset of the SQE.
 * @param opcode IORING_OP_*.
 * @param fd Fd or fixed-file index.
 * @param fixed Whether `fd` is a fixed-file index.
 * @param addr The buffer address.
 * @param len Byte count.
 * @param off File offset.
 */
export function prepRw(
  v: DataView,
  o: number,
  opcode: number,
  fd: number,
  fixed: boolean,
  addr: bigint,
  len: number,
  off: number,
): void {
  clearSqe(v, o);
  v.setUint8(o, opcode);
  v.setUint8(o + 1, fixed ? IOSQE_FIXED_FILE : 0);
  v.setInt32(o + 4, fd, true);
  setU64(v, o + 8, off);
  v.setBigUint64(o + 16, addr, true);
  v.setUint32(o + 24, len, true);
}

/**
 * Preps `IORING_OP_FSYNC` with IORING_FSYNC_DATASYNC when `datasync` (fdatasync).
 *
 * @param v The view.
 * @param o Byte offset of the SQE.
 * @param fd Fd or fixed-file index.
 * @param fixed Whether `fd` is a fixed-file index.
 * @param datasync fdatasync rather than fsync.
 */
export function prepFsync(
  v: DataView,
  o: number,
  fd: number,
  fixed: boolean,
  datasync: boolean,
): void {
  clearSqe(v, o);
  v.setUint8(o, IORING_OP_FSYNC);
  v.setUint8(o + 1, fixed ? IOSQE_FIXED_FILE : 0);
  v.setInt32(o + 4, fd, true);
  v.setUint32(o + 28, datasync ? IORING_FSYNC_DATASYNC : 0, true);
}

/**
 * Preps `IORING_OP_FALLOCATE` (as `io_uring_prep_fallocate`: len carries the mode, addr the
 * length, off the offset).
 *
 * @param v The view.
 * @param o Byte offset of the SQE.
 * @param fd Fd or fixed-file index.
 * @param fixed Whether `fd` is a fixed-file index.
 * @param mode FALLOC_FL_* mode.
 * @param off Byte offset.
 * @param len Byte length.
 */
export function prepFallocate(
  v: DataView,
  o: number,
  fd: number,
  fixed: boolean,
  mode: number,
  off: number,
  len: number,
): void {
  clearSqe(v, o);
  v.setUint8(o, IORING_OP_FALLOCATE);
  v.setUint8(o + 1, fixed ? IOSQE_FIXED_FILE : 0);
  v.setInt32(o + 4, fd, true);
  setU64(v, o + 8, off);
  setU64(v, o + 16, len);
  v.setUint32(o + 24, mode, true);
}
