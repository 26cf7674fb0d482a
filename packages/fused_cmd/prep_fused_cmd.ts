/**
 * {@linkcode prepFusedCmd}: the user-side builder of a fused command on a {@linkcode Ring}'s
 * SQE (the RFC v1 SQE128 form), in the style of the ring's `prep*` helpers.
 *
 * @module
 */

import { IOSQE_FIXED_FILE } from "@ublk-ts/uapi";
import { Fixed, type Sqe, type Target } from "@ublk-ts/ring";
import { FUSED_CMD_SIZE, FUSED_SQE_SIZE, writeFusedSqe } from "./fused_sqe.ts";

/** The master half of {@linkcode prepFusedCmd}. */
export interface PrepFusedMaster {
  /** The device: an fd or a registered-file index ({@linkcode Fixed} sets IOSQE_FIXED_FILE). */
  target: Target;
  /** `cmd_op` for the device. */
  cmdOp: number;
  /** Up to 16 bytes of payload (`cmd` at offset 48). */
  cmd?: Uint8Array;
  /** `user_data`. */
  userData?: bigint;
  /** IOSQE_* flags (link, CQE_SKIP_SUCCESS, …). */
  flags?: number;
}

/** The slave half of {@linkcode prepFusedCmd}. */
export interface PrepFusedSlave {
  /** IORING_OP_READ, WRITE, SEND, RECV or SEND_ZC. */
  opcode: number;
  /** The file or socket: an fd or a {@linkcode Fixed} index. */
  target: Target;
  /** Byte offset into the master's buffer (its start is 0). */
  addr: number | bigint;
  /** Bytes to transfer. */
  len: number;
  /** File offset (READ/WRITE); default 0. */
  offset?: bigint;
  /** `user_data`. */
  userData?: bigint;
  /** IOSQE_* flags; IO_LINK/IO_HARDLINK apply to the pair (they move to the master). */
  flags?: number;
  /** `rw_flags` or `msg_flags`. */
  opFlags?: number;
  /** `ioprio` (IORING_RECVSEND_* for SEND/RECV). */
  ioprio?: number;
}

/**
 * Writes a fused command into `sqe`, which must be a 128-byte SQE (a ring set up with
 * IORING_SETUP_SQE128): the master (`IORING_OP_FUSED_CMD` to the device, `cmd_op`, 16-byte
 * payload) in bytes 0..63 and the slave in bytes 64..127. The call allocates nothing; callers
 * on a hot path reuse their `master`/`slave` objects.
 *
 * @param sqe An SQE from `ring.getSqe()` (zeroed).
 * @param master The master half.
 * @param slave The slave half.
 * @throws {RangeError} when `sqe` is not 128 bytes or the payload exceeds 16 bytes.
 * @example A zero-copy read of 4 KiB into a device buffer at offset 0
 * ```ts
 * import assert from "node:assert/strict";
 * import { installFusedCmd } from "@ublk-ts/fused-cmd";
 * import { prepFusedCmd } from "@ublk-ts/fused-cmd";
 * import { ModelKernel } from "@ublk-ts/model";
 * import { Ring } from "@ublk-ts/ring";
 * import { IORING_OP_READ, IORING_SETUP_SQE128 } from "@ublk-ts/uapi";
 * const kernel = new ModelKernel();
 * installFusedCmd(kernel);
 * using ring = Ring.create(kernel, 8, { flags: IORING_SETUP_SQE128 });
 * const sqe = ring.getSqe()!;
 * prepFusedCmd(sqe, { target: 3, cmdOp: 0x23, userData: 1n }, {
 *   opcode: IORING_OP_READ, target: 4, addr: 0, len: 4096, offset: 0n, userData: 2n,
 * });
 * assert.equal(sqe.view.getUint8(sqe.offset), 49);
 * ```
 */
export function prepFusedCmd(sqe: Sqe, master: PrepFusedMaster, slave: PrepFusedSlave): void {
  if (sqe.size !== FUSED_SQE_SIZE) {
    throw new RangeError(
      `Cannot prepare a fused command in a ${sqe.size}-byte SQE: the ring needs IORING_SETUP_SQE128`,
    );
  }
  if (master.cmd !== undefined && master.cmd.length > FUSED_CMD_SIZE) {
    throw new RangeError(
      `Cannot prepare a fused command: the payload of ${master.cmd.length} bytes exceeds 16`,
    );
  }
  ARGS_M.fd = fdOf(master.target);
  ARGS_M.fixed = master.target instanceof Fixed;
  ARGS_M.cmdOp = master.cmdOp;
  ARGS_M.cmd = master.cmd;
  ARGS_M.flags = master.flags ?? 0;
  ARGS_M.userData = master.userData ?? 0n;
  ARGS_S.opcode = slave.opcode;
  ARGS_S.fd = fdOf(slave.target);
  ARGS_S.fixed = slave.target instanceof Fixed;
  ARGS_S.addr = slave.addr;
  ARGS_S.len = slave.len;
  ARGS_S.off = slave.offset ?? 0n;
  ARGS_S.flags = (slave.flags ?? 0) & ~IOSQE_FIXED_FILE;
  ARGS_S.opFlags = slave.opFlags ?? 0;
  ARGS_S.ioprio = slave.ioprio ?? 0;
  ARGS_S.userData = slave.userData ?? 0n;
  writeFusedSqe(sqe.bytes, sqe.view, sqe.offset, ARGS_M, ARGS_S);
  ARGS_M.cmd = undefined;
}

function fdOf(t: Target): number {
  return t instanceof Fixed ? t.index : t;
}

const ARGS_M = {
  fd: 0,
  fixed: false,
  cmdOp: 0,
  cmd: undefined as Uint8Array | undefined,
  flags: 0,
  userData: 0n,
};
const ARGS_S = {
  opcode: 0,
  fd: 0,
  fixed: false,
  addr: 0 as number | bigint,
  len: 0,
  off: 0n,
  flags: 0,
  opFlags: 0,
  ioprio: 0,
  userData: 0n,
};
