/**
 * The loop target: a ublk device backed by a regular file. Requests become data ops on the
 * queue's ring against the backing file (fixed file 1): READ/WRITE at `start_sector << 9`;
 * FLUSH → fdatasync; DISCARD → fallocate(PUNCH_HOLE); WRITE_ZEROES → fallocate(ZERO_RANGE,
 * falling back to PUNCH_HOLE where the file system lacks it); FUA → fdatasync after the write.
 *
 * Copy mode moves data through the tag's server buffer (the address the driver recorded in
 * `io_desc.addr`). Zero copy (`-z`) issues one fused command per I/O — master
 * `UBLK_IO_FUSED_SUBMIT_IO` + slave READ/WRITE whose `addr` is an offset into the request
 * buffer — so data moves straight between the backing file and the request pages.
 *
 * @module
 */

import type {
  FusedIo,
  IoDesc,
  PrepSqe,
  Target,
  TargetDevInfo,
  TargetIoCtx,
  TargetParams,
} from "@ublk-ts/ublk";
import {
  EINVAL,
  EISDIR,
  ENOENT,
  EOPNOTSUPP,
  EROFS,
  ErrnoError,
  EWOULDBLOCK,
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  FALLOC_FL_ZERO_RANGE,
  IORING_FSYNC_DATASYNC,
  IORING_OP_READ,
  IORING_OP_WRITE,
  IOSQE_CQE_SKIP_SUCCESS,
  IOSQE_FIXED_FILE,
  O_DIRECT,
  O_RDONLY,
  O_RDWR,
  UBLK_ATTR_FUA,
  UBLK_ATTR_READ_ONLY,
  UBLK_ATTR_VOLATILE_CACHE,
  UBLK_IO_F_FUA,
  UBLK_IO_OP_DISCARD,
  UBLK_IO_OP_FLUSH,
  UBLK_IO_OP_READ,
  UBLK_IO_OP_WRITE,
  UBLK_IO_OP_WRITE_ZEROES,
} from "@ublk-ts/uapi";
import { prepFallocateAt, prepFsyncAt, prepRwAt, sqeSetFlags } from "@ublk-ts/ring";

/** The fixed-file index of the backing file on every queue ring (0 is `/dev/ublkcN`). */
export const LOOP_BACKING_FIXED_INDEX = 1;

/** What the loop target needs from a kernel: `open(2)` and `close(2)`. */
export interface LoopFileOpener {
  /**
   * Opens a path.
   *
   * @returns An fd, or a negative errno.
   */
  open(path: string, flags: number, mode?: number): number;
  /**
   * Closes an fd.
   *
   * @returns 0 or a negative errno.
   */
  closeFd(fd: number): number;
}

/** Options of {@linkcode LoopTarget}. */
export interface LoopTargetOptions {
  /** O_DIRECT on the backing file (ublksrv's default). Default true. */
  direct?: boolean;
  /**
   * Open read-only and advertise UBLK_ATTR_READ_ONLY; WRITE, DISCARD and WRITE_ZEROES then
   * fail with -EROFS. Default false.
   */
  readOnly?: boolean;
  /**
   * Take an advisory `flock(2)` on the backing file for the target's lifetime: shared when
   * read-only, exclusive otherwise, so two servers never write one file (a file locked by
   * another is refused). Default true.
   */
  lock?: boolean;
  /** Logical block size of the device (512..4096, power of two). Default 512. */
  logicalBlockSize?: number;
  /**
   * Told once, with one line, when the file system refuses O_DIRECT at open and the target
   * serves buffered instead (also kept in {@linkcode LoopTarget.notice}).
   */
  onNotice?: (message: string) => void;
}

/**
 * Checks a backing file before any device exists: it must exist, be a regular file and have a
 * size that is a non-zero multiple of the logical block size.
 *
 * @param path The backing file.
 * @param logicalBlockSize The device's logical block size (default 512).
 * @returns The file's size in bytes.
 * @throws {ErrnoError} ENOENT when missing, EISDIR for a directory, EINVAL for another kind.
 * @throws {RangeError} when the size is zero or not a multiple of the block size.
 *
 * @example A missing file
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkBackingFile } from "@ublk-ts/targets";
 * assert.throws(() => checkBackingFile("/nonexistent/backing.img"), /ENOENT/);
 * ```
 */
