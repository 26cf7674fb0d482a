/**
 * SEND, RECV and SEND_ZC on model sockets (`io_uring/net.c`). SEND_ZC posts its result CQE
 * with IORING_CQE_F_MORE, then a notification CQE (IORING_CQE_F_NOTIF, same user_data).
 *
 * @module
 */

import {
  ECANCELED,
  EFAULT,
  EINVAL,
  ENOENT,
  ENOTSOCK,
  EOPNOTSUPP,
  IORING_CQE_F_MORE,
  IORING_CQE_F_NOTIF,
  IORING_CQE_F_SOCK_NONEMPTY,
  IORING_OP_RECV,
  IORING_OP_SEND,
  IORING_OP_SEND_ZC,
  IORING_RECVSEND_FIXED_BUF,
  IORING_RECVSEND_POLL_FIRST,
  IORING_SEND_ZC_REPORT_USAGE,
  IOSQE_CQE_SKIP_SUCCESS,
  IoUringSqe,
} from "@ublk-ts/uapi";
import type { IoResult } from "@ublk-ts/ring";
import { ISSUE_QUEUED } from "./device_file.ts";
import { importLent } from "./lent_buffer.ts";
import type { OpDef } from "./op_def.ts";
import type { Request } from "./request.ts";

/** `MSG_WAITALL`. */
export const MSG_WAITALL = 0x100;
/** `MSG_DONTWAIT`. */
export const MSG_DONTWAIT = 0x40;
/** `MSG_NOSIGNAL`. */
export const MSG_NOSIGNAL = 0x4000;

const SEND_FLAGS = IORING_RECVSEND_POLL_FIRST;
const RECV_FLAGS = IORING_RECVSEND_POLL_FIRST;
const ZC_FLAGS = IORING_RECVSEND_POLL_FIRST | IORING_RECVSEND_FIXED_BUF |
  IORING_SEND_ZC_REPORT_USAGE;

function ioprio(sqe: DataView, off: number): number {
  return sqe.getUint16(off + IoUringSqe.OFFSET_IOPRIO, true);
}

/** One buffer: the lent kbuf range, a fixed buffer (SEND_ZC), or `addr`. */
/** `ITER_SOURCE`: a buffer that may be read from (rsrc's direction bit). */
const DIR_SOURCE = 2;

function importOne(req: Request, fixed: boolean): Uint8Array | number {
  if (req.kbuf) {
    if (req.addrHi !== 0) return -EFAULT;
    const r = importLent(req.kbuf, req.addrLo, req.len, req.bufs);
    if (r < 0) return r;
    if (req.bufs.length === 1) return req.bufs[0]!;
    if (req.bufs.length === 0) return new Uint8Array(0);
    // A multi-segment lent range goes through a bounce buffer: gathered here for sends,
    // scattered back by `scatter` for receives.
    const bounce = new Uint8Array(req.len);
    let o = 0;
    for (const seg of req.bufs) {
      bounce.set(seg, o);
      o += seg.length;
    }
    return bounce;
  }
  if (fixed) {
    // SEND_ZC with IORING_RECVSEND_FIXED_BUF (the only fixed user here) reads the buffer: a
    // driver-registered one allows that only for its request's direction (a ublk WRITE's pages;
    // a READ's are ITER_DEST): -EFAULT as io_import_fixed.
    const fb = req.ring.fixedBuffer(req, req.bufIndex);
    if (typeof fb === "number") return fb;
    if ((fb.dir & DIR_SOURCE) === 0) return -EFAULT;
    const v = req.ring.buffers.importFixed(fb, req.addr, req.len);
    if (typeof v === "number") return v;
    return v;
  }
  if (req.len === 0) return new Uint8Array(0);
  return req.ring.kernel.addressSpace.resolveParts(req.addrHi, req.addrLo, req.len);
}

/** Copies a bounce buffer's first `n` bytes back into the lent segments. */
function scatter(segs: readonly Uint8Array[], bounce: Uint8Array, n: number): number {
  let o = 0;
  for (const seg of segs) {
    if (o >= n) break;
    const k = Math.min(seg.length, n - o);
    seg.set(bounce.subarray(o, o + k));
    o += k;
  }
  return n;
}

function recvInto(req: Request, buf: Uint8Array, r: IoResult): IoResult {
  if (req.bufs.length <= 1 || req.bufs[0] === buf) return r;
  const segs = req.bufs.slice();
  if (typeof r === "number") return r > 0 ? scatter(segs, buf, r) : r;
  return r.then((n) => (n > 0 ? scatter(segs, buf, n) : n));
}

function finish(req: Request, buf: Uint8Array, r: IoResult): number {
  if (typeof r === "number") return r;
  req.bufs.length = 0;
  req.bufs.push(buf);
  req.completeLater(r);
  req.cancel = cancelSock;
  return ISSUE_QUEUED;
}

function cancelSock(req: Request): void {
  const buf = req.bufs[0];
  if (buf) req.file?.socket?.cancelOp?.(buf);
  req.complete(-ECANCELED);
}

