/**
 * {@linkcode UblkQueue}: one queue of a ublk server — its own SQE128 ring with `/dev/ublkcN`
 * as fixed file 0 (and the target's files as 1..n), the queue's io descriptors, one aligned
 * buffer arena (copy and user copy), and the loop: FETCH every tag, read CQEs, look at
 * `io_desc[tag]`, call the target, commit with COMMIT_AND_FETCH_REQ. Target I/O (plain SQEs,
 * zero-copy ops) goes through the same ring; `user_data` comes from `_user_data.ts` only.
 *
 * Per data mode ({@linkcode DataMode}):
 * - copy / NEED_GET_DATA: the FETCH/COMMIT `addr` is the tag's arena slice.
 * - user-copy: `addr` 0; a WRITE's data is read from `/dev/ublkcN` at
 *   `ublkUserCopyPos(q, tag, 0)` into the slice before the target sees it, a READ's result is
 *   written there after (a short or failed copy fails the request with -EIO / its errno).
 * - register: `ctx.fused` registers the request pages at `buf_index` = tag
 *   (UBLK_U_IO_REGISTER_IO_BUF, IOSQE_IO_LINK to the first data op, CQE_SKIP_SUCCESS) once per
 *   request and runs READ_FIXED / WRITE_FIXED; COMMIT is preceded by UNREGISTER_IO_BUF.
 * - auto: the FETCH/COMMIT SQE's own `addr` is `ublk_auto_buf_reg {index: tag, FALLBACK when
 *   the device has SUPPORT_ZERO_COPY}`; the driver registers and unregisters; a request with
 *   UBLK_IO_F_NEED_REG_BUF is served as in register mode.
 * - fused (the RFC, model only): `ctx.fused` issues FUSED_CMD pairs.
 *
 * Hot path: no allocation per I/O for targets that return a number; async targets cost one
 * Promise per I/O.
 *
 * @module
 */

import {
  EBUSY,
  ECANCELED,
  EINVAL,
  EIO,
  ErrnoError,
  IORING_CQE_F_NOTIF,
  IORING_OP_FUSED_CMD,
  IORING_OP_READ,
  IORING_OP_READ_FIXED,
  IORING_OP_RECV,
  IORING_OP_SEND_ZC,
  IORING_OP_WRITE,
  IORING_OP_WRITE_FIXED,
  IORING_RECVSEND_FIXED_BUF,
  IORING_SETUP_SQE128,
  IOSQE_CQE_SKIP_SUCCESS,
  IOSQE_FIXED_FILE,
  IOSQE_IO_LINK,
  IoUringCqe,
  IoUringSqe,
  PROT_READ,
  UBLK_AUTO_BUF_REG_FALLBACK,
  UBLK_F_SUPPORT_ZERO_COPY,
  UBLK_IO_COMMIT_AND_FETCH_REQ,
  UBLK_IO_F_NEED_REG_BUF,
  UBLK_IO_FETCH_REQ,
  UBLK_IO_FUSED_SUBMIT_IO,
  UBLK_IO_NEED_GET_DATA,
  UBLK_IO_OP_READ,
  UBLK_IO_OP_WRITE,
  UBLK_IO_RES_ABORT,
  UBLK_IO_RES_NEED_GET_DATA,
  UBLK_U_IO_COMMIT_AND_FETCH_REQ,
  UBLK_U_IO_FETCH_REQ,
  UBLK_U_IO_NEED_GET_DATA,
  UBLK_U_IO_REGISTER_IO_BUF,
  UBLK_U_IO_UNREGISTER_IO_BUF,
  UblkAutoBufReg,
  ublkQueueDescOffset,
  ublkQueueDescSize,
  type UblksrvCtrlDevInfoValue,
  UblksrvIoCmd,
  UblksrvIoDesc,
  ublkUserCopyPos,
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
  sqeSetBufIndex,
  sqeSetFlags,
  sqeSetIoprio,
  sqeSetOpFlags,
  sqeSetUserData32,
} from "@ublk-ts/ring";
import { allocIoMemory, validateFlags } from "@ublk-ts/rsrc";
import { type DataMode, dataModeOf, isZeroCopyMode } from "./data_mode.ts";
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
  /**
   * Auto buffer registration: name a buffer index no table has (0xffff) in every FETCH/COMMIT,
   * so the driver's registration always fails and every request comes with
   * UBLK_IO_F_NEED_REG_BUF (the fallback path, as kublk's null target under
   * `--auto_zc_fallback`). Needs a device with UBLK_F_SUPPORT_ZERO_COPY too. Default false.
   */
  forceAutoFallback?: boolean;
}

