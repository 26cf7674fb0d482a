/**
 * Shared-memory zero copy (`UBLK_F_SHMEM_ZC`, 2026): `struct ublk_shmem_buf_reg` (16 bytes,
 * REG_BUF's argument) and the `ublksrv_io_desc.addr` encoding used when a descriptor has
 * `UBLK_IO_F_SHMEM_ZC`: byte offset in bits 0-31, buffer index in bits 32-47.
 *
 * @example Decode a shared-memory descriptor address
 * ```ts
 * import assert from "node:assert/strict";
 * import { UblkShmemBufReg } from "@ublk-ts/uapi";
 * assert.equal(UblkShmemBufReg.zcIndex(0x2_0000_0100n), 2);
 * assert.equal(UblkShmemBufReg.zcOffset(0x2_0000_0100n), 0x100);
 * ```
 *
 * @module
 */

import {
  UBLK_SHMEM_ZC_IDX_MASK,
  UBLK_SHMEM_ZC_IDX_OFF,
  UBLK_SHMEM_ZC_OFF_MASK,
} from "./ublk_cmd.ts";

/** The decoded fields of one `ublk_shmem_buf_reg`. */
export interface UblkShmemBufRegValue {
  /** `addr` (u64 @0): user address of the shared memory. */
  addr: bigint;
  /** `len` (u32 @8): size in bytes, page aligned. */
  len: number;
  /** `flags` (u32 @12): `UBLK_SHMEM_BUF_*`. */
  flags: number;
}

/**
 * `struct ublk_shmem_buf_reg`, plus the descriptor address helpers.
 *
 * @example Encode a shared-memory descriptor address
 * ```ts
 * import assert from "node:assert/strict";
 * import { UblkShmemBufReg } from "@ublk-ts/uapi";
 * const addr = UblkShmemBufReg.zcAddr(3, 0x2000);
 * assert.equal(addr, 0x3_0000_2000n);
 * assert.equal(UblkShmemBufReg.zcIndex(addr), 3);
 * assert.equal(UblkShmemBufReg.zcOffset(addr), 0x2000);
 * ```
 */
export class UblkShmemBufReg {
  /** `sizeof(struct ublk_shmem_buf_reg)`. */
  static readonly SIZE = 16;
  /** `addr` (u64). */
  static readonly OFFSET_ADDR = 0;
  /** `len` (u32). */
  static readonly OFFSET_LEN = 8;
  /** `flags` (u32). */
  static readonly OFFSET_FLAGS = 12;

  /**
   * A value with every field zero.
   * @returns A fresh value.
   */
  static zero(): UblkShmemBufRegValue {
    return { addr: 0n, len: 0, flags: 0 };
  }
  /**
   * Writes every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @param v The value.
   */
  static encode(view: DataView, o: number, v: UblkShmemBufRegValue): void {
    view.setBigUint64(o, v.addr, true);
    view.setUint32(o + 8, v.len, true);
    view.setUint32(o + 12, v.flags, true);
  }
  /**
   * Reads every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns A fresh value.
   */
  static decode(view: DataView, o: number): UblkShmemBufRegValue {
    return {
      addr: view.getBigUint64(o, true),
      len: view.getUint32(o + 8, true),
      flags: view.getUint32(o + 12, true),
    };
  }
  /**
   * C's `ublk_shmem_zc_addr(index, offset)`.
   * @param index The registered buffer index (u16).
   * @param offset The byte offset inside it (u32).
   * @returns The descriptor address.
   */
  static zcAddr(index: number, offset: number): bigint {
    return (BigInt(index & 0xffff) << BigInt(UBLK_SHMEM_ZC_IDX_OFF)) | BigInt(offset >>> 0);
  }
  /**
   * C's `ublk_shmem_zc_index(addr)`.
   * @param addr A descriptor address.
   * @returns The buffer index.
   */
  static zcIndex(addr: bigint): number {
    return Number((addr >> BigInt(UBLK_SHMEM_ZC_IDX_OFF)) & UBLK_SHMEM_ZC_IDX_MASK);
  }
  /**
   * C's `ublk_shmem_zc_offset(addr)`.
   * @param addr A descriptor address.
   * @returns The byte offset.
   */
  static zcOffset(addr: bigint): number {
    return Number(addr & UBLK_SHMEM_ZC_OFF_MASK);
  }
}
