/**
 * The `pread`/`pwrite` position on `/dev/ublkcN` with `UBLK_F_USER_COPY`:
 * `UBLKSRV_IO_BUF_OFFSET + (q_id << 41 | tag << 25 | offset)`, plus
 * `UBLKSRV_IO_INTEGRITY_FLAG` to address the integrity buffer.
 *
 * @example Where tag 0 of queue 0 starts
 * ```ts
 * import assert from "node:assert/strict";
 * import { UBLKSRV_IO_BUF_OFFSET, ublkUserCopyPos } from "@ublk-ts/uapi";
 * assert.equal(ublkUserCopyPos(0, 0, 0), BigInt(UBLKSRV_IO_BUF_OFFSET));
 * ```
 *
 * @module
 */

import {
  UBLK_IO_BUF_BITS_MASK,
  UBLK_QID_BITS_MASK,
  UBLK_QID_OFF,
  UBLK_TAG_BITS_MASK,
  UBLK_TAG_OFF,
  UBLKSRV_IO_BUF_OFFSET,
  UBLKSRV_IO_INTEGRITY_FLAG,
} from "./ublk_cmd.ts";

/**
 * The user-copy file position of byte `offset` of request (`qId`, `tag`).
 *
 * @param qId The queue (12 bits).
 * @param tag The tag (16 bits).
 * @param offset Byte offset inside the request buffer (25 bits).
 * @param integrity Address the integrity buffer instead of the data.
 * @returns The position for pread/pwrite.
 * @throws {RangeError} If a part does not fit its bit field.
 *
 * @example Position of tag 3, queue 1
 * ```ts
 * import assert from "node:assert/strict";
 * import { ublkUserCopyPos } from "@ublk-ts/uapi";
 * assert.equal(ublkUserCopyPos(1, 3, 512), 0x80000000n + (1n << 41n) + (3n << 25n) + 512n);
 * ```
 */
export function ublkUserCopyPos(
  qId: number,
  tag: number,
  offset: number,
  integrity = false,
): bigint {
  const q = BigInt(qId), t = BigInt(tag), off = BigInt(offset);
  if (q < 0n || q > UBLK_QID_BITS_MASK) throw new RangeError(`Cannot encode q_id ${qId}`);
  if (t < 0n || t > UBLK_TAG_BITS_MASK) throw new RangeError(`Cannot encode tag ${tag}`);
  if (off < 0n || off > UBLK_IO_BUF_BITS_MASK) {
    throw new RangeError(`Cannot encode buffer offset ${offset}`);
  }
  const pos = BigInt(UBLKSRV_IO_BUF_OFFSET) + ((q << BigInt(UBLK_QID_OFF)) |
    (t << BigInt(UBLK_TAG_OFF)) | off);
  return integrity ? pos | UBLKSRV_IO_INTEGRITY_FLAG : pos;
}