/** `MSG_WAITALL` (`<linux/socket.h>`). */
const MSG_WAITALL = 0x100;
/** `_IOC_NR` of UBLK_U_IO_REGISTER_IO_BUF / UNREGISTER_IO_BUF: the `op` of their user_data. */
const NR_REGISTER_IO_BUF = UBLK_U_IO_REGISTER_IO_BUF & 0xff;
const NR_UNREGISTER_IO_BUF = UBLK_U_IO_UNREGISTER_IO_BUF & 0xff;
/** A buffer index outside any table this queue registers (forces the auto-reg fallback). */
const NO_BUF_INDEX = 0xffff;

/** What a slot runs. */
const KIND_SQE = 0, KIND_FUSED = 1, KIND_FIXED = 2;

/** One in-flight target I/O of a tag. */
class Slot {
  busy = false;
  kind = KIND_SQE;
  slaveSeen = false;
  slaveRes = 0;
  // KIND_FIXED: the op and how far it got (continued when a stream op comes back short).
  op = 0;
  fd = 0;
  sqeFlags = 0;
  opFlags = 0;
  bufOff = 0;
  len = 0;
  fileOff = 0;
  done = 0;
  cont = false;
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
  readonly dataMode: DataMode;
  readonly bufAddr: number;
  readonly dev: TargetDevInfo;
  /** `ublksrv_io_cmd.addr` of FETCH/COMMIT: the arena slice in copy mode, else 0. */
  readonly addr: bigint;
  /** The FETCH/COMMIT SQE's own `addr` (auto buffer registration), else 0. */
  readonly sqeAddr: bigint;
  /** User copy: `ublkUserCopyPos(q, tag, 0)`. */
  readonly ucPos: bigint;
  readonly iod: IoDesc = new IoDesc();
  /** Register/auto: 1 when this request's pages were registered by the server (unregister at commit). */
  reg = 0;
  /** Register/auto: the registration's error for this request (0 when none). */
  regErr = 0;
  /** Register/auto: the slot of the data op linked to the registration in flight, or -1. */
  regSlot = -1;
  /** Auto: the driver registered this request's pages. */
  autoReg = false;
  /** User copy: the READ result being copied out. */
  ucLen = 0;
  readonly slots: Slot[] = [];
  readonly free: number[] = [];
  readonly onResult: (res: number) => void;
  readonly onError: (e: unknown) => void;
  readonly #q: UblkQueue;

  constructor(
    q: UblkQueue,
    tag: number,
    buf: Uint8Array,
    bufAddr: bigint,
    dev: TargetDevInfo,
    sqeAddr: bigint,
  ) {
    this.#q = q;
    this.qid = q.qid;
    this.tag = tag;
    this.buf = buf;
    this.zeroCopy = dev.zeroCopy;
    this.dataMode = q.dataMode;
    this.dev = dev;
    this.bufAddr = Number(bufAddr);
    this.addr = q.dataMode === "copy" ? bufAddr : 0n;
    this.sqeAddr = sqeAddr;
    this.ucPos = q.dataMode === "user-copy" ? ublkUserCopyPos(q.qid, tag, 0) : 0n;
    this.onResult = (res: number) => q.commit(tag, res);
    this.onError = () => q.commit(tag, -EIO);
  }

