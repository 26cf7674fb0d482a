/**
 * The model ublk driver: `/dev/ublk-control` (every control command with the kernel's errno
 * for each misuse) and one `/dev/ublkcN` per device. {@linkcode installUblk} registers it in a
 * kernel; {@linkcode UblkDriver.of} finds it again (tests use it). A server reaches the
 * driver only through the kernel: `kernel.mmap` of `/dev/ublkcN` for the descriptor areas and
 * `kernel.blockDevice("/dev/ublkbN")` for the disk, which START_DEV registers.
 *
 * Kernel facts: drivers/block/ublk_drv.c (6.6 era, CONFIG_BLKDEV_UBLK_LEGACY_OPCODES=y: both
 * legacy and ioctl-encoded opcodes are accepted, the switch is on `_IOC_NR`) plus the RFC
 * (its fused zero copy under the model-only UBLK_F_RFC_FUSED_ZC, which clears NEED_GET_DATA),
 * and UBLK_F_USER_COPY as in 6.5+ (pread/pwrite on `/dev/ublkcN`; it clears NEED_GET_DATA).
 * and UBLK_F_SUPPORT_ZERO_COPY as in 6.15 (UBLK_U_IO_REGISTER_IO_BUF / UNREGISTER_IO_BUF into
 * the calling ring's buffer table; it implies user copy and clears NEED_GET_DATA).
 * and UBLK_F_AUTO_BUF_REG as in 6.16 (the SQE `addr` of FETCH/COMMIT names a buffer-table
 * slot; the driver registers each request's pages there before delivering it, with
 * UBLK_AUTO_BUF_REG_FALLBACK → UBLK_IO_F_NEED_REG_BUF, and unregisters at COMMIT). Like the
 * kernel, ADD_DEV grants it with or without UBLK_F_SUPPORT_ZERO_COPY (without it the fallback's
 * REGISTER_IO_BUF is -EINVAL); it clears NEED_GET_DATA.
 *
 * @module
 */

import {
  EACCES,
  EBUSY,
  EEXIST,
  EFAULT,
  EINTR,
  EINVAL,
  EIO,
  ENODEV,
  ENOENT,
  EOPNOTSUPP,
  EPERM,
  IO_URING_F_SQE128,
  UBLK_ATTR_READ_ONLY,
  UBLK_CMD_ADD_DEV,
  UBLK_CMD_DEL_DEV,
  UBLK_CMD_END_USER_RECOVERY,
  UBLK_CMD_GET_DEV_INFO,
  UBLK_CMD_GET_DEV_INFO2,
  UBLK_CMD_GET_PARAMS,
  UBLK_CMD_GET_QUEUE_AFFINITY,
  UBLK_CMD_SET_PARAMS,
  UBLK_CMD_START_DEV,
  UBLK_CMD_START_USER_RECOVERY,
  UBLK_CMD_STOP_DEV,
  UBLK_F_AUTO_BUF_REG,
  UBLK_F_CMD_IOCTL_ENCODE,
  UBLK_F_NEED_GET_DATA,
  UBLK_F_RFC_FUSED_ZC,
  UBLK_F_SUPPORT_ZERO_COPY,
  UBLK_F_UNPRIVILEGED_DEV,
  UBLK_F_URING_CMD_COMP_IN_TASK,
  UBLK_F_USER_COPY,
  UBLK_FEATURES_LEN,
  UBLK_MAX_NR_QUEUES,
  UBLK_MAX_QUEUE_DEPTH,
  UBLK_PARAM_TYPE_BASIC,
  UBLK_PARAM_TYPE_DEVT,
  UBLK_PARAM_TYPE_DISCARD,
  UBLK_PARAM_TYPE_ZONED,
  UBLK_S_DEV_DEAD,
  UBLK_S_DEV_FAIL_IO,
  UBLK_S_DEV_LIVE,
  UBLK_S_DEV_QUIESCED,
  UBLK_U_CMD_DEL_DEV_ASYNC,
  UBLK_U_CMD_GET_FEATURES,
  UblkParamBasic,
  UblkParamDevt,
  UblkParamDiscard,
  UblkParams,
  UblksrvCtrlCmd,
  UblksrvCtrlDevInfo,
  type UblksrvCtrlDevInfoValue,
} from "@ublk-ts/uapi";
import { UblkBlockDevice } from "./block_device.ts";
import { provideFusedBuffer } from "@ublk-ts/fused-cmd";
import type { ModelFile } from "@ublk-ts/model";
import type { MappedBuffer } from "@ublk-ts/rsrc";
import { checkCmdOp, PAGE, UBLK_F_ALL_MODEL, UblkDev } from "./_device.ts";

