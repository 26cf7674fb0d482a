/**
 * `struct ublk_auto_buf_reg` (8 bytes, `UBLK_F_AUTO_BUF_REG`, 6.16) and its packing into the
 * FETCH/COMMIT SQE's own `addr` field (`sqe->addr`; `ublksrv_io_cmd.addr` stays 0): index in bits 0-15, flags in 16-23, `reserved0` in
 * 24-31, `reserved1` in 32-63.
 *
 * @example Register the request buffer at slot 3
 * ```ts
 * import assert from "node:assert/strict";
 * import { UblkAutoBufReg } from "@ublk-ts/uapi";
 * const addr = UblkAutoBufReg.toSqeAddr({ index: 3, flags: 0, reserved0: 0, reserved1: 0 });
 * assert.equal(addr, 3n);
 * ```
 *
 * @module
 */

/** The decoded fields of one `ublk_auto_buf_reg`. */
export interface UblkAutoBufRegValue {
  /** `index` (u16 @0): the buffer-table slot to register the request buffer at. */
  index: number;
  /** `flags` (u8 @2): `UBLK_AUTO_BUF_REG_*`. */
  flags: number;
  /** `reserved0` (u8 @3). */
  reserved0: number;
  /** `reserved1` (u32 @4). */
  reserved1: number;
}

/**
 * `struct ublk_auto_buf_reg`.
 *
 * @example Pack into a FETCH_REQ addr and back
 * ```ts
 * import assert from "node:assert/strict";
 * import { UBLK_AUTO_BUF_REG_FALLBACK, UblkAutoBufReg } from "@ublk-ts/uapi";
 * const v = { index: 5, flags: UBLK_AUTO_BUF_REG_FALLBACK, reserved0: 0, reserved1: 0 };
 * const addr = UblkAutoBufReg.toSqeAddr(v);
 * assert.equal(addr, 0x10005n);
 * assert.deepEqual(UblkAutoBufReg.fromSqeAddr(addr), v);
 * ```
 */
export class UblkAutoBufReg {
  /** `sizeof(struct ublk_auto_buf_reg)`. */
  static readonly SIZE = 8;
  /** `index` (u16). */
  static readonly OFFSET_INDEX = 0;
  /** `flags` (u8). */
  static readonly OFFSET_FLAGS = 2;
  /** `reserved0` (u8). */
  static readonly OFFSET_RESERVED0 = 3;
  /** `reserved1` (u32). */
  static readonly OFFSET_RESERVED1 = 4;

  /**
   * A value with every field zero.
   * @returns A fresh value.
   */
  static zero(): UblkAutoBufRegValue {
    return { index: 0, flags: 0, reserved0: 0, reserved1: 0 };
  }
  /**
   * Writes every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @param v The value.
   */
  static encode(view: DataView, o: number, v: UblkAutoBufRegValue): void {
    view.setUint16(o, v.index, true);
    view.setUint8(o + 2, v.flags);
    view.setUint8(o + 3, v.reserved0);
    view.setUint32(o + 4, v.reserved1, true);
  }
  /**
   * Reads every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns A fresh value.
   */
  static decode(view: DataView, o: number): UblkAutoBufRegValue {
    return {
      index: view.getUint16(o, true),
      flags: view.getUint8(o + 2),
      reserved0: view.getUint8(o + 3),
      reserved1: view.getUint32(o + 4, true),
    };
  }
  /**
   * Packs a value into the u64 `addr` of a FETCH/COMMIT command (C's
   * `ublk_auto_buf_reg_to_sqe_addr`).
   * @param v The value.
   * @returns The packed address.
   */
  static toSqeAddr(v: UblkAutoBufRegValue): bigint {
    return BigInt(v.index & 0xffff) | (BigInt(v.flags & 0xff) << 16n) |
      (BigInt(v.reserved0 & 0xff) << 24n) | (BigInt(v.reserved1 >>> 0) << 32n);
  }
  /**
   * Unpacks the u64 `addr` of a FETCH/COMMIT command (C's `ublk_sqe_addr_to_auto_buf_reg`).
   * @param addr The packed address.
   * @returns A fresh value.
   */
  static fromSqeAddr(addr: bigint): UblkAutoBufRegValue {
    return {
      index: Number(addr & 0xffffn),
      flags: Number((addr >> 16n) & 0xffn),
      reserved0: Number((addr >> 24n) & 0xffn),
      reserved1: Number((addr >> 32n) & 0xffffffffn),
    };
  }
}
