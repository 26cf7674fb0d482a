/**
 * Codec of `struct io_uring_file_index_range` (16 bytes), `IORING_REGISTER_FILE_ALLOC_RANGE`'s
 * argument: the range `[off, off + len)` of fixed-file slots used for automatic allocation.
 *
 * @example Allocate from slots 8..15
 * ```ts
 * import assert from "node:assert/strict";
 * import { IoUringFileIndexRange } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(IoUringFileIndexRange.SIZE));
 * IoUringFileIndexRange.encode(view, 0, { off: 8, len: 8, resv: 0n });
 * assert.equal(view.getUint32(IoUringFileIndexRange.OFFSET_LEN, true), 8);
 * ```
 *
 * @module
 */

/** The decoded fields of `io_uring_file_index_range`. */
export interface IoUringFileIndexRangeValue {
  /** `off` (u32 @0). */
  off: number;
  /** `len` (u32 @4). */
  len: number;
  /** `resv` (u64 @8). */
  resv: bigint;
}

/**
 * `struct io_uring_file_index_range`.
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { IoUringFileIndexRange } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(IoUringFileIndexRange.SIZE));
 * IoUringFileIndexRange.encode(view, 0, { off: 4, len: 60, resv: 0n });
 * assert.deepEqual(IoUringFileIndexRange.decode(view, 0), { off: 4, len: 60, resv: 0n });
 * ```
 */
export class IoUringFileIndexRange {
  /** `sizeof(struct io_uring_file_index_range)`. */
  static readonly SIZE = 16;
  /** `off` (u32). */
  static readonly OFFSET_OFF = 0;
  /** `len` (u32). */
  static readonly OFFSET_LEN = 4;
  /** `resv` (u64). */
  static readonly OFFSET_RESV = 8;
  /**
   * A value with every field zero.
   * @returns A fresh value.
   */
  static zero(): IoUringFileIndexRangeValue {
    return { off: 0, len: 0, resv: 0n };
  }
  /**
   * Writes every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @param v The value.
   */
  static encode(view: DataView, o: number, v: IoUringFileIndexRangeValue): void {
    view.setUint32(o, v.off, true);
    view.setUint32(o + 4, v.len, true);
    view.setBigUint64(o + 8, v.resv, true);
  }
  /**
   * Reads every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns A fresh value.
   */
  static decode(view: DataView, o: number): IoUringFileIndexRangeValue {
    return {
      off: view.getUint32(o, true),
      len: view.getUint32(o + 4, true),
      resv: view.getBigUint64(o + 8, true),
    };
  }
}
