/**
 * The one place that encodes and decodes a ublk server's `user_data` (ublksrv's layout):
 * `tag | op << 16 | tgt_data << 24 | is_target_io << 63`.
 *
 * - `tag` (16 bits, 0..15): the ublk tag the SQE serves.
 * - `op` (8 bits, 16..23): for ublk io commands the `_IOC_NR` of the cmd_op (0x20 FETCH,
 *   0x21 COMMIT_AND_FETCH, 0x22 NEED_GET_DATA, 0x23 FUSED_SUBMIT_IO); for target I/O the
 *   IORING_OP_* of the SQE.
 * - `tgt_data` (16 bits, 24..39): target-private (the queue loop uses it as a slot number).
 * - `is_target_io` (bit 63): set on SQEs a target issued, clear on ublk io commands.
 *
 * Pure functions: bigint forms for tests and cold paths, and 32-bit halves (`lo`, `hi`) for
 * the hot path, which writes and reads `user_data` as two u32 without creating a bigint.
 *
 * @module
 */

/** Bit of `is_target_io` in the high 32-bit half (bit 63 of the u64). */
const HI_TARGET_BIT = 0x8000_0000;

/** The decoded fields of one `user_data`. */
export interface UserDataFields {
  /** The tag (0..65535). */
  tag: number;
  /** The op (0..255). */
  op: number;
  /** Target data (0..65535). */
  tgtData: number;
  /** Whether a target issued the SQE. */
  isTargetIo: boolean;
}

function checkField(name: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new RangeError(`Cannot encode user_data: ${name} ${v} is outside 0..${max}`);
  }
}

/**
 * Low 32 bits of the `user_data` of `(tag, op, tgtData)`: `tag | op << 16 | (tgtData & 0xff) << 24`.
 * No argument checks (hot path): callers pass in-range integers.
 *
 * @param tag Tag.
 * @param op Op.
 * @param tgtData Target data.
 * @returns The low half as an unsigned 32-bit number.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { userDataLo } from "./_user_data.ts";
 * assert.equal(userDataLo(5, 0x21, 0x1ff), 0xff210005);
 * ```
 */
export function userDataLo(tag: number, op: number, tgtData: number): number {
  return ((tag & 0xffff) | ((op & 0xff) << 16) | ((tgtData & 0xff) << 24)) >>> 0;
}

/**
 * High 32 bits of the `user_data` of `(tgtData, isTargetIo)`: `tgtData >> 8 | isTargetIo << 31`.
 * No argument checks (hot path).
 *
 * @param tgtData Target data.
 * @param isTargetIo Whether a target issued the SQE.
 * @returns The high half as an unsigned 32-bit number.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { userDataHi } from "./_user_data.ts";
 * assert.equal(userDataHi(0x1ff, true), 0x80000001);
 * ```
 */
export function userDataHi(tgtData: number, isTargetIo: boolean): number {
  return (((tgtData >>> 8) & 0xff) | (isTargetIo ? HI_TARGET_BIT : 0)) >>> 0;
}

/**
 * Encodes a `user_data` (checked).
 *
 * @param tag Tag (0..65535).
 * @param op Op (0..255).
 * @param tgtData Target data (0..65535).
 * @param isTargetIo Whether a target issued the SQE.
 * @returns The u64 value.
 * @throws {RangeError} When a field is out of range.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeUserData } from "./_user_data.ts";
 * assert.equal(encodeUserData(3, 0x20, 0, false), 0x200003n);
 * assert.equal(encodeUserData(3, 22, 1, true), (1n << 63n) | (1n << 24n) | (22n << 16n) | 3n);
 * ```
 */
export function encodeUserData(
  tag: number,
  op: number,
  tgtData: number,
  isTargetIo: boolean,
): bigint {
  checkField("tag", tag, 0xffff);
  checkField("op", op, 0xff);
  checkField("tgt_data", tgtData, 0xffff);
  return (BigInt(userDataHi(tgtData, isTargetIo)) << 32n) |
    BigInt(userDataLo(tag, op, tgtData));
}

/**
 * The tag of a `user_data` from its low half.
 *
 * @param lo Low 32 bits.
 * @returns The tag.
 */
export function userDataTag(lo: number): number {
  return lo & 0xffff;
}

/**
 * The op of a `user_data` from its low half.
 *
 * @param lo Low 32 bits.
 * @returns The op.
 */
export function userDataOp(lo: number): number {
  return (lo >>> 16) & 0xff;
}

/**
 * The target data of a `user_data` from its halves.
 *
 * @param lo Low 32 bits.
 * @param hi High 32 bits.
 * @returns The target data.
 */
export function userDataTgtData(lo: number, hi: number): number {
  return ((lo >>> 24) & 0xff) | ((hi & 0xff) << 8);
}

/**
 * Whether a `user_data` (high half) belongs to a target I/O.
 *
 * @param hi High 32 bits.
 * @returns True when bit 63 is set.
 */
export function userDataIsTargetIo(hi: number): boolean {
  return (hi & HI_TARGET_BIT) !== 0;
}

/**
 * Decodes a `user_data`.
 *
 * @param userData The u64 value.
 * @returns Its fields.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeUserData, encodeUserData } from "./_user_data.ts";
 * assert.deepEqual(decodeUserData(encodeUserData(9, 22, 300, true)), {
 *   tag: 9, op: 22, tgtData: 300, isTargetIo: true,
 * });
 * ```
 */
export function decodeUserData(userData: bigint): UserDataFields {
  const lo = Number(userData & 0xffff_ffffn);
  const hi = Number((userData >> 32n) & 0xffff_ffffn);
  return {
    tag: userDataTag(lo),
    op: userDataOp(lo),
    tgtData: userDataTgtData(lo, hi),
    isTargetIo: userDataIsTargetIo(hi),
  };
}
