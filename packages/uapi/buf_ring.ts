/**
 * Codecs of the provided-buffer ring: `struct io_uring_buf` (16 bytes, one ring entry),
 * `struct io_uring_buf_ring` (the ring head, whose `tail` overlays entry 0's `resv`) and
 * `struct io_uring_buf_reg` (40 bytes, `IORING_REGISTER_PBUF_RING`'s argument).
 *
 * @example Slot of a ring counter
 * ```ts
 * import assert from "node:assert/strict";
 * import { IoUringBufRing } from "@ublk-ts/uapi";
 * assert.equal(IoUringBufRing.bufOffset(0, 9, 7), 16);
 * ```
 *
 * @module
 */

import { type FieldSpec, readFields, writeFields } from "./_codec.ts";

/** The decoded fields of `io_uring_buf`. */
export interface IoUringBufValue {
  /** `addr` (u64 @0). */
  addr: bigint;
  /** `len` (u32 @8). */
  len: number;
  /** `bid` (u16 @12): buffer id. */
  bid: number;
  /** `resv` (u16 @14): the ring's `tail` in entry 0. */
  resv: number;
}

/**
 * `struct io_uring_buf`.
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { IoUringBuf } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(IoUringBuf.SIZE));
 * IoUringBuf.set(view, 0, 0x1000n, 4096, 7);
 * assert.deepEqual(IoUringBuf.decode(view, 0), { addr: 0x1000n, len: 4096, bid: 7, resv: 0 });
 * ```
 */
export class IoUringBuf {
  /** `sizeof(struct io_uring_buf)`. */
  static readonly SIZE = 16;
  /** `addr` (u64). */
  static readonly OFFSET_ADDR = 0;
  /** `len` (u32). */
  static readonly OFFSET_LEN = 8;
  /** `bid` (u16). */
  static readonly OFFSET_BID = 12;
  /** `resv` (u16). */
  static readonly OFFSET_RESV = 14;
  /**
   * A value with every field zero.
   * @returns A fresh value.
   */
  static zero(): IoUringBufValue {
    return { addr: 0n, len: 0, bid: 0, resv: 0 };
  }
  /**
   * Writes every field.
   * @param view The memory.
   * @param o Byte offset of the entry.
   * @param v The value.
   */
  static encode(view: DataView, o: number, v: IoUringBufValue): void {
    view.setBigUint64(o, v.addr, true);
    view.setUint32(o + 8, v.len, true);
    view.setUint16(o + 12, v.bid, true);
    view.setUint16(o + 14, v.resv, true);
  }
  /**
   * Reads every field.
   * @param view The memory.
   * @param o Byte offset of the entry.
   * @returns A fresh value.
   */
  static decode(view: DataView, o: number): IoUringBufValue {
    return {
      addr: view.getBigUint64(o, true),
      len: view.getUint32(o + 8, true),
      bid: view.getUint16(o + 12, true),
      resv: view.getUint16(o + 14, true),
    };
  }
  /**
   * Writes `addr`, `len` and `bid` of one ring entry without touching `resv` (which is the
   * ring tail in entry 0), as liburing's `io_uring_buf_ring_add` does.
   * @param view The memory.
   * @param o Byte offset of the entry.
   * @param addr `addr`.
   * @param len `len`.
   * @param bid `bid`.
   */
  static set(view: DataView, o: number, addr: bigint, len: number, bid: number): void {
    view.setBigUint64(o, addr, true);
    view.setUint32(o + 8, len, true);
    view.setUint16(o + 12, bid, true);
  }
}

/** The decoded head fields of `io_uring_buf_ring`. */
export interface IoUringBufRingValue {
  /** `resv1` (u64 @0). */
  resv1: bigint;
  /** `resv2` (u32 @8). */
  resv2: number;
  /** `resv3` (u16 @12). */
  resv3: number;
  /** `tail` (u16 @14). */
  tail: number;
}

/**
 * `struct io_uring_buf_ring`: `bufs[]` entries start at offset 0, and the head's `tail` sits
 * in entry 0's `resv`.
 *
 * @example Publish one buffer
 * ```ts
 * import assert from "node:assert/strict";
 * import { IoUringBuf, IoUringBufRing } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(8 * IoUringBuf.SIZE));
 * IoUringBuf.set(view, IoUringBufRing.bufOffset(0, 0, 7), 0x1000n, 4096, 0);
 * IoUringBufRing.setTail(view, 0, 1);
 * assert.equal(IoUringBufRing.tail(view, 0), 1);
 * assert.equal(IoUringBuf.decode(view, 0).len, 4096);
 * ```
 */
