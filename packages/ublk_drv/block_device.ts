/**
 * {@linkcode UblkBlockDevice}: `/dev/ublkbN` as an in-process object — the block layer in
 * front of the model ublk driver. It checks logical-block alignment, splits I/O at
 * `max_sectors`/`max_io_buf_bytes` and `chunk_sectors`, gives each request a tag of a queue
 * (waiting for a free one), and describes the caller's memory as the request pages.
 *
 * Results are numbers, never thrown: bytes for read/write, 0 for flush/discard/write-zeroes,
 * or a negative errno as a block-layer caller sees it (`errno_to_blk_status` squashes most
 * server errors to -EIO; -ENOSPC, -EOPNOTSUPP, -ENOMEM, -EAGAIN, … pass through).
 *
 * Choices where the kernel has more machinery:
 * - A READ the server completes with 0 bytes fails with -EIO (as `__ublk_complete_rq`).
 * - A short result ends the whole sectors done and re-dispatches the rest on the same tag
 *   (`blk_update_request` + requeue); a result of less than one sector fails with -EIO instead
 *   of spinning. Nothing is zero-filled: a short READ never leaves stale bytes reported as read.
 * - I/O beyond the capacity fails with -EIO, writes to a read-only device with -EPERM, I/O
 *   after the disk was removed (STOP_DEV/DEL_DEV, or a server death without recovery) with
 *   -ENODEV; requests in flight when the server dies end with -EIO (or wait for recovery).
 * - FLUSH reaches the server only with UBLK_ATTR_VOLATILE_CACHE; FUA is passed with
 *   UBLK_ATTR_FUA, emulated by a following FLUSH with only a volatile cache, else dropped.
 * - Discard / write-zeroes without the matching limit fail with -EOPNOTSUPP (no fallback).
 * - Two ways to open it, as a program opens `/dev/ublkbN`. The default (buffered) handle throws
 *   RangeError for an offset or length not aligned to the logical block size, and serves a
 *   buffer whose real address is not page-aligned through a page-aligned bounce buffer (the
 *   page cache's role): the request pages the server sees are always page-aligned.
 *   {@linkcode UblkBlockDevice.open} with `direct: true` is `O_DIRECT`: no bounce, and a buffer,
 *   offset or length not aligned to the logical block size fails with -EINVAL.
 *
 * @module
 */

import {
  EINVAL,
  EIO,
  ENODEV,
  EOPNOTSUPP,
  EPERM,
  UBLK_ATTR_FUA,
  UBLK_ATTR_READ_ONLY,
  UBLK_ATTR_VOLATILE_CACHE,
  UBLK_IO_F_FUA,
  UBLK_IO_F_NOUNMAP,
  UBLK_IO_OP_DISCARD,
  UBLK_IO_OP_FLUSH,
  UBLK_IO_OP_READ,
  UBLK_IO_OP_WRITE,
  UBLK_IO_OP_WRITE_ZEROES,
  UBLK_S_DEV_LIVE,
} from "@ublk-ts/uapi";
import { allocIoMemory, isIoAligned } from "@ublk-ts/rsrc";
import { Bio, type DevLimits, type UblkDev } from "./_device.ts";

const EMPTY = new Uint8Array(0);

/** Options of {@linkcode UblkBlockDevice.write}. */
export interface WriteOptions {
  /** REQ_FUA: the data is durable when the write completes. */
  fua?: boolean;
}

/** Options of {@linkcode UblkBlockDevice.writeZeroes}. */
export interface WriteZeroesOptions {
  /** REQ_NOUNMAP: keep the blocks allocated. */
  noUnmap?: boolean;
}

/** Options of {@linkcode UblkBlockDevice.open}. */
export interface BlockOpenOptions {
  /** `O_DIRECT`: no bounce buffer; unaligned buffer, offset or length → -EINVAL. */
  direct?: boolean;
}

/** Free bounce buffers kept per size (more are dropped). */
const BOUNCE_KEEP = 64;

