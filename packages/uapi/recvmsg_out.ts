/**
 * Codec of `struct io_uring_recvmsg_out` (16 bytes), the header a multishot RECVMSG writes
 * at the start of each provided buffer.
 *
 * @example Find the payload in a multishot RECVMSG buffer
 * ```ts
 * import assert from "node:assert/strict";
 * import { IoUringRecvmsgOut } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(64));
 * IoUringRecvmsgOut.encode(view, 0, { namelen: 16, controllen: 0, payloadlen: 32, flags: 0 });
 * const h = IoUringRecvmsgOut.decode(view, 0);
 * assert.equal(IoUringRecvmsgOut.SIZE + h.namelen + h.controllen, 32);
 * ```
 *
 * @module
 */

/** The decoded fields of `io_uring_recvmsg_out`. */
export interface IoUringRecvmsgOutValue {
  /** `namelen` (u32 @0). */
  namelen: number;
  /** `controllen` (u32 @4). */
  controllen: number;
  /** `payloadlen` (u32 @8). */
  payloadlen: number;
  /** `flags` (u32 @12): `MSG_*`. */
  flags: number;
}

/**
 * `struct io_uring_recvmsg_out`.
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { IoUringRecvmsgOut } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(IoUringRecvmsgOut.SIZE));
 * const v = { namelen: 16, controllen: 0, payloadlen: 512, flags: 0 };
 * IoUringRecvmsgOut.encode(view, 0, v);
 * assert.deepEqual(IoUringRecvmsgOut.decode(view, 0), v);
 * ```
 */
export class IoUringRecvmsgOut {
  /** `sizeof(struct io_uring_recvmsg_out)`. */
  static readonly SIZE = 16;
  /** `namelen` (u32). */
  static readonly OFFSET_NAMELEN = 0;
  /** `controllen` (u32). */
  static readonly OFFSET_CONTROLLEN = 4;
  /** `payloadlen` (u32). */
  static readonly OFFSET_PAYLOADLEN = 8;
  /** `flags` (u32). */
  static readonly OFFSET_FLAGS = 12;
  /**
   * A value with every field zero.
   * @returns A fresh value.
   */
  static zero(): IoUringRecvmsgOutValue {
    return { namelen: 0, controllen: 0, payloadlen: 0, flags: 0 };
  }
  /**
   * Writes every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @param v The value.
   */
  static encode(view: DataView, o: number, v: IoUringRecvmsgOutValue): void {
    view.setUint32(o, v.namelen, true);
    view.setUint32(o + 4, v.controllen, true);
    view.setUint32(o + 8, v.payloadlen, true);
    view.setUint32(o + 12, v.flags, true);
  }
  /**
   * Reads every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns A fresh value.
   */
  static decode(view: DataView, o: number): IoUringRecvmsgOutValue {
    return {
      namelen: view.getUint32(o, true),
      controllen: view.getUint32(o + 4, true),
      payloadlen: view.getUint32(o + 8, true),
      flags: view.getUint32(o + 12, true),
    };
  }
}
