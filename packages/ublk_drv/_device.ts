/**
 * One ublk device of the model driver (`struct ublk_device`): its info and params, its queues
 * with per-tag io state (`struct ublk_io`) and descriptor areas, the request engine (dispatch,
 * commit, partial completion, abort, recovery) and the `/dev/ublkcN` device file.
 *
 * Private to the package: `driver.ts` owns devices, `block_device.ts` submits requests.
 *
 * @module
 */

import {
  EACCES,
  EAGAIN,
  EBUSY,
  EILSEQ,
  EINVAL,
  EIO,
  ENODATA,
  ENOLINK,
  ENOMEM,
  ENOSPC,
  EOPNOTSUPP,
  EPERM,
  EREMOTEIO,
  ETIMEDOUT,
  IO_URING_F_FUSED,
  IO_URING_F_FUSED_READ,
  IO_URING_F_FUSED_WRITE,
  IO_URING_F_SQE128,
  PROT_WRITE,
  UBLK_AUTO_BUF_REG_F_MASK,
  UBLK_AUTO_BUF_REG_FALLBACK,
  UBLK_F_AUTO_BUF_REG,
  UBLK_F_CMD_IOCTL_ENCODE,
  UBLK_F_NEED_GET_DATA,
  UBLK_F_RFC_FUSED_ZC,
  UBLK_F_SUPPORT_ZERO_COPY,
  UBLK_F_UNPRIVILEGED_DEV,
  UBLK_F_URING_CMD_COMP_IN_TASK,
  UBLK_F_USER_COPY,
  UBLK_F_USER_RECOVERY,
  UBLK_F_USER_RECOVERY_FAIL_IO,
  UBLK_F_USER_RECOVERY_REISSUE,
  UBLK_IO_BUF_BITS_MASK,
  UBLK_IO_COMMIT_AND_FETCH_REQ,
  UBLK_IO_F_NEED_REG_BUF,
  UBLK_IO_FETCH_REQ,
  UBLK_IO_FUSED_SUBMIT_IO,
  UBLK_IO_NEED_GET_DATA,
  UBLK_IO_OP_READ,
  UBLK_IO_OP_WRITE,
  UBLK_IO_RES_ABORT,
  UBLK_IO_RES_NEED_GET_DATA,
  UBLK_IO_RES_OK,
  UBLK_IOC_TYPE,
  UBLK_MAX_CMD_BUF_SIZE,
  UBLK_PAGE_SIZE,
  UBLK_QID_BITS_MASK,
  UBLK_QID_OFF,
  UBLK_S_DEV_DEAD,
  UBLK_S_DEV_FAIL_IO,
  UBLK_S_DEV_LIVE,
  UBLK_S_DEV_QUIESCED,
  UBLK_TAG_BITS_MASK,
  UBLK_TAG_OFF,
  UBLK_U_IO_REGISTER_IO_BUF,
  UBLK_U_IO_UNREGISTER_IO_BUF,
  UblkAutoBufReg,
  UblkParams,
  ublkQueueDescSize,
  UBLKSRV_IO_BUF_OFFSET,
  UblksrvCtrlDevInfo,
  type UblksrvCtrlDevInfoValue,
  UblksrvIoCmd,
  UblksrvIoDesc,
} from "@ublk-ts/uapi";
import type { ModelFile } from "@ublk-ts/model";
import { MappedBuffer } from "@ublk-ts/rsrc";
import { type CmdReq, type DeviceFileLike, ISSUE_QUEUED, type ProvideBuffer } from "./_port.ts";

/** Page size of the model (descriptor areas, buffer alignment): `UBLK_PAGE_SIZE`. */
export const PAGE: number = UBLK_PAGE_SIZE;
/** Size of one `ublksrv_io_desc`. */
const IOD = UblksrvIoDesc.SIZE;
/** Bytes of one queue's slot in the descriptor mmap space (`ublk_max_cmd_buf_size()`). */
export const MAX_CMD_BUF: number = UBLK_MAX_CMD_BUF_SIZE;

// Field offsets, as 32-bit halves where the model writes a u64 without a bigint.
const IOD_OP_FLAGS = UblksrvIoDesc.OFFSET_OP_FLAGS;
const IOD_NR_SECTORS = UblksrvIoDesc.OFFSET_NR_SECTORS;
const IOD_START_LO = UblksrvIoDesc.OFFSET_START_SECTOR;
const IOD_START_HI = UblksrvIoDesc.OFFSET_START_SECTOR + 4;
const IOD_ADDR_LO = UblksrvIoDesc.OFFSET_ADDR;
const IOD_ADDR_HI = UblksrvIoDesc.OFFSET_ADDR + 4;
const CMD_Q_ID = UblksrvIoCmd.OFFSET_Q_ID;
const CMD_TAG = UblksrvIoCmd.OFFSET_TAG;
const CMD_RESULT = UblksrvIoCmd.OFFSET_RESULT;
const CMD_ADDR_LO = UblksrvIoCmd.OFFSET_ADDR;
const CMD_ADDR_HI = UblksrvIoCmd.OFFSET_ADDR + 4;

/** `_IOC_NR` of UBLK_U_IO_REGISTER_IO_BUF / UBLK_U_IO_UNREGISTER_IO_BUF (the switch is on it). */
const NR_REGISTER_IO_BUF = UBLK_U_IO_REGISTER_IO_BUF & 0xff;
const NR_UNREGISTER_IO_BUF = UBLK_U_IO_UNREGISTER_IO_BUF & 0xff;

const F_ACTIVE = 1;
const F_OWNED = 2;
const F_NEED_GET_DATA = 4;
const F_ABORTED = 8;
const F_CANCELED = 16;

const EMPTY = new Uint8Array(0);

/** `_IOC_TYPE` of a cmd_op. */
function iocType(op: number): number {
  return (op >>> 8) & 0xff;
}

/** `ublk_check_cmd_op` with CONFIG_BLKDEV_UBLK_LEGACY_OPCODES=y: type 'u' or 0. */
export function checkCmdOp(op: number): number {
  const t = iocType(op);
  return t === UBLK_IOC_TYPE || t === 0 ? 0 : -EOPNOTSUPP;
}

/** `errno_to_blk_status` then `blk_status_to_errno`: what a block-layer caller sees. */
export function blkErrno(res: number): number {
  switch (-res) {
    case EOPNOTSUPP:
    case ETIMEDOUT:
    case ENOSPC:
    case ENOLINK:
    case EREMOTEIO:
    case ENODATA:
    case EILSEQ:
    case ENOMEM:
    case EBUSY:
    case EAGAIN:
      return res;
    default:
      return -EIO;
  }
}

