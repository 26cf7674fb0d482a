/**
 * Seeded generator of SQE programs whose outcome the kernel fixes: requests are grouped in
 * link chains; a file written by one chain is touched by no other chain (read-only files may
 * be shared); every request has its own buffer; no request uses the shared file position.
 * So completion order may differ between kernels, but results and contents may not.
 *
 * @module
 */

import {
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  FALLOC_FL_ZERO_RANGE,
  IORING_OP_FALLOCATE,
  IORING_OP_FSYNC,
  IORING_OP_NOP,
  IORING_OP_READ,
  IORING_OP_READ_FIXED,
  IORING_OP_READV,
  IORING_OP_RECV,
  IORING_OP_SEND,
  IORING_OP_SEND_ZC,
  IORING_OP_WRITE,
  IORING_OP_WRITE_FIXED,
  IORING_OP_WRITEV,
  IORING_SETUP_CQE32,
  IORING_SETUP_SQE128,
  IOSQE_ASYNC,
  IOSQE_CQE_SKIP_SUCCESS,
  IOSQE_FIXED_FILE,
  IOSQE_IO_DRAIN,
  IOSQE_IO_HARDLINK,
  IOSQE_IO_LINK,
  RWF_DSYNC,
} from "@ublk-ts/uapi";
import { IORING_NOP_INJECT_RESULT, MSG_WAITALL } from "./_corpus.ts";
import type { Batch, Program, SqeSpec } from "./_program.ts";

/** Features the generator leaves out, and why. */
export const GENERATOR_AVOIDS: readonly string[] = [
  // Not a divergence but memory safety: on the real kernel a READ whose len runs past its
  // buffer writes past it whenever the file has the bytes (the corpus has a crafted case).
  "read/write len larger than its buffer",
  // Not a divergence but a hang on both sides (6.18, modelled): SEND_ZC's notification
  // request is allocated at prep and counts as alive for drain without being deferred, so a
  // SEND_ZC deferred by a drain never runs. Each such program would wait out the runner's
  // 3 s deadline twice; the corpus has "send_zc deferred by a drain never runs".
  "SEND_ZC after an IO_DRAIN request",
];

/** mulberry32: a small seeded PRNG. */
export class Rng {
  #s: number;

