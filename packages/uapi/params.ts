/**
 * Codecs of `struct io_uring_params` (120 bytes, `io_uring_setup(2)`'s in/out argument) and the
 * ring offset structs it carries: `struct io_sqring_offsets` and `struct io_cqring_offsets`
 * (40 bytes each).
 *
 * @example Find the SQ array after io_uring_setup
 * ```ts
 * import assert from "node:assert/strict";
 * import { IoUringParams } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(IoUringParams.SIZE));
 * view.setUint32(IoUringParams.OFFSET_SQ_OFF + 24, 320, true); // as the kernel fills sq_off.array
 * assert.equal(IoUringParams.decode(view, 0).sqOff.array, 320);
 * ```
 *
 * @module
 */

import { type FieldSpec, readFields, writeFields } from "./_codec.ts";

/** The decoded fields of `io_sqring_offsets`: byte offsets into the SQ ring mmap. */
export interface IoSqringOffsetsValue {
  /** `head` (u32 @0). */
  head: number;
  /** `tail` (u32 @4). */
  tail: number;
  /** `ring_mask` (u32 @8). */
  ringMask: number;
  /** `ring_entries` (u32 @12). */
  ringEntries: number;
  /** `flags` (u32 @16). */
  flags: number;
  /** `dropped` (u32 @20). */
  dropped: number;
  /** `array` (u32 @24). */
  array: number;
  /** `resv1` (u32 @28). */
  resv1: number;
  /** `resv2` (u64 @32). */
  resv2: bigint;
}

const SQ_FIELDS: readonly FieldSpec[] = [
  { name: "head", offset: 0, kind: "u32" },
  { name: "tail", offset: 4, kind: "u32" },
  { name: "ringMask", offset: 8, kind: "u32" },
  { name: "ringEntries", offset: 12, kind: "u32" },
  { name: "flags", offset: 16, kind: "u32" },
  { name: "dropped", offset: 20, kind: "u32" },
  { name: "array", offset: 24, kind: "u32" },
  { name: "resv1", offset: 28, kind: "u32" },
  { name: "resv2", offset: 32, kind: "u64" },
];

/**
 * `struct io_sqring_offsets`.
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { IoSqringOffsets } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(IoSqringOffsets.SIZE));
 * const v = { ...IoSqringOffsets.zero(), tail: 4, ringMask: 8, array: 64 };
 * IoSqringOffsets.encode(view, 0, v);
 * assert.deepEqual(IoSqringOffsets.decode(view, 0), v);
 * ```
 */
export class IoSqringOffsets {
  /** `sizeof(struct io_sqring_offsets)`. */
  static readonly SIZE = 40;
  /** `head` (u32). */
  static readonly OFFSET_HEAD = 0;
  /** `tail` (u32). */
  static readonly OFFSET_TAIL = 4;
  /** `ring_mask` (u32). */
  static readonly OFFSET_RING_MASK = 8;
  /** `ring_entries` (u32). */
  static readonly OFFSET_RING_ENTRIES = 12;
  /** `flags` (u32). */
  static readonly OFFSET_FLAGS = 16;
  /** `dropped` (u32). */
  static readonly OFFSET_DROPPED = 20;
  /** `array` (u32). */
  static readonly OFFSET_ARRAY = 24;
  /** `resv1` (u32). */
  static readonly OFFSET_RESV1 = 28;
  /** `resv2` (u64). */
  static readonly OFFSET_RESV2 = 32;
  /**
   * A value with every field zero.
   * @returns A fresh value.
   */
  static zero(): IoSqringOffsetsValue {
    return {
      head: 0,
      tail: 0,
      ringMask: 0,
      ringEntries: 0,
      flags: 0,
      dropped: 0,
      array: 0,
      resv1: 0,
      resv2: 0n,
    };
  }
  /**
   * Writes every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @param v The value.
   */
  static encode(view: DataView, o: number, v: IoSqringOffsetsValue): void {
    writeFields(view, o, SQ_FIELDS, v);
  }
  /**
   * Reads every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns A fresh value.
   */
  static decode(view: DataView, o: number): IoSqringOffsetsValue {
    return readFields(view, o, SQ_FIELDS) as unknown as IoSqringOffsetsValue;
  }
}