/** A client I/O (`struct bio` seen from the submitter): finishes when all its requests end. */
export class Bio {
  /** Requests not yet ended. */
  remaining = 0;
  /** Bytes transferred. */
  bytes = 0;
  /** First error (negative errno) or 0. */
  error = 0;
  /** Set once every request was created (the bio cannot finish before). */
  sealed = false;
  /** Called once with bytes or a negative errno. */
  readonly resolve: (res: number) => void;

  /**
   * A bio.
   *
   * @param resolve Receives the result.
   */
  constructor(resolve: (res: number) => void) {
    this.resolve = resolve;
  }

  /**
   * One request ended.
   *
   * @param err 0 or a negative errno.
   */
  end(err: number): void {
    if (err < 0 && this.error === 0) this.error = err;
    if (--this.remaining === 0 && this.sealed) {
      this.resolve(this.error < 0 ? this.error : this.bytes);
    }
  }

  /** All requests were created; resolves at once if they already ended. */
  seal(): void {
    this.sealed = true;
    if (this.remaining === 0) this.resolve(this.error < 0 ? this.error : this.bytes);
  }
}

/** A block request waiting for a tag. */
export interface PendingRq {
  /** The bio. */
  bio: Bio;
  /** UBLK_IO_OP_*. */
  op: number;
  /** UBLK_IO_F_*. */
  flags: number;
  /** Start sector. */
  start: number;
  /** Sectors. */
  nr: number;
  /** The request pages (caller memory). */
  pages: Uint8Array;
}

/** A block request bound to a tag (`struct request` + `ublk_rq_data`), one per tag, reused. */
export class BlkRequest {
  /** Queue. */
  readonly qid: number;
  /** Tag. */
  readonly tag: number;
  /** Holds a request. */
  inUse = false;
  /** Dispatched to the server (`blk_mq_request_started`). */
  started = false;
  /** The bio. */
  bio: Bio | null = null;
  /** UBLK_IO_OP_*. */
  op = 0;
  /** UBLK_IO_F_*. */
  flags = 0;
  /** Current start sector (advances on partial completion). */
  start = 0;
  /** Sectors left. */
  nr = 0;
  /** Request pages left (caller memory). */
  pages: Uint8Array = EMPTY;
  /** Zero copy: the lent buffer over `pages`. */
  kbuf: MappedBuffer | null = null;
  /** Fused commands holding the buffer. */
  refs = 0;
  /** COMMIT_AND_FETCH_REQ arrived. */
  committed = false;
  /** The committed result. */
  res = 0;
  /**
   * The server died while fused slaves still held the request pages, under
   * UBLK_F_USER_RECOVERY_REISSUE: requeue the request (not fail it) when the last lease returns.
   */
  requeue = false;

  /**
   * A tag's request slot.
   *
   * @param qid Queue.
   * @param tag Tag.
   */
  constructor(qid: number, tag: number) {
    this.qid = qid;
    this.tag = tag;
  }
}

/** Per-tag io state (`struct ublk_io`). */
export class IoSlot {
  /** UBLK_IO_FLAG_*. */
  flags = 0;
  /** The pending FETCH/COMMIT/NEED_GET_DATA command. */
  cmd: CmdReq | null = null;
  /** Server buffer address, low and high halves. */
  addrLo = 0;
  /** High half. */
  addrHi = 0;
  /** Cached server buffer for (`cacheHi`, `cacheLo`). */
  buf: Uint8Array | null = null;
  /** Cache key, low half. */
  cacheLo = -1;
  /** Cached head view of `buf` for READ completions. */
  head: Uint8Array | null = null;
  /** Cache key, high half. */
  cacheHi = -1;
  /** UBLK_F_AUTO_BUF_REG: `index` of the last FETCH/COMMIT's `ublk_auto_buf_reg`. */
  autoIndex = 0;
  /** UBLK_F_AUTO_BUF_REG: its `flags` (UBLK_AUTO_BUF_REG_FALLBACK). */
  autoFlags = 0;
  /**
   * UBLK_IO_FLAG_AUTO_BUF_REG: the ring whose buffer table holds the auto-registered request
   * buffer at `autoIndex` (`buf_ctx_handle`), or null.
   */
  autoRing: CmdReq["ring"] | null = null;
  /** Cancels the pending command (ring exit). */
  readonly cancelFn: () => void;

  /**
   * A slot.
   *
   * @param onCancel Called on ring exit with this slot.
   */
  constructor(onCancel: (io: IoSlot) => void) {
    this.cancelFn = () => onCancel(this);
  }
}

/** One hardware queue (`struct ublk_queue`). */
export class UblkQueueState {
  /** Queue id. */
  readonly qid: number;
  /** Depth. */
  readonly depth: number;
  /** The descriptor area (`ublkQueueDescSize(depth)` bytes). */
  readonly iodBuf: ArrayBuffer;
  /** View of it. */
  readonly iod: DataView;
  /** Per-tag io state. */
  readonly ios: IoSlot[];
  /** Per-tag requests. */
  readonly rqs: BlkRequest[];
  /** Free tags (stack). */
  readonly freeTags: number[];
  /** Requests waiting for a tag. */
  readonly waiters: PendingRq[] = [];
  /** Requests held while the device is quiesced (requeue list). */
  readonly held: BlkRequest[] = [];
  /** FETCHes seen (`nr_io_ready`). */
  nrIoReady = 0;
  /** The server of this queue went away. */
  dead = false;
  /** `force_abort`. */
  forceAbort = false;

  /**
   * A queue.
   *
   * @param qid Id.
   * @param depth Depth.
   * @param onCancel Cancel hook for its slots.
   */
  constructor(qid: number, depth: number, onCancel: (io: IoSlot, q: UblkQueueState) => void) {
    this.qid = qid;
    this.depth = depth;
    this.iodBuf = new ArrayBuffer(ublkQueueDescSize(depth));
    this.iod = new DataView(this.iodBuf);
    this.ios = [];
    this.rqs = [];
    this.freeTags = [];
    for (let t = 0; t < depth; t++) {
      this.ios.push(new IoSlot((io) => onCancel(io, this)));
      this.rqs.push(new BlkRequest(qid, t));
      this.freeTags.push(depth - 1 - t);
    }
  }

  /** Whether every tag was fetched. */
  get ready(): boolean {
    return this.nrIoReady === this.depth;
  }
}

