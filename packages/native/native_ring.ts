/**
 * `NativeRing`: a real io_uring instance (`KernelRing`) set up by liburing, whose SQ ring, CQ
 * ring and SQE array are the kernel's mmapped memory seen as ArrayBuffers.
 *
 * @module
 */

import {
  EBADF,
  EBADFD,
  EINTR,
  EINVAL,
  ErrnoError,
  ETIME,
  IoCqringOffsets,
  IORING_ENTER_EXT_ARG,
  IORING_ENTER_GETEVENTS,
  IORING_ENTER_SQ_WAKEUP,
  IORING_REGISTER_BUFFERS,
  IORING_REGISTER_BUFFERS2,
  IORING_REGISTER_BUFFERS_UPDATE,
  IORING_REGISTER_EVENTFD,
  IORING_REGISTER_EVENTFD_ASYNC,
  IORING_REGISTER_FILES,
  IORING_REGISTER_FILES2,
  IORING_REGISTER_FILES_UPDATE,
  IORING_REGISTER_FILES_UPDATE2,
  IORING_REGISTER_PROBE,
  IORING_RSRC_REGISTER_SPARSE,
  IORING_SETUP_CQE32,
  IORING_SETUP_DEFER_TASKRUN,
  IORING_SETUP_SINGLE_ISSUER,
  IORING_SETUP_SQE128,
  IORING_SETUP_SQPOLL,
  IORING_SQ_NEED_WAKEUP,
  IORING_UNREGISTER_BUFFERS,
  IoSqringOffsets,
  KernelTimespec,
  O_CLOEXEC,
  O_NONBLOCK,
} from "@ublk-ts/uapi";
import type {
  CqRingOffsets,
  KernelRing,
  RegisterArg,
  SetupOptions,
  SqRingOffsets,
} from "@ublk-ts/ring";
import { addressOf } from "./_address.ts";
import { NR_IO_URING_ENTER, NR_IO_URING_REGISTER } from "./_ffi.ts";
import {
  FILES_UPDATE,
  GETEVENTS_ARG,
  IOVEC,
  LIBURING_RING,
  PARAMS,
  POLLFD,
  POLLIN,
  RSRC_REGISTER,
  RSRC_UPDATE2,
} from "./_layout.ts";
import type { NativeLibrary } from "./load.ts";

/** How long one blocking wait slice lasts before `wait()` re-checks for `close()` (ns). */
const WAIT_SLICE_NS = 100_000_000n;
/** The same slice in milliseconds (the eventfd wait's `poll(2)` timeout). */
const WAIT_SLICE_MS = 100;
const RESOLVED_0: Promise<number> = Promise.resolve(0);
const RESOLVED_EBADFD: Promise<number> = Promise.resolve(-EBADFD);
const WAIT_ARG_SIZE = BigInt(GETEVENTS_ARG.SIZE);

function u64(view: DataView, o: number): bigint {
  return view.getBigUint64(o, true);
}

function readSqOff(view: DataView, o: number): SqRingOffsets {
  const v = IoSqringOffsets.decode(view, o);
  return {
    head: v.head,
    tail: v.tail,
    ringMask: v.ringMask,
    ringEntries: v.ringEntries,
    flags: v.flags,
    dropped: v.dropped,
    array: v.array,
  };
}

function readCqOff(view: DataView, o: number): CqRingOffsets {
  const v = IoCqringOffsets.decode(view, o);
  return {
    head: v.head,
    tail: v.tail,
    ringMask: v.ringMask,
    ringEntries: v.ringEntries,
    overflow: v.overflow,
    cqes: v.cqes,
    flags: v.flags,
  };
}

/**
 * A `struct io_uring_getevents_arg` followed by the `struct __kernel_timespec` it points to.
 *
 * @param ns The relative timeout.
 * @returns The memory.
 */
