/**
 * One ring of the model kernel (`struct io_ring_ctx`): its SQ/CQ memory laid out as the kernel
 * mmaps it, SQE consumption, request init (`io_init_req`), issue, the one completion path
 * (`completeReq`), links, drain, CQE_SKIP_SUCCESS, CQ overflow (IORING_FEAT_NODROP), task work,
 * registered files and buffers, and ring exit.
 *
 * @module
 */

import {
  EBADF,
  EBADFD,
  ECANCELED,
  EFAULT,
  EINVAL,
  ENOBUFS,
  EOPNOTSUPP,
  ETIME,
  IO_URING_F_CQE32,
  IO_URING_F_NONBLOCK,
  IO_URING_F_SQE128,
  IO_URING_OP_SUPPORTED,
  IORING_OP_LAST,
  IORING_OP_LINK_TIMEOUT,
  IORING_OP_TIMEOUT,
  IORING_REGISTER_BUFFERS,
  IORING_REGISTER_BUFFERS2,
  IORING_REGISTER_BUFFERS_UPDATE,
  IORING_REGISTER_FILES,
  IORING_REGISTER_FILES2,
  IORING_REGISTER_FILES_UPDATE,
  IORING_REGISTER_FILES_UPDATE2,
  IORING_REGISTER_PROBE,
  IORING_RSRC_REGISTER_SPARSE,
  IORING_SETUP_CQE32,
  IORING_SETUP_SQE128,
  IORING_SETUP_SUBMIT_ALL,
  IORING_SQ_CQ_OVERFLOW,
  IORING_UNREGISTER_BUFFERS,
  IORING_UNREGISTER_FILES,
  IOSQE_ASYNC,
  IOSQE_BUFFER_SELECT,
  IOSQE_CQE_SKIP_SUCCESS,
  IOSQE_FIXED_FILE,
  IOSQE_IO_DRAIN,
  IOSQE_IO_HARDLINK,
  IOSQE_IO_LINK,
  IoUringCqe,
  IoUringProbe,
  IoUringProbeOp,
  IoUringSqe,
} from "@ublk-ts/uapi";
import { BufferTable, FileTable, type RegisteredBuffer } from "@ublk-ts/rsrc";
import type { CqRingOffsets, KernelRing, RegisterArg, SqRingOffsets } from "@ublk-ts/ring";
import type { ModelFile } from "./model_file.ts";
import type { ModelKernel } from "./model_kernel.ts";
import { ISSUE_QUEUED } from "./device_file.ts";
import { Request } from "./request.ts";
import { blocksOnWorker, IoWqList, puntsReq, reschedsBeforeIssue, wqHashOf } from "./io_wq.ts";

const LINK_FLAGS = IOSQE_IO_LINK | IOSQE_IO_HARDLINK;
const VALID_SQE_FLAGS = 0x7f;

// SQE fields, u64s read as 32-bit halves (no bigint on the hot path).
const SQE_OPCODE = IoUringSqe.OFFSET_OPCODE;
const SQE_FLAGS = IoUringSqe.OFFSET_FLAGS;
const SQE_IOPRIO = IoUringSqe.OFFSET_IOPRIO;
const SQE_FD = IoUringSqe.OFFSET_FD;
const SQE_OFF_LO = IoUringSqe.OFFSET_OFF;
const SQE_OFF_HI = IoUringSqe.OFFSET_OFF + 4;
const SQE_ADDR_LO = IoUringSqe.OFFSET_ADDR;
const SQE_ADDR_HI = IoUringSqe.OFFSET_ADDR + 4;
const SQE_LEN = IoUringSqe.OFFSET_LEN;
const SQE_OP_FLAGS = IoUringSqe.OFFSET_OP_FLAGS;
const SQE_UD_LO = IoUringSqe.OFFSET_USER_DATA;
const SQE_UD_HI = IoUringSqe.OFFSET_USER_DATA + 4;
const SQE_BUF_INDEX = IoUringSqe.OFFSET_BUF_INDEX;
const SQE_PERSONALITY = IoUringSqe.OFFSET_PERSONALITY;
const SQE_CMD = IoUringSqe.OFFSET_CMD;
// CQE fields.
const CQE_UD_LO = IoUringCqe.OFFSET_USER_DATA;
const CQE_UD_HI = IoUringCqe.OFFSET_USER_DATA + 4;
const CQE_RES = IoUringCqe.OFFSET_RES;
const CQE_FLAGS = IoUringCqe.OFFSET_FLAGS;
const CQE_BIG0 = IoUringCqe.OFFSET_BIG_CQE;
const CQE_BIG1 = IoUringCqe.OFFSET_BIG_CQE + 8;

function chainLength(req: Request): number {
  let n = 0;
  for (let r: Request | null = req; r; r = r.link) n++;
  return n;
}

/** The shape of a ModelRing's memory (`io_rings`), exported for tests. */
export interface ModelRingLayout {
  /** SQ offsets. */
  sqOff: SqRingOffsets;
  /** CQ offsets. */
  cqOff: CqRingOffsets;
  /** Bytes of the ring buffer. */
  size: number;
}

/**
 * The layout of `io_rings` as a 6.x kernel lays it out: counters on their own cache lines,
 * then masks, entries, dropped, flags, overflow, then the CQEs (64-byte aligned), then the SQ
 * index array.
 *
 * @param sqEntries SQ entries.
 * @param cqEntries CQ entries.
 * @param cqeSize 16 or 32.
 * @returns Offsets and size.
 */
export function modelRingLayout(
  sqEntries: number,
  cqEntries: number,
  cqeSize: number,
): ModelRingLayout {
  const cqes = 320;
  const array = cqes + cqEntries * cqeSize;
  return {
    sqOff: {
      head: 0,
      tail: 64,
      ringMask: 256,
      ringEntries: 264,
      flags: 276,
      dropped: 272,
      array,
    },
    cqOff: {
      head: 128,
      tail: 192,
      ringMask: 260,
      ringEntries: 268,
      overflow: 284,
      cqes,
      flags: 280,
    },
    size: array + sqEntries * 4,
  };
}

