/**
 * {@linkcode Cqe}: a reusable handle on one CQE slot of a {@linkcode Ring}, reading through
 * the ring's DataView (no allocation but the bigint of `userData`).
 *
 * @module
 */

import { IoUringCqe } from "@ublk-ts/uapi";

/** One CQE slot. Valid until the CQ head moves past it. */
export class Cqe {
  /** The CQ memory. */
  readonly view: DataView;
  /** Byte offset of this CQE. */
  readonly offset: number;

  /**
   * A handle on one CQE slot (made by the ring, one per slot).
   *
   * @param view CQ memory.
   * @param offset Byte offset.
   */
  constructor(view: DataView, offset: number) {
    this.view = view;
    this.offset = offset;
  }

  /**
   * `user_data`.
   *
   * @returns The value.
   */
  get userData(): bigint {
    return this.view.getBigUint64(this.offset + IoUringCqe.OFFSET_USER_DATA, true);
  }

  /**
   * `res`: a result or a negative errno.
   *
   * @returns The value.
   */
  get res(): number {
    return this.view.getInt32(this.offset + IoUringCqe.OFFSET_RES, true);
  }

  /**
   * `flags` (IORING_CQE_F_*).
   *
   * @returns The value.
   */
  get flags(): number {
    return this.view.getUint32(this.offset + IoUringCqe.OFFSET_FLAGS, true);
  }

  /**
   * `big_cqe[i]` (CQE32 rings only).
   *
   * @param i 0 or 1.
   * @returns The value.
   */
  big(i: 0 | 1): bigint {
    return this.view.getBigUint64(this.offset + IoUringCqe.OFFSET_BIG_CQE + 8 * i, true);
  }
}
