/**
 * TIMEOUT and LINK_TIMEOUT (`io_uring/timeout.c`): relative timers with an optional completion
 * count, -ETIME on expiry (fails a link unless IORING_TIMEOUT_ETIME_SUCCESS), and link
 * timeouts that cancel the request they guard.
 *
 * @module
 */

import {
  ECANCELED,
  EINVAL,
  ETIME,
  IORING_OP_LINK_TIMEOUT,
  IORING_OP_TIMEOUT,
  IORING_TIMEOUT_ABS,
  IORING_TIMEOUT_BOOTTIME,
  IORING_TIMEOUT_ETIME_SUCCESS,
  IORING_TIMEOUT_REALTIME,
  IoUringSqe,
  KernelTimespec,
} from "@ublk-ts/uapi";
import { ISSUE_QUEUED } from "./device_file.ts";
import type { ModelRing } from "./model_ring.ts";
import type { OpDef } from "./op_def.ts";
import type { Request } from "./request.ts";

const CLOCK_MASK = IORING_TIMEOUT_BOOTTIME | IORING_TIMEOUT_REALTIME;
const VALID = IORING_TIMEOUT_ABS | CLOCK_MASK | IORING_TIMEOUT_ETIME_SUCCESS;

interface TimeoutData {
  ms: number;
  /** `performance.now()` at which the timer expires (set when armed). */
  deadline: number;
  count: number;
  target: number;
  timer: ReturnType<typeof setTimeout> | null;
  prev: Request | null;
}

/** Count timeouts per ring, in arrival order. */
const countWaiters: WeakMap<ModelRing, Request[]> = new WeakMap();

function prepTimeout(req: Request, sqe: DataView, off: number, link: boolean): number {
  const addr3 = sqe.getBigUint64(off + IoUringSqe.OFFSET_ADDR3, true);
  if (addr3 !== 0n || sqe.getBigUint64(off + IoUringSqe.OFFSET_PAD2, true) !== 0n) {
    return -EINVAL;
  }
  const spliceFdIn = sqe.getInt32(off + IoUringSqe.OFFSET_SPLICE_FD_IN, true);
  if (req.bufIndex !== 0 || req.len !== 1 || spliceFdIn !== 0) return -EINVAL;
  const count = req.off < 0 ? -1 : req.off;
  if (count !== 0 && link) return -EINVAL;
  if (count < 0 || count > 0xffffffff) return -EINVAL;
  const flags = req.opFlags;
  if (flags & ~VALID) return -EINVAL;
  if ((flags & CLOCK_MASK) === CLOCK_MASK) return -EINVAL;
  const ts = req.ring.kernel.addressSpace.resolveParts(
    req.addrHi,
    req.addrLo,
    KernelTimespec.SIZE,
  );
  if (typeof ts === "number") return ts;
  const dv = new DataView(ts.buffer, ts.byteOffset, KernelTimespec.SIZE);
  const sec = dv.getBigInt64(KernelTimespec.OFFSET_TV_SEC, true);
  const nsec = dv.getBigInt64(KernelTimespec.OFFSET_TV_NSEC, true);
  if (sec < 0n || nsec < 0n) return -EINVAL;
  if (link) {
    const last = req.ring.linkLast();
    if (!last || last.opcode === IORING_OP_LINK_TIMEOUT) return -EINVAL;
  }
  let ms = Number(sec) * 1000 + Number(nsec) / 1e6;
  if (flags & IORING_TIMEOUT_ABS) ms -= monotonicMs();
  const d: TimeoutData = {
    ms: Math.max(0, ms),
    deadline: 0,
    count,
    target: 0,
    timer: null,
    prev: null,
  };
  req.data = d;
  return 0;
}

/** CLOCK_MONOTONIC-ish milliseconds (from /proc/uptime, 10 ms resolution). */
function monotonicMs(): number {
  try {
    return Number(Deno.readTextFileSync("/proc/uptime").split(" ")[0]) * 1000;
  } catch {
    return performance.now();
  }
}