  allocSlot(kind: number): number {
    let i = this.free.pop();
    if (i === undefined) {
      i = this.slots.length;
      if (i > 0xffff) return -1;
      this.slots.push(new Slot());
    }
    const s = this.slots[i]!;
    s.busy = true;
    s.kind = kind;
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
  /** The device's data mode. */
  readonly dataMode: DataMode;
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
    // The data mode the negotiated flags call for, checked before anything is set up
    // (libublk's validate_compatibility).
    if (validateFlags(info.flags) < 0) {
      throw new ErrnoError(EINVAL, {
        op: `ublk queue: contradictory data mode flags 0x${info.flags.toString(16)}`,
      });
    }
    const mode = dataModeOf(info.flags);
    this.dataMode = mode;
    const zeroCopy = isZeroCopyMode(mode);
    const per = info.maxIoBufBytes;
    // Copy and user copy: one page-aligned arena (the real address too: the kernel's copies
    // into it run at full speed and O_DIRECT accepts it), a page-multiple slice per tag.
    const arena = zeroCopy ? new Uint8Array(0) : allocIoMemory(per * this.depth);
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
      // register/auto: a sparse buffer table, slot `tag` for the tag's request pages.
      if (mode === "register" || mode === "auto") ring.registerBuffersSparse(this.depth);
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
      dataMode: mode,
      zeroCopy,
    };
    const base = arena.length > 0 ? kernel.addressOf(arena) : 0n;
    // auto: FALLBACK only when the device can register by hand (SUPPORT_ZERO_COPY).
    const fallback = (info.flags & UBLK_F_SUPPORT_ZERO_COPY) !== 0n;
    if (options.forceAutoFallback === true && !(mode === "auto" && fallback)) {
      throw new TypeError(
        "Cannot force the auto-registration fallback: the device needs UBLK_F_AUTO_BUF_REG and UBLK_F_SUPPORT_ZERO_COPY",
      );
    }
    for (let t = 0; t < this.depth; t++) {
      const buf = zeroCopy ? arena : arena.subarray(t * per, (t + 1) * per);
      const addr = zeroCopy ? 0n : base + BigInt(t * per);
      const sqeAddr = mode !== "auto" ? 0n : UblkAutoBufReg.toSqeAddr({
        index: options.forceAutoFallback === true ? NO_BUF_INDEX : t,
        flags: fallback ? UBLK_AUTO_BUF_REG_FALLBACK : 0,
        reserved0: 0,
        reserved1: 0,
      });
      this.#ctxs.push(new TagCtx(this, t, buf, addr, dev, sqeAddr));
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
        const op = userDataOp(lo);
        if (op < UBLK_IO_FETCH_REQ || op > UBLK_IO_NEED_GET_DATA) {
          this.#queueCqe(tag, op, res);
        } else if (res === 0) {
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

  /**
   * A CQE of an SQE the queue issued for itself: a buffer (un)registration's failure, or a
   * user copy.
   */
  #queueCqe(tag: number, op: number, res: number): void {
    const c = this.#ctxs[tag];
    if (c === undefined) return;
    switch (op) {
      case NR_REGISTER_IO_BUF:
        // Posted on failure only (CQE_SKIP_SUCCESS). A failed head with CQE_SKIP_SUCCESS also
        // suppresses the CQEs of its links (the kernel's REQ_F_SKIP_LINK_CQES): the linked
        // data op ends here, with this error; later ops of the request get it at once.
        if (res < 0) {
          c.regErr = res;
          c.reg = 0;
          this.errors++;
          const sl = c.regSlot;
          c.regSlot = -1;
          const s = sl >= 0 ? c.slots[sl] : undefined;
          if (s !== undefined && s.busy && s.kind === KIND_FIXED) {
            const f = s.resolve!;
            this.#freeSlot(c, sl);
            this.#inflightTarget--;
            f(res);
          }
        }
        return;
      case NR_UNREGISTER_IO_BUF:
        if (res < 0) this.errors++;
        return;
      case IORING_OP_READ: // user copy: the WRITE request's data is in the tag buffer now
        this.#inflightTarget--;
        if (res === c.iod.bytes) this.#dispatch(c);
        else this.#commitNow(c, res < 0 ? res : -EIO);
        return;
      case IORING_OP_WRITE: // user copy: the READ result is in the request pages now
        this.#inflightTarget--;
        this.#commitNow(c, res === c.ucLen ? res : res < 0 ? res : -EIO);
        return;
    }
  }

  #handle(tag: number): void {
    const c = this.#ctxs[tag]!;
    const iod = c.iod.load(this.#iod, tag * UblksrvIoDesc.SIZE);
    const mode = this.dataMode;
    if (mode === "register" || mode === "auto") {
      c.reg = 0;
      c.regErr = 0;
      c.regSlot = -1;
      c.autoReg = mode === "auto" && (iod.flags & UBLK_IO_F_NEED_REG_BUF) === 0 &&
        (iod.op === UBLK_IO_OP_READ || iod.op === UBLK_IO_OP_WRITE) && iod.nrSectors > 0;
    } else if (mode === "user-copy" && iod.op === UBLK_IO_OP_WRITE && iod.nrSectors > 0) {
      if (!this.#userCopy(c, IORING_OP_READ, iod.bytes)) this.#commitNow(c, -EIO);
      return;
    }
    this.#dispatch(c);
  }

  #dispatch(c: TagCtx): void {
    let r: number | Promise<number>;
    try {
      r = this.target.handleIo(c, c.tag, c.iod);
    } catch {
      r = -EIO;
    }
    if (typeof r === "number") this.commit(c.tag, r);
    else r.then(c.onResult, c.onError);
  }

  /** User copy: one READ (WRITE request) or WRITE (READ result) on `/dev/ublkcN`. */
  #userCopy(c: TagCtx, op: number, len: number): boolean {
    const off = this.#sqe();
    if (off < 0) return false;
    const v = this.#ring.sqes;
    prepRwAt(v, off, op, 0, c.bufAddr, len, c.ucPos);
    sqeSetFlags(v, off, IOSQE_FIXED_FILE);
    sqeSetUserData32(v, off, userDataLo(c.tag, op, 0), 0);
    this.#inflightTarget++;
    if (!this.#inReap) this.#schedule();
    return true;
  }

  /**
   * Commits a tag's result (COMMIT_AND_FETCH_REQ). Called by the loop; exposed for targets
   * that complete out of band. In user copy a READ's data is copied out first; in register
   * mode the request's buffer is unregistered first.
   *
   * @param tag The tag.
   * @param res Bytes done or a negative errno.
   */
  commit(tag: number, res: number): void {
    if (this.#closed) return;
    const c = this.#ctxs[tag]!;
    if (this.dataMode === "user-copy" && c.iod.op === UBLK_IO_OP_READ && res > 0) {
      c.ucLen = res;
      if (this.#userCopy(c, IORING_OP_WRITE, res)) return;
      res = -EIO;
    }
    this.#commitNow(c, res);
  }

  #commitNow(c: TagCtx, res: number): void {
    if (this.#closed) return;
    this.served++;
    if (c.reg !== 0) {
      c.reg = 0;
      this.#ioCmd(UBLK_U_IO_UNREGISTER_IO_BUF, NR_UNREGISTER_IO_BUF, c, 0);
    }
    this.#ioCmd(this.#commitOp, UBLK_IO_COMMIT_AND_FETCH_REQ, c, res | 0);
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
    sqeSetUserData32(v, off, userDataLo(c.tag, nr, 0), 0);
    if (nr === NR_UNREGISTER_IO_BUF) {
      sqeSetFlags(v, off, IOSQE_FIXED_FILE | IOSQE_CQE_SKIP_SUCCESS);
      UblksrvIoCmd.set(v, off + IoUringSqe.OFFSET_CMD, this.qid, c.tag, 0, BigInt(c.tag));
      return;
    }
    sqeSetFlags(v, off, IOSQE_FIXED_FILE);
    // auto buffer registration reads the SQE's own addr (not ublksrv_io_cmd.addr)
    if (c.sqeAddr !== 0n) v.setBigUint64(off + IoUringSqe.OFFSET_ADDR, c.sqeAddr, true);
    UblksrvIoCmd.set(v, off + IoUringSqe.OFFSET_CMD, this.qid, c.tag, result, c.addr);
  }

  #opOf(nr: number): number {
    if (nr === UBLK_IO_FETCH_REQ) return this.#fetchOp;
    if (nr === UBLK_IO_NEED_GET_DATA) return this.#ngdOp;
    if (nr === NR_UNREGISTER_IO_BUF) return UBLK_U_IO_UNREGISTER_IO_BUF;
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
    const slot = c.allocSlot(KIND_SQE);
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
   * A zero-copy op for `c` (see {@linkcode TargetIoCtx.fused}): a fused pair, or a fixed-buffer
   * op on the registered request pages.
   *
   * @param c The tag context.
   * @param io The op.
   * @returns The op's result or the driver's error.
   * @internal
   */
  targetFused(c: TagCtx, io: FusedIo): Promise<number> {
    if (this.#closed) return Promise.resolve(-ECANCELED);
    const mode = this.dataMode;
    if (mode === "register" || mode === "auto") return this.#fixedIo(c, io);
    if (mode !== "fused") return Promise.resolve(-EINVAL); // copy modes: use ctx.buf
    const slot = c.allocSlot(KIND_FUSED);
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

  /**
   * register/auto: `io` as READ_FIXED / WRITE_FIXED on buffer `tag`, after registering the
   * request pages when the server must (register mode, or auto's NEED_REG_BUF).
   */
  #fixedIo(c: TagCtx, io: FusedIo): Promise<number> {
    if (c.regErr < 0) return Promise.resolve(c.regErr);
    const slot = c.allocSlot(KIND_FIXED);
    if (slot < 0) return Promise.resolve(-EBUSY);
    const s = c.slots[slot]!;
    const iod = c.iod;
    const op = io.opcode;
    const rw = op === IORING_OP_READ || op === IORING_OP_WRITE;
    const toPages = op === IORING_OP_READ || op === IORING_OP_RECV;
    // SEND_ZC keeps its opcode (IORING_RECVSEND_FIXED_BUF on the registered pages: the request
    // completes when the notification has released them); the rest become READ/WRITE_FIXED.
    s.op = op === IORING_OP_SEND_ZC
      ? IORING_OP_SEND_ZC
      : toPages
      ? IORING_OP_READ_FIXED
      : IORING_OP_WRITE_FIXED;
    s.fd = io.fd;
    // every CQE is needed (continuations, the registration's error): no CQE_SKIP_SUCCESS
    s.sqeFlags = ((io.flags ?? 0) & ~IOSQE_CQE_SKIP_SUCCESS) |
      (io.fixed !== false ? IOSQE_FIXED_FILE : 0);
    // rw_flags (RWF_*) go through for files, msg_flags for SEND_ZC; READ/WRITE on a socket
    // have no msg flags
    s.opFlags = rw || op === IORING_OP_SEND_ZC ? io.opFlags ?? 0 : 0;
    s.bufOff = io.bufOff ?? 0;
    s.len = io.len ?? iod.bytes;
    s.fileOff = rw ? io.off ?? iod.offset : 0;
    s.done = 0;
    // a stream op that must move everything: SEND always, RECV with MSG_WAITALL
    s.cont = !rw && (!toPages || ((io.opFlags ?? 0) & MSG_WAITALL) !== 0);
    if (!c.autoReg && c.reg === 0) {
      // The registration and its linked data op go into one submit (a link cut by a flush in
      // between would let the op run without the buffer).
      if (this.#ring.sqSpaceLeft() < 2) this.#submit();
      const off = this.#ring.sqSpaceLeft() < 2 ? -1 : this.#ring.getSqeOffset();
      if (off < 0) {
        this.#freeSlot(c, slot);
        return Promise.resolve(-EBUSY);
      }
      const v = this.#ring.sqes;
      prepUringCmdAt(v, off, 0, UBLK_U_IO_REGISTER_IO_BUF);
      sqeSetFlags(v, off, IOSQE_FIXED_FILE | IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS);
      sqeSetUserData32(v, off, userDataLo(c.tag, NR_REGISTER_IO_BUF, 0), 0);
      UblksrvIoCmd.set(v, off + IoUringSqe.OFFSET_CMD, this.qid, c.tag, 0, BigInt(c.tag));
      c.reg = 1;
      c.regSlot = slot;
    }
    if (!this.#issueFixed(c, slot)) {
      this.#freeSlot(c, slot);
      return Promise.resolve(-EBUSY);
    }
    this.#inflightTarget++;
    const p = new Promise<number>(s.executor);
    if (!this.#inReap) this.#schedule();
    return p;
  }

  /** Writes the SQE of a fixed-buffer slot for what is left of it. */
  #issueFixed(c: TagCtx, slot: number): boolean {
    const s = c.slots[slot]!;
    const off = this.#sqe();
    if (off < 0) return false;
    const v = this.#ring.sqes;
    const d = s.done;
    prepRwAt(v, off, s.op, s.fd, s.bufOff + d, s.len - d, s.cont ? 0 : s.fileOff + d);
    sqeSetFlags(v, off, s.sqeFlags);
    sqeSetOpFlags(v, off, s.opFlags);
    sqeSetBufIndex(v, off, c.tag);
    if (s.op === IORING_OP_SEND_ZC) sqeSetIoprio(v, off, IORING_RECVSEND_FIXED_BUF);
    sqeSetUserData32(v, off, userDataLo(c.tag, s.op, slot), userDataHi(slot, true));
    return true;
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
    if (s.kind === KIND_FIXED) {
      if (c.regSlot === slot) c.regSlot = -1;
      if (res > 0 && s.cont && s.done + res < s.len) {
        s.done += res;
        if (this.#issueFixed(c, slot)) return;
        res = 0; // no SQE: end short
      }
      const r = res < 0 ? (s.done > 0 ? s.done : res) : s.done + res;
      const f = s.resolve!;
      this.#freeSlot(c, slot);
      this.#inflightTarget--;
      f(r);
      return;
    }
    const op = userDataOp(lo);
    if (s.kind === KIND_FUSED && op !== UBLK_IO_FUSED_SUBMIT_IO) {
      s.slaveSeen = true;
      s.slaveRes = res;
      return;
    }
    const f = s.resolve!;
    const r = s.kind === KIND_FUSED && s.slaveSeen ? s.slaveRes : res;
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