/** Options of the ModelRing constructor. @internal */
export interface ModelRingInit {
  /** The ring's model fd. */
  fd: number;
  /** SQ entries (power of two). */
  sqEntries: number;
  /** CQ entries (power of two). */
  cqEntries: number;
  /** IORING_SETUP_* flags. */
  flags: number;
  /** IORING_FEAT_* flags. */
  features: number;
}

interface OverflowCqe {
  userData: bigint;
  res: number;
  flags: number;
  big0: bigint;
  big1: bigint;
}

interface Waiter {
  min: number;
  resolve: (v: number) => void;
}

type TaskWork = Request | (() => void);

/**
 * A model ring. Created by `ModelKernel.setup`.
 */
export class ModelRing implements KernelRing {
  /** The ring fd. */
  readonly fd: number;
  /** SQ entries. */
  readonly sqEntries: number;
  /** CQ entries. */
  readonly cqEntries: number;
  /** IORING_SETUP_* flags. */
  readonly flags: number;
  /** IORING_FEAT_* flags. */
  readonly features: number;
  /** SQ offsets. */
  readonly sqOff: SqRingOffsets;
  /** CQ offsets. */
  readonly cqOff: CqRingOffsets;
  /** SQ ring memory (same buffer as `cqRing`: IORING_FEAT_SINGLE_MMAP). */
  readonly sqRing: ArrayBuffer;
  /** CQ ring memory. */
  readonly cqRing: ArrayBuffer;
  /** SQE memory. */
  readonly sqes: ArrayBuffer;
  /** The kernel. */
  readonly kernel: ModelKernel;
  /** A DataView over `sqes` (what requests' `sqe` points at). */
  readonly sqeView: DataView;
  /** SQE size (64 or 128). */
  readonly sqeSize: number;
  /** CQE size (16 or 32). */
  readonly cqeSize: number;

  #u32: Uint32Array;
  #ringView: DataView;
  #sqMask: number;
  #cqMask: number;
  #sqHeadIdx: number;
  #sqTailIdx: number;
  #sqArrayIdx: number;
  #sqFlagsIdx: number;
  #droppedIdx: number;
  #cqHeadIdx: number;
  #cqTailIdx: number;
  #overflowIdx: number;
  #cqesOff: number;
  #sqHead = 0;
  #cqTail = 0;
  #overflow: OverflowCqe[] = [];
  #waiters: Waiter[] = [];
  #pool: Request[] = [];
  #inflight: Set<Request> = new Set();
  #tw: TaskWork[] = [];
  /** io-wq: punted requests by hash (see io_wq.ts `IoWqList`), run by `#runWq`. */
  #wq = new IoWqList<Request>();
  /**
   * CQEs of requests completed inline in the current submit (`submit_state.compl_reqs`),
   * posted when the submit ends (`io_submit_flush_completions`); io-wq posts its own at once.
   */
  #compl: { udLo: number; udHi: number; res: number; flags: number; b0: bigint; b1: bigint }[] = [];
  #inWq = false;
  /** The link member a worker runs next, right after the head it just completed. */
  #wqNext: Request | null = null;
  /**
   * Work blocked on a worker (`blocksOnWorker`, e.g. an ext4 FSYNC waiting for the disk), in
   * the order it blocked. The model's pick: it completes only when nothing else can run (no
   * io-wq work, no task work), oldest first, as the disk is slower than everything else here.
   */
  #blocked: Request[] = [];
  /**
   * The worker blocked (`#blocked`) and the rest of the list waits for the worker the kernel
   * creates then: `io_wq_dec_running` queues its creation as task work of the submitter, which
   * runs after the submitter's io_uring task work, so the list resumes only once task work is
   * done (ORDERING.md: "F w8.4 r6.1+ w8.2+ r4.4!" → the cancelled links before the write).
   */
  #wqStalled = false;
  #twHead = 0;
  #inTw = false;
  #depth = 0;
  #link: { head: Request | null; last: Request | null } = { head: null, last: null };
  #defer: Request[] = [];
  #drainActive = false;
  #drainNext = false;
  #drainDisabled = false;
  /** Requests made from SQEs (`nr_req_allocated` analogue). */
  #allocated = 0;
  /** Of those, requests completed and freed (inline ones counted when the submit ends). */
  #freed = 0;
  /** Requests (chains counted whole) in the defer list. */
  #nrDrained = 0;
  /** Completions inside a submit, counted for drain only when the submit ends (batched). */
  #completedPending = 0;
  #inSubmit = false;
  #closed = false;
  /** CQEs posted by requests other than TIMEOUT (what count timeouts count). */
  cqEvents = 0;
  /** Called after each CQE of a non-TIMEOUT request (count timeouts). */
  onCqEvent: (() => void) | null = null;
  /** Registered buffers (IORING_REGISTER_BUFFERS*). */
  readonly buffers: BufferTable;
  /** Registered files (IORING_REGISTER_FILES*). */
  readonly files: FileTable<ModelFile>;