function waitArg(ns: bigint): Uint8Array<ArrayBuffer> {
  const arg = new Uint8Array(GETEVENTS_ARG.SIZE + 16);
  const v = new DataView(arg.buffer);
  v.setBigUint64(GETEVENTS_ARG.TS, addressOf(arg) + BigInt(GETEVENTS_ARG.SIZE), true);
  setTimespec(arg, ns);
  return arg;
}

/** Rewrites the timespec of a {@linkcode waitArg}. */
function setTimespec(arg: Uint8Array, ns: bigint): void {
  const v = new DataView(arg.buffer, arg.byteOffset, arg.byteLength);
  KernelTimespec.encode(v, GETEVENTS_ARG.SIZE, {
    tvSec: ns / 1_000_000_000n,
    tvNsec: ns % 1_000_000_000n,
  });
}

function mapped(ptr: bigint, len: number): ArrayBuffer {
  const p = Deno.UnsafePointer.create(ptr);
  if (p === null || len === 0) return new ArrayBuffer(0);
  return Deno.UnsafePointerView.getArrayBuffer(p, len);
}

function detach(buffer: ArrayBuffer): void {
  try {
    // Detaching makes every view over the unmapped memory throw instead of faulting.
    buffer.transfer();
  } catch {
    // Already detached.
  }
}

/**
 * A real io_uring instance: the {@linkcode KernelRing} of {@linkcode NativeKernel}.
 *
 * `submit()` is `io_uring_enter(fd, toSubmit, 0, 0)`: the user side has written the SQEs and the
 * SQ tail in the shared memory; liburing's private `sqe_head`/`sqe_tail` are never used, because
 * this ring never calls `io_uring_submit`. `wait()` runs `io_uring_enter2(GETEVENTS | EXT_ARG)`
 * on a worker thread (a nonblocking FFI call) in 100 ms slices, so the JavaScript thread never
 * blocks and `close()` is noticed; a timed wait makes its last slice the time left.
 *
 * Safety: every buffer an SQE names must stay referenced from JavaScript until its CQE is
 * reaped (see {@linkcode NativeKernel.addressOf}); closing the ring does not make earlier
 * in-flight requests stop writing at once (ring exit runs in the kernel after `close()`).
 *
 * With `IORING_SETUP_SINGLE_ISSUER`/`DEFER_TASKRUN` only the submitting thread may enter the
 * ring, so `wait()` registers an eventfd with it (once, `IORING_REGISTER_EVENTFD`), `poll(2)`s
 * that on a worker thread and enters the ring from the JavaScript thread to run the deferred
 * task work when it fires (the kernel signals the eventfd when it queues such work). Where the
 * eventfd cannot be registered (the user registered one: -EBUSY), `wait()` polls from the
 * JavaScript thread with a 1 ms timer instead; a user's `IORING_UNREGISTER_EVENTFD` makes its
 * waits end by slice (100 ms) only.
 *
 * Limits: with
 * `IORING_SETUP_COOP_TASKRUN` task work of the JavaScript thread runs only when it enters the
 * ring, so completions that need task work (sockets) can be seen up to one slice late.
 *
 * @example NOP round trip
 * ```ts ignore
 * import { NativeKernel } from "@ublk-ts/native";
 * const kernel = new NativeKernel();
 * using ring = kernel.setup(8);
 * console.log(ring.fd, ring.sqEntries, ring.features.toString(16));
 * ```
 */
export class NativeRing implements KernelRing {
  /** The ring fd. */
  readonly fd: number;
  /** SQ entries. */
  readonly sqEntries: number;
  /** CQ entries. */
  readonly cqEntries: number;
  /** IORING_SETUP_* flags in force. */
  readonly flags: number;
  /** IORING_FEAT_* flags reported by the kernel. */
  readonly features: number;
  /** Offsets in `sqRing`, from `io_uring_params.sq_off`. */
  readonly sqOff: SqRingOffsets;
  /** Offsets in `cqRing`, from `io_uring_params.cq_off`. */
  readonly cqOff: CqRingOffsets;
  /** Size of one SQE (64, or 128 with SQE128). */
  readonly sqeSize: number;
  /** Size of one CQE (16, or 32 with CQE32). */
  readonly cqeSize: number;