/** What a device needs from its driver. */
export interface DeviceHost {
  /** Resolves a server address. */
  resolve(addr: bigint, len: number): Uint8Array | number;
  /** The fused buffer hand-off, when fused-cmd is installed. */
  provideBuffer: ProvideBuffer | null;
  /** Called when the device is stopped or its state changed (waiters of ctrl commands). */
  onStateChange(dev: UblkDev): void;
}

/** The parsed basic/discard params the front end needs. */
export interface DevLimits {
  /** Logical block size. */
  lbs: number;
  /** Capacity in bytes. */
  capacity: number;
  /** Max request bytes. */
  maxBytes: number;
  /** chunk_sectors in bytes (0 none). */
  chunkBytes: number;
  /** UBLK_ATTR_*. */
  attrs: number;
  /** max_discard_sectors. */
  maxDiscardSectors: number;
  /** max_write_zeroes_sectors. */
  maxWriteZeroesSectors: number;
  /** discard_granularity. */
  discardGranularity: number;
}

/**
 * A ublk device.
 */
export class UblkDev implements DeviceFileLike {
  /** Device id. */
  readonly id: number;
  /** `ublksrv_ctrl_dev_info` (the driver's copy). */
  readonly info: UblksrvCtrlDevInfoValue;
  /** `ublk_params` bytes (152, the current layout). */
  readonly params: Uint8Array = new Uint8Array(UblkParams.SIZE);
  /** View of `params`. */
  readonly paramsView: DataView = new DataView(this.params.buffer);
  /** Queues. */
  readonly queues: UblkQueueState[] = [];
  /** `nr_queues_ready`. */
  nrQueuesReady = 0;
  /** The disk exists (`UB_STATE_USED`). */
  used = false;
  /** The char device is open (`UB_STATE_OPEN`). */
  isOpen = false;
  /** DEL_DEV ran. */
  deleted = false;
  /** A STOP is waiting for in-flight requests. */
  stopping = false;
  /** Requests bound to tags (in flight in the driver or the server). */
  inflight = 0;
  /** Limits applied at START_DEV. */
  limits: DevLimits | null = null;
  /** Queue chosen for the next request (round robin). */
  nextQ = 0;
  /** Commands waiting for all queues to be ready (START_DEV, END_USER_RECOVERY). */
  readonly readyWaiters: Array<() => void> = [];
  /** Commands waiting for in-flight requests to drain (STOP_DEV). */
  readonly drainWaiters: Array<() => void> = [];
  /** Commands waiting for the char device to be released (DEL_DEV). */
  readonly releaseWaiters: Array<() => void> = [];

  readonly #host: DeviceHost;
  #deferred: BlkRequest[] = [];
  #flushScheduled = false;
  readonly #flush = (): void => this.#runDeferred();

  /**
   * A device (ADD_DEV already validated and normalised `info`).
   *
   * @param host The driver.
   * @param info Device info.
   */
  constructor(host: DeviceHost, info: UblksrvCtrlDevInfoValue) {
    this.#host = host;
    this.id = info.devId;
    this.info = info;
    const onCancel = (io: IoSlot, q: UblkQueueState) => this.#onCancel(io, q);
    for (let q = 0; q < info.nrHwQueues; q++) {
      this.queues.push(new UblkQueueState(q, info.queueDepth, onCancel));
    }
  }

  /** True with UBLK_F_RFC_FUSED_ZC (the RFC's fused zero copy, model only). */
  get zeroCopy(): boolean {
    return (this.info.flags & UBLK_F_RFC_FUSED_ZC) !== 0n;
  }

  /** True with UBLK_F_USER_COPY: the server copies with pread/pwrite on `/dev/ublkcN`. */
  get userCopy(): boolean {
    return (this.info.flags & UBLK_F_USER_COPY) !== 0n;
  }

  /** True with UBLK_F_SUPPORT_ZERO_COPY (6.15: REGISTER_IO_BUF / UNREGISTER_IO_BUF). */
  get registerZc(): boolean {
    return (this.info.flags & UBLK_F_SUPPORT_ZERO_COPY) !== 0n;
  }

  /** `ublk_support_user_copy`: USER_COPY or SUPPORT_ZERO_COPY (requests are refcounted). */
  get reqRef(): boolean {
    return this.userCopy || this.registerZc;
  }

  /** True with UBLK_F_AUTO_BUF_REG (6.16: the driver registers each request buffer itself). */
  get autoBufReg(): boolean {
    return (this.info.flags & UBLK_F_AUTO_BUF_REG) !== 0n;
  }

  /** The driver copies between the request pages and a server buffer (`ublk_need_map_io`). */
  get mapIo(): boolean {
    return !this.zeroCopy && !this.reqRef && !this.autoBufReg;
  }

  /** True with UBLK_F_NEED_GET_DATA. */
  get needGetData(): boolean {
    return (this.info.flags & UBLK_F_NEED_GET_DATA) !== 0n;
  }

  /** True with UBLK_F_USER_RECOVERY. */
  get recovery(): boolean {
    return (this.info.flags & UBLK_F_USER_RECOVERY) !== 0n;
  }

  /** Encodes `info` into 64 bytes at `dst`. */
  writeInfo(dst: Uint8Array): void {
    UblksrvCtrlDevInfo.encode(
      new DataView(dst.buffer, dst.byteOffset, UblksrvCtrlDevInfo.SIZE),
      0,
      this.info,
    );
  }

  // ---- mmap of the descriptor areas -------------------------------------------------------

  /**
   * `->mmap()` of the char device (`kernel.mmap(charFd, offset, length, prot)`): see
   * {@linkcode UblkDev.mapQueue}.
   *
   * @param _file The open char device.
   * @param offset Byte offset (`ublkQueueDescOffset(q_id)`).
   * @param length `ublkQueueDescSize(depth)`.
   * @param prot PROT_* flags: PROT_WRITE fails with -EPERM (VM_WRITE, as `ublk_ch_mmap`).
   * @returns The queue's descriptor area, or -EPERM / -EINVAL.
   */
  mmap(_file: ModelFile, offset: number, length: number, prot: number): ArrayBuffer | number {
    return this.mapQueue(offset, length, (prot & PROT_WRITE) !== 0);
  }

