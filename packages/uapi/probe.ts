/**
 * Codecs of `struct io_uring_probe` (16-byte header + `ops[]`) and
 * `struct io_uring_probe_op` (8 bytes), `IORING_REGISTER_PROBE`'s result.
 *
 * @example Size a probe for every opcode
 * ```ts
 * import assert from "node:assert/strict";
 * import { IoUringProbe } from "@ublk-ts/uapi";
 * assert.equal(IoUringProbe.sizeFor(256), 16 + 256 * 8);
 * ```
 *
 * @module
 */

import { IO_URING_OP_SUPPORTED } from "./io_uring.ts";

/** The decoded fields of `io_uring_probe_op`. */
export interface IoUringProbeOpValue {
  /** `op` (u8 @0). */
  op: number;
  /** `resv` (u8 @1). */
  resv: number;
  /** `flags` (u16 @2): `IO_URING_OP_SUPPORTED`. */
  flags: number;
  /** `resv2` (u32 @4). */
  resv2: number;
}

/**
 * `struct io_uring_probe_op`.
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { IO_URING_OP_SUPPORTED, IoUringProbeOp } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(IoUringProbeOp.SIZE));
 * const v = { op: 22, resv: 0, flags: IO_URING_OP_SUPPORTED, resv2: 0 };
 * IoUringProbeOp.encode(view, 0, v);
 * assert.deepEqual(IoUringProbeOp.decode(view, 0), v);
 * ```
 */
export class IoUringProbeOp {
  /** `sizeof(struct io_uring_probe_op)`. */
  static readonly SIZE = 8;
  /** `op` (u8). */
  static readonly OFFSET_OP = 0;
  /** `resv` (u8). */
  static readonly OFFSET_RESV = 1;
  /** `flags` (u16). */
  static readonly OFFSET_FLAGS = 2;
  /** `resv2` (u32). */
  static readonly OFFSET_RESV2 = 4;
  /**
   * A value with every field zero.
   * @returns A fresh value.
   */
  static zero(): IoUringProbeOpValue {
    return { op: 0, resv: 0, flags: 0, resv2: 0 };
  }
  /**
   * Writes every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @param v The value.
   */
  static encode(view: DataView, o: number, v: IoUringProbeOpValue): void {
    view.setUint8(o, v.op);
    view.setUint8(o + 1, v.resv);
    view.setUint16(o + 2, v.flags, true);
    view.setUint32(o + 4, v.resv2, true);
  }
  /**
   * Reads every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns A fresh value.
   */
  static decode(view: DataView, o: number): IoUringProbeOpValue {
    return {
      op: view.getUint8(o),
      resv: view.getUint8(o + 1),
      flags: view.getUint16(o + 2, true),
      resv2: view.getUint32(o + 4, true),
    };
  }
}

/** The decoded fields of `io_uring_probe`. */
export interface IoUringProbeValue {
  /** `last_op` (u8 @0): last opcode the kernel knows. */
  lastOp: number;
  /** `ops_len` (u8 @1): entries of `ops[]` filled. */
  opsLen: number;
  /** `resv` (u16 @2). */
  resv: number;
  /** `resv2[3]` (u32 × 3 @4). */
  resv2: number[];
  /** `ops[]` (@16): `opsLen` entries. */
  ops: IoUringProbeOpValue[];
}

/**
 * `struct io_uring_probe`. The caller passes room for `nr` ops (`sizeFor(nr)` bytes, `nr` as
 * io_uring_register's `nr_args`); the kernel fills `last_op`, `ops_len` and the ops.
 *
 * @example Ask whether an opcode is supported
 * ```ts
 * import assert from "node:assert/strict";
 * import { IO_URING_OP_SUPPORTED, IORING_OP_READ, IoUringProbe } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(IoUringProbe.sizeFor(256)));
 * const ops = Array.from({ length: 49 }, (_, op) => ({
 *   op,
 *   resv: 0,
 *   flags: IO_URING_OP_SUPPORTED,
 *   resv2: 0,
 * }));
 * IoUringProbe.encode(view, 0, { lastOp: 48, opsLen: 49, resv: 0, resv2: [0, 0, 0], ops });
 * assert.equal(IoUringProbe.supported(view, 0, IORING_OP_READ), true);
 * assert.equal(IoUringProbe.supported(view, 0, 49), false);
 * ```
 */
export class IoUringProbe {
  /** `sizeof(struct io_uring_probe)` (the header, without `ops[]`). */
  static readonly SIZE = 16;
  /** `last_op` (u8). */
  static readonly OFFSET_LAST_OP = 0;
  /** `ops_len` (u8). */
  static readonly OFFSET_OPS_LEN = 1;
  /** `resv` (u16). */
  static readonly OFFSET_RESV = 2;
  /** `resv2[3]` (u32). */
  static readonly OFFSET_RESV2 = 4;
  /** `ops[]` (`io_uring_probe_op`). */
  static readonly OFFSET_OPS = 16;

  /**
   * Bytes needed for a probe with room for `nr` ops.
   * @param nr Number of `ops[]` entries (at most 256).
   * @returns The size in bytes.
   */
  static sizeFor(nr: number): number {
    return IoUringProbe.SIZE + nr * IoUringProbeOp.SIZE;
  }
  /**
   * A value with every field zero and no ops.
   * @returns A fresh value.
   */
  static zero(): IoUringProbeValue {
    return { lastOp: 0, opsLen: 0, resv: 0, resv2: [0, 0, 0], ops: [] };
  }
  /**
   * Writes the header and every element of `v.ops` (whatever `v.opsLen` says).
   * @param view The memory (at least `sizeFor(v.ops.length)` bytes).
   * @param o Byte offset of the struct.
   * @param v The value.
   */
  static encode(view: DataView, o: number, v: IoUringProbeValue): void {
    view.setUint8(o, v.lastOp);
    view.setUint8(o + 1, v.opsLen);
    view.setUint16(o + 2, v.resv, true);
    for (let i = 0; i < 3; i++) view.setUint32(o + 4 + 4 * i, v.resv2[i] ?? 0, true);
    for (let i = 0; i < v.ops.length; i++) {
      IoUringProbeOp.encode(view, o + 16 + 8 * i, v.ops[i]);
    }
  }
  /**
   * Reads the header and `ops_len` ops.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns A fresh value.
   */
  static decode(view: DataView, o: number): IoUringProbeValue {
    const opsLen = view.getUint8(o + 1);
    const ops: IoUringProbeOpValue[] = [];
    for (let i = 0; i < opsLen; i++) ops.push(IoUringProbeOp.decode(view, o + 16 + 8 * i));
    return {
      lastOp: view.getUint8(o),
      opsLen,
      resv: view.getUint16(o + 2, true),
      resv2: [
        view.getUint32(o + 4, true),
        view.getUint32(o + 8, true),
        view.getUint32(o + 12, true),
      ],
      ops,
    };
  }
  /**
   * Whether a filled probe reports `op` as supported (as liburing's
   * `io_uring_opcode_supported`): `op <= last_op`, `op < ops_len`, and the op's
   * `IO_URING_OP_SUPPORTED` flag.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @param op An `IORING_OP_*`.
   * @returns Whether it is supported.
   */
  static supported(view: DataView, o: number, op: number): boolean {
    if (op > view.getUint8(o) || op >= view.getUint8(o + 1)) return false;
    return (view.getUint16(o + 16 + 8 * op + 2, true) & IO_URING_OP_SUPPORTED) !== 0;
  }
}
