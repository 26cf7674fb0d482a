/**
 * {@linkcode UblkQueue}: one queue of a ublk server — its own SQE128 ring with `/dev/ublkcN`
 * as fixed file 0 (and the target's files as 1..n), the queue's io descriptors, one aligned
 * buffer arena (copy mode), and the loop: FETCH every tag, read CQEs, look at `io_desc[tag]`,
 * call the target, commit with COMMIT_AND_FETCH_REQ. Target I/O (plain SQEs or fused pairs)
 * goes through the same ring; `user_data` comes from `_user_data.ts` only.
 *
 * Hot path: no allocation per I/O for targets that return a number; async targets cost one
 * Promise per I/O.
 *
 * @module
 */

import {
  EBUSY,
  ECANCELED,
  EIO,
  EOPNOTSUPP,
  ErrnoError,
  IORING_CQE_F_NOTIF,
  IORING_OP_FUSED_CMD,
  IORING_OP_READ,
  IORING_OP_WRITE,
  IORING_SETUP_SQE128,
  IOSQE_FIXED_FILE,
  IoUringCqe,
  IoUringSqe,
  PROT_READ,
  UBLK_IO_COMMIT_AND_FETCH_REQ,
  UBLK_IO_FETCH_REQ,
  UBLK_IO_FUSED_SUBMIT_IO,
  UBLK_IO_NEED_GET_DATA,
  UBLK_IO_RES_ABORT,
  UBLK_IO_RES_NEED_GET_DATA,
  UBLK_U_IO_COMMIT_AND_FETCH_REQ,
  UBLK_U_IO_FETCH_REQ,
  UBLK_U_IO_NEED_GET_DATA,
  ublkQueueDescOffset,
  ublkQueueDescSize,
  type UblksrvCtrlDevInfoValue,
  UblksrvIoCmd,
  UblksrvIoDesc,
} from "@ublk-ts/uapi";
import {
  type FusedIo,
  IoDesc,
  type PrepSqe,
  type Target,
  type TargetDevInfo,
  type TargetIoCtx,
} from "./target.ts";
import {
  type Kernel,
  prepRwAt,
  prepUringCmdAt,
  Ring,
  sqeSetFlags,
  sqeSetOpFlags,
  sqeSetUserData32,
} from "@ublk-ts/ring";
import {
  allocIoMemory,
  bufModeFor,
  copyBufDesc,
  validateCompatibility,
  zeroCopyBufDesc,
} from "@ublk-ts/rsrc";
import {
  userDataHi,
  userDataIsTargetIo,
  userDataLo,
  userDataOp,
  userDataTag,
  userDataTgtData,
} from "./_user_data.ts";

/** Options of {@linkcode UblkQueue}. */
export interface UblkQueueOptions {
  /** Use legacy io opcodes (0x20…) instead of `UBLK_U_IO_*`. */
  legacyOpcodes?: boolean;
  /**
   * The queue's descriptor area when the caller mapped it; default: the model driver's
   * `mmap(q_id * MAX_CMD_BUF, round_up(depth * 24, 4096), PROT_READ)`.
   */
  descriptors?: ArrayBuffer;
}

/** One in-flight target I/O of a tag. */
class Slot {
  busy = false;
  fused = false;
  slaveSeen = false;
  slaveRes = 0;
  resolve: ((res: number) => void) | null = null;
  /** The Promise executor of this slot's I/O, made once (no closure per I/O). */
  readonly executor = (resolve: (res: number) => void): void => {
    this.resolve = resolve;
  };
}

/** The per-tag context handed to the target. */
class TagCtx implements TargetIoCtx {
  readonly qid: number;
  readonly tag: number;
  readonly buf: Uint8Array;
  readonly zeroCopy: boolean;
  readonly dev: TargetDevInfo;
  readonly addr: bigint;
  readonly iod: IoDesc = new IoDesc();
  readonly slots: Slot[] = [];
  readonly free: number[] = [];
  readonly onResult: (res: number) => void;
  readonly onError: (e: unknown) => void;
  readonly #q: UblkQueue;

  constructor(
    q: UblkQueue,
    tag: number,
    buf: Uint8Array,
    addr: bigint,
    dev: TargetDevInfo,
  ) {
    this.#q = q;
    this.qid = q.qid;
    this.tag = tag;
    this.buf = buf;
    this.zeroCopy = dev.zeroCopy;
    this.dev = dev;
    this.addr = addr;
    this.onResult = (res: number) => q.commit(tag, res);
    this.onError = () => q.commit(tag, -EIO);
  }

