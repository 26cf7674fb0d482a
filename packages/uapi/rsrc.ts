/**
 * Codecs of the resource-registration arguments of `io_uring_register(2)`:
 * `struct io_uring_rsrc_register` (FILES2/BUFFERS2), `struct io_uring_rsrc_update2`
 * (FILES_UPDATE2/BUFFERS_UPDATE), `struct io_uring_rsrc_update` (FILES_UPDATE) and the
 * deprecated `struct io_uring_files_update`.
 *
 * @example Update two buffer-table slots
 * ```ts
 * import assert from "node:assert/strict";
 * import { IoUringRsrcUpdate2 } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(IoUringRsrcUpdate2.SIZE));
 * IoUringRsrcUpdate2.encode(view, 0, { ...IoUringRsrcUpdate2.zero(), offset: 4, nr: 2, data: 0x1000n });
 * assert.equal(view.getUint32(IoUringRsrcUpdate2.OFFSET_NR, true), 2);
 * ```
 *
 * @module
 */

import { type FieldSpec, readFields, writeFields } from "./_codec.ts";

/** The decoded fields of `io_uring_rsrc_register`. */
export interface IoUringRsrcRegisterValue {
  /** `nr` (u32 @0): table size. */
  nr: number;
  /** `flags` (u32 @4): `IORING_RSRC_REGISTER_SPARSE`. */
  flags: number;
  /** `resv2` (u64 @8). */
  resv2: bigint;
  /** `data` (u64 @16): pointer to fds or iovecs (0 when sparse). */
  data: bigint;
  /** `tags` (u64 @24): pointer to u64 tags, or 0. */
  tags: bigint;
}

const REGISTER_FIELDS: readonly FieldSpec[] = [
  { name: "nr", offset: 0, kind: "u32" },
  { name: "flags", offset: 4, kind: "u32" },
  { name: "resv2", offset: 8, kind: "u64" },
  { name: "data", offset: 16, kind: "u64" },
  { name: "tags", offset: 24, kind: "u64" },
];

/**
 * `struct io_uring_rsrc_register` (32 bytes).
 *
 * @example A sparse buffer table of 64 slots
 * ```ts
 * import assert from "node:assert/strict";
 * import { IORING_RSRC_REGISTER_SPARSE, IoUringRsrcRegister } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(IoUringRsrcRegister.SIZE));
 * const v = { nr: 64, flags: IORING_RSRC_REGISTER_SPARSE, resv2: 0n, data: 0n, tags: 0n };
 * IoUringRsrcRegister.encode(view, 0, v);
 * assert.deepEqual(IoUringRsrcRegister.decode(view, 0), v);
 * ```
 */
export class IoUringRsrcRegister {
  /** `sizeof(struct io_uring_rsrc_register)`. */
  static readonly SIZE = 32;
  /** `nr` (u32). */
  static readonly OFFSET_NR = 0;
  /** `flags` (u32). */
  static readonly OFFSET_FLAGS = 4;
  /** `resv2` (u64). */
  static readonly OFFSET_RESV2 = 8;
  /** `data` (u64). */
  static readonly OFFSET_DATA = 16;
  /** `tags` (u64). */
  static readonly OFFSET_TAGS = 24;
  /**
   * A value with every field zero.
   * @returns A fresh value.
   */
  static zero(): IoUringRsrcRegisterValue {
    return { nr: 0, flags: 0, resv2: 0n, data: 0n, tags: 0n };
  }
  /**
   * Writes every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @param v The value.
   */
  static encode(view: DataView, o: number, v: IoUringRsrcRegisterValue): void {
    writeFields(view, o, REGISTER_FIELDS, v);
  }
  /**
   * Reads every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns A fresh value.
   */
  static decode(view: DataView, o: number): IoUringRsrcRegisterValue {
    return readFields(view, o, REGISTER_FIELDS) as unknown as IoUringRsrcRegisterValue;
  }
}

/** The decoded fields of `io_uring_rsrc_update2`. */
export interface IoUringRsrcUpdate2Value {
  /** `offset` (u32 @0): first slot. */
  offset: number;
  /** `resv` (u32 @4). */
  resv: number;
  /** `data` (u64 @8): pointer to fds or iovecs. */
  data: bigint;
  /** `tags` (u64 @16): pointer to u64 tags, or 0. */
  tags: bigint;
  /** `nr` (u32 @24): number of slots. */
  nr: number;
  /** `resv2` (u32 @28). */
  resv2: number;
}

const UPDATE2_FIELDS: readonly FieldSpec[] = [
  { name: "offset", offset: 0, kind: "u32" },
  { name: "resv", offset: 4, kind: "u32" },
  { name: "data", offset: 8, kind: "u64" },
  { name: "tags", offset: 16, kind: "u64" },
  { name: "nr", offset: 24, kind: "u32" },
  { name: "resv2", offset: 28, kind: "u32" },
];

/**
 * `struct io_uring_rsrc_update2` (32 bytes).
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { IoUringRsrcUpdate2 } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(IoUringRsrcUpdate2.SIZE));
 * const v = { offset: 3, resv: 0, data: 0x1000n, tags: 0n, nr: 2, resv2: 0 };
 * IoUringRsrcUpdate2.encode(view, 0, v);
 * assert.deepEqual(IoUringRsrcUpdate2.decode(view, 0), v);
 * ```
 */