/** The decoded fields of `io_cqring_offsets`: byte offsets into the CQ ring mmap. */
export interface IoCqringOffsetsValue {
  /** `head` (u32 @0). */
  head: number;
  /** `tail` (u32 @4). */
  tail: number;
  /** `ring_mask` (u32 @8). */
  ringMask: number;
  /** `ring_entries` (u32 @12). */
  ringEntries: number;
  /** `overflow` (u32 @16). */
  overflow: number;
  /** `cqes` (u32 @20). */
  cqes: number;
  /** `flags` (u32 @24). */
  flags: number;
  /** `resv1` (u32 @28). */
  resv1: number;
  /** `resv2` (u64 @32). */
  resv2: bigint;
}

const CQ_FIELDS: readonly FieldSpec[] = [
  { name: "head", offset: 0, kind: "u32" },
  { name: "tail", offset: 4, kind: "u32" },
  { name: "ringMask", offset: 8, kind: "u32" },
  { name: "ringEntries", offset: 12, kind: "u32" },
  { name: "overflow", offset: 16, kind: "u32" },
  { name: "cqes", offset: 20, kind: "u32" },
  { name: "flags", offset: 24, kind: "u32" },
  { name: "resv1", offset: 28, kind: "u32" },
  { name: "resv2", offset: 32, kind: "u64" },
];

/**
 * `struct io_cqring_offsets`.
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { IoCqringOffsets } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(IoCqringOffsets.SIZE));
 * const v = { ...IoCqringOffsets.zero(), cqes: 64, overflow: 16 };
 * IoCqringOffsets.encode(view, 0, v);
 * assert.deepEqual(IoCqringOffsets.decode(view, 0), v);
 * ```
 */
export class IoCqringOffsets {
  /** `sizeof(struct io_cqring_offsets)`. */
  static readonly SIZE = 40;
  /** `head` (u32). */
  static readonly OFFSET_HEAD = 0;
  /** `tail` (u32). */
  static readonly OFFSET_TAIL = 4;
  /** `ring_mask` (u32). */
  static readonly OFFSET_RING_MASK = 8;
  /** `ring_entries` (u32). */
  static readonly OFFSET_RING_ENTRIES = 12;
  /** `overflow` (u32). */
  static readonly OFFSET_OVERFLOW = 16;
  /** `cqes` (u32). */
  static readonly OFFSET_CQES = 20;
  /** `flags` (u32). */
  static readonly OFFSET_FLAGS = 24;
  /** `resv1` (u32). */
  static readonly OFFSET_RESV1 = 28;
  /** `resv2` (u64). */
  static readonly OFFSET_RESV2 = 32;
  /**
   * A value with every field zero.
   * @returns A fresh value.
   */
  static zero(): IoCqringOffsetsValue {
    return {
      head: 0,
      tail: 0,
      ringMask: 0,
      ringEntries: 0,
      overflow: 0,
      cqes: 0,
      flags: 0,
      resv1: 0,
      resv2: 0n,
    };
  }
  /**
   * Writes every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @param v The value.
   */
  static encode(view: DataView, o: number, v: IoCqringOffsetsValue): void {
    writeFields(view, o, CQ_FIELDS, v);
  }
  /**
   * Reads every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns A fresh value.
   */
  static decode(view: DataView, o: number): IoCqringOffsetsValue {
    return readFields(view, o, CQ_FIELDS) as unknown as IoCqringOffsetsValue;
  }
}

