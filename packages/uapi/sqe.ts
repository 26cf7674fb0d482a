/**
 * Codec of `struct io_uring_sqe` (64 bytes; 128 with `IORING_SETUP_SQE128`, whose command area
 * is 80 bytes from offset 48). Works over a little-endian `DataView` of caller-owned memory and
 * allocates nothing on the hot accessors.
 *
 * @example Prepare a READ by hand
 * ```ts
 * import assert from "node:assert/strict";
 * import { IORING_OP_READ, IoUringSqe } from "@ublk-ts/uapi";
 * const bytes = new Uint8Array(IoUringSqe.SIZE);
 * const view = new DataView(bytes.buffer);
 * IoUringSqe.clear(bytes, 0, IoUringSqe.SIZE);
 * IoUringSqe.setOpcode(view, 0, IORING_OP_READ);
 * IoUringSqe.setFd(view, 0, 3);
 * IoUringSqe.setLen(view, 0, 4096);
 * IoUringSqe.setUserData(view, 0, 1n);
 * assert.equal(IoUringSqe.len(view, 0), 4096);
 * ```
 *
 * @module
 */

import { getU64Number, setU64Number } from "./_u64.ts";

/** The decoded fields of one `io_uring_sqe` (unions under their first name). */
export interface IoUringSqeValue {
  /** `opcode` (u8 @0). */
  opcode: number;
  /** `flags` (u8 @1): IOSQE_*. */
  flags: number;
  /** `ioprio` (u16 @2). */
  ioprio: number;
  /** `fd` (s32 @4). */
  fd: number;
  /** `off` / `addr2` / `cmd_op`+`__pad1` (u64 @8). */
  off: bigint;
  /** `addr` / `splice_off_in` (u64 @16). */
  addr: bigint;
  /** `len` (u32 @24). */
  len: number;
  /** The op-flags union (u32 @28): rw_flags, fsync_flags, timeout_flags, uring_cmd_flags, … */
  opFlags: number;
  /** `user_data` (u64 @32). */
  userData: bigint;
  /** `buf_index` / `buf_group` (u16 @40). */
  bufIndex: number;
  /** `personality` (u16 @42). */
  personality: number;
  /** `splice_fd_in` / `file_index` / `addr_len`+`__pad3` (s32 @44). */
  spliceFdIn: number;
  /** `addr3` (u64 @48). */
  addr3: bigint;
  /** `__pad2[0]` (u64 @56). */
  pad2: bigint;
}

/**
 * `struct io_uring_sqe`: sizes, field offsets, `encode`/`decode`, and allocation-free
 * accessors for the hot fields.
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { IoUringSqe, IORING_OP_NOP } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(IoUringSqe.SIZE));
 * const v = IoUringSqe.zero();
 * v.opcode = IORING_OP_NOP;
 * v.userData = 42n;
 * IoUringSqe.encode(view, 0, v);
 * assert.equal(IoUringSqe.userData(view, 0), 42n);
 * assert.deepEqual(IoUringSqe.decode(view, 0), v);
 * ```
 */
export class IoUringSqe {
  /** Size of one SQE. */
  static readonly SIZE = 64;
  /** Size of one SQE on an `IORING_SETUP_SQE128` ring. */
  static readonly SIZE128 = 128;
  /** Offset of the uring_cmd payload `cmd[]`. */
  static readonly OFFSET_CMD = 48;
  /** Size of the uring_cmd payload in a 64-byte SQE. */
  static readonly CMD_SIZE = 16;
  /** Size of the uring_cmd payload in a 128-byte SQE. */
  static readonly CMD_SIZE_SQE128 = 80;