/** `_IOC_NR(UBLK_U_CMD_DEL_DEV_ASYNC)` (6.9; no legacy opcode). */
const NR_DEL_DEV_ASYNC = UBLK_U_CMD_DEL_DEV_ASYNC & 0xff;
import {
  type CmdReq,
  type DeviceFileLike,
  ISSUE_QUEUED,
  type ProvideBuffer,
  type UblkKernelPort,
} from "./_port.ts";

/** Path of the control device. */
export const UBLK_CONTROL_PATH = "/dev/ublk-control";
/** Max devices (`ublks_max`). */
export const UBLKS_MAX = 64;
/** Largest `max_io_buf_bytes` the model accepts (the USER_COPY position limit, 32 MiB). */
export const UBLK_MAX_IO_BUF_BYTES: number = 1 << 25;
/** `UBLK_PARAM_TYPE_ALL` of the driver (zoned is known but unsupported: -EOPNOTSUPP). */
const PARAM_TYPE_ALL = UBLK_PARAM_TYPE_BASIC | UBLK_PARAM_TYPE_DISCARD | UBLK_PARAM_TYPE_DEVT |
  UBLK_PARAM_TYPE_ZONED;
/** `dev_t` major of the ublk char devices in the model. */
export const UBLK_CHAR_MAJOR = 511;
/** `dev_t` major of ublk disks (BLOCK_EXT_MAJOR). */
export const UBLK_DISK_MAJOR = 259;

/** `PATH_MAX`: the longest char device path GET_DEV_INFO2 accepts. */
const PATH_MAX = 4096;
/** Bytes of the `ublk_params` header (`len`, `types`) read before the rest. */
const PARAMS_HEADER = UblkParams.OFFSET_BASIC;
const P_LEN = UblkParams.OFFSET_LEN;
const P_TYPES = UblkParams.OFFSET_TYPES;

/** Options of {@linkcode installUblk}. */
export interface InstallUblkOptions {
  /** `nr_cpu_ids`: ADD_DEV clamps `nr_hw_queues` to it. Default `navigator.hardwareConcurrency`. */
  nrCpuIds?: number;
  /**
   * The fused buffer hand-off. Default: `provideFusedBuffer` of `@ublk-ts/fused-cmd` (the
   * kernel must have IORING_OP_FUSED_CMD installed, `installFusedCmd`); `null` turns fused
   * commands off (-EOPNOTSUPP).
   */
  provideBuffer?: ProvideBuffer | null;
  /**
   * The UBLK_F_* bits this driver has, to model an older kernel (e.g. 6.12's 0x1fe, without
   * SUPPORT_ZERO_COPY and AUTO_BUF_REG): GET_FEATURES answers them and ADD_DEV drops the rest,
   * as the real driver drops flags it does not know. Default: every bit the model implements.
   * Only bits the model implements count.
   */
  features?: bigint;
}

/** `/dev/ublkcN` as the driver exposes it: the device file plus the descriptor mmap. */
export interface UblkDeviceFile extends DeviceFileLike {
  /** Device id. */
  readonly id: number;
  /** The driver's `ublksrv_ctrl_dev_info` (live: state, pid, flags). */
  readonly info: UblksrvCtrlDevInfoValue;
  /** The char device is open (single opener). */
  readonly isOpen: boolean;
  /**
   * `->mmap()` of `/dev/ublkcN` (what `kernel.mmap(charFd, …)` calls): a queue's io
   * descriptors, read only.
   *
   * @param file The open char device.
   * @param offset `ublkQueueDescOffset(q_id)` (any page of the queue's slot).
   * @param length `ublkQueueDescSize(depth)`.
   * @param prot PROT_* flags (PROT_WRITE is refused with -EPERM, as `ublk_ch_mmap`).
   * @returns The area, or -EPERM / -EINVAL.
   */
  mmap(file: ModelFile, offset: number, length: number, prot: number): ArrayBuffer | number;
  /**
   * `ublk_ch_mmap` of a queue's io descriptors, without an open file.
   *
   * @param offset `ublkQueueDescOffset(q_id)` (any page of the queue's slot).
   * @param len `ublkQueueDescSize(depth)`.
   * @param writable PROT_WRITE asked (refused with -EPERM).
   * @returns The area, or -EPERM / -EINVAL.
   */
  mapQueue(offset: number, len: number, writable: boolean): ArrayBuffer | number;
  /**
   * A queue's io descriptor area (read it only; `io_desc[tag]` is at `tag * 24`).
   *
   * @param qid Queue id.
   * @returns The area, or -EINVAL.
   */
  queueDescriptors(qid: number): ArrayBuffer | number;
  /**
   * `->release()` of the char device (the server closed it).
   *
   * @param file The file.
   */
  release(file?: unknown): void;
  /**
   * Resolves once the char device is released (at once when it is not open). After a server
   * dies the release comes only when its last request holding the file ends — a ring exit
   * waits for file I/O still in flight — which START_USER_RECOVERY requires (else -EBUSY).
   *
   * @returns When the char device is not open.
   */
  released(): Promise<void>;
}