  /**
   * A ring of `kernel` (made by `ModelKernel.setup`).
   *
   * @param kernel The kernel.
   * @param init Sizes and flags.
   */
  constructor(kernel: ModelKernel, init: ModelRingInit) {
    this.kernel = kernel;
    this.fd = init.fd;
    this.sqEntries = init.sqEntries;
    this.cqEntries = init.cqEntries;
    this.flags = init.flags;
    this.features = init.features;
    this.sqeSize = init.flags & IORING_SETUP_SQE128 ? IoUringSqe.SIZE128 : IoUringSqe.SIZE;
    this.cqeSize = init.flags & IORING_SETUP_CQE32 ? IoUringCqe.SIZE32 : IoUringCqe.SIZE;
    const lay = modelRingLayout(this.sqEntries, this.cqEntries, this.cqeSize);
    this.sqOff = lay.sqOff;
    this.cqOff = lay.cqOff;
    this.sqRing = new ArrayBuffer(lay.size);
    this.cqRing = this.sqRing;
    this.sqes = new ArrayBuffer(this.sqEntries * this.sqeSize);
    this.sqeView = new DataView(this.sqes);
    this.#u32 = new Uint32Array(this.sqRing);
    this.#ringView = new DataView(this.sqRing);
    this.#sqMask = this.sqEntries - 1;
    this.#cqMask = this.cqEntries - 1;
    this.#sqHeadIdx = lay.sqOff.head >> 2;
    this.#sqTailIdx = lay.sqOff.tail >> 2;
    this.#sqArrayIdx = lay.sqOff.array >> 2;
    this.#sqFlagsIdx = lay.sqOff.flags >> 2;
    this.#droppedIdx = lay.sqOff.dropped >> 2;
    this.#cqHeadIdx = lay.cqOff.head >> 2;
    this.#cqTailIdx = lay.cqOff.tail >> 2;
    this.#overflowIdx = lay.cqOff.overflow >> 2;
    this.#cqesOff = lay.cqOff.cqes;
    this.#u32[lay.sqOff.ringMask >> 2] = this.#sqMask;
    this.#u32[lay.sqOff.ringEntries >> 2] = this.sqEntries;
    this.#u32[lay.cqOff.ringMask >> 2] = this.#cqMask;
    this.#u32[lay.cqOff.ringEntries >> 2] = this.cqEntries;
    this.buffers = new BufferTable({ addressOf: (b) => kernel.addressOf(b) });
    this.files = new FileTable<ModelFile>({
      resolve: (fd) => {
        if (fd === this.fd) return null;
        const f = kernel.fileOf(fd);
        if (!f || f.kind === "ring") return null;
        f.get();
        return f;
      },
      onFree: (f) => f.put(),
    });
  }

  /**
   * The last request of the link being assembled by the current submission (LINK_TIMEOUT's
   * prep needs it).
   *
   * @returns The request, or `null` outside a link.
   */
  linkLast(): Request | null {
    return this.#link.last;
  }

  /** True after `close()`. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Requests issued and not yet completed. */
  get inflightCount(): number {
    return this.#inflight.size;
  }

  /**
   * Test hook: starts every SQ and CQ counter at `value` (to test u32 wrap). Only on an
   * idle, fresh ring.
   *
   * @param value The counter value.
   */
  setCountersForTest(value: number): void {
    const v = value >>> 0;
    this.#sqHead = v;
    this.#cqTail = v;
    this.#u32[this.#sqHeadIdx] = v;
    this.#u32[this.#sqTailIdx] = v;
    this.#u32[this.#cqHeadIdx] = v;
    this.#u32[this.#cqTailIdx] = v;
  }

  // ---------------------------------------------------------------- submission