function issueSend(req: Request, fixed: boolean, zc: boolean): number {
  const f = req.file!;
  if (f.kind !== "socket") return -ENOTSOCK;
  if (zc && !f.socket!.zerocopy) return -EOPNOTSUPP;
  const buf = importOne(req, fixed);
  if (typeof buf === "number") return buf;
  if (req.opFlags & MSG_WAITALL) req.expect = buf.length;
  return finish(req, buf, f.socket!.send(buf));
}

/** IORING_OP_SEND (send flags in `ioprio`, msg_flags in the op-flags word). */
export const opSend: OpDef = {
  name: "SEND",
  needsFile: true,
  ioprio: true,
  bufferSelect: true,
  noBuffersErrno: ENOENT, // as Linux 6.18 for SEND
  fusedSlave: true,
  bufDir: 0,
  prep(_req: Request, sqe: DataView, off: number): number {
    if (sqe.getUint16(off + IoUringSqe.OFFSET_PAD3, true) !== 0) return -EINVAL;
    if (ioprio(sqe, off) & ~SEND_FLAGS) return -EINVAL;
    return 0;
  },
  issue: (req: Request): number => issueSend(req, false, false),
};

/** IORING_OP_RECV. */
export const opRecv: OpDef = {
  name: "RECV",
  needsFile: true,
  ioprio: true,
  bufferSelect: true,
  fusedSlave: true,
  bufDir: 1,
  prep(req: Request, sqe: DataView, off: number): number {
    if (sqe.getUint32(off + IoUringSqe.OFFSET_FILE_INDEX, true) !== 0 || req.off !== 0) {
      return -EINVAL;
    }
    if (ioprio(sqe, off) & ~RECV_FLAGS) return -EINVAL;
    return 0;
  },
  issue(req: Request): number {
    const f = req.file!;
    if (f.kind !== "socket") return -ENOTSOCK;
    const buf = importOne(req, false);
    if (typeof buf === "number") return buf;
    const waitAll = (req.opFlags & MSG_WAITALL) !== 0;
    if (waitAll) req.expect = buf.length;
    const sock = f.socket!;
    if (sock.pending) req.onComplete.push(sockNonempty);
    return finish(
      req,
      buf,
      recvInto(req, buf, sock.recv(buf, waitAll, (req.opFlags & MSG_DONTWAIT) !== 0)),
    );
  },
};

function sockNonempty(req: Request): void {
  if (req.res > 0 && (req.file?.socket?.pending?.() ?? 0) > 0) {
    req.cflags |= IORING_CQE_F_SOCK_NONEMPTY;
  }
}

function zcNotify(req: Request): void {
  req.cflags |= IORING_CQE_F_MORE;
  const ring = req.ring;
  const ud = req.userData;
  const counted = !req.isSlave;
  ring.queueTaskWork(() => {
    ring.postCqe(ud, 0, IORING_CQE_F_NOTIF);
    // The notification request is freed once its CQE is posted (io_notif_tw_complete).
    if (counted) ring.freeAuxReq();
  });
}

/** IORING_OP_SEND_ZC: result CQE with F_MORE, then a F_NOTIF CQE. */
export const opSendZc: OpDef = {
  name: "SEND_ZC",
  needsFile: true,
  ioprio: true,
  fusedSlave: true,
  bufDir: 0,
  prep(req: Request, sqe: DataView, off: number): number {
    const addr3 = sqe.getBigUint64(off + IoUringSqe.OFFSET_ADDR3, true);
    if (addr3 !== 0n || sqe.getBigUint64(off + IoUringSqe.OFFSET_PAD2, true) !== 0n) {
      return -EINVAL;
    }
    // IOSQE_CQE_SKIP_SUCCESS is not supported with notifications (-EINVAL at prep, 6.18).
    if (req.flags & IOSQE_CQE_SKIP_SUCCESS) return -EINVAL;
    const zf = ioprio(sqe, off);
    if (zf & ~ZC_FLAGS) return -EINVAL;
    if ((zf & IORING_RECVSEND_FIXED_BUF) && req.isSlave) return -EINVAL;
    req.data = zf;
    req.onComplete.push(zcNotify);
    // io_send_zc_prep allocates the notification request (io_alloc_notif): it counts in
    // nr_req_allocated, so drain sees it alive until its CQE is posted — but it is not in
    // nr_drained, so a SEND_ZC deferred by a drain never runs on 6.18 (the kernel hangs it).
    if (!req.isSlave) req.ring.allocAuxReq();
    return 0;
  },
  issue: (req: Request): number => issueSend(req, ((req.data as number) & 4) !== 0, true),
};

/** The ops of this file by opcode. */
export const NET_OPS: ReadonlyArray<readonly [number, OpDef]> = [
  [IORING_OP_SEND, opSend],
  [IORING_OP_RECV, opRecv],
  [IORING_OP_SEND_ZC, opSendZc],
];