function fire(req: Request, gen: number): void {
  if (req.gen !== gen || req.done) return;
  const d = req.data as TimeoutData;
  d.timer = null;
  if (req.opcode === IORING_OP_LINK_TIMEOUT) {
    const prev = d.prev;
    const ring = req.ring;
    const armed = prev !== null && prev.linkTimeout === req && !prev.done;
    const pgen = prev ? prev.gen : 0;
    if (armed) prev.linkTimeout = null;
    req.complete(-ETIME);
    if (armed && prev.gen === pgen) ring.cancelReq(prev);
    return;
  } else {
    const w = countWaiters.get(req.ring);
    if (w) {
      const i = w.indexOf(req);
      if (i >= 0) w.splice(i, 1);
    }
  }
  req.complete(-ETIME);
}

function cancelTimeout(req: Request): void {
  const d = req.data as TimeoutData;
  if (d.timer !== null) clearTimeout(d.timer);
  d.timer = null;
  const w = countWaiters.get(req.ring);
  if (w) {
    const i = w.indexOf(req);
    if (i >= 0) w.splice(i, 1);
  }
  req.complete(-ECANCELED);
}

function checkCounts(ring: ModelRing): void {
  const w = countWaiters.get(ring);
  if (!w || w.length === 0) return;
  for (let i = 0; i < w.length;) {
    const r = w[i]!;
    const d = r.data as TimeoutData;
    if (ring.cqEvents >= d.target) {
      w.splice(i, 1);
      if (d.timer !== null) clearTimeout(d.timer);
      d.timer = null;
      const gen = r.gen;
      ring.queueTaskWork(() => {
        if (r.gen === gen) r.complete(0);
      });
    } else i++;
  }
}

/**
 * The longest delay `setTimeout` honours (a signed 32-bit millisecond count); a longer one is
 * clamped to 1 ms by the timer implementation, so longer timeouts are chained.
 */
export const MAX_TIMER_MS = 0x7fffffff;

function arm(req: Request): void {
  const d = req.data as TimeoutData;
  d.deadline = performance.now() + d.ms;
  schedule(req, req.gen);
  req.cancel = cancelTimeout;
}

/** Sets the next link of the timer chain: at most MAX_TIMER_MS, then re-checks the deadline. */
function schedule(req: Request, gen: number): void {
  const d = req.data as TimeoutData;
  const left = d.deadline - performance.now();
  if (left > MAX_TIMER_MS) {
    d.timer = setTimeout(() => {
      if (req.gen !== gen || req.done) return;
      schedule(req, gen);
    }, MAX_TIMER_MS);
  } else {
    d.timer = setTimeout(() => fire(req, gen), Math.max(0, left));
  }
}

/** IORING_OP_TIMEOUT. */
export const opTimeout: OpDef = {
  name: "TIMEOUT",
  needsFile: false,
  fusedSlave: false,
  bufDir: 0,
  prep: (req: Request, sqe: DataView, off: number): number => prepTimeout(req, sqe, off, false),
  issue(req: Request): number {
    const d = req.data as TimeoutData;
    if (d.count > 0) {
      const ring = req.ring;
      d.target = ring.cqEvents + d.count;
      let w = countWaiters.get(ring);
      if (!w) {
        w = [];
        countWaiters.set(ring, w);
      }
      w.push(req);
      ring.onCqEvent = () => checkCounts(ring);
    }
    arm(req);
    if (req.opFlags & IORING_TIMEOUT_ETIME_SUCCESS) {
      req.onComplete.push(etimeSuccess);
    }
    return ISSUE_QUEUED;
  },
};

function etimeSuccess(req: Request): void {
  if (req.res === -ETIME) req.failed = false;
}

/** IORING_OP_LINK_TIMEOUT. */
export const opLinkTimeout: OpDef = {
  name: "LINK_TIMEOUT",
  needsFile: false,
  fusedSlave: false,
  bufDir: 0,
  prep: (req: Request, sqe: DataView, off: number): number => prepTimeout(req, sqe, off, true),
  issue(req: Request): number {
    const d = req.data as TimeoutData;
    d.prev = req.guarded;
    arm(req);
    return ISSUE_QUEUED;
  },
};

/** The ops of this file by opcode. */
export const TIMEOUT_OPS: ReadonlyArray<readonly [number, OpDef]> = [
  [IORING_OP_TIMEOUT, opTimeout],
  [IORING_OP_LINK_TIMEOUT, opLinkTimeout],
];