const drivers: WeakMap<object, UblkDriver> = new WeakMap();

/** `io_fused_cmd_provide_kbuf` through `@ublk-ts/fused-cmd`. */
function fusedProvide(
  master: CmdReq,
  buf: MappedBuffer,
  done: (slaveRes: number) => void,
): number {
  return provideFusedBuffer(master, buf, (_m, res) => done(res));
}

/**
 * The driver instance of one kernel.
 */
export class UblkDriver {
  /** `nr_cpu_ids`. */
  readonly nrCpuIds: number;
  /** The fused buffer hand-off. */
  provideBuffer: ProvideBuffer | null;
  readonly #kernel: UblkKernelPort;
  readonly #devices: Map<number, UblkDev> = new Map();
  /** The disks registered with the kernel (`/dev/ublkbN`), by device id. */
  readonly #disks: Map<number, UblkBlockDevice> = new Map();
  readonly #control: DeviceFileLike;
  /** What GET_FEATURES answers and ADD_DEV keeps. */
  readonly #features: bigint;

  /**
   * A driver for `kernel` (use {@linkcode installUblk}).
   *
   * @param kernel The kernel.
   * @param options Options.
   */
  constructor(kernel: UblkKernelPort, options: InstallUblkOptions = {}) {
    this.#kernel = kernel;
    this.nrCpuIds = options.nrCpuIds ?? (navigator.hardwareConcurrency || 1);
    this.provideBuffer = options.provideBuffer === undefined ? fusedProvide : options.provideBuffer;
    this.#features = (options.features ?? UBLK_F_ALL_MODEL) & UBLK_F_ALL_MODEL;
    this.#control = { uringCmd: (req, flags) => this.#ctrlCmd(req, flags) };
  }

  /**
   * The driver installed in `kernel`, if any.
   *
   * @param kernel A kernel.
   * @returns The driver or `undefined`.
   */
  static of(kernel: object): UblkDriver | undefined {
    return drivers.get(kernel);
  }

  /** The control device file. */
  get control(): DeviceFileLike {
    return this.#control;
  }

  /**
   * A device by id (its `/dev/ublkcN` file and descriptor areas).
   *
   * @param id Device id.
   * @returns The device or `undefined`.
   */
  device(id: number): UblkDeviceFile | undefined {
    return this.#devices.get(id);
  }

  /**
   * The block device `/dev/ublkbN` of a device.
   *
   * @param id Device id.
   * @returns The block device, or `undefined` when there is no such device.
   */
  blockDevice(id: number): UblkBlockDevice | undefined {
    const disk = this.#disks.get(id);
    if (disk !== undefined) return disk;
    const d = this.#devices.get(id);
    return d === undefined ? undefined : new UblkBlockDevice(d);
  }

