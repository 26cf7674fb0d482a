/**
 * Codecs of `struct ublk_params` and its sub-structs (basic, discard, devt, zoned, dma_align,
 * segment, integrity), SET_PARAMS/GET_PARAMS's argument.
 *
 * Compatibility rule: `len` is the number of bytes both sides exchange and `types` names the
 * sub-structs that are valid. Old headers are shorter (6.1: 64 bytes with basic + discard;
 * 6.3: 80 with devt; zoned: 112; now 152). {@linkcode UblkParams.encode} writes only `len`
 * bytes and only the sub-structs named in `types` (others inside `len` are zeroed);
 * {@linkcode UblkParams.decode} reads only what lies inside `len`, leaving the rest zero.
 *
 * @example Size SET_PARAMS for the sub-structs in use
 * ```ts
 * import assert from "node:assert/strict";
 * import { UBLK_PARAM_TYPE_BASIC, UblkParams } from "@ublk-ts/uapi";
 * assert.equal(UblkParams.lenFor(UBLK_PARAM_TYPE_BASIC), 40);
 * assert.equal(UblkParams.lenFor(UblkParams.TYPES_ALL), UblkParams.SIZE);
 * ```
 *
 * @module
 */

import { type FieldSpec, readFields, writeFields, zeroFields } from "./_codec.ts";
import {
  UBLK_PARAM_TYPE_BASIC,
  UBLK_PARAM_TYPE_DEVT,
  UBLK_PARAM_TYPE_DISCARD,
  UBLK_PARAM_TYPE_DMA_ALIGN,
  UBLK_PARAM_TYPE_INTEGRITY,
  UBLK_PARAM_TYPE_SEGMENT,
  UBLK_PARAM_TYPE_ZONED,
} from "./ublk_cmd.ts";

// ---------------------------------------------------------------- basic

/** The decoded fields of `ublk_param_basic`. */
export interface UblkParamBasicValue {
  /** `attrs` (u32 @0): `UBLK_ATTR_*`. */
  attrs: number;
  /** `logical_bs_shift` (u8 @4). */
  logicalBsShift: number;
  /** `physical_bs_shift` (u8 @5). */
  physicalBsShift: number;
  /** `io_opt_shift` (u8 @6). */
  ioOptShift: number;
  /** `io_min_shift` (u8 @7). */
  ioMinShift: number;
  /** `max_sectors` (u32 @8). */
  maxSectors: number;
  /** `chunk_sectors` (u32 @12). */
  chunkSectors: number;
  /** `dev_sectors` (u64 @16). */
  devSectors: bigint;
  /** `virt_boundary_mask` (u64 @24). */
  virtBoundaryMask: bigint;
}

const BASIC_FIELDS: readonly FieldSpec[] = [
  { name: "attrs", offset: 0, kind: "u32" },
  { name: "logicalBsShift", offset: 4, kind: "u8" },
  { name: "physicalBsShift", offset: 5, kind: "u8" },
  { name: "ioOptShift", offset: 6, kind: "u8" },
  { name: "ioMinShift", offset: 7, kind: "u8" },
  { name: "maxSectors", offset: 8, kind: "u32" },
  { name: "chunkSectors", offset: 12, kind: "u32" },
  { name: "devSectors", offset: 16, kind: "u64" },
  { name: "virtBoundaryMask", offset: 24, kind: "u64" },
];

/**
 * `struct ublk_param_basic` (32 bytes).
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { UblkParamBasic } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(UblkParamBasic.SIZE));
 * const v = UblkParamBasic.zero();
 * v.logicalBsShift = 9;
 * v.devSectors = 1n << 21n;
 * UblkParamBasic.encode(view, 0, v);
 * assert.deepEqual(UblkParamBasic.decode(view, 0), v);
 * ```
 */