  /** `opcode` (u8). */
  static readonly OFFSET_OPCODE = 0;
  /** `flags` (u8). */
  static readonly OFFSET_FLAGS = 1;
  /** `ioprio` (u16). */
  static readonly OFFSET_IOPRIO = 2;
  /** `fd` (s32). */
  static readonly OFFSET_FD = 4;
  /** `off` (u64). */
  static readonly OFFSET_OFF = 8;
  /** `addr2` (u64), union with `off`. */
  static readonly OFFSET_ADDR2 = 8;
  /** `cmd_op` (u32), union with `off`. */
  static readonly OFFSET_CMD_OP = 8;
  /** `__pad1` (u32), union with the upper half of `off`. */
  static readonly OFFSET_PAD1 = 12;
  /** `addr` (u64). */
  static readonly OFFSET_ADDR = 16;
  /** `splice_off_in` (u64), union with `addr`. */
  static readonly OFFSET_SPLICE_OFF_IN = 16;
  /** `len` (u32). */
  static readonly OFFSET_LEN = 24;
  /** The u32 op-flags union: `rw_flags`, `fsync_flags`, `msg_flags`, `uring_cmd_flags`, … */
  static readonly OFFSET_OP_FLAGS = 28;
  /** `rw_flags` (u32). */
  static readonly OFFSET_RW_FLAGS = 28;
  /** `uring_cmd_flags` (u32). */
  static readonly OFFSET_URING_CMD_FLAGS = 28;
  /** `fsync_flags` (u32), in the op-flags union. */
  static readonly OFFSET_FSYNC_FLAGS = 28;
  /** `poll_events` (u16), in the op-flags union. */
  static readonly OFFSET_POLL_EVENTS = 28;
  /** `poll32_events` (u32), in the op-flags union. */
  static readonly OFFSET_POLL32_EVENTS = 28;
  /** `sync_range_flags` (u32), in the op-flags union. */
  static readonly OFFSET_SYNC_RANGE_FLAGS = 28;
  /** `msg_flags` (u32), in the op-flags union. */
  static readonly OFFSET_MSG_FLAGS = 28;
  /** `timeout_flags` (u32), in the op-flags union. */
  static readonly OFFSET_TIMEOUT_FLAGS = 28;
  /** `accept_flags` (u32), in the op-flags union. */
  static readonly OFFSET_ACCEPT_FLAGS = 28;
  /** `cancel_flags` (u32), in the op-flags union. */
  static readonly OFFSET_CANCEL_FLAGS = 28;
  /** `open_flags` (u32), in the op-flags union. */
  static readonly OFFSET_OPEN_FLAGS = 28;
  /** `statx_flags` (u32), in the op-flags union. */
  static readonly OFFSET_STATX_FLAGS = 28;
  /** `fadvise_advice` (u32), in the op-flags union. */
  static readonly OFFSET_FADVISE_ADVICE = 28;
  /** `splice_flags` (u32), in the op-flags union. */
  static readonly OFFSET_SPLICE_FLAGS = 28;
  /** `rename_flags` (u32), in the op-flags union. */
  static readonly OFFSET_RENAME_FLAGS = 28;
  /** `unlink_flags` (u32), in the op-flags union. */
  static readonly OFFSET_UNLINK_FLAGS = 28;
  /** `hardlink_flags` (u32), in the op-flags union. */
  static readonly OFFSET_HARDLINK_FLAGS = 28;
  /** `xattr_flags` (u32), in the op-flags union. */
  static readonly OFFSET_XATTR_FLAGS = 28;
  /** `msg_ring_flags` (u32), in the op-flags union. */
  static readonly OFFSET_MSG_RING_FLAGS = 28;
  /** `user_data` (u64). */
  static readonly OFFSET_USER_DATA = 32;
  /** `buf_index` (u16). */
  static readonly OFFSET_BUF_INDEX = 40;
  /** `buf_group` (u16), union with `buf_index`. */
  static readonly OFFSET_BUF_GROUP = 40;
  /** `personality` (u16). */
  static readonly OFFSET_PERSONALITY = 42;
  /** `splice_fd_in` (s32). */
  static readonly OFFSET_SPLICE_FD_IN = 44;
  /** `file_index` (u32), union with `splice_fd_in`. */
  static readonly OFFSET_FILE_INDEX = 44;
  /** `addr_len` (u16). */
  static readonly OFFSET_ADDR_LEN = 44;
  /** `__pad3[0]` (u16). */
  static readonly OFFSET_PAD3 = 46;
  /** `addr3` (u64). */
  static readonly OFFSET_ADDR3 = 48;
  /** `__pad2[0]` (u64). */
  static readonly OFFSET_PAD2 = 56;

  /**
   * A value with every field zero.
   *
   * @returns A fresh zeroed value.
   */
  static zero(): IoUringSqeValue {
    return {
      opcode: 0,
      flags: 0,
      ioprio: 0,
      fd: 0,
      off: 0n,
      addr: 0n,
      len: 0,
      opFlags: 0,
      userData: 0n,
      bufIndex: 0,
      personality: 0,
      spliceFdIn: 0,
      addr3: 0n,
      pad2: 0n,
    };
  }