export class IoUringRsrcUpdate2 {
  /** `sizeof(struct io_uring_rsrc_update2)`. */
  static readonly SIZE = 32;
  /** `offset` (u32). */
  static readonly OFFSET_OFFSET = 0;
  /** `resv` (u32). */
  static readonly OFFSET_RESV = 4;
  /** `data` (u64). */
  static readonly OFFSET_DATA = 8;
  /** `tags` (u64). */
  static readonly OFFSET_TAGS = 16;
  /** `nr` (u32). */
  static readonly OFFSET_NR = 24;
  /** `resv2` (u32). */
  static readonly OFFSET_RESV2 = 28;
  /**
   * A value with every field zero.
   * @returns A fresh value.
   */
  static zero(): IoUringRsrcUpdate2Value {
    return { offset: 0, resv: 0, data: 0n, tags: 0n, nr: 0, resv2: 0 };
  }
  /**
   * Writes every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @param v The value.
   */
  static encode(view: DataView, o: number, v: IoUringRsrcUpdate2Value): void {
    writeFields(view, o, UPDATE2_FIELDS, v);
  }
  /**
   * Reads every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns A fresh value.
   */
  static decode(view: DataView, o: number): IoUringRsrcUpdate2Value {
    return readFields(view, o, UPDATE2_FIELDS) as unknown as IoUringRsrcUpdate2Value;
  }
}

/** The decoded fields of `io_uring_rsrc_update`. */
export interface IoUringRsrcUpdateValue {
  /** `offset` (u32 @0): first slot. */
  offset: number;
  /** `resv` (u32 @4). */
  resv: number;
  /** `data` (u64 @8): pointer to the fds. */
  data: bigint;
}

const UPDATE_FIELDS: readonly FieldSpec[] = [
  { name: "offset", offset: 0, kind: "u32" },
  { name: "resv", offset: 4, kind: "u32" },
  { name: "data", offset: 8, kind: "u64" },
];

/**
 * `struct io_uring_rsrc_update` (16 bytes; also RING_FDS's argument).
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { IoUringRsrcUpdate } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(IoUringRsrcUpdate.SIZE));
 * IoUringRsrcUpdate.encode(view, 0, { offset: 1, resv: 0, data: 8n });
 * assert.deepEqual(IoUringRsrcUpdate.decode(view, 0), { offset: 1, resv: 0, data: 8n });
 * ```
 */
export class IoUringRsrcUpdate {
  /** `sizeof(struct io_uring_rsrc_update)`. */
  static readonly SIZE = 16;
  /** `offset` (u32). */
  static readonly OFFSET_OFFSET = 0;
  /** `resv` (u32). */
  static readonly OFFSET_RESV = 4;
  /** `data` (u64). */
  static readonly OFFSET_DATA = 8;
  /**
   * A value with every field zero.
   * @returns A fresh value.
   */
  static zero(): IoUringRsrcUpdateValue {
    return { offset: 0, resv: 0, data: 0n };
  }
  /**
   * Writes every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @param v The value.
   */
  static encode(view: DataView, o: number, v: IoUringRsrcUpdateValue): void {
    writeFields(view, o, UPDATE_FIELDS, v);
  }
  /**
   * Reads every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns A fresh value.
   */
  static decode(view: DataView, o: number): IoUringRsrcUpdateValue {
    return readFields(view, o, UPDATE_FIELDS) as unknown as IoUringRsrcUpdateValue;
  }
}

/** The decoded fields of `io_uring_files_update` (deprecated). */
export interface IoUringFilesUpdateValue {
  /** `offset` (u32 @0). */
  offset: number;
  /** `resv` (u32 @4). */
  resv: number;
  /** `fds` (u64 @8): pointer to s32 fds. */
  fds: bigint;
}

const FILES_UPDATE_FIELDS: readonly FieldSpec[] = [
  { name: "offset", offset: 0, kind: "u32" },
  { name: "resv", offset: 4, kind: "u32" },
  { name: "fds", offset: 8, kind: "u64" },
];

/**
 * `struct io_uring_files_update` (16 bytes; deprecated, see `io_uring_rsrc_update`).
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { IoUringFilesUpdate } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(IoUringFilesUpdate.SIZE));
 * IoUringFilesUpdate.encode(view, 0, { offset: 2, resv: 0, fds: 64n });
 * assert.deepEqual(IoUringFilesUpdate.decode(view, 0), { offset: 2, resv: 0, fds: 64n });
 * ```
 */
export class IoUringFilesUpdate {
  /** `sizeof(struct io_uring_files_update)`. */
  static readonly SIZE = 16;
  /** `offset` (u32). */
  static readonly OFFSET_OFFSET = 0;
  /** `resv` (u32). */
  static readonly OFFSET_RESV = 4;
  /** `fds` (u64). */
  static readonly OFFSET_FDS = 8;
  /**
   * A value with every field zero.
   * @returns A fresh value.
   */
  static zero(): IoUringFilesUpdateValue {
    return { offset: 0, resv: 0, fds: 0n };
  }
  /**
   * Writes every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @param v The value.
   */
  static encode(view: DataView, o: number, v: IoUringFilesUpdateValue): void {
    writeFields(view, o, FILES_UPDATE_FIELDS, v);
  }
  /**
   * Reads every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns A fresh value.
   */
  static decode(view: DataView, o: number): IoUringFilesUpdateValue {
    return readFields(view, o, FILES_UPDATE_FIELDS) as unknown as IoUringFilesUpdateValue;
  }
}
