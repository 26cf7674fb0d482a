/**
 * Codec of `struct io_uring_getevents_arg` (24 bytes), `io_uring_enter(2)`'s argument with
 * `IORING_ENTER_EXT_ARG`.
 *
 * @example Wait with a timeout pointer
 * ```ts
 * import assert from "node:assert/strict";
 * import { IoUringGeteventsArg } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(IoUringGeteventsArg.SIZE));
 * IoUringGeteventsArg.encode(view, 0, { ...IoUringGeteventsArg.zero(), ts: 0x5000n });
 * assert.equal(view.getBigUint64(IoUringGeteventsArg.OFFSET_TS, true), 0x5000n);
 * ```
 *
 * @module
 */

/** The decoded fields of `io_uring_getevents_arg`. */
export interface IoUringGeteventsArgValue {
  /** `sigmask` (u64 @0): pointer to a sigset, or 0. */
  sigmask: bigint;
  /** `sigmask_sz` (u32 @8). */
  sigmaskSz: number;
  /** `pad` (u32 @12). */
  pad: number;
  /** `ts` (u64 @16): pointer to a `__kernel_timespec`, or 0. */
  ts: bigint;
}

/**
 * `struct io_uring_getevents_arg`.
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { IoUringGeteventsArg } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(IoUringGeteventsArg.SIZE));
 * const v = { sigmask: 0n, sigmaskSz: 8, pad: 0, ts: 0x7000n };
 * IoUringGeteventsArg.encode(view, 0, v);
 * assert.deepEqual(IoUringGeteventsArg.decode(view, 0), v);
 * ```
 */
export class IoUringGeteventsArg {
  /** `sizeof(struct io_uring_getevents_arg)`. */
  static readonly SIZE = 24;
  /** `sigmask` (u64). */
  static readonly OFFSET_SIGMASK = 0;
  /** `sigmask_sz` (u32). */
  static readonly OFFSET_SIGMASK_SZ = 8;
  /** `pad` (u32). */
  static readonly OFFSET_PAD = 12;
  /** `ts` (u64). */
  static readonly OFFSET_TS = 16;
  /**
   * A value with every field zero.
   * @returns A fresh value.
   */
  static zero(): IoUringGeteventsArgValue {
    return { sigmask: 0n, sigmaskSz: 0, pad: 0, ts: 0n };
  }
  /**
   * Writes every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @param v The value.
   */
  static encode(view: DataView, o: number, v: IoUringGeteventsArgValue): void {
    view.setBigUint64(o, v.sigmask, true);
    view.setUint32(o + 8, v.sigmaskSz, true);
    view.setUint32(o + 12, v.pad, true);
    view.setBigUint64(o + 16, v.ts, true);
  }
  /**
   * Reads every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns A fresh value.
   */
  static decode(view: DataView, o: number): IoUringGeteventsArgValue {
    return {
      sigmask: view.getBigUint64(o, true),
      sigmaskSz: view.getUint32(o + 8, true),
      pad: view.getUint32(o + 12, true),
      ts: view.getBigUint64(o + 16, true),
    };
  }
}
