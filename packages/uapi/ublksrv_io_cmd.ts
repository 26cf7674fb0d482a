/**
 * Codec of `struct ublksrv_io_cmd` (16 bytes), the payload of the ublk io commands
 * (FETCH_REQ, COMMIT_AND_FETCH_REQ, NEED_GET_DATA, REGISTER_IO_BUF, and the RFC's
 * FUSED_SUBMIT_IO) in `sqe->cmd` of a `URING_CMD` to `/dev/ublkcN`. Hot path: the accessors
 * allocate nothing (but the bigint of `addr`).
 *
 * @example A FETCH_REQ payload
 * ```ts
 * import assert from "node:assert/strict";
 * import { UblksrvIoCmd } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(UblksrvIoCmd.SIZE));
 * UblksrvIoCmd.set(view, 0, 1, 42, 0, 0x10000n);
 * assert.equal(UblksrvIoCmd.qId(view, 0), 1);
 * assert.equal(UblksrvIoCmd.addr(view, 0), 0x10000n);
 * ```
 *
 * @module
 */

import { getU64Number, setU64Number } from "./_u64.ts";

/** The decoded fields of one `ublksrv_io_cmd`. */
export interface UblksrvIoCmdValue {
  /** `q_id` (u16 @0). */
  qId: number;
  /** `tag` (u16 @2). */
  tag: number;
  /** `result` (s32 @4): COMMIT only, bytes done or -errno. */
  result: number;
  /**
   * `addr` (u64 @8), union with `zone_append_lba`: the server buffer for FETCH/COMMIT/
   * NEED_GET_DATA, the buffer-table index for REGISTER_IO_BUF, the packed `ublk_auto_buf_reg`
   * with AUTO_BUF_REG.
   */
  addr: bigint;
}

/**
 * `struct ublksrv_io_cmd`.
 *
 * @example Write a COMMIT_AND_FETCH_REQ payload into an SQE128 command area
 * ```ts
 * import assert from "node:assert/strict";
 * import { IoUringSqe, UblksrvIoCmd } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(IoUringSqe.SIZE128));
 * const cmd = IoUringSqe.OFFSET_CMD;
 * UblksrvIoCmd.set(view, cmd, 0, 7, 4096, 0x7f00_0000_0000n);
 * assert.equal(UblksrvIoCmd.tag(view, cmd), 7);
 * assert.deepEqual(UblksrvIoCmd.decode(view, cmd), {
 *   qId: 0,
 *   tag: 7,
 *   result: 4096,
 *   addr: 0x7f00_0000_0000n,
 * });
 * ```
 */
export class UblksrvIoCmd {
  /** `sizeof(struct ublksrv_io_cmd)`. */
  static readonly SIZE = 16;
  /** `q_id` (u16). */
  static readonly OFFSET_Q_ID = 0;
  /** `tag` (u16). */
  static readonly OFFSET_TAG = 2;
  /** `result` (s32). */
  static readonly OFFSET_RESULT = 4;
  /** `addr` (u64). */
  static readonly OFFSET_ADDR = 8;
  /** `zone_append_lba` (u64), union with `addr`. */
  static readonly OFFSET_ZONE_APPEND_LBA = 8;

  /**
   * A value with every field zero.
   * @returns A fresh value.
   */
  static zero(): UblksrvIoCmdValue {
    return { qId: 0, tag: 0, result: 0, addr: 0n };
  }

  /**
   * Writes every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @param v The value.
   */
  static encode(view: DataView, o: number, v: UblksrvIoCmdValue): void {
    view.setUint16(o, v.qId, true);
    view.setUint16(o + 2, v.tag, true);
    view.setInt32(o + 4, v.result, true);
    view.setBigUint64(o + 8, v.addr, true);
  }

  /**
   * Reads every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns A fresh value.
   */
  static decode(view: DataView, o: number): UblksrvIoCmdValue {
    return {
      qId: view.getUint16(o, true),
      tag: view.getUint16(o + 2, true),
      result: view.getInt32(o + 4, true),
      addr: view.getBigUint64(o + 8, true),
    };
  }

  /**
   * Writes all four fields without allocating.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @param qId `q_id`.
   * @param tag `tag`.
   * @param result `result`.
   * @param addr `addr`.
   */
  static set(
    view: DataView,
    o: number,
    qId: number,
    tag: number,
    result: number,
    addr: bigint,
  ): void {
    view.setUint16(o, qId, true);
    view.setUint16(o + 2, tag, true);
    view.setInt32(o + 4, result, true);
    view.setBigUint64(o + 8, addr, true);
  }

  /**
   * `q_id`.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns The queue id.
   */
  static qId(view: DataView, o: number): number {
    return view.getUint16(o, true);
  }
  /**
   * `tag`.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns The tag.
   */
  static tag(view: DataView, o: number): number {
    return view.getUint16(o + 2, true);
  }
  /**
   * `result`.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns Bytes done or -errno.
   */
  static result(view: DataView, o: number): number {
    return view.getInt32(o + 4, true);
  }
  /**
   * `addr` (or `zone_append_lba`).
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns The address.
   */
  static addr(view: DataView, o: number): bigint {
    return view.getBigUint64(o + 8, true);
  }
  /**
   * Sets `q_id`.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @param v The queue id.
   */
  static setQId(view: DataView, o: number, v: number): void {
    view.setUint16(o, v, true);
  }
  /**
   * Sets `tag`.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @param v The tag.
   */
  static setTag(view: DataView, o: number, v: number): void {
    view.setUint16(o + 2, v, true);
  }
  /**
   * Sets `result`.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @param v Bytes done or -errno.
   */
  static setResult(view: DataView, o: number, v: number): void {
    view.setInt32(o + 4, v, true);
  }
  /**
   * Sets `addr`.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @param v The address.
   */
  static setAddr(view: DataView, o: number, v: bigint): void {
    view.setBigUint64(o + 8, v, true);
  }

  /**
   * `addr` as a number, without a bigint (exact below 2^53).
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns The value.
   */
  static addrNumber(view: DataView, o: number): number {
    return getU64Number(view, o + 8);
  }
  /**
   * Sets `addr` from a number, without a bigint.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @param v A non-negative integer below 2^53.
   */
  static setAddrNumber(view: DataView, o: number, v: number): void {
    setU64Number(view, o + 8, v);
  }
}