export function checkBackingFile(path: string, logicalBlockSize = 512): number {
  let st: Deno.FileInfo;
  try {
    st = Deno.statSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new ErrnoError(ENOENT, { op: `Open backing file "${path}"`, cause: e });
    }
    throw e;
  }
  if (st.isDirectory) throw new ErrnoError(EISDIR, { op: `Open backing file "${path}"` });
  if (!st.isFile) {
    throw new ErrnoError(EINVAL, { op: `Open backing file "${path}" (not a regular file)` });
  }
  if (st.size === 0 || st.size % logicalBlockSize !== 0) {
    throw new RangeError(
      `Cannot use backing file "${path}": its size ${st.size} is not a non-zero multiple of ${logicalBlockSize}`,
    );
  }
  return st.size;
}

/** Per-tag preallocated SQE arguments and callbacks: nothing is allocated per I/O. */
class TagSlot {
  opcode = 0;
  /** The server buffer's address as a number (no bigint per I/O; addresses are < 2^53). */
  addr = 0;
  len = 0;
  off = 0;
  mode = 0;
  /**
   * The fused slave. CQE_SKIP_SUCCESS: a full transfer posts no slave CQE and the master
   * carries its result (SPEC §1, v3 `slave_res`); a failed or short one still posts it.
   */
  readonly fused: FusedIo = {
    opcode: IORING_OP_READ,
    fd: LOOP_BACKING_FIXED_INDEX,
    fixed: true,
    bufOff: 0,
    len: 0,
    off: 0,
    flags: IOSQE_CQE_SKIP_SUCCESS,
  };
  // The queue hands a zeroed SQE slot; these fill it with the ring's raw prep helpers.
  readonly prepRw: PrepSqe = (v, o) => {
    prepRwAt(v, o, this.opcode, LOOP_BACKING_FIXED_INDEX, this.addr, this.len, this.off);
    sqeSetFlags(v, o, IOSQE_FIXED_FILE);
  };
  readonly prepFsync: PrepSqe = (v, o) => {
    prepFsyncAt(v, o, LOOP_BACKING_FIXED_INDEX, IORING_FSYNC_DATASYNC);
    sqeSetFlags(v, o, IOSQE_FIXED_FILE);
  };
  readonly prepFallocate: PrepSqe = (v, o) => {
    prepFallocateAt(v, o, LOOP_BACKING_FIXED_INDEX, this.mode, this.off, this.len);
    sqeSetFlags(v, o, IOSQE_FIXED_FILE);
  };
}

/**
 * The loop target.
 *
 * Safety: the backing fd stays open until {@linkcode LoopTarget.close}; the queues register it
 * as fixed file 1 (`fixedFds`).
 *
 * @example Over a temporary file (ignored: needs a kernel and a device)
 * ```ts ignore
 * import { LoopTarget } from "@ublk-ts/targets";
 * const target = new LoopTarget(kernel, "/dev/shm/disk.img", { direct: false });
 * const dev = await createDevice(kernel, target, { queues: 1, depth: 64, zeroCopy: true });
 * ```
 */
export class LoopTarget implements Target {
  /** "loop". */
  readonly name: string = "loop";
  /** The backing file. */
  readonly path: string;
  /** Its size in bytes: the device size. */
  readonly size: number;
  /** Whether the backing file is open with O_DIRECT (false when the file system refused it). */
  readonly direct: boolean;
  /** Why the target does not do what was asked ("" when it does): the O_DIRECT fallback. */
  readonly notice: string;
  /** Whether the device is read-only. */
  readonly readOnly: boolean;
  /** The backing file's fd in the kernel; registered as fixed file 1. */
  readonly fixedFds: readonly number[];
  readonly #kernel: LoopFileOpener;
  readonly #fd: number;
  readonly #lbs: number;
  #slots: TagSlot[][] = [];
  #zeroRange = true;
  #closed = false;
  #lock: Deno.FsFile | null = null;