export class UblkParamBasic {
  /** `sizeof(struct ublk_param_basic)`. */
  static readonly SIZE = 32;
  /** `attrs` (u32). */
  static readonly OFFSET_ATTRS = 0;
  /** `logical_bs_shift` (u8). */
  static readonly OFFSET_LOGICAL_BS_SHIFT = 4;
  /** `physical_bs_shift` (u8). */
  static readonly OFFSET_PHYSICAL_BS_SHIFT = 5;
  /** `io_opt_shift` (u8). */
  static readonly OFFSET_IO_OPT_SHIFT = 6;
  /** `io_min_shift` (u8). */
  static readonly OFFSET_IO_MIN_SHIFT = 7;
  /** `max_sectors` (u32). */
  static readonly OFFSET_MAX_SECTORS = 8;
  /** `chunk_sectors` (u32). */
  static readonly OFFSET_CHUNK_SECTORS = 12;
  /** `dev_sectors` (u64). */
  static readonly OFFSET_DEV_SECTORS = 16;
  /** `virt_boundary_mask` (u64). */
  static readonly OFFSET_VIRT_BOUNDARY_MASK = 24;
  /**
   * A value with every field zero.
   * @returns A fresh value.
   */
  static zero(): UblkParamBasicValue {
    return zeroFields(BASIC_FIELDS, 32) as unknown as UblkParamBasicValue;
  }
  /**
   * Writes every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @param v The value.
   */
  static encode(view: DataView, o: number, v: UblkParamBasicValue): void {
    writeFields(view, o, BASIC_FIELDS, v);
  }
  /**
   * Reads every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns A fresh value.
   */
  static decode(view: DataView, o: number): UblkParamBasicValue {
    return readFields(view, o, BASIC_FIELDS) as unknown as UblkParamBasicValue;
  }
}

// ---------------------------------------------------------------- discard

/** The decoded fields of `ublk_param_discard`. */
export interface UblkParamDiscardValue {
  /** `discard_alignment` (u32 @0). */
  discardAlignment: number;
  /** `discard_granularity` (u32 @4). */
  discardGranularity: number;
  /** `max_discard_sectors` (u32 @8). */
  maxDiscardSectors: number;
  /** `max_write_zeroes_sectors` (u32 @12). */
  maxWriteZeroesSectors: number;
  /** `max_discard_segments` (u16 @16). */
  maxDiscardSegments: number;
  /** `reserved0` (u16 @18). */
  reserved0: number;
}

const DISCARD_FIELDS: readonly FieldSpec[] = [
  { name: "discardAlignment", offset: 0, kind: "u32" },
  { name: "discardGranularity", offset: 4, kind: "u32" },
  { name: "maxDiscardSectors", offset: 8, kind: "u32" },
  { name: "maxWriteZeroesSectors", offset: 12, kind: "u32" },
  { name: "maxDiscardSegments", offset: 16, kind: "u16" },
  { name: "reserved0", offset: 18, kind: "u16" },
];

/**
 * `struct ublk_param_discard` (20 bytes).
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { UblkParamDiscard } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(UblkParamDiscard.SIZE));
 * const v = { ...UblkParamDiscard.zero(), discardGranularity: 4096, maxDiscardSegments: 1 };
 * UblkParamDiscard.encode(view, 0, v);
 * assert.deepEqual(UblkParamDiscard.decode(view, 0), v);
 * ```
 */
export class UblkParamDiscard {
  /** `sizeof(struct ublk_param_discard)`. */
  static readonly SIZE = 20;
  /** `discard_alignment` (u32). */
  static readonly OFFSET_DISCARD_ALIGNMENT = 0;
  /** `discard_granularity` (u32). */
  static readonly OFFSET_DISCARD_GRANULARITY = 4;
  /** `max_discard_sectors` (u32). */
  static readonly OFFSET_MAX_DISCARD_SECTORS = 8;
  /** `max_write_zeroes_sectors` (u32). */
  static readonly OFFSET_MAX_WRITE_ZEROES_SECTORS = 12;
  /** `max_discard_segments` (u16). */
  static readonly OFFSET_MAX_DISCARD_SEGMENTS = 16;
  /** `reserved0` (u16). */
  static readonly OFFSET_RESERVED0 = 18;
  /**
   * A value with every field zero.
   * @returns A fresh value.
   */
  static zero(): UblkParamDiscardValue {
    return zeroFields(DISCARD_FIELDS, 20) as unknown as UblkParamDiscardValue;
  }
  /**
   * Writes every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @param v The value.
   */
  static encode(view: DataView, o: number, v: UblkParamDiscardValue): void {
    writeFields(view, o, DISCARD_FIELDS, v);
  }
  /**
   * Reads every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns A fresh value.
   */
  static decode(view: DataView, o: number): UblkParamDiscardValue {
    return readFields(view, o, DISCARD_FIELDS) as unknown as UblkParamDiscardValue;
  }
}