  #lib: NativeLibrary;
  #ring: Uint8Array<ArrayBuffer>;
  #ringPtr: Deno.PointerValue;
  #sqRing: ArrayBuffer;
  #cqRing: ArrayBuffer;
  #sqes: ArrayBuffer;
  #sqView: DataView;
  #cqView: DataView;
  #waitArgPtr: Deno.PointerValue;
  #waitArg: Uint8Array<ArrayBuffer>;
  /** The argument of timed waits (its timespec is rewritten per slice), or null while in use. */
  #timedArg: Uint8Array<ArrayBuffer> | null = null;
  #waiting = 0;
  #closed = false;
  #exited = false;
  #buffers: (Uint8Array | null)[] = [];
  #hasEnter: boolean;
  /** The eventfd of single-issuer waits: -1 before the first, -2 when it cannot be had. */
  #efd = -1;
  /** `struct pollfd` of `#efd` (read by a worker thread during a poll). */
  #pollFd: Uint8Array<ArrayBuffer> = new Uint8Array(POLLFD.SIZE);
  /** The eventfd counter read or written (8 bytes). */
  #efdCount: Uint8Array<ArrayBuffer> = new Uint8Array(8);
  /** Waits inside `poll(2)` now. */
  #polling = 0;
  /** The enter flags of `submit()`: GETEVENTS on a DEFER_TASKRUN ring. */
  #submitFlags: number;

  /**
   * Sets a ring up (`io_uring_queue_init_params`). Prefer {@linkcode NativeKernel.setup}.
   *
   * @param lib The loaded libraries.
   * @param entries SQ entries.
   * @param options Setup flags and CQ size.
   * @throws {ErrnoError} when the kernel refuses.
   */
  constructor(lib: NativeLibrary, entries: number, options: SetupOptions = {}) {
    if (!Number.isInteger(entries) || entries < 0 || entries > 0xffffffff) {
      throw new RangeError(`Cannot set up a ring: entries ${entries} is not a u32`);
    }
    this.#lib = lib;
    this.#hasEnter = lib.liburing.io_uring_enter !== null;
    this.#ring = new Uint8Array(LIBURING_RING.SIZE);
    const params = new Uint8Array(PARAMS.SIZE);
    const pv = new DataView(params.buffer);
    const flags = options.flags ?? 0;
    // As io_uring_setup(2): cq_entries counts only with IORING_SETUP_CQSIZE.
    if (options.cqEntries !== undefined) pv.setUint32(PARAMS.CQ_ENTRIES, options.cqEntries, true);
    pv.setUint32(PARAMS.FLAGS, flags >>> 0, true);
    const r = lib.liburing.io_uring_queue_init_params(entries, this.#ring, params);
    if (r < 0) throw new ErrnoError(-r, { op: "io_uring_setup" });
    this.#ringPtr = Deno.UnsafePointer.of(this.#ring);
    const rv = new DataView(this.#ring.buffer);
    this.fd = rv.getInt32(LIBURING_RING.RING_FD, true);
    this.sqEntries = pv.getUint32(PARAMS.SQ_ENTRIES, true);
    this.cqEntries = pv.getUint32(PARAMS.CQ_ENTRIES, true);
    this.flags = pv.getUint32(PARAMS.FLAGS, true);
    this.features = pv.getUint32(PARAMS.FEATURES, true);
    this.#submitFlags = this.flags & IORING_SETUP_DEFER_TASKRUN ? IORING_ENTER_GETEVENTS : 0;
    this.sqOff = readSqOff(pv, PARAMS.SQ_OFF);
    this.cqOff = readCqOff(pv, PARAMS.CQ_OFF);
    this.sqeSize = this.flags & IORING_SETUP_SQE128 ? 128 : 64;
    this.cqeSize = this.flags & IORING_SETUP_CQE32 ? 32 : 16;
    const sqPtr = u64(rv, LIBURING_RING.SQ_RING_PTR);
    const cqPtr = u64(rv, LIBURING_RING.CQ_RING_PTR);
    const sqSz = Number(u64(rv, LIBURING_RING.SQ_RING_SZ));
    const cqSz = Number(u64(rv, LIBURING_RING.CQ_RING_SZ));
    this.#sqRing = mapped(sqPtr, sqSz);
    this.#cqRing = cqPtr === sqPtr ? this.#sqRing : mapped(cqPtr, cqSz);
    this.#sqes = mapped(u64(rv, LIBURING_RING.SQ_SQES), this.sqEntries * this.sqeSize);
    this.#sqView = new DataView(this.#sqRing);
    this.#cqView = new DataView(this.#cqRing);
    // struct io_uring_getevents_arg + struct __kernel_timespec, built once.
    this.#waitArg = waitArg(WAIT_SLICE_NS);
    this.#waitArgPtr = Deno.UnsafePointer.of(this.#waitArg);
    this.#timedArg = waitArg(WAIT_SLICE_NS);
  }

  /** The SQ ring memory (detached after `close()`). */
  get sqRing(): ArrayBuffer {
    return this.#sqRing;
  }

  /** The CQ ring memory (the SQ ring's buffer with IORING_FEAT_SINGLE_MMAP). */
  get cqRing(): ArrayBuffer {
    return this.#cqRing;
  }

  /** The SQE array (`sqEntries × sqeSize` bytes). */
  get sqes(): ArrayBuffer {
    return this.#sqes;
  }

  /** Whether `close()` ran. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The address of liburing's `struct io_uring` (for FFI calls that take the ring). */
  get pointer(): Deno.PointerValue {
    return this.#ringPtr;
  }

  #enter(toSubmit: number, minComplete: number, flags: number): number {
    if (this.#hasEnter) {
      return this.#lib.liburing.io_uring_enter!(this.fd, toSubmit, minComplete, flags, null);
    }
    const r = Number(
      this.#lib.libc.syscall(
        BigInt(NR_IO_URING_ENTER),
        BigInt(this.fd),
        BigInt(toSubmit),
        BigInt(minComplete),
        BigInt(flags),
        0n,
        0n,
      ),
    );
    return r < 0 ? -this.#lib.errno() : r;
  }