  /**
   * Checks and opens the backing file (before any device exists).
   *
   * @param kernel Opens the file (the model or native kernel).
   * @param path The backing file.
   * @param options O_DIRECT, read-only, block size.
   * @throws {ErrnoError} when the file is missing, a directory, or cannot be opened;
   *   EWOULDBLOCK when another holds a conflicting lock on it.
   * @throws {RangeError} when its size is not a non-zero multiple of the block size.
   */
  constructor(kernel: LoopFileOpener, path: string, options: LoopTargetOptions = {}) {
    const lbs = options.logicalBlockSize ?? 512;
    if (![512, 1024, 2048, 4096].includes(lbs)) {
      throw new RangeError(
        `Cannot use logical block size ${lbs}: expected 512, 1024, 2048 or 4096`,
      );
    }
    this.size = checkBackingFile(path, lbs);
    this.path = path;
    const lock = (options.lock ?? true)
      ? lockBackingFile(path, !(options.readOnly ?? false))
      : null;
    this.readOnly = options.readOnly ?? false;
    const base = this.readOnly ? O_RDONLY : O_RDWR;
    let direct = options.direct ?? true;
    let notice = "";
    let fd = kernel.open(path, base | (direct ? O_DIRECT : 0), 0);
    if (fd === -EINVAL && direct) {
      // The file system has no O_DIRECT: serve buffered, as a plain loop device would, and say
      // so once.
      direct = false;
      fd = kernel.open(path, base, 0);
      if (fd >= 0) {
        notice =
          `loop: the file system of "${path}" refuses O_DIRECT (EINVAL): serving it buffered`;
        options.onNotice?.(notice);
      }
    }
    if (fd < 0) {
      lock?.close();
      throw new ErrnoError(-fd, { op: `Open backing file "${path}"` });
    }
    this.#lock = lock;
    this.notice = notice;
    this.#kernel = kernel;
    this.#fd = fd;
    this.#lbs = lbs;
    this.direct = direct;
    this.fixedFds = [fd];
  }

  /**
   * Returns the geometry: the file's size, a volatile write cache with FUA, discard and write
   * zeroes.
   *
   * @param dev The device.
   * @returns The parameters.
   */
  init(dev: TargetDevInfo): TargetParams {
    this.#slots = [];
    for (let q = 0; q < dev.nrHwQueues; q++) this.#slots.push([]);
    const shift = Math.log2(this.#lbs);
    return {
      devSize: this.size,
      logicalBsShift: shift,
      physicalBsShift: Math.max(shift, 12),
      ioOptShift: Math.max(shift, 12),
      ioMinShift: shift,
      attrs: UBLK_ATTR_VOLATILE_CACHE | UBLK_ATTR_FUA | (this.readOnly ? UBLK_ATTR_READ_ONLY : 0),
      discard: this.readOnly ? undefined : {
        granularity: 4096,
        maxDiscardSectors: 0xffffffff >>> 9,
        maxWriteZeroesSectors: 0xffffffff >>> 9,
        maxDiscardSegments: 1,
      },
    };
  }

  #slot(ctx: TargetIoCtx): TagSlot {
    let q = this.#slots[ctx.qid];
    if (q === undefined) {
      q = [];
      this.#slots[ctx.qid] = q;
    }
    let s = q[ctx.tag];
    if (s === undefined) {
      s = new TagSlot();
      q[ctx.tag] = s;
    }
    return s;
  }

  /**
   * Serves one request on the queue's ring.
   *
   * @param ctx The tag's context.
   * @param _tag The tag.
   * @param iod The request.
   * @returns Bytes done, 0 for FLUSH/DISCARD/WRITE_ZEROES, or a negative errno.
   */
  handleIo(ctx: TargetIoCtx, _tag: number, iod: IoDesc): Promise<number> | number {
    const s = this.#slot(ctx);
    switch (iod.op) {
      case UBLK_IO_OP_READ:
        return this.#rw(ctx, s, iod, IORING_OP_READ);
      case UBLK_IO_OP_WRITE:
        if (this.readOnly) return -EROFS;
        if ((iod.flags & UBLK_IO_F_FUA) !== 0) return this.#fuaWrite(ctx, s, iod);
        return this.#rw(ctx, s, iod, IORING_OP_WRITE);
      case UBLK_IO_OP_FLUSH:
        return ctx.submit(s.prepFsync);
      case UBLK_IO_OP_DISCARD:
        if (this.readOnly) return -EROFS;
        s.mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
        s.off = iod.offset;
        s.len = iod.bytes;
        return ctx.submit(s.prepFallocate);
      case UBLK_IO_OP_WRITE_ZEROES:
        if (this.readOnly) return -EROFS;
        return this.#writeZeroes(ctx, s, iod);
      default:
        return -EOPNOTSUPP;
    }
  }