  allocSlot(fused: boolean): number {
    let i = this.free.pop();
    if (i === undefined) {
      i = this.slots.length;
      if (i > 0xffff) return -1;
      this.slots.push(new Slot());
    }
    const s = this.slots[i]!;
    s.busy = true;
    s.fused = fused;
    s.slaveSeen = false;
    s.slaveRes = 0;
    return i;
  }

  submit(prep: PrepSqe): Promise<number> {
    return this.#q.targetSubmit(this, prep);
  }

  fused(io: FusedIo): Promise<number> {
    return this.#q.targetFused(this, io);
  }
}

/**
 * One queue of a ublk server.
 *
 * Lifetime: {@linkcode UblkQueue.start} fetches every tag and runs the loop until every tag's
 * command came back with UBLK_IO_RES_ABORT (STOP_DEV/DEL_DEV) or the ring was closed;
 * {@linkcode UblkQueue.done} resolves then. {@linkcode UblkQueue.kill} closes the ring at once
 * (a dying server); {@linkcode UblkQueue.close} after `done`.
 */
export class UblkQueue {
  /** Queue id. */
  readonly qid: number;
  /** Tags. */
  readonly depth: number;
  /** The target. */
  readonly target: Target;
  /** Resolves when the loop has ended. */
  readonly done: Promise<void>;
  /** Commands the driver refused (negative CQE results other than ABORT). */
  errors = 0;
  /** Requests served. */
  served = 0;

  readonly #kernel: Kernel;
  readonly #ring: Ring;
  readonly #iod: DataView;
  /** The descriptor mapping this queue made (unmapped on close), or null when given one. */
  readonly #mapping: ArrayBuffer | null;
  /** io commands that found the SQ full even after a flush: [tag, nr, result] triples. */
  readonly #backlog: number[] = [];
  readonly #ctxs: TagCtx[] = [];
  readonly #fetchOp: number;
  readonly #commitOp: number;
  readonly #ngdOp: number;
  readonly #flushFn = (): void => this.#flush();
  #resolveDone!: () => void;
  #flushScheduled = false;
  #inReap = false;
  #gone = 0;
  #running = false;
  #closed = false;
  #inflightTarget = 0;

