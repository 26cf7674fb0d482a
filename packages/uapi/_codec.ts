/**
 * Private table-driven field reader/writer for the cold structs (setup, register and control
 * arguments). Hot structs (SQE, CQE, io_desc, io_cmd) are hand-written instead.
 *
 * @module
 */

/** A scalar C type: little-endian, u64/s64 as bigint. */
export type ScalarKind = "u8" | "u16" | "u32" | "s32" | "u64" | "s64";

/** A nested struct codec, as every public codec class is. */
export interface NestedCodec {
  /** `sizeof` the struct. */
  readonly SIZE: number;
  /** Writes a value. */
  encode(view: DataView, offset: number, value: never): void;
  /** Reads a value. */
  decode(view: DataView, offset: number): unknown;
}

/** One field of a struct layout. */
export interface FieldSpec {
  /** Property name in the decoded value. */
  readonly name: string;
  /** Byte offset inside the struct. */
  readonly offset: number;
  /** Scalar type, or a nested codec. */
  readonly kind: ScalarKind | NestedCodec;
  /** Element count for an array field (the value is then an array). */
  readonly count?: number;
}

/** Size in bytes of a scalar kind. */
export function kindSize(kind: ScalarKind): number {
  switch (kind) {
    case "u8":
      return 1;
    case "u16":
      return 2;
    case "u32":
    case "s32":
      return 4;
    case "u64":
    case "s64":
      return 8;
  }
}

function readScalar(view: DataView, o: number, kind: ScalarKind): number | bigint {
  switch (kind) {
    case "u8":
      return view.getUint8(o);
    case "u16":
      return view.getUint16(o, true);
    case "u32":
      return view.getUint32(o, true);
    case "s32":
      return view.getInt32(o, true);
    case "u64":
      return view.getBigUint64(o, true);
    case "s64":
      return view.getBigInt64(o, true);
  }
}

function writeScalar(view: DataView, o: number, kind: ScalarKind, v: number | bigint): void {
  switch (kind) {
    case "u8":
      view.setUint8(o, v as number);
      return;
    case "u16":
      view.setUint16(o, v as number, true);
      return;
    case "u32":
      view.setUint32(o, v as number, true);
      return;
    case "s32":
      view.setInt32(o, v as number, true);
      return;
    case "u64":
      view.setBigUint64(o, v as bigint, true);
      return;
    case "s64":
      view.setBigInt64(o, v as bigint, true);
      return;
  }
}

function elemSize(f: FieldSpec): number {
  return typeof f.kind === "string" ? kindSize(f.kind) : f.kind.SIZE;
}

function readOne(view: DataView, o: number, f: FieldSpec): unknown {
  return typeof f.kind === "string" ? readScalar(view, o, f.kind) : f.kind.decode(view, o);
}

function writeOne(view: DataView, o: number, f: FieldSpec, v: unknown): void {
  if (typeof f.kind === "string") writeScalar(view, o, f.kind, v as number | bigint);
  else f.kind.encode(view, o, v as never);
}

/** Reads every field of `fields` at `offset` into a fresh object. */
export function readFields(
  view: DataView,
  offset: number,
  fields: readonly FieldSpec[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const o = offset + f.offset;
    if (f.count === undefined) {
      out[f.name] = readOne(view, o, f);
    } else {
      const size = elemSize(f);
      const arr: unknown[] = [];
      for (let i = 0; i < f.count; i++) arr.push(readOne(view, o + i * size, f));
      out[f.name] = arr;
    }
  }
  return out;
}

/** Writes every field of `fields` from `value` at `offset`. */
export function writeFields(
  view: DataView,
  offset: number,
  fields: readonly FieldSpec[],
  value: object,
): void {
  const rec = value as Record<string, unknown>;
  for (const f of fields) {
    const o = offset + f.offset;
    const v = rec[f.name];
    if (f.count === undefined) {
      writeOne(view, o, f, v);
    } else {
      const arr = v as readonly unknown[];
      if (!Array.isArray(arr) || arr.length !== f.count) {
        throw new RangeError(
          `Cannot encode field "${f.name}": expected an array of ${f.count} elements`,
        );
      }
      const size = elemSize(f);
      for (let i = 0; i < f.count; i++) writeOne(view, o + i * size, f, arr[i]);
    }
  }
}

/** A value with every field zero (nested codecs zeroed by decoding zero bytes). */
export function zeroFields(fields: readonly FieldSpec[], size: number): Record<string, unknown> {
  return readFields(new DataView(new ArrayBuffer(size)), 0, fields);
}