  /**
   * `ublk_ch_mmap` of a queue's descriptor area.
   *
   * @param offset Byte offset (`q_id * MAX_CMD_BUF`; a page offset inside the slot selects
   *   the same queue, as the kernel computes `q_id = offset / max_cmd_buf_size`).
   * @param len Length: `ublkQueueDescSize(depth)`.
   * @param writable PROT_WRITE was asked.
   * @returns The queue's descriptor area, or -EPERM / -EINVAL.
   */
  mapQueue(offset: number, len: number, writable: boolean): ArrayBuffer | number {
    if (writable) return -EPERM;
    const end = this.info.nrHwQueues * MAX_CMD_BUF;
    if (offset < 0 || offset >= end || offset % PAGE !== 0) return -EINVAL;
    // As ublk_ch_mmap: any page inside a queue's slot maps that queue's whole area.
    const qid = Math.floor(offset / MAX_CMD_BUF);
    const q = this.queues[qid]!;
    if (len !== q.iodBuf.byteLength) return -EINVAL;
    return q.iodBuf;
  }

  /**
   * The descriptor area of a queue (what `mmap` returns for it).
   *
   * @param qid Queue id.
   * @returns The area, or -EINVAL for a bad queue id.
   */
  queueDescriptors(qid: number): ArrayBuffer | number {
    const q = this.queues[qid];
    return q === undefined ? -EINVAL : q.iodBuf;
  }

  // ---- device file --------------------------------------------------------------------------

  /**
   * Resolves once the char device is released (at once when it is not open).
   *
   * @returns When `isOpen` is false.
   */
  released(): Promise<void> {
    if (!this.isOpen) return Promise.resolve();
    return new Promise((resolve) => this.releaseWaiters.push(resolve));
  }

  /**
   * `ublk_ch_open`: a single opener at a time.
   *
   * @param _file The open file.
   * @returns 0 or -EBUSY.
   */
  open(_file?: unknown): number {
    if (this.isOpen) return -EBUSY;
    this.isOpen = true;
    return 0;
  }

  /**
   * `ublk_ch_release`: the server closed the char device; a live device loses its server.
   *
   * @param _file The file.
   */
  release(_file?: unknown): void {
    this.isOpen = false;
    if (this.nrQueuesReady > 0 && this.info.state !== UBLK_S_DEV_DEAD) {
      for (const q of this.queues) this.#queueDied(q);
    }
    const w = this.releaseWaiters.splice(0);
    for (const f of w) f();
  }

  /**
   * `ublk_ch_read_iter` (USER_COPY): copies a WRITE request's pages out to the server.
   *
   * @param _file The open char device.
   * @param buf Destination.
   * @param pos `ublkUserCopyPos(q_id, tag, offset)`.
   * @returns Bytes copied, or -EACCES / -EINVAL.
   */
  read(_file: ModelFile, buf: Uint8Array, pos: number): number {
    const r = this.#userCopyReq(pos, false);
    if (typeof r === "number") return r;
    const n = Math.min(buf.length, r.rq.pages.length - r.off);
    buf.set(r.rq.pages.subarray(r.off, r.off + n));
    return n;
  }

  /**
   * `ublk_ch_write_iter` (USER_COPY): copies the server's data into a READ request's pages.
   *
   * @param _file The open char device.
   * @param buf Source.
   * @param pos `ublkUserCopyPos(q_id, tag, offset)`.
   * @returns Bytes copied, or -EACCES / -EINVAL.
   */
  write(_file: ModelFile, buf: Uint8Array, pos: number): number {
    const r = this.#userCopyReq(pos, true);
    if (typeof r === "number") return r;
    const n = Math.min(buf.length, r.rq.pages.length - r.off);
    r.rq.pages.set(buf.subarray(0, n), r.off);
    return n;
  }

