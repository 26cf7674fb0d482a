/**
 * Codec of `struct ublksrv_io_desc` (24 bytes): one per tag in the queue's shared descriptor
 * area (mmapped read-only from `/dev/ublkcN`), written by the driver, read by the server.
 * Hot path: the accessors allocate nothing (but the bigints of `start_sector` and `addr`).
 *
 * @example Compute a READ's byte range
 * ```ts
 * import assert from "node:assert/strict";
 * import { UBLK_IO_OP_READ, UblksrvIoDesc } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(UblksrvIoDesc.SIZE));
 * UblksrvIoDesc.set(view, 0, UBLK_IO_OP_READ, 8, 16n, 0n);
 * const offset = UblksrvIoDesc.startSectorNumber(view, 0) * 512;
 * const length = UblksrvIoDesc.nrSectors(view, 0) * 512;
 * assert.deepEqual([offset, length], [8192, 4096]);
 * ```
 *
 * @module
 */

import { getU64Number, setU64Number } from "./_u64.ts";

/** The decoded fields of one `ublksrv_io_desc`. */
export interface UblksrvIoDescValue {
  /** `op_flags` (u32 @0): op in bits 0-7, `UBLK_IO_F_*` flags (unshifted) in bits 8-31. */
  opFlags: number;
  /** `nr_sectors` (u32 @4), union with `nr_zones` for REPORT_ZONES. */
  nrSectors: number;
  /** `start_sector` (u64 @8). */
  startSector: bigint;
  /** `addr` (u64 @16): the server buffer given at FETCH/COMMIT. */
  addr: bigint;
}

/**
 * `struct ublksrv_io_desc`.
 *
 * @example Read a descriptor as a server does
 * ```ts
 * import assert from "node:assert/strict";
 * import { UBLK_IO_F_FUA, UBLK_IO_OP_WRITE, UblksrvIoDesc } from "@ublk-ts/uapi";
 * const area = new DataView(new ArrayBuffer(4 * UblksrvIoDesc.SIZE));
 * const at = 3 * UblksrvIoDesc.SIZE; // tag 3
 * UblksrvIoDesc.set(area, at, UBLK_IO_OP_WRITE | UBLK_IO_F_FUA, 8, 2048n, 0x1000n);
 * assert.equal(UblksrvIoDesc.op(area, at), UBLK_IO_OP_WRITE);
 * assert.equal(UblksrvIoDesc.ioFlags(area, at) & UBLK_IO_F_FUA, UBLK_IO_F_FUA);
 * assert.equal(UblksrvIoDesc.nrSectors(area, at), 8);
 * assert.equal(UblksrvIoDesc.startSector(area, at), 2048n);
 * ```
 */
export class UblksrvIoDesc {
  /** `sizeof(struct ublksrv_io_desc)`. */
  static readonly SIZE = 24;
  /** `op_flags` (u32). */
  static readonly OFFSET_OP_FLAGS = 0;
  /** `nr_sectors` (u32). */
  static readonly OFFSET_NR_SECTORS = 4;
  /** `nr_zones` (u32), union with `nr_sectors`. */
  static readonly OFFSET_NR_ZONES = 4;
  /** `start_sector` (u64). */
  static readonly OFFSET_START_SECTOR = 8;
  /** `addr` (u64). */
  static readonly OFFSET_ADDR = 16;

  /**
   * A value with every field zero.
   * @returns A fresh value.
   */
  static zero(): UblksrvIoDescValue {
    return { opFlags: 0, nrSectors: 0, startSector: 0n, addr: 0n };
  }

  /**
   * Writes every field.
   * @param view The memory.
   * @param o Byte offset of the descriptor.
   * @param v The value.
   */
  static encode(view: DataView, o: number, v: UblksrvIoDescValue): void {
    view.setUint32(o, v.opFlags, true);
    view.setUint32(o + 4, v.nrSectors, true);
    view.setBigUint64(o + 8, v.startSector, true);
    view.setBigUint64(o + 16, v.addr, true);
  }

  /**
   * Reads every field.
   * @param view The memory.
   * @param o Byte offset of the descriptor.
   * @returns A fresh value.
   */
  static decode(view: DataView, o: number): UblksrvIoDescValue {
    return {
      opFlags: view.getUint32(o, true),
      nrSectors: view.getUint32(o + 4, true),
      startSector: view.getBigUint64(o + 8, true),
      addr: view.getBigUint64(o + 16, true),
    };
  }

