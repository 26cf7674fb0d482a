/**
 * Codec of `struct io_uring_restriction` (16 bytes), `IORING_REGISTER_RESTRICTIONS`'s array
 * element.
 *
 * @example Require IOSQE_FIXED_FILE
 * ```ts
 * import assert from "node:assert/strict";
 * import { IORING_RESTRICTION_SQE_FLAGS_REQUIRED, IOSQE_FIXED_FILE, IoUringRestriction } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(IoUringRestriction.SIZE));
 * IoUringRestriction.encode(view, 0, {
 *   ...IoUringRestriction.zero(),
 *   opcode: IORING_RESTRICTION_SQE_FLAGS_REQUIRED,
 *   arg: IOSQE_FIXED_FILE,
 * });
 * assert.equal(view.getUint8(IoUringRestriction.OFFSET_SQE_FLAGS), IOSQE_FIXED_FILE);
 * ```
 *
 * @module
 */

/** The decoded fields of `io_uring_restriction`. */
export interface IoUringRestrictionValue {
  /** `opcode` (u16 @0): `IORING_RESTRICTION_*`. */
  opcode: number;
  /** `register_op` / `sqe_op` / `sqe_flags` (u8 @2). */
  arg: number;
  /** `resv` (u8 @3). */
  resv: number;
  /** `resv2[3]` (u32 × 3 @4). */
  resv2: number[];
}

/**
 * `struct io_uring_restriction`.
 *
 * @example Allow only IORING_OP_READ
 * ```ts
 * import assert from "node:assert/strict";
 * import { IORING_OP_READ, IORING_RESTRICTION_SQE_OP, IoUringRestriction } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(IoUringRestriction.SIZE));
 * const v = { opcode: IORING_RESTRICTION_SQE_OP, arg: IORING_OP_READ, resv: 0, resv2: [0, 0, 0] };
 * IoUringRestriction.encode(view, 0, v);
 * assert.equal(view.getUint8(IoUringRestriction.OFFSET_SQE_OP), IORING_OP_READ);
 * assert.deepEqual(IoUringRestriction.decode(view, 0), v);
 * ```
 */
export class IoUringRestriction {
  /** `sizeof(struct io_uring_restriction)`. */
  static readonly SIZE = 16;
  /** `opcode` (u16). */
  static readonly OFFSET_OPCODE = 0;
  /** `register_op` (u8). */
  static readonly OFFSET_REGISTER_OP = 2;
  /** `sqe_op` (u8), union with `register_op`. */
  static readonly OFFSET_SQE_OP = 2;
  /** `sqe_flags` (u8), union with `register_op`. */
  static readonly OFFSET_SQE_FLAGS = 2;
  /** `resv` (u8). */
  static readonly OFFSET_RESV = 3;
  /** `resv2[3]` (u32). */
  static readonly OFFSET_RESV2 = 4;
  /**
   * A value with every field zero.
   * @returns A fresh value.
   */
  static zero(): IoUringRestrictionValue {
    return { opcode: 0, arg: 0, resv: 0, resv2: [0, 0, 0] };
  }
  /**
   * Writes every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @param v The value.
   */
  static encode(view: DataView, o: number, v: IoUringRestrictionValue): void {
    view.setUint16(o, v.opcode, true);
    view.setUint8(o + 2, v.arg);
    view.setUint8(o + 3, v.resv);
    for (let i = 0; i < 3; i++) view.setUint32(o + 4 + 4 * i, v.resv2[i] ?? 0, true);
  }
  /**
   * Reads every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns A fresh value.
   */
  static decode(view: DataView, o: number): IoUringRestrictionValue {
    return {
      opcode: view.getUint16(o, true),
      arg: view.getUint8(o + 2),
      resv: view.getUint8(o + 3),
      resv2: [
        view.getUint32(o + 4, true),
        view.getUint32(o + 8, true),
        view.getUint32(o + 12, true),
      ],
    };
  }
}