  /** Ids of the devices that exist. */
  get deviceIds(): number[] {
    return [...this.#devices.keys()].sort((a, b) => a - b);
  }

  /**
   * Resolves an address of the kernel's address space.
   *
   * @param addr Address.
   * @param len Length.
   * @returns A view or a negative errno.
   */
  resolve(addr: bigint, len: number): Uint8Array | number {
    return this.#kernel.resolve(addr, len);
  }

  /**
   * Device state changed (a hook; the model needs none today).
   *
   * @param _dev The device.
   */
  onStateChange(_dev: unknown): void {}

  /**
   * `add_disk` (START_DEV): registers `/dev/ublkbN` with the kernel. The node stays registered
   * until DEL_DEV: after STOP_DEV (or a server death without recovery) it reports
   * `present: false` and fails I/O with -ENODEV, as an open disk whose gendisk was deleted;
   * a later START_DEV serves it again.
   */
  #addDisk(dev: UblkDev): void {
    if (this.#disks.has(dev.id)) return;
    const disk = new UblkBlockDevice(dev);
    this.#disks.set(dev.id, disk);
    this.#kernel.registerBlockDevice?.(`/dev/ublkb${dev.id}`, disk);
  }

  /** DEL_DEV: unregisters `/dev/ublkbN`. */
  #removeDisk(id: number): void {
    if (!this.#disks.delete(id)) return;
    this.#kernel.registerBlockDevice?.(`/dev/ublkb${id}`, undefined);
  }

  #bytes(addr: bigint, len: number): Uint8Array | number {
    if (len === 0) return new Uint8Array(0);
    const b = this.#kernel.resolve(addr, len);
    return typeof b === "number" ? -EFAULT : b;
  }

  // ---- control commands -------------------------------------------------------------------