  async #enterWaitSlice(minComplete: number, argPtr: Deno.PointerValue): Promise<number> {
    const flags = IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG;
    const nb = this.#lib.liburing.io_uring_enter2_nb;
    if (nb !== null) {
      return await nb(this.fd, 0, minComplete, flags, argPtr, WAIT_ARG_SIZE);
    }
    const arg = Deno.UnsafePointer.value(argPtr);
    const r = Number(
      await this.#lib.libc.syscall_nb(
        BigInt(NR_IO_URING_ENTER),
        BigInt(this.fd),
        0n,
        BigInt(minComplete),
        BigInt(flags),
        BigInt(arg),
        WAIT_ARG_SIZE,
      ),
    );
    // errno of a worker thread is not readable here; report a timeout and retry.
    return r < 0 ? -ETIME : r;
  }

  /** CQEs between the user's CQ head and the kernel's CQ tail. */
  #ready(): number {
    const v = this.#cqView;
    return (v.getUint32(this.cqOff.tail, true) - v.getUint32(this.cqOff.head, true)) >>> 0;
  }

  /**
   * `io_uring_enter(fd, toSubmit, 0, 0)`: the kernel consumes up to `toSubmit` SQEs that the user
   * side published by writing the SQ tail. With SQPOLL it only wakes the poller when needed.
   * With DEFER_TASKRUN the same call also has IORING_ENTER_GETEVENTS (min_complete 0: it never
   * waits), so the completions deferred until now are in the CQ when it returns, without a
   * second enter.
   *
   * @param toSubmit SQEs to consume.
   * @returns SQEs consumed, or a negative errno (-EBADF after close, as the syscall).
   */
  submit(toSubmit: number): number {
    if (this.#closed) return -EBADF;
    if (this.flags & IORING_SETUP_SQPOLL) {
      const sqFlags = this.#sqView.getUint32(this.sqOff.flags, true);
      if (sqFlags & IORING_SQ_NEED_WAKEUP) this.#enter(toSubmit, 0, IORING_ENTER_SQ_WAKEUP);
      return toSubmit;
    }
    return this.#enter(toSubmit, 0, this.#submitFlags);
  }

  /**
   * Resolves once at least `minComplete` CQEs are in the CQ ring (counting from the user's CQ
   * head), without blocking the JavaScript thread. With `timeoutMs`, as
   * `io_uring_wait_cqe_timeout`: resolves -ETIME when fewer arrived within that many
   * milliseconds (the last slice is a kernel timeout of exactly the time left, so the wait is
   * not rounded up to a slice).
   *
   * @param minComplete CQEs to wait for.
   * @param timeoutMs Optional timeout in milliseconds (0: check once, flushing task work).
   * @returns 0, -ETIME on timeout, or another negative errno (-EBADFD when the ring is closed
   *   meanwhile).
   */
  wait(minComplete: number, timeoutMs?: number): Promise<number> {
    // Synchronous answers share settled promises: a busy loop's wait allocates nothing.
    if (this.#closed) return RESOLVED_EBADFD;
    if (this.#ready() >= minComplete) return RESOLVED_0;
    if (this.#efd >= 0) {
      // A single-issuer ring's CQEs are often only deferred task work: run it first.
      this.#enter(0, 0, IORING_ENTER_GETEVENTS);
      if (this.#ready() >= minComplete) return RESOLVED_0;
    }
    return this.#waitSlow(minComplete, timeoutMs);
  }

  async #waitSlow(minComplete: number, timeoutMs?: number): Promise<number> {
    const deadline = timeoutMs === undefined ? Infinity : performance.now() + timeoutMs;
    if (timeoutMs !== undefined && !(timeoutMs > 0)) {
      this.#enter(0, 0, IORING_ENTER_GETEVENTS);
      return this.#ready() >= minComplete ? 0 : -ETIME;
    }
    if (this.flags & (IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN)) {
      return await (this.#eventFd() >= 0
        ? this.#eventWait(minComplete, deadline)
        : this.#pollWait(minComplete, deadline));
    }
    // Timed waits rewrite a timespec of their own (a second concurrent one allocates).
    let timed: Uint8Array<ArrayBuffer> | null = null;
    let argPtr = this.#waitArgPtr;
    if (deadline !== Infinity) {
      const arg = this.#timedArg ?? waitArg(WAIT_SLICE_NS);
      this.#timedArg = null;
      timed = arg;
      argPtr = Deno.UnsafePointer.of(arg);
    }
    this.#waiting++;
    try {
      for (;;) {
        if (timed !== null) {
          const left = deadline - performance.now();
          if (left <= 0) return -ETIME;
          const ns = BigInt(Math.ceil(left * 1e6));
          setTimespec(timed, ns < WAIT_SLICE_NS ? ns : WAIT_SLICE_NS);
        }
        const r = await this.#enterWaitSlice(minComplete, argPtr);
        if (this.#closed) return -EBADFD;
        if (this.#ready() >= minComplete) return 0;
        if (r < 0 && r !== -ETIME && r !== -EINTR) return r;
        // Run this thread's task work (COOP_TASKRUN rings post CQEs only then).
        this.#enter(0, 0, IORING_ENTER_GETEVENTS);
        if (this.#ready() >= minComplete) return 0;
      }
    } finally {
      // `timed` stays referenced until here: the worker thread read it during the enter.
      if (timed !== null && this.#timedArg === null) this.#timedArg = timed;
      this.#waiting--;
      if (this.#closed && this.#waiting === 0) this.#exit();
    }
  }

  /**
   * `io_uring_enter(2)` as is, synchronously: with `IORING_ENTER_GETEVENTS` and
   * `minComplete > 0` it **blocks the JavaScript thread** until that many CQEs are there (as
   * `io_uring_submit_and_wait`). For dedicated I/O loops and benchmarks; event-loop code uses
   * `submit()` + `wait()`.
   *
   * @param toSubmit SQEs to consume.
   * @param minComplete CQEs to wait for (with IORING_ENTER_GETEVENTS).
   * @param flags IORING_ENTER_* flags.
   * @returns SQEs consumed, or a negative errno (-EBADF after close).
   */
  enter(toSubmit: number, minComplete: number, flags: number): number {
    if (this.#closed) return -EBADF;
    return this.#enter(toSubmit, minComplete, flags);
  }

  /**
   * `io_uring_enter(fd, 0, 0, IORING_ENTER_GETEVENTS)`: flushes overflowed CQEs and runs this
   * thread's task work, without waiting.
   *
   * @returns 0, or a negative errno (-EBADF after close).
   */
  getEvents(): number {
    if (this.#closed) return -EBADF;
    const r = this.#enter(0, 0, IORING_ENTER_GETEVENTS);
    return r < 0 ? r : 0;
  }

  /**
   * The eventfd of single-issuer waits, created and registered on first use.
   *
   * @returns The fd, or -2 when unavailable (the caller polls with a timer).
   */
  #eventFd(): number {
    if (this.#efd !== -1) return this.#efd;
    this.#efd = -2;
    const libc = this.#lib.libc;
    const fd = libc.eventfd(0, O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return -2;
    const fds = Int32Array.of(fd);
    if (this.#registerRaw(IORING_REGISTER_EVENTFD, addressOf(fds), 1) < 0) {
      libc.close(fd);
      return -2;
    }
    const v = new DataView(this.#pollFd.buffer);
    v.setInt32(POLLFD.FD, fd, true);
    v.setInt16(POLLFD.EVENTS, POLLIN, true);
    this.#efd = fd;
    return fd;
  }

  /**
   * A wait of a single-issuer ring: run the deferred task work (`enter(0, 0, GETEVENTS)`);
   * when too few CQEs are there, drain the eventfd, enter once more, and `poll(2)` the eventfd
   * on a worker thread for at most one slice (or the time left). Draining before that enter
   * means a signal after it is never lost (the counter stays nonzero until the next drain); a
   * drain is skipped while another wait of this ring is inside `poll(2)`, so it is not robbed
   * of its wake-up. When CQEs are already there (the usual case in a busy loop) the wait is one
   * enter and no eventfd call.
   */
  async #eventWait(minComplete: number, deadline: number): Promise<number> {
    const libc = this.#lib.libc;
    const efd = this.#efd;
    this.#waiting++;
    try {
      for (;;) {
        let r = this.#enter(0, 0, IORING_ENTER_GETEVENTS);
        if (r < 0 && r !== -EINTR) return r;
        if (this.#ready() >= minComplete) return 0;
        if (this.#polling === 0) {
          // Drain, then look once more: a signal after the drain keeps the counter nonzero.
          libc.read(efd, this.#efdCount, 8n);
          r = this.#enter(0, 0, IORING_ENTER_GETEVENTS);
          if (r < 0 && r !== -EINTR) return r;
          if (this.#ready() >= minComplete) return 0;
        }
        const left = deadline - performance.now();
        if (left <= 0) return -ETIME;
        this.#polling++;
        try {
          await libc.poll_nb(
            this.#pollFd,
            1n,
            left < WAIT_SLICE_MS ? Math.ceil(left) : WAIT_SLICE_MS,
          );
        } finally {
          this.#polling--;
        }
        if (this.#closed) return -EBADFD;
      }
    } finally {
      this.#waiting--;
      if (this.#closed && this.#waiting === 0) this.#exit();
    }
  }

  async #pollWait(minComplete: number, deadline: number): Promise<number> {
    for (;;) {
      const r = this.#enter(0, 0, IORING_ENTER_GETEVENTS);
      if (r < 0 && r !== -EINTR) return r;
      if (this.#ready() >= minComplete) return 0;
      const left = deadline - performance.now();
      if (left <= 0) return -ETIME;
      await new Promise<void>((resolve) => setTimeout(resolve, left < 1 ? left : 1));
      if (this.#closed) return -EBADFD;
    }
  }

  #registerRaw(opcode: number, arg: bigint, nrArgs: number): number {
    const reg = this.#lib.liburing.io_uring_register;
    if (reg !== null) {
      return reg(this.fd, opcode, Deno.UnsafePointer.create(arg), nrArgs);
    }
    const r = Number(
      this.#lib.libc.syscall(
        BigInt(NR_IO_URING_REGISTER),
        BigInt(this.fd),
        BigInt(opcode),
        arg,
        BigInt(nrArgs),
        0n,
        0n,
      ),
    );
    return r < 0 ? -this.#lib.errno() : r;
  }

  /**
   * `io_uring_register(2)` with the argument built from JavaScript values: iovec arrays for
   * buffers (addresses cached per ArrayBuffer), int arrays for files, `io_uring_rsrc_register`
   * / `io_uring_rsrc_update2` for the *2 opcodes, the caller's memory for PROBE. Registered
   * buffers stay referenced by the ring until unregistered or closed.
   *
   * @param opcode IORING_REGISTER_* / IORING_UNREGISTER_*.
   * @param arg The argument.
   * @returns >= 0, or a negative errno (-EBADF after close, as the syscall).
   */
  register(opcode: number, arg: RegisterArg = {}): number {
    if (this.#closed) return -EBADF;
    switch (opcode) {
      case IORING_REGISTER_BUFFERS: {
        const buffers = arg.buffers ?? [];
        const iov = this.#iovecs(buffers);
        const r = this.#registerRaw(opcode, addressOf(iov), buffers.length);
        if (r >= 0) this.#buffers = [...buffers];
        return r;
      }
      case IORING_UNREGISTER_BUFFERS: {
        const r = this.#registerRaw(opcode, 0n, 0);
        if (r >= 0) this.#buffers = [];
        return r;
      }
      case IORING_REGISTER_FILES: {
        const fds = Int32Array.from(arg.fds ?? []);
        return this.#registerRaw(opcode, fds.length ? addressOf(fds) : 0n, fds.length);
      }
      case IORING_REGISTER_FILES_UPDATE: {
        const fds = Int32Array.from(arg.fds ?? []);
        const up = new Uint8Array(FILES_UPDATE.SIZE);
        const v = new DataView(up.buffer);
        v.setUint32(FILES_UPDATE.OFFSET, arg.offset ?? 0, true);
        v.setBigUint64(FILES_UPDATE.FDS, fds.length ? addressOf(fds) : 0n, true);
        return this.#registerRaw(opcode, addressOf(up), fds.length);
      }
      case IORING_REGISTER_FILES2:
      case IORING_REGISTER_BUFFERS2: {
        const sparse = ((arg.flags ?? 0) & IORING_RSRC_REGISTER_SPARSE) !== 0;
        const files = opcode === IORING_REGISTER_FILES2;
        const nr = sparse ? (arg.nr ?? 0) : (files ? arg.fds?.length : arg.buffers?.length) ?? 0;
        const rr = new Uint8Array(RSRC_REGISTER.SIZE);
        const v = new DataView(rr.buffer);
        v.setUint32(RSRC_REGISTER.NR, nr, true);
        v.setUint32(RSRC_REGISTER.FLAGS, arg.flags ?? 0, true);
        let data: Uint8Array | Int32Array | undefined;
        if (!sparse) {
          data = files ? Int32Array.from(arg.fds ?? []) : this.#iovecs(arg.buffers ?? []);
        }
        v.setBigUint64(RSRC_REGISTER.DATA, data && data.length ? addressOf(data) : 0n, true);
        const r = this.#registerRaw(opcode, addressOf(rr), RSRC_REGISTER.SIZE);
        if (r >= 0 && !files) {
          this.#buffers = sparse
            ? new Array<Uint8Array | null>(nr).fill(null)
            : [...(arg.buffers ?? [])];
        }
        return r;
      }
      case IORING_REGISTER_FILES_UPDATE2:
      case IORING_REGISTER_BUFFERS_UPDATE: {
        const files = opcode === IORING_REGISTER_FILES_UPDATE2;
        const offset = arg.offset ?? 0;
        const data = files ? Int32Array.from(arg.fds ?? []) : this.#iovecs(arg.buffers ?? []);
        const nr = files ? (arg.fds?.length ?? 0) : (arg.buffers?.length ?? 0);
        const up = new Uint8Array(RSRC_UPDATE2.SIZE);
        const v = new DataView(up.buffer);
        v.setUint32(RSRC_UPDATE2.OFFSET, offset, true);
        v.setBigUint64(RSRC_UPDATE2.DATA, data.length ? addressOf(data) : 0n, true);
        v.setUint32(RSRC_UPDATE2.NR, nr, true);
        const r = this.#registerRaw(opcode, addressOf(up), RSRC_UPDATE2.SIZE);
        if (r > 0 && !files) {
          for (let i = 0; i < r; i++) this.#buffers[offset + i] = arg.buffers![i] ?? null;
        }
        return r;
      }
      case IORING_REGISTER_PROBE: {
        const probe = arg.probe;
        if (probe === undefined) return -EINVAL;
        const bytes = new Uint8Array(probe.buffer, probe.byteOffset, probe.byteLength);
        const nr = Math.max(0, Math.floor((probe.byteLength - 16) / 8));
        return this.#registerRaw(opcode, addressOf(bytes), nr);
      }
      case IORING_REGISTER_EVENTFD:
      case IORING_REGISTER_EVENTFD_ASYNC: {
        const fds = Int32Array.from(arg.fds ?? []);
        return this.#registerRaw(opcode, fds.length ? addressOf(fds) : 0n, fds.length);
      }
      default:
        return this.#registerRaw(opcode, 0n, arg.nr ?? 0);
    }
  }

  #iovecs(buffers: readonly (Uint8Array | null)[]): Uint8Array {
    const iov = new Uint8Array(Math.max(1, buffers.length) * IOVEC.SIZE);
    const v = new DataView(iov.buffer);
    for (let i = 0; i < buffers.length; i++) {
      const b = buffers[i];
      // null is an empty slot {NULL, 0}; an empty view keeps its address, as in C.
      if (!b) continue;
      v.setBigUint64(i * IOVEC.SIZE + IOVEC.BASE, addressOf(b), true);
      v.setBigUint64(i * IOVEC.SIZE + IOVEC.LEN, BigInt(b.byteLength), true);
    }
    return iov;
  }

  #exit(): void {
    if (this.#exited) return;
    this.#exited = true;
    this.#lib.liburing.io_uring_queue_exit(this.#ring);
    this.#buffers = [];
    if (this.#efd >= 0) this.#lib.libc.close(this.#efd);
    this.#efd = -2;
  }

  /**
   * Tears the ring down (`io_uring_queue_exit`: unmaps and closes the fd; in-flight requests
   * are cancelled by the kernel). The ring memory is detached first, so stale views throw a
   * TypeError instead of touching unmapped memory. A pending `wait()` resolves -EBADFD within
   * one wait slice, and the unmap happens then. Safe twice.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#polling > 0) {
      // Wake the waits inside poll(2) now rather than at the end of their slice.
      new DataView(this.#efdCount.buffer).setBigUint64(0, 1n, true);
      this.#lib.libc.write(this.#efd, this.#efdCount, 8n);
    }
    detach(this.#sqes);
    if (this.#cqRing !== this.#sqRing) detach(this.#cqRing);
    detach(this.#sqRing);
    if (this.#waiting === 0) this.#exit();
  }

  /** Alias of `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
