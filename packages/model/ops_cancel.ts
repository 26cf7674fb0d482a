/**
 * ASYNC_CANCEL (`io_uring/cancel.c`): cancels in-flight requests by user_data (default), fd,
 * opcode, or any; one (0) or all (count) matches; -ENOENT when none.
 *
 * @module
 */

import {
  EINVAL,
  ENOENT,
  IORING_ASYNC_CANCEL_ALL,
  IORING_ASYNC_CANCEL_ANY,
  IORING_ASYNC_CANCEL_FD,
  IORING_ASYNC_CANCEL_FD_FIXED,
  IORING_ASYNC_CANCEL_OP,
  IORING_ASYNC_CANCEL_USERDATA,
  IORING_OP_ASYNC_CANCEL,
  IOSQE_BUFFER_SELECT,
  IOSQE_FIXED_FILE,
  IoUringSqe,
} from "@ublk-ts/uapi";
import type { OpDef } from "./op_def.ts";
import type { Request } from "./request.ts";

const CANCEL_FLAGS = IORING_ASYNC_CANCEL_ALL | IORING_ASYNC_CANCEL_FD | IORING_ASYNC_CANCEL_ANY |
  IORING_ASYNC_CANCEL_FD_FIXED | IORING_ASYNC_CANCEL_USERDATA | IORING_ASYNC_CANCEL_OP;

function matches(req: Request, target: Request): boolean {
  if (target === req) return false;
  const f = req.opFlags;
  if (f & IORING_ASYNC_CANCEL_ANY) return true;
  if (f & IORING_ASYNC_CANCEL_FD) {
    const fixed = (f & IORING_ASYNC_CANCEL_FD_FIXED) !== 0;
    if (fixed !== ((target.flags & IOSQE_FIXED_FILE) !== 0) || target.fd !== req.fd) return false;
  }
  if ((f & IORING_ASYNC_CANCEL_OP) && target.opcode !== req.len) return false;
  const byData = (f & IORING_ASYNC_CANCEL_USERDATA) !== 0 ||
    (f & (IORING_ASYNC_CANCEL_FD | IORING_ASYNC_CANCEL_OP)) === 0;
  if (byData && target.userData !== req.addr) return false;
  return true;
}

/** IORING_OP_ASYNC_CANCEL. */
export const opAsyncCancel: OpDef = {
  name: "ASYNC_CANCEL",
  needsFile: false,
  fusedSlave: false,
  bufDir: 0,
  prep(req: Request, sqe: DataView, off: number): number {
    if (req.flags & IOSQE_BUFFER_SELECT) return -EINVAL;
    // io_async_cancel_prep: `sqe->off || sqe->splice_fd_in`.
    if (req.off !== 0 || sqe.getInt32(off + IoUringSqe.OFFSET_SPLICE_FD_IN, true) !== 0) {
      return -EINVAL;
    }
    const f = req.opFlags;
    if (f & ~CANCEL_FLAGS) return -EINVAL;
    if ((f & IORING_ASYNC_CANCEL_FD_FIXED) && !(f & IORING_ASYNC_CANCEL_FD)) return -EINVAL;
    if ((f & IORING_ASYNC_CANCEL_ANY) && (f & (IORING_ASYNC_CANCEL_FD | IORING_ASYNC_CANCEL_OP))) {
      return -EINVAL;
    }
    return 0;
  },
  issue(req: Request): number {
    const ring = req.ring;
    const all = (req.opFlags & (IORING_ASYNC_CANCEL_ALL | IORING_ASYNC_CANCEL_ANY)) !== 0;
    const hits: Request[] = [];
    ring.forEachInflight((t) => {
      if (!t.isSlave && matches(req, t)) {
        hits.push(t);
        return !all;
      }
      return false;
    });
    if (hits.length === 0) return -ENOENT;
    for (const t of hits) {
      const gen = t.gen;
      ring.queueTaskWork(() => {
        if (t.gen === gen) ring.cancelReq(t);
      });
    }
    return all ? hits.length : 0;
  },
};

/** The ops of this file by opcode. */
export const CANCEL_OPS: ReadonlyArray<readonly [number, OpDef]> = [
  [IORING_OP_ASYNC_CANCEL, opAsyncCancel],
];