  #ctrlCmd(req: CmdReq, issueFlags: number): number {
    if ((issueFlags & IO_URING_F_SQE128) === 0) return -EINVAL;
    const op = req.cmdOp;
    const c = checkCmdOp(op);
    if (c < 0) return c;
    const v = req.sqe;
    const o = req.cmdOff;
    const h: CtrlHeader = {
      devId: v.getUint32(o + UblksrvCtrlCmd.OFFSET_DEV_ID, true),
      queueId: v.getUint16(o + UblksrvCtrlCmd.OFFSET_QUEUE_ID, true),
      len: v.getUint16(o + UblksrvCtrlCmd.OFFSET_LEN, true),
      addr: v.getBigUint64(o + UblksrvCtrlCmd.OFFSET_ADDR, true),
      data: v.getBigUint64(o + UblksrvCtrlCmd.OFFSET_DATA, true),
      devPathLen: v.getUint16(o + UblksrvCtrlCmd.OFFSET_DEV_PATH_LEN, true),
    };
    if (op === UBLK_U_CMD_GET_FEATURES) return this.#getFeatures(h);
    const nr = op & 0xff;
    if (nr === UBLK_CMD_ADD_DEV) return this.#addDev(h);
    const dev = this.#devices.get(h.devId);
    if (dev === undefined) return -ENODEV;
    switch (nr) {
      case UBLK_CMD_START_DEV:
        return this.#startDev(dev, h, req);
      case UBLK_CMD_STOP_DEV:
        return this.#stopDev(dev, req, () => 0);
      case UBLK_CMD_GET_DEV_INFO:
        return this.#getDevInfo(dev, h);
      case UBLK_CMD_GET_DEV_INFO2: {
        const p = this.#checkDevPath(dev, h);
        return p < 0 ? p : this.#getDevInfo(dev, h);
      }
      case UBLK_CMD_DEL_DEV:
        return this.#delDev(dev, req, true);
      case NR_DEL_DEV_ASYNC:
        return this.#delDev(dev, req, false);
      case UBLK_CMD_GET_QUEUE_AFFINITY:
        return this.#getQueueAffinity(dev, h);
      case UBLK_CMD_GET_PARAMS:
        return this.#getParams(dev, h);
      case UBLK_CMD_SET_PARAMS:
        return this.#setParams(dev, h);
      case UBLK_CMD_START_USER_RECOVERY:
        return this.#startRecovery(dev);
      case UBLK_CMD_END_USER_RECOVERY:
        return this.#endRecovery(dev, h, req);
      default:
        return -EOPNOTSUPP;
    }
  }

  #getFeatures(h: CtrlHeader): number {
    if (h.len !== UBLK_FEATURES_LEN || h.addr === 0n) return -EINVAL;
    const b = this.#bytes(h.addr, UBLK_FEATURES_LEN);
    if (typeof b === "number") return b;
    new DataView(b.buffer, b.byteOffset, UBLK_FEATURES_LEN).setBigUint64(
      0,
      this.#features,
      true,
    );
    return 0;
  }

  #addDev(h: CtrlHeader): number {
    if (h.len < UblksrvCtrlDevInfo.SIZE || h.addr === 0n) return -EINVAL;
    if (h.queueId !== 0xffff) return -EINVAL;
    const b = this.#bytes(h.addr, UblksrvCtrlDevInfo.SIZE);
    if (typeof b === "number") return b;
    const view = new DataView(b.buffer, b.byteOffset, UblksrvCtrlDevInfo.SIZE);
    const info = UblksrvCtrlDevInfo.decode(view, 0);
    if (
      info.queueDepth > UBLK_MAX_QUEUE_DEPTH || info.queueDepth === 0 ||
      info.nrHwQueues > UBLK_MAX_NR_QUEUES || info.nrHwQueues === 0
    ) return -EINVAL;
    // Root: an unprivileged device is a privileged one.
    info.flags &= ~UBLK_F_UNPRIVILEGED_DEV;
    info.ownerUid = 0;
    info.ownerGid = 0;
    if (h.devId !== info.devId) return -EINVAL;
    if (this.#devices.size >= UBLKS_MAX) return -EACCES;
    let id: number;
    if (h.devId !== 0xffffffff) {
      id = h.devId;
      if (id > 0x7fffffff) return -EINVAL;
      if (this.#devices.has(id)) return -EEXIST;
    } else {
      id = 0;
      while (this.#devices.has(id)) id++;
    }
    info.devId = id;
    info.flags &= this.#features;
    info.flags |= UBLK_F_CMD_IOCTL_ENCODE | UBLK_F_URING_CMD_COMP_IN_TASK;
    // RFC v6: fused zero copy makes NEED_GET_DATA pointless.
    if ((info.flags & UBLK_F_RFC_FUSED_ZC) !== 0n) info.flags &= ~UBLK_F_NEED_GET_DATA;
    // ublk_ctrl_add_dev: user copy never needs GET_DATA (the server reads the pages itself).
    if ((info.flags & (UBLK_F_USER_COPY | UBLK_F_SUPPORT_ZERO_COPY | UBLK_F_AUTO_BUF_REG)) !== 0n) {
      info.flags &= ~UBLK_F_NEED_GET_DATA;
    }
    info.nrHwQueues = Math.min(info.nrHwQueues, this.nrCpuIds);
    info.maxIoBufBytes = Math.min(
      info.maxIoBufBytes - (info.maxIoBufBytes % PAGE),
      UBLK_MAX_IO_BUF_BYTES,
    );
    info.state = UBLK_S_DEV_DEAD;
    info.ublksrvPid = -1;
    const dev = new UblkDev(this, info);
    this.#devices.set(id, dev);
    UblksrvCtrlDevInfo.encode(view, 0, info);
    this.#kernel.registerDevice(`/dev/ublkc${id}`, dev);
    return 0;
  }

  #startDev(dev: UblkDev, h: CtrlHeader, req: CmdReq): number {
    const pid = Number(BigInt.asIntN(32, h.data));
    if (pid <= 0) return -EINVAL;
    const finish = (): number => {
      if (dev.info.state === UBLK_S_DEV_LIVE || dev.used) return -EEXIST;
      const lim = this.#limits(dev);
      if (typeof lim === "number") return lim;
      dev.info.ublksrvPid = pid;
      // RFC patch 10: LIVE before the disk appears.
      dev.info.state = UBLK_S_DEV_LIVE;
      dev.limits = lim;
      dev.used = true;
      for (const q of dev.queues) {
        q.forceAbort = false;
        q.dead = false;
      }
      this.#addDisk(dev);
      return 0;
    };
    if (dev.nrQueuesReady === dev.info.nrHwQueues) return finish();
    return this.#wait(req, dev.readyWaiters, finish);
  }

  /** Keeps `req` pending until `list` is run; `finish` gives the result. Cancel: -EINTR. */
  #wait(req: CmdReq, list: Array<() => void>, finish: () => number): number {
    let done = false;
    const run = (): void => {
      if (done) return;
      done = true;
      req.cancel = null;
      req.cmdDone(finish());
    };
    list.push(run);
    req.cancel = () => {
      if (done) return;
      done = true;
      const i = list.indexOf(run);
      if (i >= 0) list.splice(i, 1);
      req.cancel = null;
      req.cmdDone(-EINTR);
    };
    return ISSUE_QUEUED;
  }

  #limits(dev: UblkDev): UblkDev["limits"] | number {
    const v = dev.paramsView;
    const types = v.getUint32(P_TYPES, true);
    if ((types & UBLK_PARAM_TYPE_BASIC) === 0) return -EINVAL;
    const b = UblkParams.OFFSET_BASIC;
    const attrs = v.getUint32(b + UblkParamBasic.OFFSET_ATTRS, true);
    const lbs = 1 << v.getUint8(b + UblkParamBasic.OFFSET_LOGICAL_BS_SHIFT);
    const maxSectors = v.getUint32(b + UblkParamBasic.OFFSET_MAX_SECTORS, true);
    const chunk = v.getUint32(b + UblkParamBasic.OFFSET_CHUNK_SECTORS, true);
    const devSectors = Number(v.getBigUint64(b + UblkParamBasic.OFFSET_DEV_SECTORS, true));
    let maxBytes = Math.min(maxSectors * 512, dev.info.maxIoBufBytes);
    if (maxBytes === 0) maxBytes = dev.info.maxIoBufBytes;
    maxBytes -= maxBytes % lbs;
    if (maxBytes < lbs) return -EINVAL;
    const d = UblkParams.OFFSET_DISCARD;
    const hasDiscard = (types & UBLK_PARAM_TYPE_DISCARD) !== 0;
    return {
      lbs,
      capacity: devSectors * 512,
      maxBytes,
      chunkBytes: chunk * 512,
      attrs,
      maxDiscardSectors: hasDiscard
        ? v.getUint32(d + UblkParamDiscard.OFFSET_MAX_DISCARD_SECTORS, true)
        : 0,
      maxWriteZeroesSectors: hasDiscard
        ? v.getUint32(d + UblkParamDiscard.OFFSET_MAX_WRITE_ZEROES_SECTORS, true)
        : 0,
      discardGranularity: hasDiscard
        ? v.getUint32(d + UblkParamDiscard.OFFSET_DISCARD_GRANULARITY, true)
        : 0,
    };
  }

  #stopDev(dev: UblkDev, req: CmdReq, then: () => number): number {
    if (dev.info.state === UBLK_S_DEV_DEAD && !dev.used) {
      dev.cancelCmds();
      return then();
    }
    // del_gendisk: no new I/O; requests in flight drain (the server is still serving them).
    dev.stopping = true;
    if (dev.info.state === UBLK_S_DEV_QUIESCED || dev.info.state === UBLK_S_DEV_FAIL_IO) {
      for (const q of dev.queues) q.forceAbort = true;
    }
    dev.failQueued(-EIO);
    const finish = (): number => {
      dev.stopNow();
      this.onStateChange(dev);
      return then();
    };
    if (dev.inflight === 0) return finish();
    return this.#wait(req, dev.drainWaiters, finish);
  }

  /**
   * DEL_DEV (`wait`) and DEL_DEV_ASYNC (6.9): stop, remove the disk and the char device node;
   * DEL_DEV then waits until the device is released (the server closes `/dev/ublkcN`; on a
   * real kernel also the last opener of `/dev/ublkbN`), DEL_DEV_ASYNC returns at once and the
   * id stays taken until then.
   */
  #delDev(dev: UblkDev, req: CmdReq, wait: boolean): number {
    const remove = (): number => {
      if (!dev.deleted) {
        dev.deleted = true;
        this.#kernel.unregisterDevice?.(`/dev/ublkc${dev.id}`);
      }
      this.#removeDisk(dev.id);
      if (!dev.isOpen) {
        this.#devices.delete(dev.id);
        return 0;
      }
      const free = (): number => {
        if (this.#devices.get(dev.id) === dev) this.#devices.delete(dev.id);
        return 0;
      };
      if (!wait) {
        dev.releaseWaiters.push(() => void free());
        return 0;
      }
      // Wait until the server closes /dev/ublkcN (the idr entry is freed on last put).
      return this.#wait(req, dev.releaseWaiters, free);
    };
    return this.#stopDev(dev, req, remove);
  }

  #getDevInfo(dev: UblkDev, h: CtrlHeader): number {
    if (h.len < UblksrvCtrlDevInfo.SIZE || h.addr === 0n) return -EINVAL;
    const b = this.#bytes(h.addr, UblksrvCtrlDevInfo.SIZE);
    if (typeof b === "number") return b;
    dev.writeInfo(b);
    return 0;
  }

  /** GET_DEV_INFO2 carries the char device path first; check it and skip it. */
  #checkDevPath(dev: UblkDev, h: CtrlHeader): number {
    if (h.devPathLen === 0 || h.devPathLen > PATH_MAX) return -EINVAL;
    if (h.len < h.devPathLen) return -EINVAL;
    const b = this.#bytes(h.addr, h.devPathLen);
    if (typeof b === "number") return b;
    let end = b.indexOf(0);
    if (end < 0) end = b.length;
    const path = new TextDecoder().decode(b.subarray(0, end));
    const m = /^\/dev\/ublkc(\d+)$/.exec(path);
    if (m === null) return -ENOENT;
    if (Number(m[1]) !== dev.id) return this.#devices.has(Number(m[1])) ? -EPERM : -ENOENT;
    h.addr += BigInt(h.devPathLen);
    h.len -= h.devPathLen;
    return 0;
  }

  #getQueueAffinity(dev: UblkDev, h: CtrlHeader): number {
    if (h.len * 8 < this.nrCpuIds) return -EINVAL;
    if (h.len % 8 !== 0) return -EINVAL;
    if (h.addr === 0n) return -EINVAL;
    const queue = h.data;
    if (queue >= BigInt(dev.info.nrHwQueues)) return -EINVAL;
    const b = this.#bytes(h.addr, h.len);
    if (typeof b === "number") return b;
    b.fill(0);
    const q = Number(queue);
    // blk_mq_map_queues: CPU i serves queue i % nr_hw_queues.
    for (let cpu = 0; cpu < this.nrCpuIds; cpu++) {
      if (cpu % dev.info.nrHwQueues === q) b[cpu >> 3]! |= 1 << (cpu & 7);
    }
    return 0;
  }

  #fillDevt(dev: UblkDev): void {
    const v = dev.paramsView;
    const o = UblkParams.OFFSET_DEVT;
    v.setUint32(o + UblkParamDevt.OFFSET_CHAR_MAJOR, UBLK_CHAR_MAJOR, true);
    v.setUint32(o + UblkParamDevt.OFFSET_CHAR_MINOR, dev.id, true);
    v.setUint32(o + UblkParamDevt.OFFSET_DISK_MAJOR, dev.used ? UBLK_DISK_MAJOR : 0, true);
    v.setUint32(o + UblkParamDevt.OFFSET_DISK_MINOR, dev.used ? dev.id : 0, true);
    v.setUint32(P_TYPES, v.getUint32(P_TYPES, true) | UBLK_PARAM_TYPE_DEVT, true);
  }

  #getParams(dev: UblkDev, h: CtrlHeader): number {
    if (h.len <= PARAMS_HEADER || h.addr === 0n) return -EINVAL;
    const hb = this.#bytes(h.addr, PARAMS_HEADER);
    if (typeof hb === "number") return hb;
    let len = new DataView(hb.buffer, hb.byteOffset, PARAMS_HEADER).getUint32(P_LEN, true);
    if (len > h.len || len === 0) return -EINVAL;
    if (len > UblkParams.SIZE) len = UblkParams.SIZE;
    const b = this.#bytes(h.addr, len);
    if (typeof b === "number") return b;
    this.#fillDevt(dev);
    b.set(dev.params.subarray(0, len));
    return 0;
  }

  #setParams(dev: UblkDev, h: CtrlHeader): number {
    if (h.len <= PARAMS_HEADER || h.addr === 0n) return -EINVAL;
    const hb = this.#bytes(h.addr, PARAMS_HEADER);
    if (typeof hb === "number") return hb;
    const hv = new DataView(hb.buffer, hb.byteOffset, PARAMS_HEADER);
    let len = hv.getUint32(P_LEN, true);
    const types = hv.getUint32(P_TYPES, true);
    if (len > h.len || len === 0 || types === 0) return -EINVAL;
    if (len > UblkParams.SIZE) len = UblkParams.SIZE;
    // Parameters can only change while the disk does not exist.
    if (dev.used) return -EACCES;
    const b = this.#bytes(h.addr, len);
    if (typeof b === "number") return b;
    dev.params.set(b);
    const v = dev.paramsView;
    v.setUint32(P_TYPES, v.getUint32(P_TYPES, true) & PARAM_TYPE_ALL, true);
    const r = this.#validateParams(dev);
    if (r < 0) v.setUint32(P_TYPES, 0, true);
    return r;
  }

  /** `ublk_validate_params`. */
  #validateParams(dev: UblkDev): number {
    const v = dev.paramsView;
    const types = v.getUint32(P_TYPES, true);
    if ((types & UBLK_PARAM_TYPE_BASIC) === 0) return -EINVAL;
    const b = UblkParams.OFFSET_BASIC;
    const lbs = v.getUint8(b + UblkParamBasic.OFFSET_LOGICAL_BS_SHIFT);
    const pbs = v.getUint8(b + UblkParamBasic.OFFSET_PHYSICAL_BS_SHIFT);
    if (lbs > 12 || lbs < 9) return -EINVAL;
    if (lbs > pbs) return -EINVAL;
    const maxSectors = v.getUint32(b + UblkParamBasic.OFFSET_MAX_SECTORS, true);
    if (maxSectors > dev.info.maxIoBufBytes / 512) return -EINVAL;
    if ((types & UBLK_PARAM_TYPE_DISCARD) !== 0) {
      const d = UblkParams.OFFSET_DISCARD;
      const maxDiscard = v.getUint32(d + UblkParamDiscard.OFFSET_MAX_DISCARD_SECTORS, true);
      const segs = v.getUint16(d + UblkParamDiscard.OFFSET_MAX_DISCARD_SEGMENTS, true);
      if (maxDiscard !== 0 && segs !== 1) return -EINVAL;
      if (v.getUint32(d + UblkParamDiscard.OFFSET_DISCARD_GRANULARITY, true) === 0) return -EINVAL;
    }
    if ((types & UBLK_PARAM_TYPE_DEVT) !== 0) return -EINVAL;
    if ((types & UBLK_PARAM_TYPE_ZONED) !== 0) return -EOPNOTSUPP;
    return 0;
  }

  #startRecovery(dev: UblkDev): number {
    if (!dev.recovery) return -EINVAL;
    if (dev.nrQueuesReady === 0) return -EINVAL;
    const s = dev.info.state;
    // -EBUSY while the dead server's /dev/ublkcN is not released yet (its last request
    // holding the file may still be in flight): the caller retries.
    if (dev.isOpen || (s !== UBLK_S_DEV_QUIESCED && s !== UBLK_S_DEV_FAIL_IO)) return -EBUSY;
    dev.reinitQueues();
    return 0;
  }

  #endRecovery(dev: UblkDev, h: CtrlHeader, req: CmdReq): number {
    const pid = Number(BigInt.asIntN(32, h.data));
    const finish = (): number => {
      if (!dev.recovery) return -EINVAL;
      const s = dev.info.state;
      if (s !== UBLK_S_DEV_QUIESCED && s !== UBLK_S_DEV_FAIL_IO) return -EBUSY;
      dev.info.ublksrvPid = pid;
      dev.info.state = UBLK_S_DEV_LIVE;
      dev.unquiesce();
      this.onStateChange(dev);
      return 0;
    };
    if (dev.nrQueuesReady === dev.info.nrHwQueues) return finish();
    return this.#wait(req, dev.readyWaiters, finish);
  }
}

