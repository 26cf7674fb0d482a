/**
 * Layout of the 2023 RFC's `IORING_OP_FUSED_CMD` in its v1 form (never merged): one
 * 128-byte SQE on an `IORING_SETUP_SQE128` ring whose bytes 0..63 are the **master** (a
 * URING_CMD-style SQE with a 16-byte `cmd` payload at 48) and bytes 64..127 the **slave**
 * (a complete 64-byte SQE, `slave_sqe = sqe + 1`). Offsets only; the fused-cmd package builds
 * and checks the pairs.
 *
 * @example Where the halves live in an SQ array
 * ```ts
 * import assert from "node:assert/strict";
 * import { FusedSqe, IoUringSqe } from "@ublk-ts/uapi";
 * const sqe = 3 * IoUringSqe.SIZE128; // the fourth SQE128 slot
 * assert.equal(FusedSqe.masterCmdOffset(sqe), sqe + 48);
 * assert.equal(FusedSqe.slaveOffset(sqe), sqe + 64);
 * assert.equal(FusedSqe.MASTER_CMD_SIZE, 16);
 * ```
 *
 * @module
 */

// deno-lint-ignore no-unused-vars
import type { IoUringSqe } from "./sqe.ts";

/** Offsets of the two halves of an RFC v1 fused command. */
export class FusedSqe {
  /** Size of the whole fused command: one SQE128 slot. */
  static readonly SIZE = 128;
  /** Offset of the master SQE inside the slot. */
  static readonly MASTER_OFFSET = 0;
  /** Offset of the master's `cmd` payload inside the slot. */
  static readonly MASTER_CMD_OFFSET = 48;
  /** Size of the master's `cmd` payload: the 16 bytes before the slave (one `ublksrv_io_cmd`). */
  static readonly MASTER_CMD_SIZE = 16;
  /** Offset of the slave SQE inside the slot. */
  static readonly SLAVE_OFFSET = 64;
  /** Size of the slave SQE. */
  static readonly SLAVE_SIZE = 64;

  /**
   * Byte offset of the master's 16-byte `cmd` payload.
   * @param sqe Byte offset of the 128-byte SQE.
   * @returns `sqe + 48`.
   */
  static masterCmdOffset(sqe: number): number {
    return sqe + FusedSqe.MASTER_CMD_OFFSET;
  }

  /**
   * Byte offset of the slave SQE, to use with the {@linkcode IoUringSqe} accessors.
   * @param sqe Byte offset of the 128-byte SQE.
   * @returns `sqe + 64`.
   */
  static slaveOffset(sqe: number): number {
    return sqe + FusedSqe.SLAVE_OFFSET;
  }

  /**
   * The master's `cmd` payload as a view on the same memory (allocates a view: not for the
   * per-I/O path, where {@linkcode FusedSqe.masterCmdOffset} is enough).
   * @param bytes The SQ memory.
   * @param sqe Byte offset of the 128-byte SQE.
   * @returns 16 bytes aliasing the payload.
   */
  static masterCmd(bytes: Uint8Array, sqe: number): Uint8Array {
    const at = sqe + FusedSqe.MASTER_CMD_OFFSET;
    return bytes.subarray(at, at + FusedSqe.MASTER_CMD_SIZE);
  }
}
