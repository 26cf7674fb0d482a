/**
 * The RFC v1 layout of a fused command in one 128-byte SQE: bytes 0..63 are the master (a
 * URING_CMD-style SQE, `opcode = IORING_OP_FUSED_CMD`, 16-byte `cmd` payload at 48), bytes
 * 64..127 are the slave (a complete normal SQE whose `addr` is a byte offset into the master's
 * buffer). Pure layout: writers over caller-owned memory, no ring needed.
 *
 * @module
 */
import {
  FusedSqe,
  IORING_OP_FUSED_CMD,
  IORING_OP_SEND_ZC,
  IORING_OP_URING_CMD,
  IORING_RECVSEND_FIXED_BUF,
  IORING_SETUP_SQE128,
  IOSQE_BUFFER_SELECT,
  IOSQE_FIXED_FILE,
  IoUringSqe,
} from "@ublk-ts/uapi";

/** Size of a fused command: one SQE128 slot. */
export const FUSED_SQE_SIZE: number = FusedSqe.SIZE;
/** Offset of the master SQE in the slot. */
export const FUSED_MASTER_OFFSET: number = FusedSqe.MASTER_OFFSET;
/** Offset of the slave SQE in the slot (`slave_sqe = sqe + 1`). */
export const FUSED_SLAVE_OFFSET: number = FusedSqe.SLAVE_OFFSET;
/** Offset of the master's `cmd` payload in the slot. */
export const FUSED_CMD_OFFSET: number = FusedSqe.MASTER_CMD_OFFSET;
/** Size of the master's `cmd` payload: 16 bytes fit before the slave. */
export const FUSED_CMD_SIZE: number = FusedSqe.MASTER_CMD_SIZE;

const ADDR_LO = IoUringSqe.OFFSET_ADDR;
const ADDR_HI = IoUringSqe.OFFSET_ADDR + 4;

/** The master half of a fused command. */
export interface FusedMasterArgs {
  /** The device file (an fd, or a registered-file index with `fixed`). */
  fd: number;
  /** The device sub-command (`cmd_op`, u32 @8). */
  cmdOp: number;
  /** Up to 16 bytes of payload for the device (`cmd` @48); zero-filled when shorter or absent. */
  cmd?: Uint8Array;
  /** `fd` is a registered-file index: sets IOSQE_FIXED_FILE. */
  fixed?: boolean;
  /** IOSQE_* flags of the master (link, drain, CQE_SKIP_SUCCESS, …). */
  flags?: number;
  /** The master's `user_data`. */
  userData: bigint;
}

/** The slave half of a fused command: a normal data op over the master's buffer. */
export interface FusedSlaveArgs {
  /** IORING_OP_READ, WRITE, SEND, RECV or SEND_ZC. */
  opcode: number;
  /** The file or socket the slave reads or writes (an fd, or an index with `fixed`). */
  fd: number;
  /** Byte offset into the master's buffer (the slave's `addr`; the buffer starts at 0). */
  addr: number | bigint;
  /** Bytes to transfer (`len`). */
  len: number;
  /** File offset for READ/WRITE (`off`); default 0. */
  off?: bigint;
  /** `fd` is a registered-file index: sets IOSQE_FIXED_FILE. */
  fixed?: boolean;
  /** IOSQE_* flags of the slave; IO_LINK/IO_HARDLINK move to the master at prep. */
  flags?: number;
  /** The op-flags word: `rw_flags` or `msg_flags`. */
  opFlags?: number;
  /** `ioprio` (SEND/RECV flags such as IORING_RECVSEND_POLL_FIRST). */
  ioprio?: number;
  /** The slave's `user_data`. */
  userData: bigint;
}