// ---------------------------------------------------------------- devt

/** The decoded fields of `ublk_param_devt` (read-only: filled by GET_PARAMS). */
export interface UblkParamDevtValue {
  /** `char_major` (u32 @0). */
  charMajor: number;
  /** `char_minor` (u32 @4). */
  charMinor: number;
  /** `disk_major` (u32 @8). */
  diskMajor: number;
  /** `disk_minor` (u32 @12). */
  diskMinor: number;
}

const DEVT_FIELDS: readonly FieldSpec[] = [
  { name: "charMajor", offset: 0, kind: "u32" },
  { name: "charMinor", offset: 4, kind: "u32" },
  { name: "diskMajor", offset: 8, kind: "u32" },
  { name: "diskMinor", offset: 12, kind: "u32" },
];

/**
 * `struct ublk_param_devt` (16 bytes; cannot be SET).
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { UblkParamDevt } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(UblkParamDevt.SIZE));
 * const v = { charMajor: 240, charMinor: 0, diskMajor: 259, diskMinor: 0 };
 * UblkParamDevt.encode(view, 0, v);
 * assert.deepEqual(UblkParamDevt.decode(view, 0), v);
 * ```
 */
export class UblkParamDevt {
  /** `sizeof(struct ublk_param_devt)`. */
  static readonly SIZE = 16;
  /** `char_major` (u32). */
  static readonly OFFSET_CHAR_MAJOR = 0;
  /** `char_minor` (u32). */
  static readonly OFFSET_CHAR_MINOR = 4;
  /** `disk_major` (u32). */
  static readonly OFFSET_DISK_MAJOR = 8;
  /** `disk_minor` (u32). */
  static readonly OFFSET_DISK_MINOR = 12;
  /**
   * A value with every field zero.
   * @returns A fresh value.
   */
  static zero(): UblkParamDevtValue {
    return { charMajor: 0, charMinor: 0, diskMajor: 0, diskMinor: 0 };
  }
  /**
   * Writes every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @param v The value.
   */
  static encode(view: DataView, o: number, v: UblkParamDevtValue): void {
    writeFields(view, o, DEVT_FIELDS, v);
  }
  /**
   * Reads every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns A fresh value.
   */
  static decode(view: DataView, o: number): UblkParamDevtValue {
    return readFields(view, o, DEVT_FIELDS) as unknown as UblkParamDevtValue;
  }
}

// ---------------------------------------------------------------- zoned

/** The decoded fields of `ublk_param_zoned`. */
export interface UblkParamZonedValue {
  /** `max_open_zones` (u32 @0). */
  maxOpenZones: number;
  /** `max_active_zones` (u32 @4). */
  maxActiveZones: number;
  /** `max_zone_append_sectors` (u32 @8). */
  maxZoneAppendSectors: number;
  /** `reserved[20]` (u8 × 20 @12). */
  reserved: number[];
}

const ZONED_FIELDS: readonly FieldSpec[] = [
  { name: "maxOpenZones", offset: 0, kind: "u32" },
  { name: "maxActiveZones", offset: 4, kind: "u32" },
  { name: "maxZoneAppendSectors", offset: 8, kind: "u32" },
  { name: "reserved", offset: 12, kind: "u8", count: 20 },
];

/**
 * `struct ublk_param_zoned` (32 bytes).
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { UblkParamZoned } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(UblkParamZoned.SIZE));
 * const v = { ...UblkParamZoned.zero(), maxOpenZones: 14 };
 * UblkParamZoned.encode(view, 0, v);
 * assert.deepEqual(UblkParamZoned.decode(view, 0), v);
 * ```
 */
export class UblkParamZoned {
  /** `sizeof(struct ublk_param_zoned)`. */
  static readonly SIZE = 32;
  /** `max_open_zones` (u32). */
  static readonly OFFSET_MAX_OPEN_ZONES = 0;
  /** `max_active_zones` (u32). */
  static readonly OFFSET_MAX_ACTIVE_ZONES = 4;
  /** `max_zone_append_sectors` (u32). */
  static readonly OFFSET_MAX_ZONE_APPEND_SECTORS = 8;
  /** `reserved[20]` (u8). */
  static readonly OFFSET_RESERVED = 12;
  /**
   * A value with every field zero.
   * @returns A fresh value.
   */
  static zero(): UblkParamZonedValue {
    return zeroFields(ZONED_FIELDS, 32) as unknown as UblkParamZonedValue;
  }
  /**
   * Writes every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @param v The value.
   */
  static encode(view: DataView, o: number, v: UblkParamZonedValue): void {
    writeFields(view, o, ZONED_FIELDS, v);
  }
  /**
   * Reads every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns A fresh value.
   */
  static decode(view: DataView, o: number): UblkParamZonedValue {
    return readFields(view, o, ZONED_FIELDS) as unknown as UblkParamZonedValue;
  }
}