/** The decoded fields of `io_uring_params`. */
export interface IoUringParamsValue {
  /** `sq_entries` (u32 @0). */
  sqEntries: number;
  /** `cq_entries` (u32 @4). */
  cqEntries: number;
  /** `flags` (u32 @8): `IORING_SETUP_*`. */
  flags: number;
  /** `sq_thread_cpu` (u32 @12). */
  sqThreadCpu: number;
  /** `sq_thread_idle` (u32 @16). */
  sqThreadIdle: number;
  /** `features` (u32 @20): `IORING_FEAT_*`, filled by the kernel. */
  features: number;
  /** `wq_fd` (u32 @24). */
  wqFd: number;
  /** `resv[3]` (u32 × 3 @28). */
  resv: number[];
  /** `sq_off` (@40). */
  sqOff: IoSqringOffsetsValue;
  /** `cq_off` (@80). */
  cqOff: IoCqringOffsetsValue;
}

const PARAMS_FIELDS: readonly FieldSpec[] = [
  { name: "sqEntries", offset: 0, kind: "u32" },
  { name: "cqEntries", offset: 4, kind: "u32" },
  { name: "flags", offset: 8, kind: "u32" },
  { name: "sqThreadCpu", offset: 12, kind: "u32" },
  { name: "sqThreadIdle", offset: 16, kind: "u32" },
  { name: "features", offset: 20, kind: "u32" },
  { name: "wqFd", offset: 24, kind: "u32" },
  { name: "resv", offset: 28, kind: "u32", count: 3 },
  { name: "sqOff", offset: 40, kind: IoSqringOffsets },
  { name: "cqOff", offset: 80, kind: IoCqringOffsets },
];

/**
 * `struct io_uring_params`.
 *
 * @example Ask for an SQE128 ring
 * ```ts
 * import assert from "node:assert/strict";
 * import { IORING_SETUP_SQE128, IoUringParams } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(IoUringParams.SIZE));
 * const p = IoUringParams.zero();
 * p.flags = IORING_SETUP_SQE128;
 * IoUringParams.encode(view, 0, p);
 * assert.equal(view.getUint32(IoUringParams.OFFSET_FLAGS, true), IORING_SETUP_SQE128);
 * assert.deepEqual(IoUringParams.decode(view, 0), p);
 * ```
 */
export class IoUringParams {
  /** `sizeof(struct io_uring_params)`. */
  static readonly SIZE = 120;
  /** `sq_entries` (u32). */
  static readonly OFFSET_SQ_ENTRIES = 0;
  /** `cq_entries` (u32). */
  static readonly OFFSET_CQ_ENTRIES = 4;
  /** `flags` (u32). */
  static readonly OFFSET_FLAGS = 8;
  /** `sq_thread_cpu` (u32). */
  static readonly OFFSET_SQ_THREAD_CPU = 12;
  /** `sq_thread_idle` (u32). */
  static readonly OFFSET_SQ_THREAD_IDLE = 16;
  /** `features` (u32). */
  static readonly OFFSET_FEATURES = 20;
  /** `wq_fd` (u32). */
  static readonly OFFSET_WQ_FD = 24;
  /** `resv[3]` (u32). */
  static readonly OFFSET_RESV = 28;
  /** `sq_off` (`io_sqring_offsets`). */
  static readonly OFFSET_SQ_OFF = 40;
  /** `cq_off` (`io_cqring_offsets`). */
  static readonly OFFSET_CQ_OFF = 80;
  /**
   * A value with every field zero.
   * @returns A fresh value.
   */
  static zero(): IoUringParamsValue {
    return {
      sqEntries: 0,
      cqEntries: 0,
      flags: 0,
      sqThreadCpu: 0,
      sqThreadIdle: 0,
      features: 0,
      wqFd: 0,
      resv: [0, 0, 0],
      sqOff: IoSqringOffsets.zero(),
      cqOff: IoCqringOffsets.zero(),
    };
  }
  /**
   * Writes every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @param v The value.
   */
  static encode(view: DataView, o: number, v: IoUringParamsValue): void {
    writeFields(view, o, PARAMS_FIELDS, v);
  }
  /**
   * Reads every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns A fresh value.
   */
  static decode(view: DataView, o: number): IoUringParamsValue {
    return readFields(view, o, PARAMS_FIELDS) as unknown as IoUringParamsValue;
  }
}
