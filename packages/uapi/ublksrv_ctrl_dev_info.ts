/**
 * Codec of `struct ublksrv_ctrl_dev_info` (64 bytes): ADD_DEV's in/out argument and
 * GET_DEV_INFO's result.
 *
 * @example Read the state GET_DEV_INFO returned
 * ```ts
 * import assert from "node:assert/strict";
 * import { UBLK_S_DEV_LIVE, UblksrvCtrlDevInfo } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(UblksrvCtrlDevInfo.SIZE));
 * view.setUint16(UblksrvCtrlDevInfo.OFFSET_STATE, UBLK_S_DEV_LIVE, true);
 * assert.equal(UblksrvCtrlDevInfo.state(view, 0), UBLK_S_DEV_LIVE);
 * ```
 *
 * @module
 */

import { type FieldSpec, readFields, writeFields } from "./_codec.ts";

/** The decoded fields of one `ublksrv_ctrl_dev_info`. */
export interface UblksrvCtrlDevInfoValue {
  /** `nr_hw_queues` (u16 @0). */
  nrHwQueues: number;
  /** `queue_depth` (u16 @2). */
  queueDepth: number;
  /** `state` (u16 @4): `UBLK_S_DEV_*`. */
  state: number;
  /** `pad0` (u16 @6). */
  pad0: number;
  /** `max_io_buf_bytes` (u32 @8). */
  maxIoBufBytes: number;
  /** `dev_id` (u32 @12). */
  devId: number;
  /** `ublksrv_pid` (s32 @16). */
  ublksrvPid: number;
  /** `pad1` (u32 @20). */
  pad1: number;
  /** `flags` (u64 @24): `UBLK_F_*`. */
  flags: bigint;
  /** `ublksrv_flags` (u64 @32): private to the server. */
  ublksrvFlags: bigint;
  /** `owner_uid` (u32 @40): stored by the kernel (6.1: low half of `reserved0`). */
  ownerUid: number;
  /** `owner_gid` (u32 @44): stored by the kernel (6.1: high half of `reserved0`). */
  ownerGid: number;
  /** `reserved1` (u64 @48). */
  reserved1: bigint;
  /** `reserved2` (u64 @56). */
  reserved2: bigint;
}

const FIELDS: readonly FieldSpec[] = [
  { name: "nrHwQueues", offset: 0, kind: "u16" },
  { name: "queueDepth", offset: 2, kind: "u16" },
  { name: "state", offset: 4, kind: "u16" },
  { name: "pad0", offset: 6, kind: "u16" },
  { name: "maxIoBufBytes", offset: 8, kind: "u32" },
  { name: "devId", offset: 12, kind: "u32" },
  { name: "ublksrvPid", offset: 16, kind: "s32" },
  { name: "pad1", offset: 20, kind: "u32" },
  { name: "flags", offset: 24, kind: "u64" },
  { name: "ublksrvFlags", offset: 32, kind: "u64" },
  { name: "ownerUid", offset: 40, kind: "u32" },
  { name: "ownerGid", offset: 44, kind: "u32" },
  { name: "reserved1", offset: 48, kind: "u64" },
  { name: "reserved2", offset: 56, kind: "u64" },
];

/**
 * `struct ublksrv_ctrl_dev_info`.
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { UBLK_F_CMD_IOCTL_ENCODE, UblksrvCtrlDevInfo } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(UblksrvCtrlDevInfo.SIZE));
 * const info = UblksrvCtrlDevInfo.zero();
 * info.nrHwQueues = 1;
 * info.queueDepth = 128;
 * info.maxIoBufBytes = 512 << 10;
 * info.devId = 0xffffffff;
 * info.flags = UBLK_F_CMD_IOCTL_ENCODE;
 * UblksrvCtrlDevInfo.encode(view, 0, info);
 * assert.deepEqual(UblksrvCtrlDevInfo.decode(view, 0), info);
 * assert.equal(UblksrvCtrlDevInfo.flags(view, 0), UBLK_F_CMD_IOCTL_ENCODE);
 * ```
 */
export class UblksrvCtrlDevInfo {
  /** `sizeof(struct ublksrv_ctrl_dev_info)`. */
  static readonly SIZE = 64;
  /** `nr_hw_queues` (u16). */
  static readonly OFFSET_NR_HW_QUEUES = 0;
  /** `queue_depth` (u16). */
  static readonly OFFSET_QUEUE_DEPTH = 2;
  /** `state` (u16). */
  static readonly OFFSET_STATE = 4;
  /** `pad0` (u16). */
  static readonly OFFSET_PAD0 = 6;
  /** `max_io_buf_bytes` (u32). */
  static readonly OFFSET_MAX_IO_BUF_BYTES = 8;
  /** `dev_id` (u32). */
  static readonly OFFSET_DEV_ID = 12;
  /** `ublksrv_pid` (s32). */
  static readonly OFFSET_UBLKSRV_PID = 16;
  /** `pad1` (u32). */
  static readonly OFFSET_PAD1 = 20;
  /** `flags` (u64). */
  static readonly OFFSET_FLAGS = 24;
  /** `ublksrv_flags` (u64). */
  static readonly OFFSET_UBLKSRV_FLAGS = 32;
  /** `reserved0` (u64) of the 6.1 header, now `owner_uid` + `owner_gid`. */
  static readonly OFFSET_RESERVED0 = 40;
  /** `owner_uid` (u32). */
  static readonly OFFSET_OWNER_UID = 40;
  /** `owner_gid` (u32). */
  static readonly OFFSET_OWNER_GID = 44;
  /** `reserved1` (u64). */
  static readonly OFFSET_RESERVED1 = 48;
  /** `reserved2` (u64). */
  static readonly OFFSET_RESERVED2 = 56;

  /**
   * A value with every field zero.
   * @returns A fresh value.
   */
  static zero(): UblksrvCtrlDevInfoValue {
    return {
      nrHwQueues: 0,
      queueDepth: 0,
      state: 0,
      pad0: 0,
      maxIoBufBytes: 0,
      devId: 0,
      ublksrvPid: 0,
      pad1: 0,
      flags: 0n,
      ublksrvFlags: 0n,
      ownerUid: 0,
      ownerGid: 0,
      reserved1: 0n,
      reserved2: 0n,
    };
  }
  /**
   * Writes every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @param v The value.
   */
  static encode(view: DataView, o: number, v: UblksrvCtrlDevInfoValue): void {
    writeFields(view, o, FIELDS, v);
  }
  /**
   * Reads every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns A fresh value.
   */
  static decode(view: DataView, o: number): UblksrvCtrlDevInfoValue {
    return readFields(view, o, FIELDS) as unknown as UblksrvCtrlDevInfoValue;
  }
  /**
   * `state`.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns A `UBLK_S_DEV_*`.
   */
  static state(view: DataView, o: number): number {
    return view.getUint16(o + 4, true);
  }
  /**
   * `dev_id`.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns The device id.
   */
  static devId(view: DataView, o: number): number {
    return view.getUint32(o + 12, true);
  }
  /**
   * `flags`.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns The `UBLK_F_*` flags.
   */
  static flags(view: DataView, o: number): bigint {
    return view.getBigUint64(o + 24, true);
  }
}
