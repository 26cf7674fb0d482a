/**
 * {@linkcode Ring}: the user side of an io_uring (liburing's `struct io_uring`), the same object
 * over any {@linkcode Kernel}: it reads and writes the SQ/CQ memory at the offsets the kernel
 * gave, and calls the kernel only to submit, wait and register.
 *
 * @module
 */

import {
  ErrnoError,
  ETIME,
  IORING_REGISTER_BUFFERS,
  IORING_REGISTER_BUFFERS2,
  IORING_REGISTER_BUFFERS_UPDATE,
  IORING_REGISTER_FILES,
  IORING_REGISTER_FILES2,
  IORING_REGISTER_FILES_UPDATE,
  IORING_REGISTER_PROBE,
  IORING_RSRC_REGISTER_SPARSE,
  IORING_SETUP_CQE32,
  IORING_SETUP_CQSIZE,
  IORING_SETUP_SQE128,
  IORING_SQ_CQ_OVERFLOW,
  IORING_SQ_TASKRUN,
  IORING_UNREGISTER_BUFFERS,
  IORING_UNREGISTER_FILES,
  type IoUringCqeValue,
} from "@ublk-ts/uapi";
import type { Kernel, KernelRing, RegisterArg } from "./kernel.ts";
import { Cqe } from "./cqe.ts";
import { Sqe, type SqeOwner } from "./sqe.ts";
import { Probe } from "./probe.ts";

/** Options of {@linkcode Ring.create}. */
export interface RingOptions {
  /** IORING_SETUP_* flags. */
  flags?: number;
  /** CQ entries (sets IORING_SETUP_CQSIZE). */
  cqEntries?: number;
}

/**
 * An io_uring.
 *
 * @example NOP round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { ModelKernel } from "@ublk-ts/model";
 * import { Ring } from "@ublk-ts/ring";
 * import { prepNop } from "@ublk-ts/ring";
 * using ring = Ring.create(new ModelKernel(), 4);
 * prepNop(ring.getSqe()!, { userData: 1n });
 * await ring.submitAndWait(1);
 * const cqe = ring.peekCqe()!;
 * assert.equal(cqe.userData, 1n);
 * ring.cqeSeen();
 * ```
 */
export class Ring implements SqeOwner {
  /** The kernel. */
  readonly kernel: Kernel;
  /** The kernel's ring. */
  readonly kernelRing: KernelRing;
  /** SQE memory. */
  readonly sqes: DataView;
  /** SQ array (u32 indices into the SQEs), for tests that corrupt it. */
  readonly sqArray: Uint32Array;
  /** SQ entries. */
  readonly sqEntries: number;
  /** CQ entries. */
  readonly cqEntries: number;
  /** SQE size (64 or 128). */
  readonly sqeSize: number;
  /** CQE size (16 or 32). */
  readonly cqeSize: number;
  /** The CQ ring memory (CQEs at {@linkcode Ring.cqeOffset}). */
  readonly cqView: DataView;

  #sqU32: Uint32Array;
  #cqU32: Uint32Array;
  #sqHead: number;
  #sqTail: number;
  #sqFlags: number;
  #cqHead: number;
  #cqTail: number;
  #cqOverflow: number;
  #sqMask: number;
  #cqMask: number;
  #sqeTail: number;
  #sqeHandles: Sqe[];
  #cqeHandles: Cqe[];
  #sqeBytes: Uint8Array;
  #cqesOff: number;
  #closed = false;
  #addrCache: WeakMap<Uint8Array, bigint> = new WeakMap();