  /**
   * Writes all four fields without allocating (what the driver does at dispatch).
   * @param view The memory.
   * @param o Byte offset of the descriptor.
   * @param opFlags `op_flags` (op | UBLK_IO_F_* flags).
   * @param nrSectors `nr_sectors`.
   * @param startSector `start_sector`.
   * @param addr `addr`.
   */
  static set(
    view: DataView,
    o: number,
    opFlags: number,
    nrSectors: number,
    startSector: bigint,
    addr: bigint,
  ): void {
    view.setUint32(o, opFlags >>> 0, true);
    view.setUint32(o + 4, nrSectors, true);
    view.setBigUint64(o + 8, startSector, true);
    view.setBigUint64(o + 16, addr, true);
  }

  /**
   * `op_flags`.
   * @param view The memory.
   * @param o Byte offset of the descriptor.
   * @returns The raw op and flags.
   */
  static opFlags(view: DataView, o: number): number {
    return view.getUint32(o, true);
  }
  /**
   * The op (`op_flags & 0xff`, C's `ublksrv_get_op`): a `UBLK_IO_OP_*`.
   * @param view The memory.
   * @param o Byte offset of the descriptor.
   * @returns The op.
   */
  static op(view: DataView, o: number): number {
    return view.getUint8(o);
  }
  /**
   * The flags as stored (`op_flags & ~0xff`), to test against `UBLK_IO_F_*` directly.
   * Unlike C's `ublksrv_get_flags`, not shifted right by 8.
   * @param view The memory.
   * @param o Byte offset of the descriptor.
   * @returns The `UBLK_IO_F_*` bits.
   */
  static ioFlags(view: DataView, o: number): number {
    return (view.getUint32(o, true) & 0xffffff00) >>> 0;
  }
  /**
   * `nr_sectors` (or `nr_zones`).
   * @param view The memory.
   * @param o Byte offset of the descriptor.
   * @returns The sector count.
   */
  static nrSectors(view: DataView, o: number): number {
    return view.getUint32(o + 4, true);
  }
  /**
   * `start_sector`.
   * @param view The memory.
   * @param o Byte offset of the descriptor.
   * @returns The first sector.
   */
  static startSector(view: DataView, o: number): bigint {
    return view.getBigUint64(o + 8, true);
  }
  /**
   * `addr`.
   * @param view The memory.
   * @param o Byte offset of the descriptor.
   * @returns The server buffer address.
   */
  static addr(view: DataView, o: number): bigint {
    return view.getBigUint64(o + 16, true);
  }
  /**
   * Sets `op_flags`.
   * @param view The memory.
   * @param o Byte offset of the descriptor.
   * @param v Op | flags.
   */
  static setOpFlags(view: DataView, o: number, v: number): void {
    view.setUint32(o, v >>> 0, true);
  }
  /**
   * Sets `nr_sectors`.
   * @param view The memory.
   * @param o Byte offset of the descriptor.
   * @param v The sector count.
   */
  static setNrSectors(view: DataView, o: number, v: number): void {
    view.setUint32(o + 4, v, true);
  }
  /**
   * Sets `start_sector`.
   * @param view The memory.
   * @param o Byte offset of the descriptor.
   * @param v The first sector.
   */
  static setStartSector(view: DataView, o: number, v: bigint): void {
    view.setBigUint64(o + 8, v, true);
  }
  /**
   * Sets `addr`.
   * @param view The memory.
   * @param o Byte offset of the descriptor.
   * @param v The server buffer address.
   */
  static setAddr(view: DataView, o: number, v: bigint): void {
    view.setBigUint64(o + 16, v, true);
  }

  /**
   * `start_sector` as a number, without a bigint (exact below 2^53).
   * @param view The memory.
   * @param o Byte offset of the descriptor.
   * @returns The value.
   */
  static startSectorNumber(view: DataView, o: number): number {
    return getU64Number(view, o + 8);
  }
  /**
   * Sets `start_sector` from a number, without a bigint.
   * @param view The memory.
   * @param o Byte offset of the descriptor.
   * @param v A non-negative integer below 2^53.
   */
  static setStartSectorNumber(view: DataView, o: number, v: number): void {
    setU64Number(view, o + 8, v);
  }

  /**
   * `addr` as a number, without a bigint (exact below 2^53).
   * @param view The memory.
   * @param o Byte offset of the descriptor.
   * @returns The value.
   */
  static addrNumber(view: DataView, o: number): number {
    return getU64Number(view, o + 16);
  }
  /**
   * Sets `addr` from a number, without a bigint.
   * @param view The memory.
   * @param o Byte offset of the descriptor.
   * @param v A non-negative integer below 2^53.
   */
  static setAddrNumber(view: DataView, o: number, v: number): void {
    setU64Number(view, o + 16, v);
  }
}