/**
 * The block device of one ublk device. Obtain it from `createDevice(...).bdev` or
 * {@linkcode UblkBlockDevice.of}.
 */
export class UblkBlockDevice {
  readonly #dev: UblkDev;
  readonly #direct: boolean;
  /** Page-aligned bounce buffers of the buffered handle, free, by length. */
  readonly #bounce: Map<number, Uint8Array[]> = new Map();

  /**
   * The block device of a driver device.
   *
   * @param dev The driver's device.
   * @param options `direct` (default false: buffered).
   */
  constructor(dev: UblkDev, options: BlockOpenOptions = {}) {
    this.#dev = dev;
    this.#direct = options.direct === true;
  }

  /**
   * Another handle of the same disk, as a second `open(2)` of `/dev/ublkbN`.
   *
   * @param options `direct: true` for `O_DIRECT`.
   * @returns The handle.
   *
   * @example An O_DIRECT handle refuses unaligned buffers with -EINVAL (ignored: needs a device)
   * ```ts ignore
   * const direct = dev.bdev.open({ direct: true });
   * assert.equal(await direct.read(0, new Uint8Array(4096).subarray(1, 513)), -22);
   * ```
   */
  open(options: BlockOpenOptions = {}): UblkBlockDevice {
    return new UblkBlockDevice(this.#dev, options);
  }

  /** Whether this handle is `O_DIRECT`. */
  get direct(): boolean {
    return this.#direct;
  }

  /** The device id (N of `/dev/ublkbN`). */
  get id(): number {
    return this.#dev.id;
  }

  /** The disk exists (START_DEV done, not stopped). */
  get present(): boolean {
    return this.#dev.used && !this.#dev.stopping;
  }

  /** Capacity in bytes (0 without a disk). */
  get size(): number {
    return this.#dev.limits?.capacity ?? 0;
  }

  /** Logical block size (512 without a disk). */
  get logicalBlockSize(): number {
    return this.#dev.limits?.lbs ?? 512;
  }

  /** Largest request in bytes. */
  get maxRequestBytes(): number {
    return this.#dev.limits?.maxBytes ?? 0;
  }

  /** UBLK_ATTR_READ_ONLY is set. */
  get readOnly(): boolean {
    return ((this.#dev.limits?.attrs ?? 0) & UBLK_ATTR_READ_ONLY) !== 0;
  }

  /** Requests bound to tags right now. */
  get inflight(): number {
    return this.#dev.inflight;
  }

  /**
   * Reads `buf.length` bytes at `offset` into `buf` (the request pages: no copy in zero copy).
   *
   * @param offset Byte offset (a multiple of the logical block size).
   * @param buf Destination (length a multiple of the logical block size; on a direct handle
   *   its address too).
   * @returns Bytes read, or a negative errno (-EINVAL on a direct handle for unaligned I/O).
   * @throws {RangeError} When `offset` or `buf.length` is not aligned (buffered handle).
   */
  read(offset: number, buf: Uint8Array): Promise<number> {
    const bad = this.#misaligned(offset, buf);
    if (bad !== 0) return Promise.resolve(bad);
    if (this.#direct || buf.length === 0 || isIoAligned(buf)) {
      return this.#rw(UBLK_IO_OP_READ, 0, offset, buf);
    }
    return this.#bouncedRead(offset, buf);
  }

  async #bouncedRead(offset: number, buf: Uint8Array): Promise<number> {
    const b = this.#takeBounce(buf.length);
    try {
      const r = await this.#rw(UBLK_IO_OP_READ, 0, offset, b);
      if (r > 0) buf.set(r === b.length ? b : b.subarray(0, r));
      return r;
    } finally {
      this.#giveBounce(b);
    }
  }

  /**
   * The direct handle's checks (-EINVAL), or the buffered handle's (RangeError, thrown).
   *
   * @returns 0 when the I/O may go on, else -EINVAL.
   */
  #misaligned(offset: number, buf: Uint8Array): number {
    if (!this.#direct) {
      this.#align("offset", offset);
      this.#align("length", buf.length);
      return 0;
    }
    const lbs = this.logicalBlockSize;
    if (!Number.isSafeInteger(offset) || offset < 0 || offset % lbs !== 0) return -EINVAL;
    if (buf.length % lbs !== 0 || (buf.length > 0 && !isIoAligned(buf, lbs))) return -EINVAL;
    return 0;
  }

  #takeBounce(len: number): Uint8Array {
    const free = this.#bounce.get(len);
    return free?.pop() ?? allocIoMemory(len);
  }