  /** One READ or WRITE: a fused slave into the request pages, or an SQE on the tag buffer. */
  #rw(ctx: TargetIoCtx, s: TagSlot, iod: IoDesc, opcode: number): Promise<number> {
    if (ctx.zeroCopy) {
      const f = s.fused;
      f.opcode = opcode;
      f.bufOff = 0;
      f.len = iod.bytes;
      f.off = iod.offset;
      return ctx.fused(f);
    }
    s.opcode = opcode;
    s.addr = ctx.bufAddr;
    s.len = iod.bytes;
    s.off = iod.offset;
    return ctx.submit(s.prepRw);
  }

  /** A FUA write: the write, then fdatasync. */
  async #fuaWrite(ctx: TargetIoCtx, s: TagSlot, iod: IoDesc): Promise<number> {
    const res = await this.#rw(ctx, s, iod, IORING_OP_WRITE);
    if (res >= 0) {
      const r = await ctx.submit(s.prepFsync);
      if (r < 0) return r;
    }
    return res;
  }

  async #writeZeroes(ctx: TargetIoCtx, s: TagSlot, iod: IoDesc): Promise<number> {
    s.off = iod.offset;
    s.len = iod.bytes;
    if (this.#zeroRange) {
      s.mode = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
      const r = await ctx.submit(s.prepFallocate);
      if (r !== -EOPNOTSUPP) return r;
      this.#zeroRange = false; // tmpfs has PUNCH_HOLE but no ZERO_RANGE
    }
    s.mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
    return await ctx.submit(s.prepFallocate);
  }

  /** Closes the backing file and drops its lock. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#kernel.closeFd(this.#fd);
    this.#lock?.close();
    this.#lock = null;
  }
}

/**
 * Takes the advisory lock of a loop target on `path` (`flock(2)`, not blocking): shared for a
 * read-only device, exclusive otherwise. Held through its own open file description, which
 * the caller closes to release it.
 *
 * @param path The backing file (symlinks are followed, so a link locks its target).
 * @param exclusive Exclusive (a writable device) or shared (read-only).
 * @returns The file holding the lock.
 * @throws {ErrnoError} EWOULDBLOCK when another open file holds a conflicting lock.
 */
function lockBackingFile(path: string, exclusive: boolean): Deno.FsFile | null {
  let f: Deno.FsFile;
  try {
    f = Deno.openSync(path, { read: true });
  } catch {
    return null; // not a file Deno can open here (the kernel's open reports it)
  }
  if (f.tryLockSync(exclusive)) return f;
  f.close();
  throw new ErrnoError(EWOULDBLOCK, {
    op: `Lock backing file "${path}" (${
      exclusive ? "exclusive" : "shared"
    } flock: another ublk server or program holds a ${exclusive ? "" : "write "}lock on it)`,
  });
}

/**
 * How many bytes of existing data a write workload over `path` would overwrite: the size of
 * the regular file it names (through symlinks), 0 when it is missing or empty. A CLI asks
 * for `--force` when this is not 0.
 *
 * @example A missing file holds nothing to overwrite
 * ```ts
 * import assert from "node:assert/strict";
 * import { existingDataBytes } from "@ublk-ts/targets";
 * assert.equal(existingDataBytes("/nonexistent/disk.img"), 0);
 * ```
 *
 * @param path The backing file.
 * @returns The byte count (0 for a missing or empty file, or one that is not regular).
 */
export function existingDataBytes(path: string): number {
  try {
    const st = Deno.statSync(path);
    return st.isFile ? st.size : 0;
  } catch {
    return 0;
  }
}