  /**
   * Sets up the queue's ring, buffers and descriptors (nothing is submitted yet).
   *
   * @param kernel The kernel.
   * @param info The device info (after ADD_DEV).
   * @param qid The queue id.
   * @param charFd An open fd of `/dev/ublkcN`.
   * @param target The target.
   * @param options Options.
   * @throws {ErrnoError} When the ring or the descriptors cannot be set up.
   */
  constructor(
    kernel: Kernel,
    info: UblksrvCtrlDevInfoValue,
    qid: number,
    charFd: number,
    target: Target,
    options: UblkQueueOptions = {},
  ) {
    this.#kernel = kernel;
    this.qid = qid;
    this.depth = info.queueDepth;
    this.target = target;
    this.done = new Promise<void>((r) => (this.#resolveDone = r));
    const legacy = options.legacyOpcodes === true;
    this.#fetchOp = legacy ? UBLK_IO_FETCH_REQ : UBLK_U_IO_FETCH_REQ;
    this.#commitOp = legacy ? UBLK_IO_COMMIT_AND_FETCH_REQ : UBLK_U_IO_COMMIT_AND_FETCH_REQ;
    this.#ngdOp = legacy ? UBLK_IO_NEED_GET_DATA : UBLK_U_IO_NEED_GET_DATA;
    // The buffer mode the negotiated flags call for, checked before anything is set up
    // (libublk's validate_compatibility): this queue serves copy mode and the RFC fused zero copy.
    const mode = bufModeFor(info.flags);
    if (typeof mode === "number") throw ErrnoError.fromResult(mode, "ublk queue buffer mode");
    const zeroCopy = mode === "zero-copy";
    const per = info.maxIoBufBytes;
    // Copy mode: one page-aligned arena (the real address too: the kernel's copies into it run
    // at full speed and O_DIRECT accepts it), a page-multiple slice per tag; the slice of tag 0
    // is what the check vets.
    const arena = zeroCopy ? new Uint8Array(0) : allocIoMemory(per * this.depth);
    const check = validateCompatibility(
      zeroCopy ? zeroCopyBufDesc() : copyBufDesc(arena.subarray(0, per)),
      info.flags,
    );
    if (check < 0 || mode === "auto-register") {
      throw new ErrnoError(check < 0 ? -check : EOPNOTSUPP, {
        op: `ublk queue buffer mode ${mode} (flags 0x${info.flags.toString(16)})`,
      });
    }
    let area = options.descriptors;
    let mapping: ArrayBuffer | null = null;
    if (area === undefined) {
      const m = kernel.mmap(
        charFd,
        ublkQueueDescOffset(qid),
        ublkQueueDescSize(this.depth),
        PROT_READ,
      );
      if (typeof m === "number") throw ErrnoError.fromResult(m, `mmap /dev/ublkc${info.devId}`);
      area = mapping = m;
    }
    this.#mapping = mapping;
    this.#iod = new DataView(area);
    let entries = 1;
    while (entries < this.depth * 2) entries *= 2;
    let ring: Ring;
    try {
      ring = Ring.create(kernel, entries, { flags: IORING_SETUP_SQE128 });
    } catch (e) {
      if (mapping !== null) kernel.munmap(mapping);
      throw e;
    }
    try {
      ring.registerFiles([charFd, ...(target.fixedFds ?? [])]);
    } catch (e) {
      ring.close();
      if (mapping !== null) kernel.munmap(mapping);
      throw e;
    }
    this.#ring = ring;
    const dev: TargetDevInfo = {
      devId: info.devId,
      nrHwQueues: info.nrHwQueues,
      queueDepth: info.queueDepth,
      maxIoBufBytes: info.maxIoBufBytes,
      flags: info.flags,
      zeroCopy,
    };
    const base = arena.length > 0 ? kernel.addressOf(arena) : 0n;
    for (let t = 0; t < this.depth; t++) {
      const buf = zeroCopy ? arena : arena.subarray(t * per, (t + 1) * per);
      const addr = zeroCopy ? 0n : base + BigInt(t * per);
      this.#ctxs.push(new TagCtx(this, t, buf, addr, dev));
    }
  }

  /** The queue's ring fd. */
  get ringFd(): number {
    return this.#ring.fd;
  }

  /** Sends FETCH_REQ for every tag and starts the loop. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    for (const c of this.#ctxs) this.#ioCmd(this.#fetchOp, UBLK_IO_FETCH_REQ, c, 0);
    this.#ring.submit();
    this.#loop();
  }

  async #loop(): Promise<void> {
    const ring = this.#ring;
    try {
      while (!this.#closed) {
        this.#reap();
        this.#flush();
        if (this.#gone >= this.depth && this.#inflightTarget === 0) break;
        const r = await ring.wait(1);
        if (r < 0 || this.#closed) break;
        if (this.#backlog.length > 0) this.#drainBacklog();
      }
    } finally {
      this.#running = false;
      this.#resolveDone();
    }
  }

  #reap(): void {
    const ring = this.#ring;
    const cv = ring.cqView;
    this.#inReap = true;
    let n: number;
    while ((n = ring.cqReady()) > 0) {
      for (let i = 0; i < n; i++) {
        const o = ring.cqeOffset(i);
        const lo = cv.getUint32(o + IoUringCqe.OFFSET_USER_DATA, true);
        const hi = cv.getUint32(o + IoUringCqe.OFFSET_USER_DATA + 4, true);
        const res = cv.getInt32(o + IoUringCqe.OFFSET_RES, true);
        if (userDataIsTargetIo(hi)) {
          this.#targetCqe(lo, hi, res, cv.getUint32(o + IoUringCqe.OFFSET_FLAGS, true));
          continue;
        }
        const tag = userDataTag(lo);
        if (res === 0) {
          this.#handle(tag);
        } else if (res === UBLK_IO_RES_NEED_GET_DATA) {
          const c = this.#ctxs[tag]!;
          this.#ioCmd(this.#ngdOp, UBLK_IO_NEED_GET_DATA, c, 0);
        } else {
          if (res !== UBLK_IO_RES_ABORT) this.errors++;
          this.#gone++;
        }
      }
      ring.cqAdvance(n);
    }
    this.#inReap = false;
  }

  #handle(tag: number): void {
    const c = this.#ctxs[tag]!;
    const iod = c.iod.load(this.#iod, tag * UblksrvIoDesc.SIZE);
    let r: number | Promise<number>;
    try {
      r = this.target.handleIo(c, tag, iod);
    } catch {
      r = -EIO;
    }
    if (typeof r === "number") this.commit(tag, r);
    else r.then(c.onResult, c.onError);
  }

  /**
   * Commits a tag's result (COMMIT_AND_FETCH_REQ). Called by the loop; exposed for targets
   * that complete out of band.
   *
   * @param tag The tag.
   * @param res Bytes done or a negative errno.
   */
  commit(tag: number, res: number): void {
    if (this.#closed) return;
    this.served++;
    this.#ioCmd(this.#commitOp, UBLK_IO_COMMIT_AND_FETCH_REQ, this.#ctxs[tag]!, res | 0);
    if (!this.#inReap) this.#schedule();
  }

  /**
   * A free SQE slot: when the SQ is full, flushes it first (as libublk's
   * `submit_and_wait(0)` then push again).
   *
   * @returns The SQE's byte offset, or -1 when the kernel left the SQ full.
   */
  #sqe(): number {
    const ring = this.#ring;
    let off = ring.getSqeOffset();
    if (off < 0 && !this.#closed) {
      this.#submit();
      off = ring.getSqeOffset();
    }
    return off;
  }

  #submit(): void {
    try {
      this.#ring.submit();
    } catch {
      // A closed ring: the loop ends on its next wait.
    }
  }

  #ioCmd(cmdOp: number, nr: number, c: TagCtx, result: number): void {
    const off = this.#sqe();
    if (off < 0) {
      // Never dropped: retried after the next completion (or flush) frees the SQ.
      this.#backlog.push(c.tag, nr, result);
      if (!this.#inReap) this.#schedule();
      return;
    }
    this.#writeIoCmd(off, cmdOp, nr, c, result);
  }

  #writeIoCmd(off: number, cmdOp: number, nr: number, c: TagCtx, result: number): void {
    const v = this.#ring.sqes;
    prepUringCmdAt(v, off, 0, cmdOp); // fixed file 0: /dev/ublkcN
    sqeSetFlags(v, off, IOSQE_FIXED_FILE);
    sqeSetUserData32(v, off, userDataLo(c.tag, nr, 0), 0);
    UblksrvIoCmd.set(v, off + IoUringSqe.OFFSET_CMD, this.qid, c.tag, result, c.addr);
  }

  #opOf(nr: number): number {
    if (nr === UBLK_IO_FETCH_REQ) return this.#fetchOp;
    if (nr === UBLK_IO_NEED_GET_DATA) return this.#ngdOp;
    return this.#commitOp;
  }