/** A decoded control header (mutable: GET_DEV_INFO2 skips the path). */
interface CtrlHeader {
  devId: number;
  queueId: number;
  len: number;
  addr: bigint;
  data: bigint;
  devPathLen: number;
}

/**
 * Installs the ublk driver in a kernel: registers `/dev/ublk-control`; ADD_DEV then registers
 * `/dev/ublkcN` and DEL_DEV removes it.
 *
 * @param kernel The kernel (device registration and address resolution).
 * @param options `nrCpuIds`, `provideBuffer`.
 * @returns The driver.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { installUblk, UblkDriver } from "@ublk-ts/ublk-drv";
 * const paths: string[] = [];
 * const kernel = {
 *   registerDevice: (p: string) => void paths.push(p),
 *   resolve: () => -14,
 * };
 * const drv = installUblk(kernel);
 * assert.deepEqual(paths, ["/dev/ublk-control"]);
 * assert.equal(UblkDriver.of(kernel), drv);
 * ```
 */
export function installUblk(kernel: UblkKernelPort, options?: InstallUblkOptions): UblkDriver {
  const existing = drivers.get(kernel);
  if (existing !== undefined) return existing;
  const drv = new UblkDriver(kernel, options);
  drivers.set(kernel, drv);
  kernel.registerDevice(UBLK_CONTROL_PATH, drv.control);
  return drv;
}

/** Whether a device's attributes make it read-only. */
export function isReadOnly(attrs: number): boolean {
  return (attrs & UBLK_ATTR_READ_ONLY) !== 0;
}