  /**
   * Wraps a kernel ring. Prefer {@linkcode Ring.create}.
   *
   * @param kernel The kernel.
   * @param kr Its ring.
   */
  constructor(kernel: Kernel, kr: KernelRing) {
    this.kernel = kernel;
    this.kernelRing = kr;
    this.sqEntries = kr.sqEntries;
    this.cqEntries = kr.cqEntries;
    this.sqeSize = kr.flags & IORING_SETUP_SQE128 ? 128 : 64;
    this.cqeSize = kr.flags & IORING_SETUP_CQE32 ? 32 : 16;
    this.sqes = new DataView(kr.sqes);
    this.#sqeBytes = new Uint8Array(kr.sqes);
    this.#sqU32 = new Uint32Array(kr.sqRing);
    this.#cqU32 = new Uint32Array(kr.cqRing);
    this.cqView = new DataView(kr.cqRing);
    this.#cqesOff = kr.cqOff.cqes;
    const so = kr.sqOff;
    const co = kr.cqOff;
    this.#sqHead = so.head >> 2;
    this.#sqTail = so.tail >> 2;
    this.#sqFlags = so.flags >> 2;
    this.#cqHead = co.head >> 2;
    this.#cqTail = co.tail >> 2;
    this.#cqOverflow = co.overflow >> 2;
    this.#sqMask = this.#sqU32[so.ringMask >> 2]!;
    this.#cqMask = this.#cqU32[co.ringMask >> 2]!;
    this.sqArray = new Uint32Array(kr.sqRing, so.array, this.sqEntries);
    for (let i = 0; i < this.sqEntries; i++) this.sqArray[i] = i;
    this.#sqeTail = this.#sqU32[this.#sqTail]!;
    this.#sqeHandles = [];
    for (let i = 0; i < this.sqEntries; i++) {
      this.#sqeHandles.push(
        new Sqe(this, this.sqes, this.#sqeBytes, i * this.sqeSize, this.sqeSize),
      );
    }
    this.#cqeHandles = [];
    for (let i = 0; i < this.cqEntries; i++) {
      this.#cqeHandles.push(new Cqe(this.cqView, co.cqes + i * this.cqeSize));
    }
  }

  /**
   * `io_uring_queue_init_params`: sets up a ring on `kernel`.
   *
   * @param kernel The kernel (model or native).
   * @param entries SQ entries.
   * @param options Flags and CQ size.
   * @returns The ring.
   * @throws {ErrnoError} when the kernel refuses.
   */
  static create(kernel: Kernel, entries: number, options: RingOptions = {}): Ring {
    let flags = options.flags ?? 0;
    if (options.cqEntries !== undefined) flags |= IORING_SETUP_CQSIZE;
    const so: { flags: number; cqEntries?: number } = { flags };
    if (options.cqEntries !== undefined) so.cqEntries = options.cqEntries;
    return new Ring(kernel, kernel.setup(entries, so));
  }

  /**
   * The address of `bytes[0]` in this ring's kernel (cached per view).
   *
   * @param bytes Memory.
   * @returns The address.
   */
  addressOf(bytes: Uint8Array): bigint {
    let a = this.#addrCache.get(bytes);
    if (a === undefined) {
      a = this.kernel.addressOf(bytes);
      this.#addrCache.set(bytes, a);
    }
    return a;
  }

  /** The ring fd. */
  get fd(): number {
    return this.kernelRing.fd;
  }

  /** IORING_SETUP_* flags. */
  get flags(): number {
    return this.kernelRing.flags;
  }

  /** IORING_FEAT_* flags. */
  get features(): number {
    return this.kernelRing.features;
  }

  // ------------------------------------------------------------------ SQ

  /**
   * `io_uring_get_sqe`: the next free SQE, zeroed, or `null` when the SQ is full.
   *
   * @returns The SQE handle (reused per slot), or `null`.
   */
  getSqe(): Sqe | null {
    const head = this.#sqU32[this.#sqHead]!;
    const tail = this.#sqeTail;
    if (((tail - head) >>> 0) >= this.sqEntries) return null;
    const idx = tail & this.#sqMask;
    this.#sqeTail = (tail + 1) >>> 0;
    const off = idx * this.sqeSize;
    this.#sqeBytes.fill(0, off, off + this.sqeSize);
    return this.#sqeHandles[idx]!;
  }

