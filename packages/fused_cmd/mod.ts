/**
 * `@ublk-ts/fused-cmd`: `IORING_OP_FUSED_CMD`, the 2023 RFC's fused command, for the model
 * kernel of `@ublk-ts/ring`. One SQE128 slot holds a master (a uring_cmd to a device file that
 * lends a buffer) and a slave (a normal READ/WRITE/SEND/RECV/SEND_ZC whose `addr` is an offset
 * into that buffer). The slave does its I/O straight into or out of the lent memory; the master
 * completes after it.
 *
 * @example Build a fused READ in an SQE128 slot
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkFusedSqe, FusedPrepCheck, writeFusedSqe } from "@ublk-ts/fused-cmd";
 * import { isFusedSlaveOp } from "@ublk-ts/fused-cmd";
 * import { IORING_OP_READ, IORING_SETUP_SQE128 } from "@ublk-ts/uapi";
 * const bytes = new Uint8Array(128);
 * const view = new DataView(bytes.buffer);
 * writeFusedSqe(bytes, view, 0, { fd: 3, cmdOp: 0x23, userData: 1n }, {
 *   opcode: IORING_OP_READ, fd: 4, addr: 0, len: 4096, off: 0n, userData: 2n,
 * });
 * assert.equal(checkFusedSqe(view, 0, IORING_SETUP_SQE128, isFusedSlaveOp), FusedPrepCheck.OK);
 * ```
 *
 * @module
 */
export * from "./direction.ts";
export * from "./fused_sqe.ts";
export * from "./fused_cmd.ts";
export * from "./prep_fused_cmd.ts";