  /**
   * Writes every field of `v` at `offset`.
   *
   * @param view The memory.
   * @param offset Byte offset of the SQE.
   * @param v The value.
   */
  static encode(view: DataView, offset: number, v: IoUringSqeValue): void {
    view.setUint8(offset, v.opcode);
    view.setUint8(offset + 1, v.flags);
    view.setUint16(offset + 2, v.ioprio, true);
    view.setInt32(offset + 4, v.fd, true);
    view.setBigUint64(offset + 8, v.off, true);
    view.setBigUint64(offset + 16, v.addr, true);
    view.setUint32(offset + 24, v.len, true);
    view.setUint32(offset + 28, v.opFlags, true);
    view.setBigUint64(offset + 32, v.userData, true);
    view.setUint16(offset + 40, v.bufIndex, true);
    view.setUint16(offset + 42, v.personality, true);
    view.setInt32(offset + 44, v.spliceFdIn, true);
    view.setBigUint64(offset + 48, v.addr3, true);
    view.setBigUint64(offset + 56, v.pad2, true);
  }

  /**
   * Reads every field at `offset`.
   *
   * @param view The memory.
   * @param offset Byte offset of the SQE.
   * @returns A fresh value.
   */
  static decode(view: DataView, offset: number): IoUringSqeValue {
    return {
      opcode: view.getUint8(offset),
      flags: view.getUint8(offset + 1),
      ioprio: view.getUint16(offset + 2, true),
      fd: view.getInt32(offset + 4, true),
      off: view.getBigUint64(offset + 8, true),
      addr: view.getBigUint64(offset + 16, true),
      len: view.getUint32(offset + 24, true),
      opFlags: view.getUint32(offset + 28, true),
      userData: view.getBigUint64(offset + 32, true),
      bufIndex: view.getUint16(offset + 40, true),
      personality: view.getUint16(offset + 42, true),
      spliceFdIn: view.getInt32(offset + 44, true),
      addr3: view.getBigUint64(offset + 48, true),
      pad2: view.getBigUint64(offset + 56, true),
    };
  }

  /**
   * Zeroes `size` bytes of one SQE (64 or 128), as liburing's prep helpers start.
   *
   * @param bytes The memory as bytes.
   * @param offset Byte offset of the SQE.
   * @param size 64 or 128.
   */
  static clear(bytes: Uint8Array, offset: number, size: number): void {
    bytes.fill(0, offset, offset + size);
  }

  // ---- hot accessors (no allocation but the bigint of u64 reads) ----

  /**
   * `opcode`.
   * @param view The memory.
   * @param o Byte offset of the SQE.
   * @returns The opcode.
   */
  static opcode(view: DataView, o: number): number {
    return view.getUint8(o);
  }
  /**
   * `flags`.
   * @param view The memory.
   * @param o Byte offset of the SQE.
   * @returns IOSQE_* flags.
   */
  static flags(view: DataView, o: number): number {
    return view.getUint8(o + 1);
  }
  /**
   * `fd`.
   * @param view The memory.
   * @param o Byte offset of the SQE.
   * @returns The fd or fixed-file index.
   */
  static fd(view: DataView, o: number): number {
    return view.getInt32(o + 4, true);
  }
  /**
   * `off` (or `addr2`).
   * @param view The memory.
   * @param o Byte offset of the SQE.
   * @returns The offset.
   */
  static off(view: DataView, o: number): bigint {
    return view.getBigUint64(o + 8, true);
  }
  /**
   * `cmd_op` (u32 @8).
   * @param view The memory.
   * @param o Byte offset of the SQE.
   * @returns The uring_cmd sub-command.
   */
  static cmdOp(view: DataView, o: number): number {
    return view.getUint32(o + 8, true);
  }
  /**
   * `addr`.
   * @param view The memory.
   * @param o Byte offset of the SQE.
   * @returns The address.
   */
  static addr(view: DataView, o: number): bigint {
    return view.getBigUint64(o + 16, true);
  }
  /**
   * `len`.
   * @param view The memory.
   * @param o Byte offset of the SQE.
   * @returns The length.
   */
  static len(view: DataView, o: number): number {
    return view.getUint32(o + 24, true);
  }
  /**
   * The op-flags union (`rw_flags`, `uring_cmd_flags`, …).
   * @param view The memory.
   * @param o Byte offset of the SQE.
   * @returns The flags.
   */
  static opFlags(view: DataView, o: number): number {
    return view.getUint32(o + 28, true);
  }
  /**
   * `user_data`.
   * @param view The memory.
   * @param o Byte offset of the SQE.
   * @returns The user data.
   */
  static userData(view: DataView, o: number): bigint {
    return view.getBigUint64(o + 32, true);
  }
  /**
   * `buf_index`.
   * @param view The memory.
   * @param o Byte offset of the SQE.
   * @returns The buffer index.
   */
  static bufIndex(view: DataView, o: number): number {
    return view.getUint16(o + 40, true);
  }