  /**
   * The zero-allocation form of {@linkcode Ring.getSqe}: the byte offset in
   * {@linkcode Ring.sqes} of the next free SQE (zeroed), or -1 when the SQ is full. Fill it with
   * the `prep*At` helpers (`prepRwAt(ring.sqes, off, …)`).
   *
   * @returns The SQE's byte offset, or -1.
   */
  getSqeOffset(): number {
    const head = this.#sqU32[this.#sqHead]!;
    const tail = this.#sqeTail;
    if (((tail - head) >>> 0) >= this.sqEntries) return -1;
    this.#sqeTail = (tail + 1) >>> 0;
    const size = this.sqeSize;
    const off = (tail & this.#sqMask) * size;
    // Eight (sixteen) 8-byte stores of +0.0 (all bits zero): inlined by the JIT, ~5x cheaper
    // than a ranged TypedArray.fill call per SQE.
    const v = this.sqes;
    for (let k = 0; k < size; k += 8) v.setFloat64(off + k, 0, true);
    return off;
  }

  /**
   * SQEs obtained but not yet consumed by the kernel.
   *
   * @returns The count.
   */
  sqReady(): number {
    return (this.#sqeTail - this.#sqU32[this.#sqHead]!) >>> 0;
  }

  /**
   * Free SQ slots.
   *
   * @returns The count.
   */
  sqSpaceLeft(): number {
    return this.sqEntries - this.sqReady();
  }

  /**
   * `io_uring_submit`: publishes the SQ tail and submits every pending SQE. As liburing, what
   * the kernel did not consume (it stops early on some errors) stays queued and goes with the
   * next submit: the count is `tail - *khead`, not what was added since the last call.
   *
   * @returns SQEs consumed by the kernel.
   * @throws {ErrnoError} only when the enter call itself fails (e.g. a closed ring).
   */
  submit(): number {
    const r = this.kernelRing.submit(this.flushSq());
    if (r < 0) throw ErrnoError.fromResult(r, "io_uring_enter");
    return r;
  }

  /**
   * liburing's `__io_uring_flush_sq`: publishes the SQ tail without entering the kernel, and
   * counts what the kernel has not consumed yet. For loops that enter themselves, once per
   * round, with submit and wait in one call (`io_uring_submit_and_wait` as one
   * `enter(flushSq(), 1, IORING_ENTER_GETEVENTS)` on a native ring).
   *
   * @returns SQEs published and not yet consumed (`tail - *khead`).
   */
  flushSq(): number {
    const u32 = this.#sqU32;
    const tail = this.#sqeTail;
    u32[this.#sqTail] = tail;
    return (tail - u32[this.#sqHead]!) >>> 0;
  }

  /**
   * `io_uring_submit_and_wait`: submits, then waits for `waitNr` CQEs.
   *
   * @param waitNr CQEs to wait for.
   * @returns SQEs consumed.
   * @throws {ErrnoError} when the enter or the wait fails.
   */
  async submitAndWait(waitNr: number): Promise<number> {
    const n = this.submit();
    const w = await this.kernelRing.wait(waitNr);
    if (w < 0) throw ErrnoError.fromResult(w, "io_uring_enter");
    return n;
  }

  // ------------------------------------------------------------------ CQ

  /**
   * CQEs ready to reap.
   *
   * @returns The count.
   */
  cqReady(): number {
    return (this.#cqU32[this.#cqTail]! - this.#cqU32[this.#cqHead]!) >>> 0;
  }

  /**
   * The `cq.overflow` counter of the CQ ring.
   *
   * @returns The counter.
   */
  cqOverflow(): number {
    return this.#cqU32[this.#cqOverflow]!;
  }

  /**
   * The SQ ring flags (IORING_SQ_CQ_OVERFLOW, IORING_SQ_TASKRUN, …).
   *
   * @returns The flags.
   */
  sqFlags(): number {
    return this.#sqU32[this.#sqFlags]!;
  }

  /**
   * `io_uring_peek_cqe`: the CQE at the head, or `null`. When the CQ is empty but the kernel
   * has overflowed CQEs (or task work), asks it to flush first.
   *
   * @returns The CQE handle (valid until `cqeSeen`/`cqAdvance`), or `null`.
   */
  peekCqe(): Cqe | null {
    const u32 = this.#cqU32;
    let head = u32[this.#cqHead]!;
    if (u32[this.#cqTail] === head) {
      if (!(this.sqFlags() & (IORING_SQ_CQ_OVERFLOW | IORING_SQ_TASKRUN))) return null;
      this.kernelRing.getEvents?.();
      head = u32[this.#cqHead]!;
      if (u32[this.#cqTail] === head) return null;
    }
    return this.#cqeHandles[head & this.#cqMask]!;
  }

  /**
   * `io_uring_wait_cqe`: the CQE at the head, waiting for one.
   *
   * @returns The CQE handle.
   * @throws {ErrnoError} when the wait fails (closed ring).
   */
  async waitCqe(): Promise<Cqe> {
    for (;;) {
      const c = this.peekCqe();
      if (c) return c;
      const w = await this.kernelRing.wait(1);
      if (w < 0) throw ErrnoError.fromResult(w, "io_uring_enter");
    }
  }

  /**
   * `io_uring_wait_cqe_timeout`: the next CQE, or `null` when none arrived within `ms`
   * milliseconds (the kernel's -ETIME).
   *
   * @param ms The timeout in milliseconds.
   * @returns The CQE handle (valid until {@linkcode Ring.cqeSeen}), or `null` on timeout.
   * @throws {ErrnoError} when the wait fails otherwise (closed ring).
   */
  async waitCqeTimeout(ms: number): Promise<Cqe | null> {
    const deadline = Date.now() + ms;
    for (;;) {
      const c = this.peekCqe();
      if (c) return c;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      const w = await this.kernelRing.wait(1, left);
      if (w === -ETIME) return this.peekCqe();
      if (w < 0) throw ErrnoError.fromResult(w, "io_uring_enter");
    }
  }

  /**
   * Waits until at least `n` CQEs are ready, without reaping them (the raw wait the ublk queue
   * and other event loops use).
   *
   * @param n CQEs.
   * @param timeoutMs Optional timeout in milliseconds.
   * @returns 0, -ETIME on timeout, or another negative errno (-EBADFD after close).
   */
  wait(n: number, timeoutMs?: number): Promise<number> {
    return this.kernelRing.wait(n, timeoutMs);
  }

  /**
   * `io_uring_wait_cqe_nr`: waits until `n` CQEs are ready.
   *
   * @param n CQEs.
   * @throws {ErrnoError} when the wait fails.
   */
  async waitCqes(n: number): Promise<void> {
    while (this.cqReady() < n) {
      const w = await this.kernelRing.wait(n);
      if (w < 0) throw ErrnoError.fromResult(w, "io_uring_enter");
    }
  }

  /**
   * `io_uring_for_each_cqe`: calls `cb` for each ready CQE without advancing the head.
   *
   * @param cb Visitor.
   * @returns CQEs visited (pass to {@linkcode Ring.cqAdvance}).
   */
  forEachCqe(cb: (cqe: Cqe) => void): number {
    const u32 = this.#cqU32;
    const head = u32[this.#cqHead]!;
    const n = (u32[this.#cqTail]! - head) >>> 0;
    for (let i = 0; i < n; i++) cb(this.#cqeHandles[(head + i) & this.#cqMask]!);
    return n;
  }

  /**
   * The zero-allocation form of {@linkcode Ring.peekCqe}: the byte offset in
   * {@linkcode Ring.cqView} of the `i`-th ready CQE from the head (read it with
   * `IoUringCqe` offsets; `i < cqReady()`), then {@linkcode Ring.cqAdvance}.
   *
   * @param i Index from the CQ head.
   * @returns The byte offset.
   */
  cqeOffset(i: number): number {
    const head = this.#cqU32[this.#cqHead]!;
    return this.#cqesOff + ((head + i) & this.#cqMask) * this.cqeSize;
  }

  /** `io_uring_cqe_seen`: consumes the CQE at the head. */
  cqeSeen(): void {
    this.cqAdvance(1);
  }

  /**
   * `io_uring_cq_advance`: consumes `n` CQEs.
   *
   * @param n Count.
   */
  cqAdvance(n: number): void {
    const u32 = this.#cqU32;
    u32[this.#cqHead] = (u32[this.#cqHead]! + n) >>> 0;
  }

  /**
   * The CQE at the head as a fresh object, consumed (tests and cold paths).
   *
   * @returns The CQE, or `null`.
   */
  copyCqe(): IoUringCqeValue | null {
    const c = this.peekCqe();
    if (!c) return null;
    const v: IoUringCqeValue = { userData: c.userData, res: c.res, flags: c.flags };
    if (this.cqeSize === 32) v.bigCqe = [c.big(0), c.big(1)];
    this.cqeSeen();
    return v;
  }

  // ------------------------------------------------------------------ register

  #register(op: number, arg: RegisterArg, name: string): number {
    const r = this.kernelRing.register(op, arg);
    if (r < 0) throw ErrnoError.fromResult(r, name);
    return r;
  }

  /**
   * `io_uring_register_buffers`.
   *
   * Safety: the buffers must stay alive while registered.
   *
   * @param buffers The buffers.
   * @returns 0.
   * @throws {ErrnoError} EBUSY (already registered), EINVAL, EFAULT.
   */
  registerBuffers(buffers: readonly Uint8Array[]): number {
    return this.#register(IORING_REGISTER_BUFFERS, { buffers }, "io_uring_register_buffers");
  }

  /**
   * `io_uring_register_buffers_sparse`: `nr` empty slots (IORING_REGISTER_BUFFERS2 + SPARSE).
   *
   * @param nr Slots.
   * @returns 0.
   * @throws {ErrnoError} EBUSY, EINVAL.
   */
  registerBuffersSparse(nr: number): number {
    return this.#register(
      IORING_REGISTER_BUFFERS2,
      { nr, flags: IORING_RSRC_REGISTER_SPARSE },
      "io_uring_register_buffers_sparse",
    );
  }

  /**
   * `io_uring_register_buffers_update_tag` without tags: replaces slots from `offset` (`null`
   * empties a slot).
   *
   * @param offset First slot.
   * @param buffers New buffers.
   * @returns Slots updated.
   * @throws {ErrnoError} ENXIO (none registered), EINVAL (out of range).
   */
  registerBuffersUpdate(offset: number, buffers: readonly (Uint8Array | null)[]): number {
    return this.#register(
      IORING_REGISTER_BUFFERS_UPDATE,
      { offset, buffers },
      "io_uring_register_buffers_update",
    );
  }

  /**
   * `io_uring_unregister_buffers`.
   *
   * @returns 0.
   * @throws {ErrnoError} ENXIO when none are registered.
   */
  unregisterBuffers(): number {
    return this.#register(IORING_UNREGISTER_BUFFERS, {}, "io_uring_unregister_buffers");
  }

  /**
   * `io_uring_register_files` (-1 = empty slot).
   *
   * @param fds The fds.
   * @returns 0.
   * @throws {ErrnoError} EBUSY, EBADF, EINVAL.
   */
  registerFiles(fds: readonly number[]): number {
    return this.#register(IORING_REGISTER_FILES, { fds }, "io_uring_register_files");
  }

  /**
   * `io_uring_register_files_sparse`.
   *
   * @param nr Slots.
   * @returns 0.
   * @throws {ErrnoError} EBUSY, EINVAL.
   */
  registerFilesSparse(nr: number): number {
    return this.#register(
      IORING_REGISTER_FILES2,
      { nr, flags: IORING_RSRC_REGISTER_SPARSE },
      "io_uring_register_files_sparse",
    );
  }

  /**
   * `io_uring_register_files_update` (-1 empties a slot, IORING_REGISTER_FILES_SKIP keeps it).
   *
   * @param offset First slot.
   * @param fds New fds.
   * @returns Slots updated.
   * @throws {ErrnoError} ENXIO, EINVAL, EBADF.
   */
  registerFilesUpdate(offset: number, fds: readonly number[]): number {
    return this.#register(
      IORING_REGISTER_FILES_UPDATE,
      { offset, fds },
      "io_uring_register_files_update",
    );
  }

  /**
   * `io_uring_unregister_files`.
   *
   * @returns 0.
   * @throws {ErrnoError} ENXIO when none are registered.
   */
  unregisterFiles(): number {
    return this.#register(IORING_UNREGISTER_FILES, {}, "io_uring_unregister_files");
  }

  /**
   * `io_uring_get_probe_ring`: which opcodes the kernel supports.
   *
   * @returns The probe.
   * @throws {ErrnoError} when the kernel refuses.
   */
  probe(): Probe {
    const view = new DataView(new ArrayBuffer(16 + 256 * 8));
    this.#register(IORING_REGISTER_PROBE, { probe: view }, "io_uring_register_probe");
    return new Probe(view);
  }

  // ------------------------------------------------------------------ exit

  /** `io_uring_queue_exit`. Safe twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.kernelRing.close();
  }

  /** Same as {@linkcode Ring.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}