// ---------------------------------------------------------------- dma_align

/** The decoded fields of `ublk_param_dma_align`. */
export interface UblkParamDmaAlignValue {
  /** `alignment` (u32 @0). */
  alignment: number;
  /** `pad[4]` (u8 × 4 @4). */
  pad: number[];
}

const DMA_FIELDS: readonly FieldSpec[] = [
  { name: "alignment", offset: 0, kind: "u32" },
  { name: "pad", offset: 4, kind: "u8", count: 4 },
];

/**
 * `struct ublk_param_dma_align` (8 bytes).
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { UblkParamDmaAlign } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(UblkParamDmaAlign.SIZE));
 * UblkParamDmaAlign.encode(view, 0, { alignment: 511, pad: [0, 0, 0, 0] });
 * assert.equal(UblkParamDmaAlign.decode(view, 0).alignment, 511);
 * ```
 */
export class UblkParamDmaAlign {
  /** `sizeof(struct ublk_param_dma_align)`. */
  static readonly SIZE = 8;
  /** `alignment` (u32). */
  static readonly OFFSET_ALIGNMENT = 0;
  /** `pad[4]` (u8). */
  static readonly OFFSET_PAD = 4;
  /**
   * A value with every field zero.
   * @returns A fresh value.
   */
  static zero(): UblkParamDmaAlignValue {
    return { alignment: 0, pad: [0, 0, 0, 0] };
  }
  /**
   * Writes every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @param v The value.
   */
  static encode(view: DataView, o: number, v: UblkParamDmaAlignValue): void {
    writeFields(view, o, DMA_FIELDS, v);
  }
  /**
   * Reads every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns A fresh value.
   */
  static decode(view: DataView, o: number): UblkParamDmaAlignValue {
    return readFields(view, o, DMA_FIELDS) as unknown as UblkParamDmaAlignValue;
  }
}

// ---------------------------------------------------------------- segment

/** The decoded fields of `ublk_param_segment`. */
export interface UblkParamSegmentValue {
  /** `seg_boundary_mask` (u64 @0). */
  segBoundaryMask: bigint;
  /** `max_segment_size` (u32 @8). */
  maxSegmentSize: number;
  /** `max_segments` (u16 @12). */
  maxSegments: number;
  /** `pad[2]` (u8 × 2 @14). */
  pad: number[];
}

const SEG_FIELDS: readonly FieldSpec[] = [
  { name: "segBoundaryMask", offset: 0, kind: "u64" },
  { name: "maxSegmentSize", offset: 8, kind: "u32" },
  { name: "maxSegments", offset: 12, kind: "u16" },
  { name: "pad", offset: 14, kind: "u8", count: 2 },
];

/**
 * `struct ublk_param_segment` (16 bytes).
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { UblkParamSegment } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(UblkParamSegment.SIZE));
 * const v = { segBoundaryMask: 0xfffn, maxSegmentSize: 65536, maxSegments: 128, pad: [0, 0] };
 * UblkParamSegment.encode(view, 0, v);
 * assert.deepEqual(UblkParamSegment.decode(view, 0), v);
 * ```
 */
export class UblkParamSegment {
  /** `sizeof(struct ublk_param_segment)`. */
  static readonly SIZE = 16;
  /** `seg_boundary_mask` (u64). */
  static readonly OFFSET_SEG_BOUNDARY_MASK = 0;
  /** `max_segment_size` (u32). */
  static readonly OFFSET_MAX_SEGMENT_SIZE = 8;
  /** `max_segments` (u16). */
  static readonly OFFSET_MAX_SEGMENTS = 12;
  /** `pad[2]` (u8). */
  static readonly OFFSET_PAD = 14;
  /**
   * A value with every field zero.
   * @returns A fresh value.
   */
  static zero(): UblkParamSegmentValue {
    return { segBoundaryMask: 0n, maxSegmentSize: 0, maxSegments: 0, pad: [0, 0] };
  }
  /**
   * Writes every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @param v The value.
   */
  static encode(view: DataView, o: number, v: UblkParamSegmentValue): void {
    writeFields(view, o, SEG_FIELDS, v);
  }
  /**
   * Reads every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns A fresh value.
   */
  static decode(view: DataView, o: number): UblkParamSegmentValue {
    return readFields(view, o, SEG_FIELDS) as unknown as UblkParamSegmentValue;
  }
}

