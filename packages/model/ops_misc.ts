/**
 * NOP, FSYNC and FALLOCATE.
 *
 * @module
 */

import {
  EBADF,
  EINVAL,
  ENODEV,
  IORING_FSYNC_DATASYNC,
  IORING_OP_FALLOCATE,
  IORING_OP_FSYNC,
  IORING_OP_NOP,
  IoUringSqe,
  O_ACCMODE,
} from "@ublk-ts/uapi";
import type { IoResult } from "@ublk-ts/ring";
import { ISSUE_QUEUED } from "./device_file.ts";
import type { OpDef } from "./op_def.ts";
import type { Request } from "./request.ts";

/** `IORING_NOP_INJECT_RESULT`: complete with `len` as the result. */
export const IORING_NOP_INJECT_RESULT = 1;

function later(req: Request, r: IoResult): number {
  if (typeof r === "number") return r;
  req.completeLater(r);
  return ISSUE_QUEUED;
}

/** IORING_OP_NOP (nop_flags: INJECT_RESULT). */
export const opNop: OpDef = {
  name: "NOP",
  needsFile: false,
  fusedSlave: false,
  bufDir: 0,
  prep(req: Request): number {
    if (req.opFlags & ~IORING_NOP_INJECT_RESULT) return -EINVAL;
    return 0;
  },
  issue(req: Request): number {
    if (req.opFlags & IORING_NOP_INJECT_RESULT) return req.len | 0;
    return 0;
  },
};

/** IORING_OP_FSYNC (fsync_flags: IORING_FSYNC_DATASYNC). */
export const opFsync: OpDef = {
  name: "FSYNC",
  needsFile: true,
  fusedSlave: false,
  bufDir: 0,
  prep(req: Request, sqe: DataView, off: number): number {
    // io_fsync_prep: `sqe->addr || sqe->buf_index || sqe->splice_fd_in`.
    const spliceFdIn = sqe.getInt32(off + IoUringSqe.OFFSET_SPLICE_FD_IN, true);
    if (req.addr !== 0n || req.bufIndex !== 0 || spliceFdIn !== 0) return -EINVAL;
    if (req.opFlags & ~IORING_FSYNC_DATASYNC) return -EINVAL;
    return 0;
  },
  issue(req: Request): number {
    req.noFail = true; // io_fsync never calls req_set_fail
    const f = req.file!;
    if (f.kind !== "file") return f.kind === "dir" ? 0 : -EINVAL;
    return later(req, f.backend!.fsync(f.handle!, (req.opFlags & IORING_FSYNC_DATASYNC) !== 0));
  },
};

/** IORING_OP_FALLOCATE (`off`, length in `addr`, mode in `len`). */
export const opFallocate: OpDef = {
  name: "FALLOCATE",
  needsFile: true,
  fusedSlave: false,
  bufDir: 0,
  prep(req: Request, sqe: DataView, off: number): number {
    // io_fallocate_prep: `sqe->buf_index || sqe->rw_flags || sqe->splice_fd_in`.
    const spliceFdIn = sqe.getInt32(off + IoUringSqe.OFFSET_SPLICE_FD_IN, true);
    if (req.bufIndex !== 0 || req.opFlags !== 0 || spliceFdIn !== 0) return -EINVAL;
    return 0;
  },
  issue(req: Request): number {
    req.noFail = true; // io_fallocate never calls req_set_fail: errors do not break links
    const f = req.file!;
    if (f.kind === "dir") return -EBADF;
    if (f.kind !== "file") return -ENODEV;
    if ((f.flags & O_ACCMODE) === 0) return -EBADF; // O_RDONLY
    if (req.off < 0 || req.addr <= 0n || req.addr > 0x7fffffffffffffffn) return -EINVAL;
    return later(req, f.backend!.fallocate(f.handle!, req.len, req.off, Number(req.addr)));
  },
};

/** The ops of this file by opcode. */
export const MISC_OPS: ReadonlyArray<readonly [number, OpDef]> = [
  [IORING_OP_NOP, opNop],
  [IORING_OP_FSYNC, opFsync],
  [IORING_OP_FALLOCATE, opFallocate],
];