  constructor(seed: number) {
    this.#s = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One of `xs`. */
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

const FILE_SIZES = [0, 1, 511, 512, 4096, 5000, 8192, 12345];
const LENGTHS = [0, 1, 100, 511, 512, 4096, 4097, 8192];

function offsetFor(rng: Rng, size: number, write: boolean): number {
  const cands = [0, 1, 511, 512, 4095, 4096, Math.max(0, size - 1), size, size + 1, size + 4096];
  if (!write) cands.push(1 << 30);
  return rng.chance(0.2) ? rng.int(size + 8192) : rng.pick(cands);
}

/** The program for (`seed`, `index`). */
export function generateProgram(seed: number, index: number): Program {
  const rng = new Rng((seed ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0);
  const nFiles = 1 + rng.int(2);
  const files = Array.from({ length: nFiles }, () => rng.pick(FILE_SIZES));
  const bufs: number[] = [];
  const useFixedFiles = rng.chance(0.3);
  const useFixedBufs = rng.chance(0.4);
  const big = rng.chance(0.15);
  // "free" | "ro" | owner group id
  const fileState: (string | number)[] = files.map(() => "free");
  const batches: Batch[] = [];
  // Small rings (2 SQEs, 4 CQEs): three batches, the first two unreaped, so the CQ overflows
  // (NODROP). No deliberate init failures there: leftover SQEs would not fit.
  const small = rng.chance(0.1);
  const entries = small ? 2 : 16;
  const perBatch = small ? 2 : 8;
  let ud = 1;
  let sockets = 0;
  let skipSeen = false;
  let drainSeen = false;
  const nBatches = small ? 3 : 1 + rng.int(2);
  let group = 0;
  for (let b = 0; b < nBatches; b++) {
    const sqes: SqeSpec[] = [];
    const nGroups = 1 + rng.int(4);
    for (let g = 0; g < nGroups && sqes.length < perBatch; g++, group++) {
      if (!small && sqes.length <= perBatch - 2 && rng.chance(0.12)) {
        // A socket chain on its own pair: SEND (or SEND_ZC, -EOPNOTSUPP on AF_UNIX) linked to
        // a RECV MSG_WAITALL of the same length, so the outcome is fixed.
        const pair = sockets++;
        const n = rng.pick([1, 100, 4096]);
        const sb = bufs.push(n) - 1;
        const rb = bufs.push(n) - 1;
        const maybe = (flag: number, p: number): number => (rng.chance(p) ? flag : 0);
        sqes.push({
          // No SEND_ZC after a drain (see GENERATOR_AVOIDS).
          op: !drainSeen && rng.chance(0.2) ? IORING_OP_SEND_ZC : IORING_OP_SEND,
          ud: ud++,
          fd: { sock: pair, end: 0 },
          addr: { buf: sb },
          len: n,
          flags: IOSQE_IO_LINK | maybe(IOSQE_ASYNC, 0.1) | maybe(IOSQE_CQE_SKIP_SUCCESS, 0.12),
        });
        if (sqes[sqes.length - 1]!.flags! & IOSQE_CQE_SKIP_SUCCESS) skipSeen = true;
        sqes.push({
          op: IORING_OP_RECV,
          ud: ud++,
          fd: { sock: pair, end: 1 },
          addr: { buf: rb },
          len: n,
          opFlags: MSG_WAITALL,
          flags: maybe(IOSQE_CQE_SKIP_SUCCESS, 0.12),
        });
        if (sqes[sqes.length - 1]!.flags! & IOSQE_CQE_SKIP_SUCCESS) skipSeen = true;
        continue;
      }
      const len = 1 + rng.int(3);
      let f = rng.int(nFiles);
      let writer = rng.chance(0.5);
      if (writer && fileState[f] !== "free" && fileState[f] !== group) {
        const free = fileState.findIndex((s) => s === "free");
        if (free >= 0) f = free;
        else writer = false;
      }
      if (!writer && typeof fileState[f] === "number" && fileState[f] !== group) {
        const ro = fileState.findIndex((s) => s === "ro" || s === "free");
        if (ro >= 0) f = ro;
        else f = -1; // every file is owned by a writer: this chain uses no file
      }
      if (f >= 0) fileState[f] = writer ? group : (fileState[f] === "free" ? "ro" : fileState[f]!);
      const hard = rng.chance(0.3);
      for (let i = 0; i < len && sqes.length < perBatch; i++) {
        const last = i === len - 1 || sqes.length === perBatch - 1;
        const s = makeSqe(rng, ud++, f, files, bufs, writer, useFixedFiles, useFixedBufs, !small);
        let flags = s.flags ?? 0;
        if (!last) flags |= hard ? IOSQE_IO_HARDLINK : IOSQE_IO_LINK;
        if (rng.chance(0.1)) flags |= IOSQE_ASYNC;
        if (rng.chance(0.12)) {
          flags |= IOSQE_CQE_SKIP_SUCCESS;
          skipSeen = true;
        }
        // A drain on any chain head, anywhere in the program. Not on a small ring once
        // CQE_SKIP_SUCCESS was used: the drain would fail init (-EOPNOTSUPP), which stops the
        // submit, and the SQEs left in the SQ would not fit the next batch.
        if (
          i === 0 && rng.chance(0.12) &&
          !(small && (skipSeen || (flags & IOSQE_CQE_SKIP_SUCCESS)))
        ) {
          flags |= IOSQE_IO_DRAIN;
          drainSeen = true;
        }
        s.flags = flags;
        sqes.push(s);
        if (last) break;
      }
    }
    batches.push(small && b < 2 ? { sqes, reap: false } : { sqes });
  }
  const program: Program = {
    name: `generated seed=${seed} index=${index}`,
    entries,
    files,
    bufs,
    batches,
  };
  if (sockets) program.sockets = sockets;
  if (big) program.setupFlags = IORING_SETUP_SQE128 | IORING_SETUP_CQE32;
  if (useFixedBufs) program.fixedBufs = bufs.map((_, i) => i);
  if (useFixedFiles) program.fixedFiles = files.map((_, i) => (rng.chance(0.1) ? -1 : i));
  return program;
}

function makeSqe(
  rng: Rng,
  ud: number,
  f: number,
  files: number[],
  bufs: number[],
  writer: boolean,
  useFixedFiles: boolean,
  useFixedBufs: boolean,
  initFailures: boolean,
): SqeSpec {
  const r = rng.next();
  const newBuf = (size: number): number => {
    // At least one byte: registering a zero-length buffer fails the whole table (-EFAULT).
    bufs.push(Math.max(1, size));
    return bufs.length - 1;
  };
  // Rare deliberate failures: bad fd, invalid opcode, bad NOP flags, injected errors.
  if (r < 0.03) return { op: IORING_OP_READ, ud, fd: 9999, addr: { buf: newBuf(64) }, len: 64 };
  if (r < 0.04 && initFailures) return { op: 200 + rng.int(50), ud };
  if (r < 0.05 && initFailures) return { op: IORING_OP_NOP, ud, ioprio: 1 };
  if (r < 0.12) {
    const res = rng.pick([0, 1, 4096, -5, -22, -125]);
    return { op: IORING_OP_NOP, ud, opFlags: IORING_NOP_INJECT_RESULT, len: res >>> 0 };
  }
  if (f < 0 || r < 0.17) return { op: IORING_OP_NOP, ud };
  const size = files[f]!;
  let fdFlags = 0;
  let fd: SqeSpec["fd"] = { file: f };
  if (useFixedFiles && rng.chance(0.6)) {
    fd = f;
    fdFlags = IOSQE_FIXED_FILE;
  }
  const kind = rng.next();
  if (kind < 0.08) {
    return { op: IORING_OP_FSYNC, ud, fd, flags: fdFlags, opFlags: rng.chance(0.3) ? 1 : 0 };
  }
  const doWrite = writer && rng.chance(0.5);
  if (doWrite && kind < 0.2) {
    // Failing modes too: ZERO_RANGE and PUNCH_HOLE alone are -EOPNOTSUPP on tmpfs, len 0 is
    // -EINVAL; such errors neither break links nor defeat CQE_SKIP_SUCCESS (io_fallocate).
    const mode = rng.pick([
      0,
      FALLOC_FL_KEEP_SIZE,
      FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
      FALLOC_FL_PUNCH_HOLE,
      FALLOC_FL_ZERO_RANGE,
    ]);
    const off = offsetFor(rng, size, true);
    const len = rng.pick([0, 1, 512, 4096, 10000]);
    return { op: IORING_OP_FALLOCATE, ud, fd, flags: fdFlags, off, addr: BigInt(len), len: mode };
  }
  const len = rng.pick(LENGTHS);
  const at = rng.pick([0, 0, 1, 7]);
  const off = offsetFor(rng, size, doWrite);
  const vec = rng.next();
  if (vec < 0.25) {
    const n = 1 + rng.int(3);
    const iov = Array.from({ length: n }, () => {
      const l = rng.pick([0, 1, 100, 512, 4096]);
      return { buf: newBuf(l + at), at, len: l };
    });
    return {
      op: doWrite ? IORING_OP_WRITEV : IORING_OP_READV,
      ud,
      fd,
      flags: fdFlags,
      addr: { iov },
      len: n,
      off,
    };
  }
  const buf = newBuf(len + at + rng.pick([0, 3]));
  if (useFixedBufs && vec < 0.6) {
    // A wrong index (another request's buffer) fails -EFAULT deterministically.
    const bufIndex = rng.chance(0.1) ? buf + 1 : buf;
    return {
      op: doWrite ? IORING_OP_WRITE_FIXED : IORING_OP_READ_FIXED,
      ud,
      fd,
      flags: fdFlags,
      addr: { buf, at },
      len,
      off,
      bufIndex,
    };
  }
  return {
    op: doWrite ? IORING_OP_WRITE : IORING_OP_READ,
    ud,
    fd,
    flags: fdFlags,
    addr: { buf, at },
    len,
    off,
    opFlags: doWrite && rng.chance(0.1) ? RWF_DSYNC : 0,
  };
}