  #giveBounce(b: Uint8Array): void {
    let free = this.#bounce.get(b.length);
    if (free === undefined) {
      free = [];
      this.#bounce.set(b.length, free);
    }
    if (free.length < BOUNCE_KEEP) free.push(b);
  }

  /**
   * Writes `data` at `offset`.
   *
   * @param offset Byte offset (aligned).
   * @param data Source (length aligned).
   * @param options `fua`.
   * @returns Bytes written, or a negative errno (-EINVAL on a direct handle for unaligned I/O).
   * @throws {RangeError} When `offset` or `data.length` is not aligned (buffered handle).
   */
  write(offset: number, data: Uint8Array, options?: WriteOptions): Promise<number> {
    const bad = this.#misaligned(offset, data);
    if (bad !== 0) return Promise.resolve(bad);
    return this.#write(offset, data, options);
  }

  async #write(offset: number, data: Uint8Array, options?: WriteOptions): Promise<number> {
    const lim = this.#dev.limits;
    const fua = options?.fua === true;
    let flags = 0;
    let flushAfter = false;
    if (fua && lim !== null) {
      if ((lim.attrs & UBLK_ATTR_FUA) !== 0) flags = UBLK_IO_F_FUA;
      else if ((lim.attrs & UBLK_ATTR_VOLATILE_CACHE) !== 0) flushAfter = true;
    }
    let r: number;
    if (this.#direct || data.length === 0 || isIoAligned(data)) {
      r = await this.#rw(UBLK_IO_OP_WRITE, flags, offset, data);
    } else {
      const b = this.#takeBounce(data.length);
      b.set(data);
      try {
        r = await this.#rw(UBLK_IO_OP_WRITE, flags, offset, b);
      } finally {
        this.#giveBounce(b);
      }
    }
    if (r < 0 || !flushAfter) return r;
    const f = await this.flush();
    return f < 0 ? f : r;
  }

  /**
   * Flushes the device's volatile cache (REQ_OP_FLUSH). Completes at once with 0 when the
   * device has no volatile cache.
   *
   * @returns 0 or a negative errno.
   */
  flush(): Promise<number> {
    const lim = this.#check(false);
    if (typeof lim === "number") return Promise.resolve(lim);
    if ((lim.attrs & UBLK_ATTR_VOLATILE_CACHE) === 0) return Promise.resolve(0);
    return this.#submit(UBLK_IO_OP_FLUSH, 0, 0, 0, EMPTY, 0, false);
  }

  /**
   * Discards `[offset, offset + len)` (split at `max_discard_sectors`).
   *
   * @param offset Byte offset (aligned).
   * @param len Bytes (aligned).
   * @returns 0 or a negative errno (-EOPNOTSUPP without discard support).
   * @throws {RangeError} When not aligned.
   */
  discard(offset: number, len: number): Promise<number> {
    return this.#range(UBLK_IO_OP_DISCARD, 0, offset, len, (l) => l.maxDiscardSectors);
  }

  /**
   * Writes zeroes to `[offset, offset + len)` (REQ_OP_WRITE_ZEROES).
   *
   * @param offset Byte offset (aligned).
   * @param len Bytes (aligned).
   * @param options `noUnmap`.
   * @returns 0 or a negative errno (-EOPNOTSUPP without write-zeroes support).
   * @throws {RangeError} When not aligned.
   */
  writeZeroes(offset: number, len: number, options?: WriteZeroesOptions): Promise<number> {
    const flags = options?.noUnmap === true ? UBLK_IO_F_NOUNMAP : 0;
    return this.#range(UBLK_IO_OP_WRITE_ZEROES, flags, offset, len, (l) => l.maxWriteZeroesSectors);
  }

  #align(what: string, v: number): void {
    const lbs = this.logicalBlockSize;
    if (!Number.isSafeInteger(v) || v < 0 || v % lbs !== 0) {
      throw new RangeError(
        `Cannot submit I/O: ${what} ${v} is not a multiple of the logical block size ${lbs}`,
      );
    }
  }

  #check(write: boolean): DevLimits | number {
    const dev = this.#dev;
    const lim = dev.limits;
    if (lim === null || !dev.used || dev.stopping) return -ENODEV;
    if (write && (lim.attrs & UBLK_ATTR_READ_ONLY) !== 0) return -EPERM;
    return lim;
  }

  /** Offset and length are checked by the caller ({@linkcode UblkBlockDevice.#misaligned}). */
  #rw(op: number, flags: number, offset: number, buf: Uint8Array): Promise<number> {
    const lim = this.#check(op === UBLK_IO_OP_WRITE);
    if (typeof lim === "number") return Promise.resolve(lim);
    if (offset + buf.length > lim.capacity) return Promise.resolve(-EIO);
    if (buf.length === 0) return Promise.resolve(0);
    return this.#submit(op, flags, offset, buf.length, buf, lim.maxBytes, true);
  }

  #range(
    op: number,
    flags: number,
    offset: number,
    len: number,
    limit: (l: DevLimits) => number,
  ): Promise<number> {
    if (this.#direct) {
      const lbs = this.logicalBlockSize;
      if (!Number.isSafeInteger(offset) || offset < 0 || offset % lbs !== 0 || len % lbs !== 0) {
        return Promise.resolve(-EINVAL);
      }
    } else {
      this.#align("offset", offset);
      this.#align("length", len);
    }
    const lim = this.#check(true);
    if (typeof lim === "number") return Promise.resolve(lim);
    const max = limit(lim) * 512;
    if (max === 0) return Promise.resolve(-EOPNOTSUPP);
    if (offset + len > lim.capacity) return Promise.resolve(-EIO);
    if (len === 0) return Promise.resolve(0);
    return this.#submit(op, flags, offset, len, EMPTY, max - (max % lim.lbs), false);
  }

  /** Splits `[offset, offset + len)` into requests of at most `max` bytes and submits them. */
  #submit(
    op: number,
    flags: number,
    offset: number,
    len: number,
    pages: Uint8Array,
    max: number,
    hasData: boolean,
  ): Promise<number> {
    const dev = this.#dev;
    const lim = dev.limits!;
    return new Promise<number>((resolve) => {
      const bio = new Bio(resolve);
      const nq = dev.queues.length;
      let off = offset;
      let done = 0;
      do {
        let n = len - done;
        if (max > 0 && n > max) n = max;
        const chunk = lim.chunkBytes;
        if (chunk > 0 && n > 0) {
          const room = chunk - (off % chunk);
          if (n > room) n = room;
        }
        const q = dev.queues[dev.nextQ]!;
        dev.nextQ = dev.nextQ + 1 === nq ? 0 : dev.nextQ + 1;
        const p = hasData ? (n === pages.length ? pages : pages.subarray(done, done + n)) : EMPTY;
        dev.submit(q, bio, op, flags, off / 512, n / 512, p);
        off += n;
        done += n;
      } while (done < len);
      bio.seal();
    });
  }

  /** Whether the device is LIVE (serving I/O now rather than holding it). */
  get live(): boolean {
    return this.#dev.info.state === UBLK_S_DEV_LIVE;
  }
}