// ---------------------------------------------------------------- integrity

/** The decoded fields of `ublk_param_integrity`. */
export interface UblkParamIntegrityValue {
  /** `flags` (u32 @0): `LBMD_PI_CAP_*`. */
  flags: number;
  /** `max_integrity_segments` (u16 @4): 0 means no limit. */
  maxIntegritySegments: number;
  /** `interval_exp` (u8 @6). */
  intervalExp: number;
  /** `metadata_size` (u8 @7): nonzero when the type is set. */
  metadataSize: number;
  /** `pi_offset` (u8 @8). */
  piOffset: number;
  /** `csum_type` (u8 @9): `LBMD_PI_CSUM_*`. */
  csumType: number;
  /** `tag_size` (u8 @10). */
  tagSize: number;
  /** `pad[5]` (u8 × 5 @11). */
  pad: number[];
}

const INTEGRITY_FIELDS: readonly FieldSpec[] = [
  { name: "flags", offset: 0, kind: "u32" },
  { name: "maxIntegritySegments", offset: 4, kind: "u16" },
  { name: "intervalExp", offset: 6, kind: "u8" },
  { name: "metadataSize", offset: 7, kind: "u8" },
  { name: "piOffset", offset: 8, kind: "u8" },
  { name: "csumType", offset: 9, kind: "u8" },
  { name: "tagSize", offset: 10, kind: "u8" },
  { name: "pad", offset: 11, kind: "u8", count: 5 },
];

/**
 * `struct ublk_param_integrity` (16 bytes).
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { UblkParamIntegrity } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(UblkParamIntegrity.SIZE));
 * const v = { ...UblkParamIntegrity.zero(), metadataSize: 8, intervalExp: 9 };
 * UblkParamIntegrity.encode(view, 0, v);
 * assert.deepEqual(UblkParamIntegrity.decode(view, 0), v);
 * ```
 */
export class UblkParamIntegrity {
  /** `sizeof(struct ublk_param_integrity)`. */
  static readonly SIZE = 16;
  /** `flags` (u32). */
  static readonly OFFSET_FLAGS = 0;
  /** `max_integrity_segments` (u16). */
  static readonly OFFSET_MAX_INTEGRITY_SEGMENTS = 4;
  /** `interval_exp` (u8). */
  static readonly OFFSET_INTERVAL_EXP = 6;
  /** `metadata_size` (u8). */
  static readonly OFFSET_METADATA_SIZE = 7;
  /** `pi_offset` (u8). */
  static readonly OFFSET_PI_OFFSET = 8;
  /** `csum_type` (u8). */
  static readonly OFFSET_CSUM_TYPE = 9;
  /** `tag_size` (u8). */
  static readonly OFFSET_TAG_SIZE = 10;
  /** `pad[5]` (u8). */
  static readonly OFFSET_PAD = 11;
  /**
   * A value with every field zero.
   * @returns A fresh value.
   */
  static zero(): UblkParamIntegrityValue {
    return zeroFields(INTEGRITY_FIELDS, 16) as unknown as UblkParamIntegrityValue;
  }
  /**
   * Writes every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @param v The value.
   */
  static encode(view: DataView, o: number, v: UblkParamIntegrityValue): void {
    writeFields(view, o, INTEGRITY_FIELDS, v);
  }
  /**
   * Reads every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns A fresh value.
   */
  static decode(view: DataView, o: number): UblkParamIntegrityValue {
    return readFields(view, o, INTEGRITY_FIELDS) as unknown as UblkParamIntegrityValue;
  }
}

// ---------------------------------------------------------------- ublk_params