/**
 * Writes a whole fused command (both halves, 128 bytes, zeroed first) at `offset`.
 *
 * @param bytes The SQE memory as bytes (the same buffer as `view`).
 * @param view The SQE memory as a little-endian DataView.
 * @param offset Byte offset of the 128-byte slot.
 * @param master The master half.
 * @param slave The slave half.
 * @throws {RangeError} when `master.cmd` is longer than 16 bytes or the slot does not fit.
 * @example Build a fused READ
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeFusedSqe, FUSED_SLAVE_OFFSET } from "@ublk-ts/fused-cmd";
 * import { IoUringSqe, IORING_OP_FUSED_CMD, IORING_OP_READ } from "@ublk-ts/uapi";
 * const bytes = new Uint8Array(128);
 * const view = new DataView(bytes.buffer);
 * writeFusedSqe(bytes, view, 0, { fd: 3, cmdOp: 0x23, userData: 1n }, {
 *   opcode: IORING_OP_READ, fd: 4, addr: 4096, len: 512, off: 0n, userData: 2n,
 * });
 * assert.equal(IoUringSqe.opcode(view, 0), IORING_OP_FUSED_CMD);
 * assert.equal(IoUringSqe.addr(view, FUSED_SLAVE_OFFSET), 4096n);
 * ```
 */
export function writeFusedSqe(
  bytes: Uint8Array,
  view: DataView,
  offset: number,
  master: FusedMasterArgs,
  slave: FusedSlaveArgs,
): void {
  if (offset < 0 || offset + FUSED_SQE_SIZE > bytes.byteLength) {
    throw new RangeError(`Cannot write a fused SQE at offset ${offset}: the buffer is too small`);
  }
  const cmd = master.cmd;
  if (cmd !== undefined && cmd.byteLength > FUSED_CMD_SIZE) {
    throw new RangeError(
      `Cannot write a fused command payload of ${cmd.byteLength} bytes: at most 16 fit`,
    );
  }
  bytes.fill(0, offset, offset + FUSED_SQE_SIZE);
  // master
  const mflags = (master.flags ?? 0) | (master.fixed ? IOSQE_FIXED_FILE : 0);
  view.setUint8(offset + IoUringSqe.OFFSET_OPCODE, IORING_OP_FUSED_CMD);
  view.setUint8(offset + IoUringSqe.OFFSET_FLAGS, mflags);
  view.setInt32(offset + IoUringSqe.OFFSET_FD, master.fd, true);
  view.setUint32(offset + IoUringSqe.OFFSET_CMD_OP, master.cmdOp >>> 0, true);
  view.setBigUint64(offset + IoUringSqe.OFFSET_USER_DATA, master.userData, true);
  if (cmd !== undefined) bytes.set(cmd, offset + FUSED_CMD_OFFSET);
  // slave
  const s = offset + FUSED_SLAVE_OFFSET;
  const sflags = (slave.flags ?? 0) | (slave.fixed ? IOSQE_FIXED_FILE : 0);
  view.setUint8(s + IoUringSqe.OFFSET_OPCODE, slave.opcode);
  view.setUint8(s + IoUringSqe.OFFSET_FLAGS, sflags);
  view.setUint16(s + IoUringSqe.OFFSET_IOPRIO, slave.ioprio ?? 0, true);
  view.setInt32(s + IoUringSqe.OFFSET_FD, slave.fd, true);
  view.setBigUint64(s + IoUringSqe.OFFSET_OFF, slave.off ?? 0n, true);
  const addr = slave.addr;
  if (typeof addr === "bigint") {
    view.setBigUint64(s + IoUringSqe.OFFSET_ADDR, addr, true);
  } else {
    // a number: two u32 halves, no bigint allocated on the hot path
    view.setUint32(s + ADDR_LO, addr >>> 0, true);
    view.setUint32(s + ADDR_HI, Math.floor(addr / 4294967296) >>> 0, true);
  }
  view.setUint32(s + IoUringSqe.OFFSET_LEN, slave.len >>> 0, true);
  view.setUint32(s + IoUringSqe.OFFSET_OP_FLAGS, (slave.opFlags ?? 0) >>> 0, true);
  view.setBigUint64(s + IoUringSqe.OFFSET_USER_DATA, slave.userData, true);
}

