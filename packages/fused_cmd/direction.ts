/**
 * The fused slave op set and the direction of the lent buffer per slave opcode (RFC v1
 * `io_fused_cmd()`; v4 made it the opdef bit `buf_dir`).
 *
 * @module
 */
import {
  IO_URING_F_FUSED_READ,
  IO_URING_F_FUSED_WRITE,
  IORING_OP_READ,
  IORING_OP_READ_FIXED,
  IORING_OP_READV,
  IORING_OP_RECV,
  IORING_OP_RECVMSG,
  IORING_OP_SEND,
  IORING_OP_SEND_ZC,
  IORING_OP_WRITE,
} from "@ublk-ts/uapi";

/**
 * The opcodes the RFC marks `fused_slave` (READ, WRITE [RFC1-08]; SEND, RECV, SEND_ZC [V2-05]).
 * The model's op table carries the same bit; this list is what `installFusedCmd` checks it
 * against and what the tests enumerate.
 */
export const FUSED_SLAVE_OPS: readonly number[] = [
  IORING_OP_READ,
  IORING_OP_WRITE,
  IORING_OP_SEND,
  IORING_OP_RECV,
  IORING_OP_SEND_ZC,
];

/**
 * Whether `opcode` is in {@linkcode FUSED_SLAVE_OPS}.
 *
 * @param opcode An IORING_OP_* value.
 * @returns True for READ, WRITE, SEND, RECV and SEND_ZC.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isFusedSlaveOp } from "@ublk-ts/fused-cmd";
 * assert.equal(isFusedSlaveOp(22), true); // READ
 * assert.equal(isFusedSlaveOp(4), false); // READ_FIXED
 * ```
 */
export function isFusedSlaveOp(opcode: number): boolean {
  return opcode === IORING_OP_READ || opcode === IORING_OP_WRITE ||
    opcode === IORING_OP_SEND || opcode === IORING_OP_RECV || opcode === IORING_OP_SEND_ZC;
}

/**
 * The issue flag that tells the device how the slave uses the lent buffer:
 * `IO_URING_F_FUSED_WRITE` when the slave writes into it (READ, READV, READ_FIXED, RECVMSG,
 * RECV), `IO_URING_F_FUSED_READ` for every other opcode (the slave reads from it).
 *
 * @param opcode The slave's IORING_OP_* value.
 * @returns `IO_URING_F_FUSED_WRITE` or `IO_URING_F_FUSED_READ`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fusedBufDir } from "@ublk-ts/fused-cmd";
 * import { IO_URING_F_FUSED_WRITE, IO_URING_F_FUSED_READ, IORING_OP_READ, IORING_OP_SEND } from "@ublk-ts/uapi";
 * assert.equal(fusedBufDir(IORING_OP_READ), IO_URING_F_FUSED_WRITE);
 * assert.equal(fusedBufDir(IORING_OP_SEND), IO_URING_F_FUSED_READ);
 * ```
 */
export function fusedBufDir(opcode: number): number {
  switch (opcode) {
    case IORING_OP_READ:
    case IORING_OP_READV:
    case IORING_OP_READ_FIXED:
    case IORING_OP_RECVMSG:
    case IORING_OP_RECV:
      return IO_URING_F_FUSED_WRITE;
    default:
      return IO_URING_F_FUSED_READ;
  }
}