/** The decoded fields of `ublk_params`. */
export interface UblkParamsValue {
  /** `len` (u32 @0): bytes exchanged. */
  len: number;
  /** `types` (u32 @4): `UBLK_PARAM_TYPE_*` of the valid sub-structs. */
  types: number;
  /** `basic` (@8). */
  basic: UblkParamBasicValue;
  /** `discard` (@40). */
  discard: UblkParamDiscardValue;
  /** `devt` (@60). */
  devt: UblkParamDevtValue;
  /** `zoned` (@76). */
  zoned: UblkParamZonedValue;
  /** `dma` (@108). */
  dma: UblkParamDmaAlignValue;
  /** `seg` (@120). */
  seg: UblkParamSegmentValue;
  /** `integrity` (@136). */
  integrity: UblkParamIntegrityValue;
}

/** One sub-struct of `ublk_params`: its type bit, property, offset and codec. */
interface SubStruct {
  readonly type: number;
  readonly key: keyof UblkParamsValue;
  readonly offset: number;
  readonly codec: {
    readonly SIZE: number;
    encode(view: DataView, o: number, v: never): void;
    decode(view: DataView, o: number): unknown;
    zero(): unknown;
  };
}

const SUBS: readonly SubStruct[] = [
  { type: UBLK_PARAM_TYPE_BASIC, key: "basic", offset: 8, codec: UblkParamBasic },
  { type: UBLK_PARAM_TYPE_DISCARD, key: "discard", offset: 40, codec: UblkParamDiscard },
  { type: UBLK_PARAM_TYPE_DEVT, key: "devt", offset: 60, codec: UblkParamDevt },
  { type: UBLK_PARAM_TYPE_ZONED, key: "zoned", offset: 76, codec: UblkParamZoned },
  { type: UBLK_PARAM_TYPE_DMA_ALIGN, key: "dma", offset: 108, codec: UblkParamDmaAlign },
  { type: UBLK_PARAM_TYPE_SEGMENT, key: "seg", offset: 120, codec: UblkParamSegment },
  { type: UBLK_PARAM_TYPE_INTEGRITY, key: "integrity", offset: 136, codec: UblkParamIntegrity },
];

/** `UBLK_PARAM_TYPE_*` of every sub-struct this codec knows. */
const ALL_TYPES = SUBS.reduce((a, s) => a | s.type, 0);

/**
 * `struct ublk_params` (152 bytes now; see the module doc for the `len`/`types` rule).
 *
 * @example SET_PARAMS for a 1 GiB disk with basic + discard, sized for any kernel
 * ```ts
 * import assert from "node:assert/strict";
 * import { UBLK_PARAM_TYPE_BASIC, UBLK_PARAM_TYPE_DISCARD, UblkParams } from "@ublk-ts/uapi";
 * const types = UBLK_PARAM_TYPE_BASIC | UBLK_PARAM_TYPE_DISCARD;
 * const p = UblkParams.zero();
 * p.types = types;
 * p.len = UblkParams.lenFor(types); // 64, the 6.1 sizeof
 * p.basic.logicalBsShift = 9;
 * p.basic.devSectors = 1n << 21n;
 * p.discard.maxDiscardSegments = 1;
 * const view = new DataView(new ArrayBuffer(p.len));
 * UblkParams.encode(view, 0, p);
 * assert.deepEqual(UblkParams.decode(view, 0), p);
 * ```
 */
export class UblkParams {
  /** `sizeof(struct ublk_params)` in the current uapi. */
  static readonly SIZE = 152;
  /** `len` (u32). */
  static readonly OFFSET_LEN = 0;
  /** `types` (u32). */
  static readonly OFFSET_TYPES = 4;
  /** `basic` (`ublk_param_basic`). */
  static readonly OFFSET_BASIC = 8;
  /** `discard` (`ublk_param_discard`). */
  static readonly OFFSET_DISCARD = 40;
  /** `devt` (`ublk_param_devt`). */
  static readonly OFFSET_DEVT = 60;
  /** `zoned` (`ublk_param_zoned`). */
  static readonly OFFSET_ZONED = 76;
  /** `dma` (`ublk_param_dma_align`). */
  static readonly OFFSET_DMA = 108;
  /** `seg` (`ublk_param_segment`). */
  static readonly OFFSET_SEG = 120;
  /** `integrity` (`ublk_param_integrity`). */
  static readonly OFFSET_INTEGRITY = 136;
  /** Every `UBLK_PARAM_TYPE_*` this codec knows (0x7f). */
  static readonly TYPES_ALL: number = ALL_TYPES;