  /**
   * `io_uring_enter(toSubmit)` without waiting.
   *
   * @param toSubmit SQEs to consume at most.
   * @returns SQEs consumed, or a negative errno.
   */
  submit(toSubmit: number): number {
    if (this.#closed) return -EBADF;
    const u32 = this.#u32;
    const avail = (u32[this.#sqTailIdx]! - this.#sqHead) >>> 0;
    let n = Math.min(toSubmit, avail, this.sqEntries);
    let done = 0;
    const submitAll = (this.flags & IORING_SETUP_SUBMIT_ALL) !== 0;
    this.#inTw = true;
    this.#inSubmit = true;
    try {
      while (n-- > 0) {
        const idx = u32[this.#sqArrayIdx + (this.#sqHead & this.#sqMask)]!;
        this.#sqHead = (this.#sqHead + 1) >>> 0;
        if (idx >= this.sqEntries) {
          u32[this.#droppedIdx] = (u32[this.#droppedIdx]! + 1) >>> 0;
          break;
        }
        done++;
        if (this.#submitSqe(idx * this.sqeSize) < 0 && !submitAll) break;
      }
      u32[this.#sqHeadIdx] = this.#sqHead;
      // An unterminated link at the end of a submission goes to io_queue_sqe_fallback
      // (io_submit_state_end): io-wq, never inline (ORDERING.md "w4.4 N+" → 0,1).
      const head = this.#link.head;
      if (head) {
        this.#link.head = this.#link.last = null;
        this.#queueFallback(head);
      }
    } finally {
      this.#flushCompl();
      // io_submit_flush_completions: inline completions become visible to drain accounting
      // only now, so a drain after an inline request in the same submit is still deferred.
      this.#inSubmit = false;
      this.#freed += this.#completedPending;
      this.#completedPending = 0;
      if (this.#drainActive && this.#defer.length > 0) this.#queueDeferred();
      this.#inTw = false;
    }
    this.#runTaskWork();
    return done;
  }

  /** Consumes one SQE; returns < 0 when submission must stop (init failure outside a link). */
  #submitSqe(off: number): number {
    const req = this.allocReq();
    this.#allocated++;
    const ret = this.initReq(req, this.sqeView, off, false);
    const link = this.#link;
    if (ret < 0) {
      // io_submit_fail_init
      req.failed = true;
      req.res = ret;
      const head = link.head;
      if (head && !head.failed) {
        head.failed = true;
        head.res = -ECANCELED;
      }
      if (!(req.flags & LINK_FLAGS)) {
        let first = req;
        if (head) {
          link.last!.link = req;
          link.head = link.last = null;
          first = head;
        }
        this.#queueFallback(first);
        return ret;
      }
      if (head) link.last!.link = req;
      else link.head = req;
      link.last = req;
      return 0;
    }
    if (link.head) {
      link.last!.link = req;
      link.last = req;
      if (req.flags & LINK_FLAGS) return 0;
      const head = link.head;
      link.head = link.last = null;
      this.#queueChainHead(head);
      return 0;
    }
    if (req.flags & LINK_FLAGS) {
      link.head = link.last = req;
      return 0;
    }
    this.#queueChainHead(req);
    return 0;
  }

  #queueChainHead(req: Request): void {
    if (req.failed || (req.flags & (IOSQE_ASYNC | IOSQE_IO_DRAIN)) || this.#drainActive) {
      this.#queueFallback(req);
    } else {
      this.#issueOrPunt(req);
    }
  }

  /**
   * io_queue_sqe: issues the request inline, or — when io-wq would run it on Linux 6.18
   * (`puntsReq`: by opcode, IOSQE_ASYNC and the file's punt class) — queues it to the model's
   * io-wq, which runs after the current submit (or round of task work) was issued. The kernel
   * races here (a warm worker may finish before the submit's inline CQEs are flushed,
   * ORDERING.md "WR", "Wr"); the model picks one legal outcome: punted work runs after every
   * inline request of the same submit completed and posted its CQE.
   */
  #issueOrPunt(req: Request): void {
    const def = this.kernel.ops.get(req.opcode)!;
    if (def.needsFile && !this.assignFile(req)) {
      this.issueReq(req); // fails -EBADF inline
      return;
    }
    if (puntsReq(req)) {
      this.#punt(req, true);
      return;
    }
    // A resched point before the issue (filemap_read's cond_resched): the woken io-wq worker
    // runs everything queued first (ORDERING.md "w4.4 w0.4+ w8.4 r8.1": the read sees all three
    // writes). See `reschedsBeforeIssue`.
    if (this.#wq.length > 0 && reschedsBeforeIssue(req)) this.#runWq();
    this.issueReq(req);
  }

  /**
   * io_queue_iowq: queues the request to io-wq, hashed (`wqHashOf`) only when `issued`: the
   * kernel assigns the file at the first issue, and `io_prep_async_work` hashes by the file's
   * inode, so a request punted without an inline attempt (IOSQE_ASYNC, a dangling link head, a
   * link member) is unhashed.
   */
  #punt(req: Request, issued: boolean): void {
    const def = this.kernel.ops.get(req.opcode);
    if (def?.needsFile) this.assignFile(req);
    this.#wq.enqueue(req, issued ? wqHashOf(req) : null);
  }

  /** io_submit_flush_completions: posts the CQEs the submit's inline completions deferred. */
  #flushCompl(): void {
    const c = this.#compl;
    if (c.length === 0) return;
    this.#compl = [];
    for (const e of c) this.#postRaw(e.udLo, e.udHi, e.res, e.flags, e.b0, e.b1);
  }

  /**
   * The model's io-wq worker (`io_worker_handle_work`): takes work from the list (a hashed item
   * with the rest of its hash chain) and runs it (`#onWorker`).
   *
   * One worker: the kernel wakes the first free worker at each enqueue, and a worker that was
   * woken but has not run yet is still the first free one, so the work of one submit lands on
   * one worker, which runs when the submitter reaches a resched point (the end of the submit,
   * or `reschedsBeforeIssue`). Work that blocks (`blocksOnWorker`) waits in `#blocked` and
   * stops the worker; the rest of the list runs after the task work (`#wqStalled`).
   */
  #runWq(): void {
    if (this.#inWq) return;
    this.#inWq = true;
    try {
      while (!this.#wqStalled) {
        const chain = this.#wq.take();
        if (chain === null) break;
        for (let k = 0; k < chain.length; k++) this.#onWorker(chain[k]!, k < chain.length - 1);
      }
    } finally {
      this.#inWq = false;
    }
  }

  /**
   * Runs one request on the worker, then its link members: the next member runs on the same
   * worker right after it (`io_wq_free_work`; members are prepared unhashed with the head)
   * unless more of a hash chain is left (`moreHashed`), in which case it is enqueued. A request
   * that blocks goes to `#blocked` (unless `unblocked`: it is the blocked one finishing).
   */
  #onWorker(first: Request, moreHashed: boolean, unblocked = false): void {
    let w: Request | null = first;
    while (w) {
      w.onWorker = true;
      if (this.kernel.ops.get(w.opcode)?.needsFile) this.assignFile(w);
      if (!unblocked && !this.#closed && blocksOnWorker(w)) {
        this.#blocked.push(w);
        this.#wqStalled = true;
        return;
      }
      unblocked = false;
      const wasIn = this.#inWq;
      this.#inWq = true;
      try {
        if (this.#closed) this.completeReq(w, -ECANCELED, 0);
        else this.issueReq(w);
      } finally {
        this.#inWq = wasIn;
      }
      const linked: Request | null = this.#wqNext;
      this.#wqNext = null;
      w = null;
      if (linked === null) break;
      if (!moreHashed) w = linked;
      else this.#punt(linked, false);
    }
  }

  /**
   * io_queue_sqe_fallback: failed heads complete, drain defers, IOSQE_ASYNC and dangling link
   * heads go to io-wq (unhashed: no inline attempt).
   */
  #queueFallback(req: Request): void {
    if (req.failed) {
      req.flags = (req.flags & ~IOSQE_IO_HARDLINK) | IOSQE_IO_LINK;
      this.completeReq(req, req.res, 0);
      return;
    }
    if (this.#drainActive) {
      this.#drainReq(req);
      return;
    }
    // IOSQE_ASYNC: io_queue_iowq.
    this.#punt(req, false);
  }

  /**
   * io_drain_req (6.18): defer the request, then release what may run. The drain stays
   * active while a drain request is pending, so later requests wait until it completed.
   */
  #drainReq(req: Request): void {
    this.#defer.push(req);
    this.#nrDrained += chainLength(req);
    this.#queueDeferred();
    if (!(req.flags & IOSQE_IO_DRAIN) && this.#defer.length === 0) this.#drainActive = false;
  }

  /**
   * io_queue_deferred: the first deferred request, and everything from a drain request on,
   * runs only when the deferred requests are all that is alive.
   */
  #queueDeferred(): void {
    let drainSeen = false;
    let first = true;
    const alive = this.#allocated - this.#freed;
    while (this.#defer.length > 0) {
      const r = this.#defer[0]!;
      if (r.flags & IOSQE_IO_DRAIN) drainSeen = true;
      if ((drainSeen || first) && alive !== this.#nrDrained) return;
      this.#defer.shift();
      this.#nrDrained -= chainLength(r);
      this.#tw.push(r);
      first = false;
    }
  }

  /**
   * Counts a request the kernel allocates besides the SQE's own (SEND_ZC's notification,
   * `io_alloc_notif` at prep) as alive for drain (`nr_req_allocated`) until
   * {@linkcode ModelRing.freeAuxReq}. It is never in the defer list, so while it lives no
   * deferred request can run (6.18: a SEND_ZC deferred by a drain waits forever).
   */
  allocAuxReq(): void {
    this.#allocated++;
  }

  /** Frees a request counted by {@linkcode ModelRing.allocAuxReq} (its CQE was posted). */
  freeAuxReq(): void {
    if (this.#inSubmit) this.#completedPending++;
    else this.#freed++;
    if (this.#drainActive && this.#defer.length > 0) this.#queueDeferred();
  }

  /**
   * Allocates a blank request of this ring (from the pool).
   *
   * @returns A request.
   */
  allocReq(): Request {
    const r = this.#pool.pop();
    if (r) return r;
    return new Request(this);
  }

  /**
   * `io_init_req`: decodes the SQE at `off` of `view` into `req` and runs the op's `prep`.
   * Fused-cmd uses it for its slave (`slave = true`: not counted, no drain/link handling).
   *
   * @param req A request from {@linkcode ModelRing.allocReq}.
   * @param view The SQE memory.
   * @param off Byte offset of the SQE.
   * @param slave Init as a fused slave (the op must have `fusedSlave`).
   * @returns 0, or a negative errno.
   */
  initReq(req: Request, view: DataView, off: number, slave: boolean): number {
    const opcode = view.getUint8(off + SQE_OPCODE);
    const flags = view.getUint8(off + SQE_FLAGS);
    req.sqe = view;
    req.sqeOff = off;
    req.opcode = opcode;
    req.flags = flags;
    req.udLo = view.getUint32(off + SQE_UD_LO, true);
    req.udHi = view.getUint32(off + SQE_UD_HI, true);
    req.isSlave = slave;
    const def = this.kernel.ops.get(opcode);
    if (def === undefined) {
      req.opcode = 0;
      return -EINVAL;
    }
    if (flags & ~VALID_SQE_FLAGS) return -EINVAL;
    if ((flags & IOSQE_BUFFER_SELECT) && !def.bufferSelect) return -EOPNOTSUPP;
    if (slave && !def.fusedSlave) return -EINVAL;
    if (flags & IOSQE_CQE_SKIP_SUCCESS) this.#drainDisabled = true;
    if (!slave) {
      if (flags & IOSQE_IO_DRAIN) {
        if (this.#drainDisabled) return -EOPNOTSUPP;
        this.#drainActive = true;
        const head = this.#link.head;
        if (head) {
          head.flags |= IOSQE_IO_DRAIN | IOSQE_ASYNC;
          this.#drainNext = true;
        }
      }
      if (this.#drainActive || this.#drainNext) {
        if (this.#drainActive) req.flags |= IOSQE_ASYNC;
        if (this.#drainNext && !this.#link.head) {
          this.#drainNext = false;
          this.#drainActive = true;
          req.flags |= IOSQE_IO_DRAIN | IOSQE_ASYNC;
        }
      }
    }
    if (def.sqe128Only && this.sqeSize !== IoUringSqe.SIZE128) return -EINVAL;
    if (view.getUint16(off + SQE_PERSONALITY, true) !== 0) return -EINVAL;
    if (!def.ioprio && view.getUint16(off + SQE_IOPRIO, true) !== 0) return -EINVAL;
    req.fd = view.getInt32(off + SQE_FD, true);
    const offLo = view.getUint32(off + SQE_OFF_LO, true);
    const offHi = view.getUint32(off + SQE_OFF_HI, true);
    req.off = offHi === 0xffffffff && offLo === 0xffffffff
      ? -1
      : offHi >= 0x80000000
      ? -2
      : offHi * 4294967296 + offLo;
    req.cmdOp = offLo;
    req.addrLo = view.getUint32(off + SQE_ADDR_LO, true);
    req.addrHi = view.getUint32(off + SQE_ADDR_HI, true);
    req.len = view.getUint32(off + SQE_LEN, true);
    req.opFlags = view.getUint32(off + SQE_OP_FLAGS, true);
    req.bufIndex = view.getUint16(off + SQE_BUF_INDEX, true);
    req.cmdOff = off + SQE_CMD;
    return def.prep(req, view, off);
  }

  /**
   * Resolves the request's file (at issue, as `io_assign_file`): a fixed slot with
   * IOSQE_FIXED_FILE, else an fd of the kernel's table. Takes a reference.
   *
   * @param req The request.
   * @returns The file, or `null` (-EBADF).
   */
  assignFile(req: Request): ModelFile | null {
    if (req.file) return req.file;
    let f: ModelFile | null | undefined;
    if (req.flags & IOSQE_FIXED_FILE) {
      const n = this.files.lookup(req.fd);
      f = typeof n === "number" ? null : n.value;
    } else {
      f = this.kernel.fileOf(req.fd);
    }
    if (!f) return null;
    f.get();
    req.file = f;
    return f;
  }

  /**
   * Issues a request now (`io_issue_sqe`): assigns its file, calls the op's `issue`, and
   * completes it unless the op queued it.
   *
   * @param req The request.
   */
  issueReq(req: Request): void {
    const def = this.kernel.ops.get(req.opcode)!;
    let ret: number;
    const nxt = req.link;
    if (nxt && nxt.opcode === IORING_OP_LINK_TIMEOUT) {
      req.link = nxt.link;
      nxt.link = null;
      nxt.guarded = req;
      req.linkTimeout = nxt;
    }
    if (def.needsFile && !this.assignFile(req)) {
      ret = -EBADF;
    } else {
      req.inflight = true;
      if (req.flags & IOSQE_BUFFER_SELECT) {
        // No provided-buffer groups exist in the model (no PROVIDE_BUFFERS / buffer rings).
        this.completeReq(req, -(def.noBuffersErrno ?? ENOBUFS), 0);
        return;
      }
      let iflags = IO_URING_F_NONBLOCK;
      if (this.sqeSize === IoUringSqe.SIZE128) iflags |= IO_URING_F_SQE128;
      if (this.cqeSize === IoUringCqe.SIZE32) iflags |= IO_URING_F_CQE32;
      ret = def.issue(req, iflags);
      if (ret === ISSUE_QUEUED) {
        if (!req.done) {
          this.#inflight.add(req);
          const lt = req.linkTimeout;
          if (lt) this.issueReq(lt);
        }
        return;
      }
    }
    this.completeReq(req, ret, 0);
  }

  // ---------------------------------------------------------------- completion

  /**
   * The one completion path: sets `res`, decides REQ_F_FAIL, runs `onComplete` hooks, posts
   * the CQE (unless CQE_SKIP_SUCCESS applies), continues or fails the link chain, and returns
   * the request to the pool. A second completion of the same request is ignored.
   *
   * @param req The request.
   * @param res Result or negative errno.
   * @param cflags IORING_CQE_F_* flags.
   */
  completeReq(req: Request, res: number, cflags: number): void {
    if (req.done) return;
    this.#depth++;
    req.done = true;
    req.inflight = false;
    this.#inflight.delete(req);
    req.res = res;
    req.cflags |= cflags;
    if (!req.noFail && (res < 0 || (req.expect >= 0 && res !== req.expect))) req.failed = true;
    const hooks = req.onComplete;
    for (let i = 0; i < hooks.length; i++) hooks[i]!(req);
    let skipLinkCqes = false;
    let skip = req.skipCqe;
    if ((req.flags & IOSQE_CQE_SKIP_SUCCESS) && !skip) {
      if (req.failed) skipLinkCqes = true;
      else skip = true;
    }
    if (!skip && !this.#closed) {
      if (this.#inSubmit && !req.onWorker) {
        this.#compl.push({
          udLo: req.udLo,
          udHi: req.udHi,
          res: req.res,
          flags: req.cflags,
          b0: req.res2,
          b1: req.res3,
        });
      } else this.#postReqCqe(req);
      if (req.opcode !== IORING_OP_TIMEOUT) {
        this.cqEvents++;
        this.onCqEvent?.();
      }
    }
    const lt = req.linkTimeout;
    if (lt) {
      req.linkTimeout = null;
      if (lt.inflight) this.cancelReq(lt);
      else this.completeReq(lt, -ECANCELED, 0);
    }
    let next = req.link;
    req.link = null;
    if (next) {
      if (req.failed && !(req.flags & IOSQE_IO_HARDLINK)) {
        // io_fail_links: the rest of the chain fails with -ECANCELED (or its own init error),
        // posted as task work (after completions already running inline).
        while (next) {
          const n: Request | null = next.link;
          next.link = null;
          next.skipCqe = skipLinkCqes;
          next.flags &= ~IOSQE_CQE_SKIP_SUCCESS;
          if (!next.failed) next.res = -ECANCELED;
          next.failed = true;
          next.failPending = true;
          this.#tw.push(next);
          next = n;
        }
      } else if (req.onWorker && this.#inWq && !this.#wqNext) {
        this.#wqNext = next;
      } else {
        this.#tw.push(next);
      }
    }
    if (!req.isSlave) {
      if (this.#inSubmit) this.#completedPending++;
      else this.#freed++;
    }
    this.freeReq(req);
    if (this.#drainActive && this.#defer.length > 0) this.#queueDeferred();
    if (--this.#depth === 0 && !this.#inTw) this.#runTaskWork();
  }

  /**
   * Returns a completed request to the pool (drops its file reference).
   *
   * @param req The request.
   */
  freeReq(req: Request): void {
    req.reset();
    if (this.#pool.length < this.sqEntries * 2) this.#pool.push(req);
  }

  /**
   * Queues a callback to run as task work (after the current completion, before `submit` or
   * a completion from a backend returns), e.g. a fused master's completion after its slave.
   *
   * @param fn The callback.
   */
  queueTaskWork(fn: () => void): void {
    this.#tw.push(fn);
    if (!this.#inTw && this.#depth === 0) this.#runTaskWork();
  }

  /**
   * Queues a request to be issued as task work (link continuation, punted requests).
   *
   * @param req The request.
   */
  queueIssue(req: Request): void {
    this.#tw.push(req);
    if (!this.#inTw && this.#depth === 0) this.#runTaskWork();
  }

  #runTaskWork(): void {
    if (this.#inTw) return;
    this.#inTw = true;
    try {
      // The io-wq worker first: on the way back to user space the submitter is preempted by the
      // worker it woke before it runs its task work (exit_to_user_mode_loop schedules first).
      // The kernel races here (a worker on the other CPU loses to the task work, ORDERING.md
      // rule 6); the model picks worker first. When the worker blocked, the rest of its list
      // waits for the task work (`#wqStalled`); blocked work finishes last.
      for (;;) {
        if (this.#wq.length > 0 && !this.#wqStalled) {
          this.#runWq();
          continue;
        }
        if (this.#twHead >= this.#tw.length) {
          if (this.#wq.length > 0) {
            this.#wqStalled = false;
            this.#runWq();
            continue;
          }
          this.#wqStalled = false;
          const b = this.#blocked.shift();
          if (b === undefined) break;
          this.#onWorker(b, false, true);
          continue;
        }
        while (this.#twHead < this.#tw.length) {
          const w = this.#tw[this.#twHead++]!;
          if (typeof w === "function") w();
          else if (w.failPending) this.completeReq(w, w.res, 0);
          else if (this.#closed) this.completeReq(w, -ECANCELED, 0);
          else this.#issueOrPunt(w);
        }
        this.#tw.length = 0;
        this.#twHead = 0;
      }
    } finally {
      this.#tw.length = 0;
      this.#twHead = 0;
      this.#inTw = false;
    }
  }

  /**
   * Posts one CQE (to the overflow list when the CQ is full).
   *
   * @param userData `user_data`.
   * @param res `res`.
   * @param flags `flags`.
   * @param big0 `big_cqe[0]` (CQE32).
   * @param big1 `big_cqe[1]` (CQE32).
   */
  postCqe(userData: bigint, res: number, flags: number, big0 = 0n, big1 = 0n): void {
    if (this.#closed) return;
    const u32 = this.#u32;
    if (
      this.#overflow.length > 0 ||
      ((this.#cqTail - u32[this.#cqHeadIdx]!) >>> 0) >= this.cqEntries
    ) {
      this.#overflow.push({ userData, res, flags, big0, big1 });
      u32[this.#sqFlagsIdx]! |= IORING_SQ_CQ_OVERFLOW;
      return;
    }
    this.#writeCqe(userData, res, flags, big0, big1);
    if (this.#waiters.length > 0) this.#wake();
  }

  /** Posts a request's CQE without building its user_data bigint (unless it overflows). */
  #postReqCqe(req: Request): void {
    this.#postRaw(req.udLo, req.udHi, req.res, req.cflags, req.res2, req.res3);
  }

  /** Posts a CQE given `user_data` as two u32 halves (to the overflow list when full). */
  #postRaw(udLo: number, udHi: number, res: number, flags: number, b0: bigint, b1: bigint): void {
    const u32 = this.#u32;
    if (
      this.#overflow.length > 0 ||
      ((this.#cqTail - u32[this.#cqHeadIdx]!) >>> 0) >= this.cqEntries
    ) {
      this.postCqe((BigInt(udHi) << 32n) | BigInt(udLo), res, flags, b0, b1);
      return;
    }
    const v = this.#ringView;
    const o = this.#cqesOff + (this.#cqTail & this.#cqMask) * this.cqeSize;
    v.setUint32(o + CQE_UD_LO, udLo, true);
    v.setUint32(o + CQE_UD_HI, udHi, true);
    v.setInt32(o + CQE_RES, res, true);
    v.setUint32(o + CQE_FLAGS, flags, true);
    if (this.cqeSize === IoUringCqe.SIZE32) {
      v.setBigUint64(o + CQE_BIG0, b0, true);
      v.setBigUint64(o + CQE_BIG1, b1, true);
    }
    this.#cqTail = (this.#cqTail + 1) >>> 0;
    u32[this.#cqTailIdx] = this.#cqTail;
    if (this.#waiters.length > 0) this.#wake();
  }

  #writeCqe(userData: bigint, res: number, flags: number, big0: bigint, big1: bigint): void {
    const v = this.#ringView;
    const o = this.#cqesOff + (this.#cqTail & this.#cqMask) * this.cqeSize;
    v.setBigUint64(o + IoUringCqe.OFFSET_USER_DATA, userData, true);
    v.setInt32(o + CQE_RES, res, true);
    v.setUint32(o + CQE_FLAGS, flags, true);
    if (this.cqeSize === IoUringCqe.SIZE32) {
      v.setBigUint64(o + CQE_BIG0, big0, true);
      v.setBigUint64(o + CQE_BIG1, big1, true);
    }
    this.#cqTail = (this.#cqTail + 1) >>> 0;
    this.#u32[this.#cqTailIdx] = this.#cqTail;
  }

  /** Moves overflowed CQEs into free CQ slots (`io_cqring_overflow_flush`). */
  flushOverflow(): void {
    const ov = this.#overflow;
    if (ov.length === 0) return;
    const u32 = this.#u32;
    let i = 0;
    while (i < ov.length && ((this.#cqTail - u32[this.#cqHeadIdx]!) >>> 0) < this.cqEntries) {
      const c = ov[i++]!;
      this.#writeCqe(c.userData, c.res, c.flags, c.big0, c.big1);
    }
    ov.splice(0, i);
    if (ov.length === 0) u32[this.#sqFlagsIdx]! &= ~IORING_SQ_CQ_OVERFLOW;
  }

  /** CQEs waiting in the overflow list. */
  get overflowCount(): number {
    return this.#overflow.length;
  }

  #ready(): number {
    return (this.#cqTail - this.#u32[this.#cqHeadIdx]!) >>> 0;
  }

  #wake(): void {
    const ws = this.#waiters;
    let j = 0;
    const ready = this.#ready();
    for (let i = 0; i < ws.length; i++) {
      const w = ws[i]!;
      if (ready >= w.min) w.resolve(0);
      else ws[j++] = w;
    }
    ws.length = j;
  }

  /**
   * Waits for `minComplete` CQEs. As the kernel, it waits as long as it takes: waiting for CQEs
   * no request will ever produce never resolves.
   *
   * @param minComplete CQEs wanted.
   * @returns 0, or -EBADFD when the ring is closed.
   */
  wait(minComplete: number, timeoutMs?: number): Promise<number> {
    if (this.#closed) return Promise.resolve(-EBADFD);
    this.flushOverflow();
    this.#runTaskWork();
    if (this.#ready() >= minComplete) return Promise.resolve(0);
    if (timeoutMs === undefined) {
      return new Promise((resolve) => this.#waiters.push({ min: minComplete, resolve }));
    }
    return new Promise((resolve) => {
      const w: Waiter = {
        min: minComplete,
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
      };
      // As io_uring_wait_cqe_timeout: -ETIME when the CQEs did not come in time.
      const timer = setTimeout(() => {
        const i = this.#waiters.indexOf(w);
        if (i >= 0) this.#waiters.splice(i, 1);
        resolve(-ETIME);
      }, Math.max(0, timeoutMs));
      this.#waiters.push(w);
    });
  }

  /**
   * `io_uring_enter(0, 0, IORING_ENTER_GETEVENTS)` without waiting: flushes overflowed CQEs
   * and runs task work.
   *
   * @returns 0, or -EBADF after close.
   */
  getEvents(): number {
    if (this.#closed) return -EBADF;
    this.flushOverflow();
    this.#runTaskWork();
    return 0;
  }

  // ---------------------------------------------------------------- register

  /**
   * `io_uring_register(2)`.
   *
   * @param opcode IORING_REGISTER_*.
   * @param arg Arguments.
   * @returns ≥ 0, or a negative errno.
   */
  register(opcode: number, arg: RegisterArg): number {
    if (this.#closed) return -EBADF;
    const sparse = ((arg.flags ?? 0) & IORING_RSRC_REGISTER_SPARSE) !== 0;
    if ((arg.flags ?? 0) & ~IORING_RSRC_REGISTER_SPARSE) return -EINVAL;
    switch (opcode) {
      case IORING_REGISTER_BUFFERS:
        return this.buffers.register(arg.buffers ?? []);
      case IORING_REGISTER_BUFFERS2:
        if (sparse) {
          if (arg.buffers && arg.buffers.length > 0) return -EINVAL;
          return this.buffers.registerSparse(arg.nr ?? 0);
        }
        return this.buffers.register(arg.buffers ?? []);
      case IORING_UNREGISTER_BUFFERS:
        return this.buffers.unregister();
      case IORING_REGISTER_BUFFERS_UPDATE:
        return this.buffers.update(arg.offset ?? 0, arg.buffers ?? []);
      case IORING_REGISTER_FILES:
        return this.files.register(arg.fds ?? []);
      case IORING_REGISTER_FILES2:
        if (sparse) {
          if (arg.fds && arg.fds.length > 0) return -EINVAL;
          return this.files.registerSparse(arg.nr ?? 0);
        }
        return this.files.register(arg.fds ?? []);
      case IORING_UNREGISTER_FILES:
        return this.files.unregister();
      case IORING_REGISTER_FILES_UPDATE:
      case IORING_REGISTER_FILES_UPDATE2:
        return this.files.update(arg.offset ?? 0, arg.fds ?? []);
      case IORING_REGISTER_PROBE:
        return this.#probe(arg.probe);
      default:
        return -EINVAL;
    }
  }

  #probe(view: DataView | undefined): number {
    if (!view) return -EFAULT;
    let nr = Math.floor((view.byteLength - IoUringProbe.SIZE) / IoUringProbeOp.SIZE);
    if (nr < 0) return -EFAULT;
    for (let i = 0; i < view.byteLength; i++) if (view.getUint8(i) !== 0) return -EINVAL;
    const last = Math.max(this.kernel.ops.length, IORING_OP_LAST);
    if (nr > last) nr = last;
    view.setUint8(IoUringProbe.OFFSET_LAST_OP, last - 1);
    view.setUint8(IoUringProbe.OFFSET_OPS_LEN, nr);
    for (let i = 0; i < nr; i++) {
      const o = IoUringProbe.OFFSET_OPS + i * IoUringProbeOp.SIZE;
      view.setUint8(o + IoUringProbeOp.OFFSET_OP, i);
      const flags = this.kernel.ops.get(i) ? IO_URING_OP_SUPPORTED : 0;
      view.setUint16(o + IoUringProbeOp.OFFSET_FLAGS, flags, true);
    }
    return 0;
  }

  /**
   * Takes a reference on registered buffer `index` for `req` (dropped when the request is
   * freed), as `io_import_reg_buf` at issue.
   *
   * @param req The request.
   * @param index Slot.
   * @returns The buffer, or -EFAULT (empty slot, out of range, none registered).
   */
  fixedBuffer(req: Request, index: number): RegisteredBuffer | number {
    if (req.bufNode) return req.bufNode;
    const b = this.buffers.get(index);
    if (typeof b === "number") return b;
    req.bufNode = b;
    return b;
  }

  /**
   * Calls `fn` for every in-flight request (ASYNC_CANCEL matching).
   *
   * @param fn Visitor; return true to stop.
   */
  forEachInflight(fn: (req: Request) => boolean): void {
    for (const r of this.#inflight) if (fn(r)) return;
  }

  /**
   * Cancels one in-flight request: its `cancel` callback, or -ECANCELED.
   *
   * @param req The request.
   */
  cancelReq(req: Request): void {
    if (req.done) return;
    if (req.cancel) req.cancel(req);
    else this.completeReq(req, -ECANCELED, 0);
  }

  // ---------------------------------------------------------------- exit

  /**
   * Whether ring exit must wait for a request instead of cancelling it: I/O on a regular file
   * that the backend is still running (a READ/WRITE/FSYNC/FALLOCATE whose backend result is a
   * pending promise, e.g. a read in flight on the native backend's real io_uring). The kernel
   * cannot withdraw such I/O either (`io_uring_cancel_generic` waits for it): its memory —
   * a fused slave's lent request pages too — stays in use until the backend is done.
   */
  #mustWait(req: Request): boolean {
    return req.cancel === null && req.file !== null && req.file.kind === "file";
  }

  /**
   * Ring exit: cancels in-flight and deferred requests, drops registered files. Safe twice.
   *
   * Requests with backend file I/O in flight are not cancelled: as the kernel's ring exit,
   * the ring waits for them. Each completes when its backend result arrives, with that result
   * (no CQE: the ring is gone), and only then runs its completion hooks — a fused slave
   * returns its lease of the lent buffer only once the I/O into it has finished. Everything
   * else (socket sends and receives, commands, timeouts) is cancelled at once as before, so
   * closing never waits on a peer.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const r of [...this.#inflight]) {
      // Cancelling one request may complete (and recycle) another of the snapshot.
      if (this.#inflight.has(r) && !this.#mustWait(r)) this.cancelReq(r);
    }
    this.#nrDrained = 0;
    for (const r of this.#defer.splice(0)) this.completeReq(r, -ECANCELED, 0);
    this.#runTaskWork();
    this.#overflow.length = 0;
    this.files.close();
    this.buffers.close();
    for (const w of this.#waiters.splice(0)) w.resolve(-EBADFD);
    this.kernel.ringClosed(this);
  }
}
