/**
 * Codec of `struct ublksrv_ctrl_cmd` (32 bytes), the payload of every ublk control command,
 * carried in `sqe->cmd` of a `URING_CMD` to `/dev/ublk-control` on an SQE128 ring.
 *
 * @example A START_DEV payload carrying the server pid
 * ```ts
 * import assert from "node:assert/strict";
 * import { UblksrvCtrlCmd } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(UblksrvCtrlCmd.SIZE));
 * UblksrvCtrlCmd.set(view, 0, 0, -1, 0n, 0, 1234n);
 * assert.equal(UblksrvCtrlCmd.queueId(view, 0), 0xffff);
 * assert.equal(UblksrvCtrlCmd.data(view, 0), 1234n);
 * ```
 *
 * @module
 */

/** The decoded fields of one `ublksrv_ctrl_cmd`. */
export interface UblksrvCtrlCmdValue {
  /** `dev_id` (u32 @0): the device, or `0xffffffff` (-1) for ADD_DEV to allocate one. */
  devId: number;
  /** `queue_id` (u16 @4): `0xffff` (-1) unless the command is per queue. */
  queueId: number;
  /** `len` (u16 @6): length of the buffer at `addr`. */
  len: number;
  /** `addr` (u64 @8): user buffer, IN or OUT. */
  addr: bigint;
  /** `data[0]` (u64 @16): inline data (START_DEV: the server pid). */
  data: bigint;
  /** `dev_path_len` (u16 @24): 6.1 had `data[1]` here; now used by unprivileged devices. */
  devPathLen: number;
  /** `pad` (u16 @26). */
  pad: number;
  /** `reserved` (u32 @28). */
  reserved: number;
}

/**
 * `struct ublksrv_ctrl_cmd`. The current layout (`data[1]`, `dev_path_len`, `pad`, `reserved`)
 * covers the same 32 bytes as 6.1's `data[2]`.
 *
 * @example Build an ADD_DEV payload
 * ```ts
 * import assert from "node:assert/strict";
 * import { UblksrvCtrlCmd } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(UblksrvCtrlCmd.SIZE));
 * const cmd = UblksrvCtrlCmd.zero();
 * cmd.devId = 0xffffffff;
 * cmd.queueId = 0xffff;
 * cmd.len = 64;
 * cmd.addr = 0x1000n;
 * UblksrvCtrlCmd.encode(view, 0, cmd);
 * assert.equal(UblksrvCtrlCmd.devId(view, 0), 0xffffffff);
 * assert.deepEqual(UblksrvCtrlCmd.decode(view, 0), cmd);
 * ```
 */
export class UblksrvCtrlCmd {
  /** `sizeof(struct ublksrv_ctrl_cmd)`. */
  static readonly SIZE = 32;
  /** `dev_id` (u32). */
  static readonly OFFSET_DEV_ID = 0;
  /** `queue_id` (u16). */
  static readonly OFFSET_QUEUE_ID = 4;
  /** `len` (u16). */
  static readonly OFFSET_LEN = 6;
  /** `addr` (u64). */
  static readonly OFFSET_ADDR = 8;
  /** `data[]` (u64; two elements in 6.1, one now). */
  static readonly OFFSET_DATA = 16;
  /** `dev_path_len` (u16). */
  static readonly OFFSET_DEV_PATH_LEN = 24;
  /** `pad` (u16). */
  static readonly OFFSET_PAD = 26;
  /** `reserved` (u32). */
  static readonly OFFSET_RESERVED = 28;

  /**
   * A value with every field zero.
   * @returns A fresh value.
   */
  static zero(): UblksrvCtrlCmdValue {
    return {
      devId: 0,
      queueId: 0,
      len: 0,
      addr: 0n,
      data: 0n,
      devPathLen: 0,
      pad: 0,
      reserved: 0,
    };
  }

  /**
   * Writes every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @param v The value.
   */
  static encode(view: DataView, o: number, v: UblksrvCtrlCmdValue): void {
    view.setUint32(o, v.devId, true);
    view.setUint16(o + 4, v.queueId, true);
    view.setUint16(o + 6, v.len, true);
    view.setBigUint64(o + 8, v.addr, true);
    view.setBigUint64(o + 16, v.data, true);
    view.setUint16(o + 24, v.devPathLen, true);
    view.setUint16(o + 26, v.pad, true);
    view.setUint32(o + 28, v.reserved, true);
  }

  /**
   * Reads every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns A fresh value.
   */
  static decode(view: DataView, o: number): UblksrvCtrlCmdValue {
    return {
      devId: view.getUint32(o, true),
      queueId: view.getUint16(o + 4, true),
      len: view.getUint16(o + 6, true),
      addr: view.getBigUint64(o + 8, true),
      data: view.getBigUint64(o + 16, true),
      devPathLen: view.getUint16(o + 24, true),
      pad: view.getUint16(o + 26, true),
      reserved: view.getUint32(o + 28, true),
    };
  }

  /**
   * `dev_id`.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns The device id (unsigned).
   */
  static devId(view: DataView, o: number): number {
    return view.getUint32(o, true);
  }
  /**
   * `queue_id`.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns The queue id.
   */
  static queueId(view: DataView, o: number): number {
    return view.getUint16(o + 4, true);
  }
  /**
   * `len`.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns The buffer length.
   */
  static len(view: DataView, o: number): number {
    return view.getUint16(o + 6, true);
  }
  /**
   * `addr`.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns The buffer address.
   */
  static addr(view: DataView, o: number): bigint {
    return view.getBigUint64(o + 8, true);
  }
  /**
   * `data[0]`.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns The inline data.
   */
  static data(view: DataView, o: number): bigint {
    return view.getBigUint64(o + 16, true);
  }
  /**
   * `dev_path_len`.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns The device path length.
   */
  static devPathLen(view: DataView, o: number): number {
    return view.getUint16(o + 24, true);
  }

  /**
   * Writes the usual fields at once without allocating, zeroing `dev_path_len`, `pad` and
   * `reserved`.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @param devId `dev_id` (-1 and 0xffffffff both mean "allocate").
   * @param queueId `queue_id` (-1 and 0xffff both mean "none").
   * @param addr `addr`.
   * @param len `len`.
   * @param data `data[0]`.
   */
  static set(
    view: DataView,
    o: number,
    devId: number,
    queueId: number,
    addr: bigint,
    len: number,
    data: bigint,
  ): void {
    view.setUint32(o, devId >>> 0, true);
    view.setUint16(o + 4, queueId & 0xffff, true);
    view.setUint16(o + 6, len, true);
    view.setBigUint64(o + 8, addr, true);
    view.setBigUint64(o + 16, data, true);
    view.setBigUint64(o + 24, 0n, true);
  }
}