  /**
   * Sets `opcode`.
   * @param view The memory.
   * @param o Byte offset of the SQE.
   * @param v The opcode.
   */
  static setOpcode(view: DataView, o: number, v: number): void {
    view.setUint8(o, v);
  }
  /**
   * Sets `flags`.
   * @param view The memory.
   * @param o Byte offset of the SQE.
   * @param v IOSQE_* flags.
   */
  static setFlags(view: DataView, o: number, v: number): void {
    view.setUint8(o + 1, v);
  }
  /**
   * Sets `fd`.
   * @param view The memory.
   * @param o Byte offset of the SQE.
   * @param v The fd.
   */
  static setFd(view: DataView, o: number, v: number): void {
    view.setInt32(o + 4, v, true);
  }
  /**
   * Sets `off`.
   * @param view The memory.
   * @param o Byte offset of the SQE.
   * @param v The offset.
   */
  static setOff(view: DataView, o: number, v: bigint): void {
    view.setBigUint64(o + 8, v, true);
  }
  /**
   * Sets `addr`.
   * @param view The memory.
   * @param o Byte offset of the SQE.
   * @param v The address.
   */
  static setAddr(view: DataView, o: number, v: bigint): void {
    view.setBigUint64(o + 16, v, true);
  }
  /**
   * Sets `len`.
   * @param view The memory.
   * @param o Byte offset of the SQE.
   * @param v The length.
   */
  static setLen(view: DataView, o: number, v: number): void {
    view.setUint32(o + 24, v, true);
  }
  /**
   * Sets the op-flags union.
   * @param view The memory.
   * @param o Byte offset of the SQE.
   * @param v The flags.
   */
  static setOpFlags(view: DataView, o: number, v: number): void {
    view.setUint32(o + 28, v, true);
  }
  /**
   * Sets `user_data`.
   * @param view The memory.
   * @param o Byte offset of the SQE.
   * @param v The user data.
   */
  static setUserData(view: DataView, o: number, v: bigint): void {
    view.setBigUint64(o + 32, v, true);
  }
  /**
   * Sets `buf_index`.
   * @param view The memory.
   * @param o Byte offset of the SQE.
   * @param v The buffer index.
   */
  static setBufIndex(view: DataView, o: number, v: number): void {
    view.setUint16(o + 40, v, true);
  }

  /**
   * `off` as a number, without a bigint (exact below 2^53).
   * @param view The memory.
   * @param o Byte offset of the SQE.
   * @returns The value.
   */
  static offNumber(view: DataView, o: number): number {
    return getU64Number(view, o + 8);
  }
  /**
   * Sets `off` from a number, without a bigint.
   * @param view The memory.
   * @param o Byte offset of the SQE.
   * @param v A non-negative integer below 2^53.
   */
  static setOffNumber(view: DataView, o: number, v: number): void {
    setU64Number(view, o + 8, v);
  }

  /**
   * `addr` as a number, without a bigint (exact below 2^53).
   * @param view The memory.
   * @param o Byte offset of the SQE.
   * @returns The value.
   */
  static addrNumber(view: DataView, o: number): number {
    return getU64Number(view, o + 16);
  }
  /**
   * Sets `addr` from a number, without a bigint.
   * @param view The memory.
   * @param o Byte offset of the SQE.
   * @param v A non-negative integer below 2^53.
   */
  static setAddrNumber(view: DataView, o: number, v: number): void {
    setU64Number(view, o + 16, v);
  }
}
