/**
 * Codecs of the ublk batch-io structs (`UBLK_F_BATCH_IO`, after 6.18): `struct ublk_batch_io`
 * (16 bytes, the uring_cmd payload of PREP/COMMIT/FETCH_IO_CMDS) and
 * `struct ublk_elem_header` (8 bytes, the head of each element in the command buffer).
 * Newer than the installed 6.1 header; checked against the current uapi by value.
 *
 * @example A PREP_IO_CMDS payload
 * ```ts
 * import assert from "node:assert/strict";
 * import { UBLK_BATCH_F_HAS_BUF_ADDR, UblkBatchIo } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(UblkBatchIo.SIZE));
 * const v = { ...UblkBatchIo.zero(), nrElem: 4, elemBytes: 16, flags: UBLK_BATCH_F_HAS_BUF_ADDR };
 * UblkBatchIo.encode(view, 0, v);
 * assert.deepEqual(UblkBatchIo.decode(view, 0), v);
 * ```
 *
 * @module
 */

import { type FieldSpec, readFields, writeFields } from "./_codec.ts";

/** The decoded fields of one `ublk_batch_io`. */
export interface UblkBatchIoValue {
  /** `q_id` (u16 @0). */
  qId: number;
  /** `flags` (u16 @2): `UBLK_BATCH_F_*`. */
  flags: number;
  /** `nr_elem` (u16 @4). */
  nrElem: number;
  /** `elem_bytes` (u8 @6). */
  elemBytes: number;
  /** `reserved` (u8 @7). */
  reserved: number;
  /** `reserved2` (u64 @8). */
  reserved2: bigint;
}

const BATCH_FIELDS: readonly FieldSpec[] = [
  { name: "qId", offset: 0, kind: "u16" },
  { name: "flags", offset: 2, kind: "u16" },
  { name: "nrElem", offset: 4, kind: "u16" },
  { name: "elemBytes", offset: 6, kind: "u8" },
  { name: "reserved", offset: 7, kind: "u8" },
  { name: "reserved2", offset: 8, kind: "u64" },
];

/**
 * `struct ublk_batch_io`.
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { UblkBatchIo } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(UblkBatchIo.SIZE));
 * const v = { qId: 1, flags: 2, nrElem: 3, elemBytes: 16, reserved: 0, reserved2: 0n };
 * UblkBatchIo.encode(view, 0, v);
 * assert.deepEqual(UblkBatchIo.decode(view, 0), v);
 * ```
 */
export class UblkBatchIo {
  /** `sizeof(struct ublk_batch_io)`. */
  static readonly SIZE = 16;
  /** `q_id` (u16). */
  static readonly OFFSET_Q_ID = 0;
  /** `flags` (u16). */
  static readonly OFFSET_FLAGS = 2;
  /** `nr_elem` (u16). */
  static readonly OFFSET_NR_ELEM = 4;
  /** `elem_bytes` (u8). */
  static readonly OFFSET_ELEM_BYTES = 6;
  /** `reserved` (u8). */
  static readonly OFFSET_RESERVED = 7;
  /** `reserved2` (u64). */
  static readonly OFFSET_RESERVED2 = 8;

  /**
   * A value with every field zero.
   * @returns A fresh value.
   */
  static zero(): UblkBatchIoValue {
    return { qId: 0, flags: 0, nrElem: 0, elemBytes: 0, reserved: 0, reserved2: 0n };
  }
  /**
   * Writes every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @param v The value.
   */
  static encode(view: DataView, o: number, v: UblkBatchIoValue): void {
    writeFields(view, o, BATCH_FIELDS, v);
  }
  /**
   * Reads every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns A fresh value.
   */
  static decode(view: DataView, o: number): UblkBatchIoValue {
    return readFields(view, o, BATCH_FIELDS) as unknown as UblkBatchIoValue;
  }
}

/** The decoded fields of one `ublk_elem_header`. */
export interface UblkElemHeaderValue {
  /** `tag` (u16 @0). */
  tag: number;
  /** `buf_index` (u16 @2): only with `UBLK_F_AUTO_BUF_REG`. */
  bufIndex: number;
  /** `result` (s32 @4): commit only. */
  result: number;
}

/**
 * `struct ublk_elem_header`.
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { UblkElemHeader } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(UblkElemHeader.SIZE));
 * UblkElemHeader.encode(view, 0, { tag: 5, bufIndex: 0, result: -5 });
 * assert.deepEqual(UblkElemHeader.decode(view, 0), { tag: 5, bufIndex: 0, result: -5 });
 * ```
 */
export class UblkElemHeader {
  /** `sizeof(struct ublk_elem_header)`. */
  static readonly SIZE = 8;
  /** `tag` (u16). */
  static readonly OFFSET_TAG = 0;
  /** `buf_index` (u16). */
  static readonly OFFSET_BUF_INDEX = 2;
  /** `result` (s32). */
  static readonly OFFSET_RESULT = 4;

  /**
   * A value with every field zero.
   * @returns A fresh value.
   */
  static zero(): UblkElemHeaderValue {
    return { tag: 0, bufIndex: 0, result: 0 };
  }
  /**
   * Writes every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @param v The value.
   */
  static encode(view: DataView, o: number, v: UblkElemHeaderValue): void {
    view.setUint16(o, v.tag, true);
    view.setUint16(o + 2, v.bufIndex, true);
    view.setInt32(o + 4, v.result, true);
  }
  /**
   * Reads every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns A fresh value.
   */
  static decode(view: DataView, o: number): UblkElemHeaderValue {
    return {
      tag: view.getUint16(o, true),
      bufIndex: view.getUint16(o + 2, true),
      result: view.getInt32(o + 4, true),
    };
  }
}