  /**
   * A value with every field zero (`len` and `types` 0 too).
   * @returns A fresh value.
   */
  static zero(): UblkParamsValue {
    return {
      len: 0,
      types: 0,
      basic: UblkParamBasic.zero(),
      discard: UblkParamDiscard.zero(),
      devt: UblkParamDevt.zero(),
      zoned: UblkParamZoned.zero(),
      dma: UblkParamDmaAlign.zero(),
      seg: UblkParamSegment.zero(),
      integrity: UblkParamIntegrity.zero(),
    };
  }

  /**
   * The smallest `len` that holds every sub-struct named in `types`: the end of the last one,
   * rounded up to the struct's 8-byte alignment, as `sizeof` of a header of that era is
   * (basic → 40, + discard → 64, + devt → 80, + zoned → 112, … all → 152).
   *
   * @param types `UBLK_PARAM_TYPE_*` bits.
   * @returns The length in bytes (8 when `types` is 0).
   * @throws {RangeError} If `types` has a bit this codec does not know.
   */
  static lenFor(types: number): number {
    if ((types & ~ALL_TYPES) !== 0) {
      throw new RangeError(`Cannot size ublk_params: unknown type bits 0x${types.toString(16)}`);
    }
    let end = 8;
    for (const s of SUBS) if (types & s.type) end = s.offset + s.codec.SIZE;
    return Math.min((end + 7) & ~7, UblkParams.SIZE);
  }

  /**
   * Writes `v.len` bytes: the header, each sub-struct named in `v.types`, and zeroes for every
   * other byte inside `len`. Nothing past `len` is touched.
   *
   * @param view The memory (at least `v.len` bytes from `o`).
   * @param o Byte offset of the struct.
   * @param v The value.
   * @throws {RangeError} If `len` is below 8 or above {@linkcode UblkParams.SIZE}, or a
   *   sub-struct named in `types` does not fit inside `len`, or `types` has an unknown bit.
   */
  static encode(view: DataView, o: number, v: UblkParamsValue): void {
    const len = v.len;
    if (!Number.isInteger(len) || len < 8 || len > UblkParams.SIZE) {
      throw new RangeError(`Cannot encode ublk_params: len ${len} is outside 8..152`);
    }
    if ((v.types & ~ALL_TYPES) !== 0) {
      throw new RangeError(
        `Cannot encode ublk_params: unknown type bits 0x${v.types.toString(16)}`,
      );
    }
    new Uint8Array(view.buffer, view.byteOffset + o, len).fill(0);
    view.setUint32(o, len, true);
    view.setUint32(o + 4, v.types >>> 0, true);
    for (const s of SUBS) {
      if ((v.types & s.type) === 0) continue;
      if (s.offset + s.codec.SIZE > len) {
        throw new RangeError(
          `Cannot encode ublk_params: ${String(s.key)} does not fit in len ${len}`,
        );
      }
      s.codec.encode(view, o + s.offset, v[s.key] as never);
    }
  }

  /**
   * Reads a `ublk_params` of `len` bytes (default: the `len` field in memory, capped at
   * {@linkcode UblkParams.SIZE}). Sub-structs that do not lie wholly inside `len` decode as
   * zero, as a newer kernel reading an older server's struct sees them.
   *
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @param len Bytes available; defaults to the stored `len`.
   * @returns A fresh value.
   */
  static decode(view: DataView, o: number, len?: number): UblkParamsValue {
    const stored = view.getUint32(o, true);
    const avail = Math.min(len ?? stored, UblkParams.SIZE);
    const v = UblkParams.zero();
    v.len = stored;
    v.types = avail >= 8 ? view.getUint32(o + 4, true) : 0;
    const rec = v as unknown as Record<string, unknown>;
    for (const s of SUBS) {
      if (s.offset + s.codec.SIZE <= avail) rec[s.key] = s.codec.decode(view, o + s.offset);
    }
    return v;
  }

  /**
   * `len`.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns The stored length.
   */
  static len(view: DataView, o: number): number {
    return view.getUint32(o, true);
  }
  /**
   * `types`.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns The `UBLK_PARAM_TYPE_*` bits.
   */
  static types(view: DataView, o: number): number {
    return view.getUint32(o + 4, true);
  }
}
