/**
 * Codecs of `struct io_uring_sync_cancel_reg` (64 bytes, `IORING_REGISTER_SYNC_CANCEL`'s
 * argument) and the `struct __kernel_timespec` (16 bytes) it embeds.
 *
 * @example A one-second timeout
 * ```ts
 * import assert from "node:assert/strict";
 * import { IoUringSyncCancelReg } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(IoUringSyncCancelReg.SIZE));
 * const v = { ...IoUringSyncCancelReg.zero(), timeout: { tvSec: 1n, tvNsec: 0n } };
 * IoUringSyncCancelReg.encode(view, 0, v);
 * assert.equal(view.getBigInt64(IoUringSyncCancelReg.OFFSET_TIMEOUT, true), 1n);
 * ```
 *
 * @module
 */

import { type FieldSpec, readFields, writeFields } from "./_codec.ts";

/** The decoded fields of `__kernel_timespec`. */
export interface KernelTimespecValue {
  /** `tv_sec` (s64 @0). */
  tvSec: bigint;
  /** `tv_nsec` (s64 @8). */
  tvNsec: bigint;
}

/**
 * `struct __kernel_timespec` (`linux/time_types.h`), the timespec io_uring uses everywhere.
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { KernelTimespec } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(KernelTimespec.SIZE));
 * KernelTimespec.encode(view, 0, { tvSec: 1n, tvNsec: 500_000_000n });
 * assert.deepEqual(KernelTimespec.decode(view, 0), { tvSec: 1n, tvNsec: 500_000_000n });
 * ```
 */
export class KernelTimespec {
  /** `sizeof(struct __kernel_timespec)`. */
  static readonly SIZE = 16;
  /** `tv_sec` (s64). */
  static readonly OFFSET_TV_SEC = 0;
  /** `tv_nsec` (s64). */
  static readonly OFFSET_TV_NSEC = 8;
  /**
   * A value with every field zero.
   * @returns A fresh value.
   */
  static zero(): KernelTimespecValue {
    return { tvSec: 0n, tvNsec: 0n };
  }
  /**
   * Writes every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @param v The value.
   */
  static encode(view: DataView, o: number, v: KernelTimespecValue): void {
    view.setBigInt64(o, v.tvSec, true);
    view.setBigInt64(o + 8, v.tvNsec, true);
  }
  /**
   * Reads every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns A fresh value.
   */
  static decode(view: DataView, o: number): KernelTimespecValue {
    return { tvSec: view.getBigInt64(o, true), tvNsec: view.getBigInt64(o + 8, true) };
  }
}

/** The decoded fields of `io_uring_sync_cancel_reg`. */
export interface IoUringSyncCancelRegValue {
  /** `addr` (u64 @0): user_data to match. */
  addr: bigint;
  /** `fd` (s32 @8). */
  fd: number;
  /** `flags` (u32 @12): `IORING_ASYNC_CANCEL_*`. */
  flags: number;
  /** `timeout` (@16). */
  timeout: KernelTimespecValue;
  /** `pad[4]` (u64 × 4 @32). */
  pad: bigint[];
}

const FIELDS: readonly FieldSpec[] = [
  { name: "addr", offset: 0, kind: "u64" },
  { name: "fd", offset: 8, kind: "s32" },
  { name: "flags", offset: 12, kind: "u32" },
  { name: "timeout", offset: 16, kind: KernelTimespec },
  { name: "pad", offset: 32, kind: "u64", count: 4 },
];

/**
 * `struct io_uring_sync_cancel_reg`.
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { IORING_ASYNC_CANCEL_ALL, IoUringSyncCancelReg } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(IoUringSyncCancelReg.SIZE));
 * const v = {
 *   addr: 42n,
 *   fd: -1,
 *   flags: IORING_ASYNC_CANCEL_ALL,
 *   timeout: { tvSec: -1n, tvNsec: -1n },
 *   pad: [0n, 0n, 0n, 0n],
 * };
 * IoUringSyncCancelReg.encode(view, 0, v);
 * assert.deepEqual(IoUringSyncCancelReg.decode(view, 0), v);
 * ```
 */
export class IoUringSyncCancelReg {
  /** `sizeof(struct io_uring_sync_cancel_reg)`. */
  static readonly SIZE = 64;
  /** `addr` (u64). */
  static readonly OFFSET_ADDR = 0;
  /** `fd` (s32). */
  static readonly OFFSET_FD = 8;
  /** `flags` (u32). */
  static readonly OFFSET_FLAGS = 12;
  /** `timeout` (`__kernel_timespec`). */
  static readonly OFFSET_TIMEOUT = 16;
  /** `pad[4]` (u64). */
  static readonly OFFSET_PAD = 32;
  /**
   * A value with every field zero.
   * @returns A fresh value.
   */
  static zero(): IoUringSyncCancelRegValue {
    return { addr: 0n, fd: 0, flags: 0, timeout: KernelTimespec.zero(), pad: [0n, 0n, 0n, 0n] };
  }
  /**
   * Writes every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @param v The value.
   */
  static encode(view: DataView, o: number, v: IoUringSyncCancelRegValue): void {
    writeFields(view, o, FIELDS, v);
  }
  /**
   * Reads every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns A fresh value.
   */
  static decode(view: DataView, o: number): IoUringSyncCancelRegValue {
    return readFields(view, o, FIELDS) as unknown as IoUringSyncCancelRegValue;
  }
}
