/**
 * Data ops on files: READ, WRITE, READV, WRITEV, READ_FIXED, WRITE_FIXED (`io_uring/rw.c`).
 * A request with a lent buffer (`req.kbuf`, a fused slave) uses it instead of resolving `addr`.
 *
 * @module
 */

import {
  EBADF,
  EFAULT,
  EINVAL,
  EISDIR,
  EOPNOTSUPP,
  IORING_OP_READ,
  IORING_OP_READ_FIXED,
  IORING_OP_READV,
  IORING_OP_WRITE,
  IORING_OP_WRITE_FIXED,
  IORING_OP_WRITEV,
  IOSQE_BUFFER_SELECT,
  IoUringSqe,
  IOVEC_OFFSET_BASE,
  IOVEC_OFFSET_LEN,
  IOVEC_SIZE,
  O_ACCMODE,
  O_APPEND,
  O_WRONLY,
  RWF_APPEND,
  RWF_DSYNC,
  RWF_HIPRI,
  RWF_NOAPPEND,
  RWF_NOWAIT,
  RWF_SYNC,
} from "@ublk-ts/uapi";
import type { IoResult } from "@ublk-ts/ring";
import { ISSUE_QUEUED } from "./device_file.ts";
import { importLent } from "./lent_buffer.ts";
import type { ModelFile } from "./model_file.ts";
import type { OpDef } from "./op_def.ts";
import type { Request } from "./request.ts";

const UIO_MAXIOV = 1024;
// `struct iovec` fields as 32-bit halves.
const IOV_BASE_LO = IOVEC_OFFSET_BASE;
const IOV_BASE_HI = IOVEC_OFFSET_BASE + 4;
const IOV_LEN_LO = IOVEC_OFFSET_LEN;
const IOV_LEN_HI = IOVEC_OFFSET_LEN + 4;
const MAX_RW_COUNT = 0x7ffff000;
/** `IO_IMU_DEST` / `IO_IMU_SOURCE`: `1 << ITER_DEST`, `1 << ITER_SOURCE`. */
const DIR_DEST = 1;
const DIR_SOURCE = 2;
/** RWF_* flags a model read/write accepts. */
const RWF_SUPPORTED = RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_NOWAIT | RWF_APPEND | RWF_NOAPPEND;

/** How the request names its memory. */
const KIND_PLAIN = 0;
const KIND_VEC = 1;
const KIND_FIXED = 2;

function checkIoprio(ioprio: number): number {
  if (ioprio === 0) return 0;
  const cls = ioprio >> 13;
  const data = ioprio & 0x7;
  if (cls === 0) return (ioprio & 0x1fff) !== 0 ? -EINVAL : 0;
  if (cls > 3) return -EINVAL;
  return data >= 0 ? 0 : -EINVAL;
}

function prepRw(req: Request, sqe: DataView, off: number): number {
  const e = checkIoprio(sqe.getUint16(off + IoUringSqe.OFFSET_IOPRIO, true));
  if (e < 0) return e;
  if ((req.flags & IOSQE_BUFFER_SELECT) && req.opcode === IORING_OP_READV) {
    // The iovec is read at prep even with buffer select.
    const iov = req.ring.kernel.addressSpace.resolveParts(req.addrHi, req.addrLo, IOVEC_SIZE);
    if (typeof iov === "number") return iov;
  }
  // 6.13+: __pad2[0] is attr_type_mask; PI attributes are read from addr3 (unsupported here).
  const mask = sqe.getBigUint64(off + IoUringSqe.OFFSET_PAD2, true); // attr_type_mask
  if (mask !== 0n) return mask & ~1n ? -EINVAL : -EFAULT;
  return 0;
}

/**
 * Fills `req.bufs` with the request's memory as iovecs (kbuf, fixed buffer, iovec array, or
 * one plain buffer).
 *
 * @returns Total bytes, or a negative errno.
 */
function importBufs(req: Request, kind: number, write: boolean): number {
  const bufs = req.bufs;
  if (req.kbuf) {
    if (kind === KIND_VEC || req.addrHi !== 0) {
      if (bufs.length !== 0) bufs.length = 0;
      return kind === KIND_VEC ? -EINVAL : -EFAULT;
    }
    // importLent sets `bufs` (emptied on error) without clearing it first.
    const r = importLent(req.kbuf, req.addrLo, req.len, bufs);
    return r < 0 ? r : req.len;
  }
  if (bufs.length !== 0) bufs.length = 0;
  const as = req.ring.kernel.addressSpace;
  if (kind === KIND_FIXED) {
    const fb = req.ring.fixedBuffer(req, req.bufIndex);
    if (typeof fb === "number") return fb;
    // io_import_fixed: a driver-registered buffer allows only its request's direction.
    if ((fb.dir & (write ? DIR_SOURCE : DIR_DEST)) === 0) return -EFAULT;
    const v = req.ring.buffers.importFixed(fb, req.addr, req.len);
    if (typeof v === "number") return v;
    bufs.push(v);
    return req.len;
  }
  if (kind === KIND_VEC) {
    const n = req.len;
    if (n > UIO_MAXIOV) return -EINVAL;
    if (n === 0) return 0;
    const iov = as.resolveParts(req.addrHi, req.addrLo, n * IOVEC_SIZE);
    if (typeof iov === "number") return iov;
    const dv = new DataView(iov.buffer, iov.byteOffset, iov.byteLength);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const o = i * IOVEC_SIZE;
      const lo = dv.getUint32(o + IOV_BASE_LO, true);
      const hi = dv.getUint32(o + IOV_BASE_HI, true);
      const len = dv.getUint32(o + IOV_LEN_LO, true);
      if (dv.getUint32(o + IOV_LEN_HI, true) !== 0 || len > MAX_RW_COUNT) return -EINVAL;
      total += len;
      if (total > MAX_RW_COUNT) return -EINVAL;
      if (len === 0) continue;
      const v = as.resolveParts(hi, lo, len);
      if (typeof v === "number") return v;
      bufs.push(v);
    }
    return total;
  }
  if (req.len === 0) return 0;
  // len is clamped to MAX_RW_COUNT and only the bytes actually copied must be mapped.
  const v = as.resolveClamped(req.addrHi, req.addrLo, Math.min(req.len, MAX_RW_COUNT));
  if (typeof v === "number") return v;
  bufs.push(v);
  return req.len;
}

