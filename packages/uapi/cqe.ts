/**
 * Codec of `struct io_uring_cqe` (16 bytes; 32 with `IORING_SETUP_CQE32`, whose `big_cqe[2]`
 * carries the uring_cmd `res2`).
 *
 * @example Post and read a CQE
 * ```ts
 * import assert from "node:assert/strict";
 * import { IoUringCqe } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(4 * IoUringCqe.SIZE));
 * IoUringCqe.set(view, 2 * IoUringCqe.SIZE, 9n, 4096, 0);
 * assert.equal(IoUringCqe.res(view, 2 * IoUringCqe.SIZE), 4096);
 * ```
 *
 * @module
 */

/** The decoded fields of one `io_uring_cqe`. */
export interface IoUringCqeValue {
  /** `user_data` (u64 @0). */
  userData: bigint;
  /** `res` (s32 @8): result or negative errno. */
  res: number;
  /** `flags` (u32 @12): IORING_CQE_F_*. */
  flags: number;
  /** `big_cqe[0..1]` (u64 @16, @24), present on CQE32 rings only. */
  bigCqe?: [bigint, bigint];
}

/**
 * `struct io_uring_cqe`.
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { IoUringCqe } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(IoUringCqe.SIZE));
 * IoUringCqe.encode(view, 0, { userData: 7n, res: -22, flags: 0 });
 * assert.equal(IoUringCqe.res(view, 0), -22);
 * assert.deepEqual(IoUringCqe.decode(view, 0), { userData: 7n, res: -22, flags: 0 });
 * ```
 */
export class IoUringCqe {
  /** Size of one CQE. */
  static readonly SIZE = 16;
  /** Size of one CQE on an `IORING_SETUP_CQE32` ring. */
  static readonly SIZE32 = 32;
  /** `user_data` (u64). */
  static readonly OFFSET_USER_DATA = 0;
  /** `res` (s32). */
  static readonly OFFSET_RES = 8;
  /** `flags` (u32). */
  static readonly OFFSET_FLAGS = 12;
  /** `big_cqe[]` (u64 × 2 on CQE32 rings). */
  static readonly OFFSET_BIG_CQE = 16;

  /**
   * Writes a CQE; `bigCqe` is written only when present.
   * @param view The memory.
   * @param o Byte offset of the CQE.
   * @param v The value.
   */
  static encode(view: DataView, o: number, v: IoUringCqeValue): void {
    view.setBigUint64(o, v.userData, true);
    view.setInt32(o + 8, v.res, true);
    view.setUint32(o + 12, v.flags, true);
    if (v.bigCqe) {
      view.setBigUint64(o + 16, v.bigCqe[0], true);
      view.setBigUint64(o + 24, v.bigCqe[1], true);
    }
  }

  /**
   * Reads a CQE.
   * @param view The memory.
   * @param o Byte offset of the CQE.
   * @param big Read `big_cqe` too (CQE32 rings).
   * @returns A fresh value.
   */
  static decode(view: DataView, o: number, big = false): IoUringCqeValue {
    const v: IoUringCqeValue = {
      userData: view.getBigUint64(o, true),
      res: view.getInt32(o + 8, true),
      flags: view.getUint32(o + 12, true),
    };
    if (big) v.bigCqe = [view.getBigUint64(o + 16, true), view.getBigUint64(o + 24, true)];
    return v;
  }

  /**
   * `user_data`.
   * @param view The memory.
   * @param o Byte offset of the CQE.
   * @returns The user data.
   */
  static userData(view: DataView, o: number): bigint {
    return view.getBigUint64(o, true);
  }
  /**
   * `res`.
   * @param view The memory.
   * @param o Byte offset of the CQE.
   * @returns The result.
   */
  static res(view: DataView, o: number): number {
    return view.getInt32(o + 8, true);
  }
  /**
   * `flags`.
   * @param view The memory.
   * @param o Byte offset of the CQE.
   * @returns IORING_CQE_F_* flags.
   */
  static flags(view: DataView, o: number): number {
    return view.getUint32(o + 12, true);
  }
  /**
   * Writes the three fields of a 16-byte CQE without allocating.
   * @param view The memory.
   * @param o Byte offset of the CQE.
   * @param userData `user_data`.
   * @param res `res`.
   * @param flags `flags`.
   */
  static set(view: DataView, o: number, userData: bigint, res: number, flags: number): void {
    view.setBigUint64(o, userData, true);
    view.setInt32(o + 8, res, true);
    view.setUint32(o + 12, flags, true);
  }
}