  #drainBacklog(): void {
    const b = this.#backlog;
    let i = 0;
    while (i < b.length) {
      const off = this.#sqe();
      if (off < 0) break;
      const nr = b[i + 1]!;
      this.#writeIoCmd(off, this.#opOf(nr), nr, this.#ctxs[b[i]!]!, b[i + 2]!);
      i += 3;
    }
    b.splice(0, i);
  }

  #schedule(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(this.#flushFn);
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#closed) return;
    if (this.#backlog.length > 0) this.#drainBacklog();
    if (this.#ring.sqReady() > 0) this.#submit();
  }

  /**
   * A target SQE for `c` (see {@linkcode TargetIoCtx.submit}).
   *
   * @param c The tag context.
   * @param prep Fills the SQE.
   * @returns The CQE result.
   * @internal
   */
  targetSubmit(c: TagCtx, prep: PrepSqe): Promise<number> {
    if (this.#closed) return Promise.resolve(-ECANCELED);
    const slot = c.allocSlot(false);
    const off = slot < 0 ? -1 : this.#sqe();
    if (off < 0) {
      if (slot >= 0) this.#freeSlot(c, slot);
      return Promise.resolve(-EBUSY);
    }
    const v = this.#ring.sqes;
    prep(v, off);
    const op = v.getUint8(off + IoUringSqe.OFFSET_OPCODE);
    sqeSetUserData32(v, off, userDataLo(c.tag, op, slot), userDataHi(slot, true));
    this.#inflightTarget++;
    const p = new Promise<number>(c.slots[slot]!.executor);
    if (!this.#inReap) this.#schedule();
    return p;
  }

  /**
   * A fused pair for `c` (see {@linkcode TargetIoCtx.fused}).
   *
   * @param c The tag context.
   * @param io The slave.
   * @returns The slave's result or the master's error.
   * @internal
   */
  targetFused(c: TagCtx, io: FusedIo): Promise<number> {
    if (this.#closed) return Promise.resolve(-ECANCELED);
    const slot = c.allocSlot(true);
    const off = slot < 0 ? -1 : this.#sqe();
    if (off < 0) {
      if (slot >= 0) this.#freeSlot(c, slot);
      return Promise.resolve(-EBUSY);
    }
    const iod = c.iod;
    const v = this.#ring.sqes;
    const hi = userDataHi(slot, true);
    // master: FUSED_CMD to /dev/ublkcN (fixed 0), cmd_op FUSED_SUBMIT_IO, cmd = {q_id, tag}
    prepRwAt(v, off, IORING_OP_FUSED_CMD, 0, 0, 0, 0);
    v.setUint32(off + IoUringSqe.OFFSET_CMD_OP, UBLK_IO_FUSED_SUBMIT_IO, true);
    sqeSetFlags(v, off, IOSQE_FIXED_FILE);
    sqeSetUserData32(v, off, userDataLo(c.tag, UBLK_IO_FUSED_SUBMIT_IO, slot), hi);
    UblksrvIoCmd.set(v, off + IoUringSqe.OFFSET_CMD, this.qid, c.tag, 0, 0n);
    // slave: a normal SQE in the second half, whose addr is an offset into the request buffer
    const s = off + IoUringSqe.SIZE;
    // READ/WRITE default to the request's offset; socket ops need addr2 == 0.
    const rw = io.opcode === IORING_OP_READ || io.opcode === IORING_OP_WRITE;
    const fileOff = io.off ?? (rw ? iod.startSector * 512 : 0);
    prepRwAt(v, s, io.opcode, io.fd, io.bufOff ?? 0, io.len ?? iod.nrSectors * 512, fileOff);
    sqeSetFlags(v, s, (io.flags ?? 0) | (io.fixed !== false ? IOSQE_FIXED_FILE : 0));
    sqeSetOpFlags(v, s, io.opFlags ?? 0);
    sqeSetUserData32(v, s, userDataLo(c.tag, io.opcode, slot), hi);
    this.#inflightTarget++;
    const p = new Promise<number>(c.slots[slot]!.executor);
    if (!this.#inReap) this.#schedule();
    return p;
  }

  #freeSlot(c: TagCtx, slot: number): void {
    const s = c.slots[slot]!;
    s.busy = false;
    s.resolve = null;
    c.free.push(slot);
  }

  #targetCqe(lo: number, hi: number, res: number, flags: number): void {
    if ((flags & IORING_CQE_F_NOTIF) !== 0) return;
    const c = this.#ctxs[userDataTag(lo)];
    if (c === undefined) return;
    const slot = userDataTgtData(lo, hi);
    const s = c.slots[slot];
    if (s === undefined || !s.busy) return;
    const op = userDataOp(lo);
    if (s.fused && op !== UBLK_IO_FUSED_SUBMIT_IO) {
      s.slaveSeen = true;
      s.slaveRes = res;
      return;
    }
    const f = s.resolve!;
    const r = s.fused && s.slaveSeen ? s.slaveRes : res;
    this.#freeSlot(c, slot);
    this.#inflightTarget--;
    f(r);
  }

  /** A dying server: closes the ring now (pending commands are cancelled by the kernel). */
  kill(): void {
    this.close();
  }

  /** Closes the ring. Safe twice. Target I/O in flight resolves -ECANCELED. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#ring.close();
    if (this.#mapping !== null) this.#kernel.munmap(this.#mapping);
    for (const c of this.#ctxs) {
      for (let i = 0; i < c.slots.length; i++) {
        const s = c.slots[i]!;
        if (s.busy && s.resolve !== null) {
          const f = s.resolve;
          this.#freeSlot(c, i);
          f(-ECANCELED);
        }
      }
    }
    this.#inflightTarget = 0;
    if (!this.#running) this.#resolveDone();
  }

  /** The kernel the queue runs on. */
  get kernel(): Kernel {
    return this.#kernel;
  }
}