  /**
   * `ublk_check_and_get_req`: the request a USER_COPY position names, with the kernel's
   * order of checks (dead device -EACCES; queue -EINVAL; no user copy -EACCES; tag, not
   * started, no data or offset beyond the request -EINVAL; wrong direction -EACCES).
   */
  #userCopyReq(pos: number, toReq: boolean): { rq: BlkRequest; off: number } | number {
    if (this.info.state === UBLK_S_DEV_DEAD) return -EACCES;
    const p = BigInt(pos) - BigInt(UBLKSRV_IO_BUF_OFFSET);
    if (p < 0n) return -EINVAL;
    const qid = Number((p >> BigInt(UBLK_QID_OFF)) & UBLK_QID_BITS_MASK);
    const tag = Number((p >> BigInt(UBLK_TAG_OFF)) & UBLK_TAG_BITS_MASK);
    const off = Number(p & UBLK_IO_BUF_BITS_MASK);
    if (qid >= this.info.nrHwQueues) return -EINVAL;
    const q = this.queues[qid]!;
    // A device without user copy refuses before the tag is looked at (-EACCES: seen on 7.3.4,
    // testdata/zc_7.3.json "copy W: pread of the request").
    if (!this.reqRef) return -EACCES;
    if (tag >= q.depth) return -EINVAL;
    const rq = q.rqs[tag]!;
    if (!rq.inUse || !rq.started) return -EINVAL;
    if (rq.op !== UBLK_IO_OP_READ && rq.op !== UBLK_IO_OP_WRITE) return -EINVAL;
    if (rq.nr === 0 || off > rq.pages.length) return -EINVAL;
    if (toReq !== (rq.op === UBLK_IO_OP_READ)) return -EACCES;
    return { rq, off };
  }

  /**
   * `ublk_ch_uring_cmd`.
   *
   * @param req The command.
   * @param issueFlags Issue flags.
   * @returns Result or ISSUE_QUEUED.
   */
  uringCmd(req: CmdReq, issueFlags: number): number {
    const v = req.sqe;
    const o = req.cmdOff;
    const qid = v.getUint16(o + CMD_Q_ID, true);
    const tag = v.getUint16(o + CMD_TAG, true);
    const op = req.cmdOp;
    if ((issueFlags & IO_URING_F_FUSED) !== 0) {
      if (op !== UBLK_IO_FUSED_SUBMIT_IO) return -EOPNOTSUPP;
      return this.#fused(req, issueFlags, qid, tag);
    }
    if ((issueFlags & IO_URING_F_SQE128) === 0) return -EINVAL;
    if (qid >= this.info.nrHwQueues) return -EINVAL;
    const q = this.queues[qid]!;
    if (tag >= q.depth) return -EINVAL;
    const io = q.ios[tag]!;
    if ((io.flags & F_ACTIVE) !== 0) return -EBUSY;
    const nr = op & 0xff;
    if (((io.flags & F_NEED_GET_DATA) !== 0) !== (nr === UBLK_IO_NEED_GET_DATA)) return -EINVAL;
    const c = checkCmdOp(op);
    if (c < 0) return c;
    const addrLo = v.getUint32(o + CMD_ADDR_LO, true);
    const addrHi = v.getUint32(o + CMD_ADDR_HI, true);
    const noAddr = addrLo === 0 && addrHi === 0;
    switch (nr) {
      case NR_REGISTER_IO_BUF:
        return this.#registerIoBuf(req, q, tag, addrLo);
      case NR_UNREGISTER_IO_BUF:
        return req.ring.buffers.unregisterKernel(addrLo);
      case UBLK_IO_FETCH_REQ: {
        if (q.dead) return UBLK_IO_RES_ABORT;
        if (q.ready) return -EBUSY;
        if ((io.flags & F_OWNED) !== 0) return -EINVAL;
        if (this.reqRef || this.autoBufReg) {
          if (!noAddr) return -EINVAL; // user copy requires addr to be unset
        } else if (noAddr && !this.needGetData && !this.zeroCopy) return -EINVAL;
        if (this.autoBufReg) {
          const r = this.#setAutoBufReg(io, req);
          if (r < 0) return r;
          this.#arm(io, req, req.addrLo, req.addrHi); // iod->addr is the union with `buf`
        } else {
          this.#arm(io, req, addrLo, addrHi);
        }
        q.nrIoReady++;
        if (q.ready) {
          q.dead = false;
          q.forceAbort = false;
          this.nrQueuesReady++;
          if (this.nrQueuesReady === this.info.nrHwQueues) {
            const w = this.readyWaiters.splice(0);
            for (const f of w) f();
          }
        }
        return ISSUE_QUEUED;
      }
      case UBLK_IO_COMMIT_AND_FETCH_REQ: {
        if ((io.flags & F_OWNED) === 0) return -EINVAL;
        const rq = q.rqs[tag]!;
        if (this.reqRef || this.autoBufReg) {
          if (!noAddr) return -EINVAL;
        } else if (noAddr && !this.zeroCopy && (!this.needGetData || rq.op === UBLK_IO_OP_READ)) {
          return -EINVAL;
        }
        if (q.dead) {
          // The queue was aborted (stop, server death): nothing to commit to, do not re-arm.
          io.flags = (io.flags & ~F_OWNED) | F_CANCELED;
          return UBLK_IO_RES_ABORT;
        }
        if (this.autoBufReg) {
          return this.#commitAuto(req, q, io, rq, v.getInt32(o + CMD_RESULT, true));
        }
        this.#arm(io, req, addrLo, addrHi);
        io.flags &= ~F_OWNED;
        if (rq.inUse && rq.started && !rq.committed) {
          rq.committed = true;
          rq.res = v.getInt32(o + CMD_RESULT, true);
          if (rq.refs === 0) this.#completeRq(q, rq);
        }
        return ISSUE_QUEUED;
      }
      case UBLK_IO_NEED_GET_DATA: {
        if ((io.flags & F_OWNED) === 0) return -EINVAL;
        io.addrLo = addrLo;
        io.addrHi = addrHi;
        io.flags &= ~F_NEED_GET_DATA;
        const rq = q.rqs[tag]!;
        const iod = q.iod;
        iod.setUint32(tag * IOD + IOD_ADDR_LO, addrLo, true);
        iod.setUint32(tag * IOD + IOD_ADDR_HI, addrHi, true);
        if (this.mapIo) {
          const r = this.#copyToServer(io, rq);
          if (r < 0) return r;
        }
        // The command completes at once with UBLK_IO_RES_OK; the tag stays with the server.
        return UBLK_IO_RES_OK;
      }
      default:
        return -EINVAL;
    }
  }

  #arm(io: IoSlot, req: CmdReq, lo: number, hi: number): void {
    io.cmd = req;
    io.flags |= F_ACTIVE;
    io.addrLo = lo;
    io.addrHi = hi;
    req.cancel = io.cancelFn;
  }

  /** Completes the tag's pending command: the tag is now owned by the server. */
  #completeIoCmd(io: IoSlot, res: number): void {
    const cmd = io.cmd!;
    io.cmd = null;
    io.flags = (io.flags | F_OWNED) & ~F_ACTIVE;
    cmd.cancel = null;
    cmd.cmdDone(res);
  }

  /** The server buffer of a slot, `len` bytes, or a negative errno. */
  #serverBuf(io: IoSlot, len: number): Uint8Array | number {
    if (io.cacheLo === io.addrLo && io.cacheHi === io.addrHi && io.buf !== null) {
      if (io.buf.length >= len) return io.buf;
    }
    const addr = (BigInt(io.addrHi) << 32n) | BigInt(io.addrLo);
    let b = this.#host.resolve(addr, this.info.maxIoBufBytes);
    if (typeof b === "number") {
      b = this.#host.resolve(addr, len);
      if (typeof b === "number") return b;
      return b;
    }
    io.buf = b;
    io.cacheLo = io.addrLo;
    io.cacheHi = io.addrHi;
    return b;
  }

  /** `b.subarray(0, n)`, cached per slot (the same length repeats: no view per I/O). */
  #head(io: IoSlot, b: Uint8Array, n: number): Uint8Array {
    const h = io.head;
    if (h !== null && h.length === n && h.buffer === b.buffer && h.byteOffset === b.byteOffset) {
      return h;
    }
    const v = b.subarray(0, n);
    io.head = v;
    return v;
  }

  #copyToServer(io: IoSlot, rq: BlkRequest): number {
    const n = rq.nr * 512;
    if (rq.op !== UBLK_IO_OP_WRITE || n === 0) return 0;
    const b = this.#serverBuf(io, n);
    if (typeof b === "number") return b;
    b.set(rq.pages); // the request pages are exactly `nr * 512` bytes
    return 0;
  }

  // ---- buffer registration (UBLK_F_SUPPORT_ZERO_COPY) ---------------------------------------

  /**
   * `ublk_register_io_buf`: the request's pages go into the calling ring's buffer table at
   * `index`; the request holds a reference until the buffer is unregistered and no I/O
   * holds it, and completes only after that and its COMMIT.
   */
  #registerIoBuf(req: CmdReq, q: UblkQueueState, tag: number, index: number): number {
    if (!this.reqRef) return -EINVAL;
    const rq = q.rqs[tag]!;
    if (!rq.inUse || !rq.started) return -EINVAL;
    if (rq.op !== UBLK_IO_OP_READ && rq.op !== UBLK_IO_OP_WRITE) return -EINVAL;
    if (rq.nr === 0 || rq.pages.length === 0) return -EINVAL;
    // A READ request's pages are written into (ITER_DEST), a WRITE's read from (ITER_SOURCE).
    const dir = rq.op === UBLK_IO_OP_READ ? 1 : 2;
    rq.refs++;
    const r = req.ring.buffers.registerKernel(index, rq.pages, dir, () => {
      if (--rq.refs !== 0 || !rq.committed || !rq.inUse) return;
      if (rq.requeue) this.#requeue(rq);
      else this.#completeRq(q, rq);
    });
    if (r < 0) rq.refs--;
    return r;
  }

  // ---- automatic buffer registration (UBLK_F_AUTO_BUF_REG) ---------------------------------

  /**
   * `ublk_set_auto_buf_reg`: the SQE's own `addr` (not `ublksrv_io_cmd.addr`) carries
   * `struct ublk_auto_buf_reg`; reserved bits or unknown flags are -EINVAL.
   */
  #setAutoBufReg(io: IoSlot, req: CmdReq): number {
    const b = UblkAutoBufReg.fromSqeAddr((BigInt(req.addrHi) << 32n) | BigInt(req.addrLo));
    if (b.reserved0 !== 0 || b.reserved1 !== 0) return -EINVAL;
    if ((b.flags & ~UBLK_AUTO_BUF_REG_F_MASK) !== 0) return -EINVAL;
    io.autoIndex = b.index;
    io.autoFlags = b.flags;
    return 0;
  }

  /**
   * `ublk_auto_buf_reg` at dispatch: registers the request pages in the buffer table of the ring
   * that issued the pending FETCH/COMMIT, at the index it named. On failure with
   * UBLK_AUTO_BUF_REG_FALLBACK the request is still delivered, with UBLK_IO_F_NEED_REG_BUF in
   * the descriptor; without it the request ends with -EIO and the command stays pending.
   *
   * @returns True when the request is to be delivered.
   */
  #autoBufReg(q: UblkQueueState, io: IoSlot, rq: BlkRequest): boolean {
    const ring = io.cmd!.ring;
    const dir = rq.op === UBLK_IO_OP_READ ? 1 : 2; // ITER_DEST / ITER_SOURCE, as #registerIoBuf
    rq.refs++;
    const r = ring.buffers.registerKernel(io.autoIndex, rq.pages, dir, () => {
      if (--rq.refs !== 0 || !rq.committed || !rq.inUse) return;
      if (rq.requeue) this.#requeue(rq);
      else this.#completeRq(q, rq);
    });
    if (r === 0) {
      io.autoRing = ring;
      return true;
    }
    rq.refs--;
    if ((io.autoFlags & UBLK_AUTO_BUF_REG_FALLBACK) !== 0) {
      const off = rq.tag * IOD + IOD_OP_FLAGS;
      q.iod.setUint32(off, q.iod.getUint32(off, true) | UBLK_IO_F_NEED_REG_BUF, true);
      return true;
    }
    rq.started = false;
    this.#endRq(q, rq, -EIO);
    return false;
  }

  /**
   * COMMIT_AND_FETCH_REQ with UBLK_F_AUTO_BUF_REG (`ublk_handle_auto_buf_reg`): the buffer
   * the driver registered is unregistered when this command comes from the ring that holds it
   * (a server that already unregistered it, or commits from another ring, gets no error: the
   * result of the unregistration is ignored, as the kernel does), the result is committed, and
   * the new `ublk_auto_buf_reg` is read; a bad one fails the command with -EINVAL after the
   * commit, and the tag is then not fetched again.
   */
  #commitAuto(req: CmdReq, q: UblkQueueState, io: IoSlot, rq: BlkRequest, res: number): number {
    const ring = io.autoRing;
    const index = io.autoIndex;
    io.autoRing = null;
    const bad = this.#setAutoBufReg(io, req);
    if (bad < 0) {
      io.flags &= ~F_OWNED;
    } else {
      this.#arm(io, req, req.addrLo, req.addrHi);
      io.flags &= ~F_OWNED;
    }
    // Unregister first: the release then sees the request not yet committed and leaves its
    // completion to the check below (one completion, whichever reference goes last).
    if (ring !== null && ring === req.ring) ring.buffers.unregisterKernel(index);
    if (rq.inUse && rq.started && !rq.committed) {
      rq.committed = true;
      rq.res = res;
      if (rq.refs === 0) this.#completeRq(q, rq);
    }
    return bad < 0 ? bad : ISSUE_QUEUED;
  }

  // ---- fused zero copy ----------------------------------------------------------------------

  #fused(req: CmdReq, issueFlags: number, qid: number, tag: number): number {
    if (qid >= this.info.nrHwQueues) return -EINVAL;
    const q = this.queues[qid]!;
    if (tag >= q.depth) return -EINVAL;
    if (this.info.state === UBLK_S_DEV_DEAD) return -EINVAL;
    if (!this.zeroCopy) return -EINVAL;
    const rq = q.rqs[tag]!;
    if (!rq.inUse || !rq.started) return -EINVAL;
    const dirOk = (rq.op === UBLK_IO_OP_READ && (issueFlags & IO_URING_F_FUSED_WRITE) !== 0) ||
      (rq.op === UBLK_IO_OP_WRITE && (issueFlags & IO_URING_F_FUSED_READ) !== 0);
    if (!dirOk) return -EINVAL;
    if (rq.nr === 0 || rq.pages.length === 0) return -EINVAL;
    const provide = this.#host.provideBuffer;
    if (provide === null) return -EOPNOTSUPP;
    let kbuf = rq.kbuf;
    if (kbuf === null) {
      kbuf = MappedBuffer.fromBytes(rq.pages); // exactly `nr * 512` bytes, as #copyToServer relies on
      rq.kbuf = kbuf;
    }
    rq.refs++;
    let finished = false;
    const r = provide(req, kbuf, (slaveRes: number) => {
      if (finished) return;
      finished = true;
      req.cmdDone(slaveRes);
      if (--rq.refs !== 0 || !rq.committed || !rq.inUse) return;
      if (rq.requeue) this.#requeue(rq);
      else this.#completeRq(q, rq);
    });
    if (r !== ISSUE_QUEUED) {
      if (!finished) {
        finished = true;
        rq.refs--;
      }
      return r;
    }
    return ISSUE_QUEUED;
  }

  // ---- request engine -----------------------------------------------------------------------

  /**
   * Binds a request to a free tag of `q` and dispatches it, or queues it until a tag frees.
   *
   * @param q The queue.
   * @param bio The bio it belongs to.
   * @param op UBLK_IO_OP_*.
   * @param flags UBLK_IO_F_*.
   * @param start Start sector.
   * @param nr Sectors.
   * @param pages The request pages (caller memory; `nr * 512` bytes or empty).
   */
  submit(
    q: UblkQueueState,
    bio: Bio,
    op: number,
    flags: number,
    start: number,
    nr: number,
    pages: Uint8Array,
  ): void {
    bio.remaining++;
    const tag = q.freeTags.pop();
    if (tag === undefined) {
      q.waiters.push({ bio, op, flags, start, nr, pages });
      return;
    }
    const rq = q.rqs[tag]!;
    rq.inUse = true;
    rq.started = false;
    rq.bio = bio;
    rq.op = op;
    rq.flags = flags;
    rq.start = start;
    rq.nr = nr;
    rq.pages = pages;
    rq.kbuf = null;
    rq.refs = 0;
    rq.committed = false;
    rq.res = 0;
    rq.requeue = false;
    this.inflight++;
    this.#queueRq(q, rq);
  }

  /** `ublk_queue_rq` + the task work that hands the request to the server. */
  #queueRq(q: UblkQueueState, rq: BlkRequest): void {
    const state = this.info.state;
    if (state === UBLK_S_DEV_QUIESCED && !q.forceAbort) {
      q.held.push(rq);
      return;
    }
    if (state !== UBLK_S_DEV_LIVE || q.dead || q.forceAbort) return this.#endRq(q, rq, -EIO);
    const io = q.ios[rq.tag]!;
    if ((io.flags & F_ACTIVE) === 0 || io.cmd === null) {
      // The tag has no command from the server: hold (recovery) or fail.
      if (this.recovery) {
        q.held.push(rq);
        return;
      }
      return this.#endRq(q, rq, -EIO);
    }
    const iod = q.iod;
    const off = rq.tag * IOD;
    iod.setUint32(off + IOD_OP_FLAGS, rq.op | rq.flags, true);
    iod.setUint32(off + IOD_NR_SECTORS, rq.nr, true);
    iod.setUint32(off + IOD_START_LO, rq.start >>> 0, true);
    iod.setUint32(off + IOD_START_HI, Math.floor(rq.start / 4294967296), true);
    iod.setUint32(off + IOD_ADDR_LO, io.addrLo, true);
    iod.setUint32(off + IOD_ADDR_HI, io.addrHi, true);
    rq.started = true;
    if (rq.op === UBLK_IO_OP_WRITE && rq.nr > 0) {
      if (this.needGetData && (io.flags & F_NEED_GET_DATA) === 0) {
        io.flags |= F_NEED_GET_DATA;
        return this.#completeIoCmd(io, UBLK_IO_RES_NEED_GET_DATA);
      }
      if (this.mapIo) {
        const r = this.#copyToServer(io, rq);
        if (r < 0) {
          rq.started = false;
          return this.#endRq(q, rq, -EIO);
        }
      }
    }
    if (
      this.autoBufReg && rq.nr > 0 && (rq.op === UBLK_IO_OP_READ || rq.op === UBLK_IO_OP_WRITE) &&
      !this.#autoBufReg(q, io, rq)
    ) return;
    this.#completeIoCmd(io, UBLK_IO_RES_OK);
  }

  /** `__ublk_complete_rq` after COMMIT and the last fused reference. */
  #completeRq(q: UblkQueueState, rq: BlkRequest): void {
    const io = q.ios[rq.tag]!;
    let res = rq.res;
    if ((io.flags & F_ABORTED) !== 0) return this.#endRq(q, rq, -EIO);
    if (res === 0 && rq.op === UBLK_IO_OP_READ) res = -EIO;
    if (res < 0) return this.#endRq(q, rq, res);
    if (rq.op !== UBLK_IO_OP_READ && rq.op !== UBLK_IO_OP_WRITE) return this.#endRq(q, rq, 0);
    const bytes = rq.nr * 512;
    let n = res < bytes ? res : bytes;
    if (rq.op === UBLK_IO_OP_READ && this.mapIo) {
      const b = this.#serverBuf(io, n);
      if (typeof b === "number") return this.#endRq(q, rq, -EIO);
      rq.pages.set(n === b.length ? b : this.#head(io, b, n));
    }
    if (n === bytes) {
      rq.bio!.bytes += n;
      return this.#endRq(q, rq, 0);
    }
    // Partial completion: end what is done (whole sectors), requeue the rest on the same tag.
    n -= n % 512;
    if (n === 0) return this.#endRq(q, rq, -EIO);
    rq.bio!.bytes += n;
    rq.start += n / 512;
    rq.nr -= n / 512;
    rq.pages = rq.pages.subarray(n);
    rq.kbuf = null;
    rq.started = false;
    rq.committed = false;
    rq.res = 0;
    this.#defer(rq);
  }

  /** Ends a request: accounts it in its bio and frees its tag. */
  #endRq(q: UblkQueueState, rq: BlkRequest, err: number): void {
    const bio = rq.bio!;
    rq.inUse = false;
    rq.started = false;
    rq.bio = null;
    rq.pages = EMPTY;
    rq.kbuf = null;
    rq.committed = false;
    rq.requeue = false;
    this.inflight--;
    q.ios[rq.tag]!.flags &= ~F_ABORTED;
    const w = q.waiters.shift();
    if (w !== undefined) {
      // Rebind the tag; dispatch from task context (never inside the server's issue call).
      const next = q.rqs[rq.tag]!;
      next.inUse = true;
      next.started = false;
      next.bio = w.bio;
      next.op = w.op;
      next.flags = w.flags;
      next.start = w.start;
      next.nr = w.nr;
      next.pages = w.pages;
      next.kbuf = null;
      next.refs = 0;
      next.committed = false;
      next.res = 0;
      next.requeue = false;
      this.inflight++;
      this.#defer(next);
    } else {
      q.freeTags.push(rq.tag);
    }
    bio.end(err < 0 ? blkErrno(err) : 0);
    if (this.inflight === 0 && this.drainWaiters.length > 0) {
      const d = this.drainWaiters.splice(0);
      for (const f of d) f();
    }
  }

  #defer(rq: BlkRequest): void {
    this.#deferred.push(rq);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(this.#flush);
    }
  }

  #runDeferred(): void {
    this.#flushScheduled = false;
    const list = this.#deferred;
    this.#deferred = [];
    for (const rq of list) {
      if (rq.inUse && !rq.started) this.#queueRq(this.queues[rq.qid]!, rq);
    }
  }

  /**
   * Fails every request waiting for a tag and every held request (stop, FAIL_IO).
   *
   * @param err The errno.
   */
  failQueued(err: number): void {
    for (const q of this.queues) {
      const ws = q.waiters.splice(0);
      for (const w of ws) w.bio.end(blkErrno(err));
      const hs = q.held.splice(0);
      for (const rq of hs) if (rq.inUse) this.#endRq(q, rq, err);
    }
  }

  /** Re-dispatches held requests (END_USER_RECOVERY). */
  kickHeld(): void {
    for (const q of this.queues) {
      const hs = q.held.splice(0);
      for (const rq of hs) if (rq.inUse) this.#defer(rq);
    }
  }

  /** `ublk_cancel_dev`: completes every pending command with UBLK_IO_RES_ABORT. */
  cancelCmds(): void {
    for (const q of this.queues) {
      for (const io of q.ios) {
        if ((io.flags & F_ACTIVE) !== 0 && io.cmd !== null && (io.flags & F_CANCELED) === 0) {
          io.flags |= F_CANCELED;
          const cmd = io.cmd;
          io.cmd = null;
          cmd.cancel = null;
          cmd.cmdDone(UBLK_IO_RES_ABORT);
        }
      }
    }
  }

  /** Ring exit cancels a pending command: the queue's server is going away. */
  #onCancel(io: IoSlot, q: UblkQueueState): void {
    if (io.cmd !== null) {
      const cmd = io.cmd;
      io.cmd = null;
      io.flags |= F_CANCELED;
      cmd.cancel = null;
      cmd.cmdDone(UBLK_IO_RES_ABORT);
    }
    if (q.nrIoReady > 0) this.#queueDied(q);
  }

  /**
   * The queue's server died (monitor work / cancel): fail or requeue what it owned, quiesce
   * (recovery) or stop the device.
   */
  #queueDied(q: UblkQueueState): void {
    if (q.dead) return;
    // The monitor quiesces or stops the whole device and cancels every queue's commands.
    for (const x of this.queues) {
      if (!x.dead) {
        x.dead = true;
        this.#abortOwned(x);
      }
    }
    if (this.info.state !== UBLK_S_DEV_LIVE) {
      this.cancelCmds();
      return;
    }
    if (this.recovery) {
      const failIo = (this.info.flags & UBLK_F_USER_RECOVERY_FAIL_IO) !== 0n;
      this.info.state = failIo ? UBLK_S_DEV_FAIL_IO : UBLK_S_DEV_QUIESCED;
      this.cancelCmds();
      if (failIo) this.failQueued(-EIO);
    } else {
      this.stopNow();
    }
    this.#host.onStateChange(this);
  }

  /** `ublk_abort_queue`: requests the server owned fail, or are requeued with REISSUE. */
  #abortOwned(q: UblkQueueState): void {
    const reissue = this.recovery &&
      (this.info.flags & UBLK_F_USER_RECOVERY_REISSUE) !== 0n;
    for (let t = 0; t < q.depth; t++) {
      const rq = q.rqs[t]!;
      if (!rq.inUse || !rq.started || rq.committed) continue;
      if (rq.refs > 0) {
        // Fused slaves still hold the request pages (their I/O may still be moving data in or
        // out of them): nothing can end or reissue the request before the last lease returns.
        // Then, as in copy mode, it is requeued with REISSUE and fails with -EIO otherwise.
        rq.committed = true;
        rq.res = -EIO;
        rq.requeue = reissue;
        continue;
      }
      if (reissue) {
        rq.started = false;
        rq.kbuf = null;
        q.held.push(rq);
      } else {
        this.#endRq(q, rq, -EIO);
      }
    }
  }

  /**
   * The last lease of a request aborted under REISSUE returned: dispatch it again from task
   * context. `#queueRq` then holds it while the device is quiesced (kicked at
   * END_USER_RECOVERY), hands it to the new server when the device is live again, and fails
   * it with -EIO when the device stopped or fails I/O meanwhile.
   */
  #requeue(rq: BlkRequest): void {
    rq.requeue = false;
    rq.started = false;
    rq.committed = false;
    rq.res = 0;
    rq.kbuf = null;
    this.#defer(rq);
  }

  /** `ublk_stop_dev` once nothing is in flight: DEAD, disk gone, commands aborted. */
  stopNow(): void {
    for (const q of this.queues) {
      if (!q.dead) {
        q.dead = true;
        this.#abortOwned(q);
      }
    }
    this.info.state = UBLK_S_DEV_DEAD;
    this.info.ublksrvPid = -1;
    this.used = false;
    this.stopping = false;
    this.limits = null;
    this.failQueued(-EIO);
    this.cancelCmds();
  }

  /** `ublk_queue_reinit` for every queue (START_USER_RECOVERY). */
  reinitQueues(): void {
    for (const q of this.queues) {
      q.nrIoReady = 0;
      q.dead = false;
      for (const io of q.ios) {
        io.flags = 0;
        io.cmd = null;
        io.addrLo = 0;
        io.addrHi = 0;
        io.buf = null;
        io.cacheLo = -1;
        io.cacheHi = -1;
        io.autoRing = null;
        io.autoIndex = 0;
        io.autoFlags = 0;
      }
    }
    this.nrQueuesReady = 0;
  }

  /** The device is LIVE again after recovery: re-dispatch held requests. */
  unquiesce(): void {
    for (const q of this.queues) {
      q.dead = false;
      q.forceAbort = false;
    }
    this.kickHeld();
  }
}

/** Flags the model driver supports (`UBLK_F_ALL`). */
export const UBLK_F_ALL_MODEL: bigint = UBLK_F_RFC_FUSED_ZC |
  UBLK_F_URING_CMD_COMP_IN_TASK | UBLK_F_NEED_GET_DATA | UBLK_F_USER_RECOVERY |
  UBLK_F_USER_RECOVERY_REISSUE | UBLK_F_UNPRIVILEGED_DEV | UBLK_F_CMD_IOCTL_ENCODE |
  UBLK_F_USER_RECOVERY_FAIL_IO | UBLK_F_USER_COPY | UBLK_F_SUPPORT_ZERO_COPY |
  UBLK_F_AUTO_BUF_REG;