function finish(req: Request, file: ModelFile, usePos: boolean, r: IoResult): number {
  if (typeof r === "number") {
    if (usePos && r > 0) file.pos += r;
    return r;
  }
  req.completeLater(
    usePos
      ? r.then((n) => {
        if (n > 0) file.pos += n;
        return n;
      })
      : r,
  );
  return ISSUE_QUEUED;
}

function issueRw(req: Request, write: boolean, kind: number): number {
  const file = req.file!;
  if (req.off === -2) return -EINVAL;
  const rwf = req.opFlags;
  if (rwf & ~RWF_SUPPORTED) return -EOPNOTSUPP;
  // IOCB_HIPRI needs an IORING_SETUP_IOPOLL ring, which the model does not offer.
  if (rwf & RWF_HIPRI) return -EINVAL;
  const acc = file.flags & O_ACCMODE;
  if (write ? acc === 0 && file.kind !== "socket" : acc === O_WRONLY) return -EBADF;
  const total = importBufs(req, kind, write);
  if (total < 0) return total;
  req.expect = total;
  const bufs = req.bufs;
  switch (file.kind) {
    case "dir":
      return write ? -EBADF : -EISDIR;
    case "socket": {
      const s = file.socket!;
      if (total === 0) return 0;
      if (bufs.length !== 1) return -EOPNOTSUPP;
      return finish(req, file, false, write ? s.send(bufs[0]!) : s.recv(bufs[0]!, false));
    }
    case "device": {
      const d = file.device!;
      const op = write ? d.write : d.read;
      if (!op) return -EINVAL;
      const usePos = req.off === -1;
      let pos = usePos ? file.pos : req.off;
      let done = 0;
      for (const b of bufs) {
        const n = op.call(d, file, b, pos);
        if (n < 0) return done > 0 ? done : n;
        done += n;
        pos += n;
        if (n < b.length) break;
      }
      if (usePos) file.pos += done;
      return done;
    }
    case "file": {
      const be = file.backend!;
      const h = file.handle!;
      if (total === 0) return 0;
      // tmpfs has no FMODE_NOWAIT: RWF_NOWAIT fails even on cached data.
      if ((rwf & RWF_NOWAIT) && h.fsType === "tmpfs") return -EOPNOTSUPP;
      const append = write && ((file.flags & O_APPEND) !== 0 || (rwf & RWF_APPEND) !== 0);
      let pos = req.off === -1 ? file.pos : req.off;
      if (append) {
        const sz = be.size(h);
        if (sz < 0) return sz;
        pos = sz;
        if (req.off === -1) file.pos = sz;
      }
      let r: IoResult;
      if (bufs.length === 1) r = write ? be.write(h, bufs[0]!, pos) : be.read(h, bufs[0]!, pos);
      else r = write ? be.writev(h, bufs, pos) : be.readv(h, bufs, pos);
      return finish(req, file, req.off === -1, r);
    }
    default:
      return -EINVAL;
  }
}

function def(name: string, write: boolean, kind: number): OpDef {
  return {
    name,
    needsFile: true,
    ioprio: true,
    bufferSelect: !write && kind !== KIND_FIXED,
    fusedSlave: kind === KIND_PLAIN,
    bufDir: write ? 0 : 1,
    prep: prepRw,
    issue: (req: Request): number => issueRw(req, write, kind),
  };
}

/** IORING_OP_READ. */
export const opRead: OpDef = def("READ", false, KIND_PLAIN);
/** IORING_OP_WRITE. */
export const opWrite: OpDef = def("WRITE", true, KIND_PLAIN);
/** IORING_OP_READV. */
export const opReadv: OpDef = def("READV", false, KIND_VEC);
/** IORING_OP_WRITEV. */
export const opWritev: OpDef = def("WRITEV", true, KIND_VEC);
/** IORING_OP_READ_FIXED. */
export const opReadFixed: OpDef = def("READ_FIXED", false, KIND_FIXED);
/** IORING_OP_WRITE_FIXED. */
export const opWriteFixed: OpDef = def("WRITE_FIXED", true, KIND_FIXED);

/** The ops of this file by opcode. */
export const RW_OPS: ReadonlyArray<readonly [number, OpDef]> = [
  [IORING_OP_READ, opRead],
  [IORING_OP_WRITE, opWrite],
  [IORING_OP_READV, opReadv],
  [IORING_OP_WRITEV, opWritev],
  [IORING_OP_READ_FIXED, opReadFixed],
  [IORING_OP_WRITE_FIXED, opWriteFixed],
];