/** Why a fused SQE failed the opcode-independent prep checks (all give -EINVAL). */
export const FusedPrepCheck = {
  /** All checks passed. */
  OK: 0,
  /** The ring was not set up with IORING_SETUP_SQE128 (check 1). */
  NOT_SQE128: 1,
  /** The master's `__pad1` is not 0 (check 2). */
  PAD1: 2,
  /** The master's `uring_cmd_flags` is not 0 (check 3). */
  URING_CMD_FLAGS: 3,
  /** The slave is itself a FUSED_CMD or a URING_CMD (check 4). */
  SLAVE_OPCODE: 4,
  /** The slave has IOSQE_BUFFER_SELECT (check 4). */
  SLAVE_BUFFER_SELECT: 5,
  /** The slave's op is not marked `fusedSlave` (check 4). */
  NOT_FUSED_SLAVE: 6,
  /** A SEND_ZC slave asks for IORING_RECVSEND_FIXED_BUF (slave prep, [V2-05]). */
  SLAVE_FIXED_BUF: 7,
} as const;

/** One of the {@linkcode FusedPrepCheck} values. */
export type FusedPrepCheck = typeof FusedPrepCheck[keyof typeof FusedPrepCheck];

/**
 * Runs the RFC's prep checks of a fused SQE in their order (SPEC §1.4 steps 1–4, plus the
 * SEND_ZC fixed-buffer rule of the slave's own prep) and names the first that fails. The slave's
 * normal prep (step 5) and link migration (step 6) are the kernel's part.
 *
 * @param view The SQE memory.
 * @param offset Byte offset of the fused SQE (the master).
 * @param ringFlags The ring's IORING_SETUP_* flags.
 * @param isSlaveOp Whether the op table marks an opcode `fusedSlave`.
 * @returns {@linkcode FusedPrepCheck.OK} or the first failed check; every failure means -EINVAL.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkFusedSqe, FusedPrepCheck } from "@ublk-ts/fused-cmd";
 * import { isFusedSlaveOp } from "@ublk-ts/fused-cmd";
 * const view = new DataView(new ArrayBuffer(128));
 * assert.equal(checkFusedSqe(view, 0, 0, isFusedSlaveOp), FusedPrepCheck.NOT_SQE128);
 * ```
 */
export function checkFusedSqe(
  view: DataView,
  offset: number,
  ringFlags: number,
  isSlaveOp: (opcode: number) => boolean,
): FusedPrepCheck {
  if ((ringFlags & IORING_SETUP_SQE128) === 0) return FusedPrepCheck.NOT_SQE128;
  if (view.getUint32(offset + IoUringSqe.OFFSET_PAD1, true) !== 0) return FusedPrepCheck.PAD1;
  if (view.getUint32(offset + IoUringSqe.OFFSET_URING_CMD_FLAGS, true) !== 0) {
    return FusedPrepCheck.URING_CMD_FLAGS;
  }
  const s = offset + FUSED_SLAVE_OFFSET;
  const op = view.getUint8(s + IoUringSqe.OFFSET_OPCODE);
  if (op === IORING_OP_FUSED_CMD || op === IORING_OP_URING_CMD) return FusedPrepCheck.SLAVE_OPCODE;
  if ((view.getUint8(s + IoUringSqe.OFFSET_FLAGS) & IOSQE_BUFFER_SELECT) !== 0) {
    return FusedPrepCheck.SLAVE_BUFFER_SELECT;
  }
  if (!isSlaveOp(op)) return FusedPrepCheck.NOT_FUSED_SLAVE;
  if (
    op === IORING_OP_SEND_ZC &&
    (view.getUint16(s + IoUringSqe.OFFSET_IOPRIO, true) & IORING_RECVSEND_FIXED_BUF) !== 0
  ) {
    return FusedPrepCheck.SLAVE_FIXED_BUF;
  }
  return FusedPrepCheck.OK;
}