export class IoUringBufRing {
  /** `sizeof(struct io_uring_buf_ring)` (the overlaid head: one entry). */
  static readonly SIZE = 16;
  /** `resv1` (u64). */
  static readonly OFFSET_RESV1 = 0;
  /** `resv2` (u32). */
  static readonly OFFSET_RESV2 = 8;
  /** `resv3` (u16). */
  static readonly OFFSET_RESV3 = 12;
  /** `tail` (u16). */
  static readonly OFFSET_TAIL = 14;
  /** `bufs[]` (`io_uring_buf`). */
  static readonly OFFSET_BUFS = 0;
  /**
   * A value with every field zero.
   * @returns A fresh value.
   */
  static zero(): IoUringBufRingValue {
    return { resv1: 0n, resv2: 0, resv3: 0, tail: 0 };
  }
  /**
   * Writes the head fields.
   * @param view The memory.
   * @param o Byte offset of the ring.
   * @param v The value.
   */
  static encode(view: DataView, o: number, v: IoUringBufRingValue): void {
    view.setBigUint64(o, v.resv1, true);
    view.setUint32(o + 8, v.resv2, true);
    view.setUint16(o + 12, v.resv3, true);
    view.setUint16(o + 14, v.tail, true);
  }
  /**
   * Reads the head fields.
   * @param view The memory.
   * @param o Byte offset of the ring.
   * @returns A fresh value.
   */
  static decode(view: DataView, o: number): IoUringBufRingValue {
    return {
      resv1: view.getBigUint64(o, true),
      resv2: view.getUint32(o + 8, true),
      resv3: view.getUint16(o + 12, true),
      tail: view.getUint16(o + 14, true),
    };
  }
  /**
   * `tail`.
   * @param view The memory.
   * @param o Byte offset of the ring.
   * @returns The tail (u16, wraps).
   */
  static tail(view: DataView, o: number): number {
    return view.getUint16(o + 14, true);
  }
  /**
   * Sets `tail`.
   * @param view The memory.
   * @param o Byte offset of the ring.
   * @param v The tail (taken modulo 2^16).
   */
  static setTail(view: DataView, o: number, v: number): void {
    view.setUint16(o + 14, v & 0xffff, true);
  }
  /**
   * Byte offset of the entry for ring counter `index`: `o + (index & mask) * 16`.
   * @param o Byte offset of the ring.
   * @param index A free-running counter (e.g. tail + n).
   * @param mask `ring_entries - 1`.
   * @returns The entry's byte offset.
   */
  static bufOffset(o: number, index: number, mask: number): number {
    return o + (index & mask) * 16;
  }
}

/** The decoded fields of `io_uring_buf_reg`. */
export interface IoUringBufRegValue {
  /** `ring_addr` (u64 @0). */
  ringAddr: bigint;
  /** `ring_entries` (u32 @8): a power of two. */
  ringEntries: number;
  /** `bgid` (u16 @12): buffer group id. */
  bgid: number;
  /** `pad` (u16 @14). */
  pad: number;
  /** `resv[3]` (u64 × 3 @16). */
  resv: bigint[];
}

const REG_FIELDS: readonly FieldSpec[] = [
  { name: "ringAddr", offset: 0, kind: "u64" },
  { name: "ringEntries", offset: 8, kind: "u32" },
  { name: "bgid", offset: 12, kind: "u16" },
  { name: "pad", offset: 14, kind: "u16" },
  { name: "resv", offset: 16, kind: "u64", count: 3 },
];

/**
 * `struct io_uring_buf_reg`.
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { IoUringBufReg } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(IoUringBufReg.SIZE));
 * const v = { ringAddr: 0x10000n, ringEntries: 8, bgid: 1, pad: 0, resv: [0n, 0n, 0n] };
 * IoUringBufReg.encode(view, 0, v);
 * assert.deepEqual(IoUringBufReg.decode(view, 0), v);
 * ```
 */
export class IoUringBufReg {
  /** `sizeof(struct io_uring_buf_reg)`. */
  static readonly SIZE = 40;
  /** `ring_addr` (u64). */
  static readonly OFFSET_RING_ADDR = 0;
  /** `ring_entries` (u32). */
  static readonly OFFSET_RING_ENTRIES = 8;
  /** `bgid` (u16). */
  static readonly OFFSET_BGID = 12;
  /** `pad` (u16). */
  static readonly OFFSET_PAD = 14;
  /** `resv[3]` (u64). */
  static readonly OFFSET_RESV = 16;
  /**
   * A value with every field zero.
   * @returns A fresh value.
   */
  static zero(): IoUringBufRegValue {
    return { ringAddr: 0n, ringEntries: 0, bgid: 0, pad: 0, resv: [0n, 0n, 0n] };
  }
  /**
   * Writes every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @param v The value.
   */
  static encode(view: DataView, o: number, v: IoUringBufRegValue): void {
    writeFields(view, o, REG_FIELDS, v);
  }
  /**
   * Reads every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns A fresh value.
   */
  static decode(view: DataView, o: number): IoUringBufRegValue {
    return readFields(view, o, REG_FIELDS) as unknown as IoUringBufRegValue;
  }
}
