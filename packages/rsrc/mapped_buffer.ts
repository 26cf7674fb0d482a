/**
 * {@linkcode MappedBuffer}: the RFC's `io_mapped_buf` (v4: `io_uring_bvec_buf`) — a byte range
 * described by an external bvec table of `Uint8Array` segments (for ublk, the pages of a block
 * request), immutable once built, leased to concurrent fused commands.
 *
 * @module
 */

import { EFAULT, EINVAL } from "@ublk-ts/uapi";
import { BvecIter, ITER_DEST, type IterDirection } from "./bvec_iter.ts";

/** Page size used for page accounting (4 KiB). */
export const PAGE_SIZE = 4096;

/** Options of {@linkcode MappedBuffer.fromSegments}. */
export interface MappedBufferOptions {
  /** Offset of the buffer's first byte in the first segment (`bi_bvec_done`). Default 0. */
  offset?: number;
  /** Buffer length in bytes. Default: every byte of the segments after `offset`. */
  len?: number;
  /** Called when the last lease is released (see {@linkcode MappedBuffer.release}). */
  onLastRelease?: (buf: MappedBuffer) => void;
}

const NO_SEGMENTS: readonly Uint8Array[] = Object.freeze([]);

/** Pages of 4 KiB touched by `bytes`, assuming its ArrayBuffer starts on a page boundary. */
function pagesOf(bytes: Uint8Array, start: number, end: number): number {
  if (end <= start) return 0;
  const a = bytes.byteOffset + start;
  const b = bytes.byteOffset + end;
  return Math.floor((b - 1) / PAGE_SIZE) - Math.floor(a / PAGE_SIZE) + 1;
}

/**
 * A buffer made of an external table of segments (`bvec`), a start `offset` into the first
 * segment and a byte length `len`. Its virtual start address is 0, so a fused slave's
 * `(addr, len)` is a byte range of `[0, len)` (SPEC §1.3, §1.5.4).
 *
 * The table is frozen and the object has no setters: a `MappedBuffer` may be shared by several
 * fused commands at once. The owner learns through `onLastRelease` when the last lease taken
 * with {@linkcode MappedBuffer.acquire} is returned.
 *
 * Safety: the segments are views of caller memory and are never copied; the owner must keep
 * that memory alive and unchanged in shape (not detached) until the last lease is released.
 *
 * @example Import a sub-range without copying
 * ```ts
 * import assert from "node:assert/strict";
 * import { BvecIter, ITER_DEST, MappedBuffer } from "@ublk-ts/rsrc";
 * const page0 = new Uint8Array(4096);
 * const page1 = new Uint8Array(4096);
 * const buf = MappedBuffer.fromSegments([page0, page1], { offset: 512 });
 * assert.equal(buf.len, 8192 - 512);
 * const it = new BvecIter();
 * assert.equal(buf.importRange(3584, 8, ITER_DEST, it), 0); // starts at page1[0]
 * it.views()[0]![0] = 42;
 * assert.equal(page1[0], 42);
 * assert.equal(buf.importRange(buf.len, 1, ITER_DEST, it), -14); // -EFAULT
 * ```
 */
export class MappedBuffer {
  /** Bytes in the buffer (`buf_end - buf`). */
  readonly len: number;
  /** Offset of byte 0 in `bvecs[0]`. */
  readonly offset: number;
  /** The frozen bvec table. */
  readonly bvecs: readonly Uint8Array[];
  /** Number of bvecs in the table. */
  readonly nrBvecs: number;

  /**
   * `#ends[i]` = bytes of segments 0..i, counted from `bvecs[0][0]`; `null` for a table of at
   * most one segment (nothing to search).
   */
  readonly #ends: number[] | null;
  #leases = 0;
  readonly #onLastRelease: ((buf: MappedBuffer) => void) | undefined;
  /** The copy paths' iterator, made on first use (most buffers are only imported). */
  #scratch: BvecIter | null = null;

  /** Takes a frozen, checked table (see {@linkcode MappedBuffer.fromSegments}). */
  private constructor(
    table: readonly Uint8Array[],
    ends: number[] | null,
    offset: number,
    len: number,
    onLastRelease: ((buf: MappedBuffer) => void) | undefined,
  ) {
    this.len = len;
    this.offset = offset;
    this.bvecs = table;
    this.nrBvecs = table.length;
    this.#ends = ends;
    this.#onLastRelease = onLastRelease;
    Object.freeze(this);
  }

  /** Checks `segments` and builds the buffer (copies the table, never the bytes). */
  static #build(
    segments: readonly Uint8Array[],
    options: MappedBufferOptions | undefined,
  ): MappedBuffer {
    const table = Object.freeze(segments.slice());
    const ends: number[] | null = table.length > 1 ? new Array<number>(table.length) : null;
    let total = 0;
    for (let i = 0; i < table.length; i++) {
      const seg = table[i];
      if (!(seg instanceof Uint8Array)) {
        throw new TypeError(`Cannot build buffer: segment ${i} is not a Uint8Array`);
      }
      if (seg.length === 0) throw new RangeError(`Cannot build buffer: segment ${i} is empty`);
      total += seg.length;
      if (ends !== null) ends[i] = total;
    }
    const offset = options?.offset ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0 || (offset > 0 && offset >= total)) {
      throw new RangeError(
        `Cannot build buffer: offset ${offset} is outside the first segment or the table`,
      );
    }
    if (table.length > 0 && offset >= table[0]!.length) {
      throw new RangeError(
        `Cannot build buffer: offset ${offset} is not inside the first segment of ${
          table[0]!.length
        } bytes`,
      );
    }
    const len = options?.len ?? total - offset;
    if (!Number.isSafeInteger(len) || len < 0 || len > total - offset) {
      throw new RangeError(
        `Cannot build buffer: length ${len} exceeds the ${total - offset} bytes after the offset`,
      );
    }
    return new MappedBuffer(table, ends, offset, len, options?.onLastRelease);
  }

  /**
   * A buffer over one `Uint8Array` (one bvec), offset 0.
   *
   * Hot path (a fused command per block request): one frozen one-element table and the
   * instance are all it allocates.
   *
   * @param bytes The memory (not copied). May be empty: the buffer then has no bvec (as a
   *   request without data) and every import fails with -EINVAL.
   * @param options `onLastRelease`.
   * @returns The buffer.
   */
  static fromBytes(
    bytes: Uint8Array,
    options?: Pick<MappedBufferOptions, "onLastRelease">,
  ): MappedBuffer {
    if (!(bytes instanceof Uint8Array)) {
      throw new TypeError("Cannot build buffer: segment 0 is not a Uint8Array");
    }
    const n = bytes.length;
    if (n === 0) return new MappedBuffer(NO_SEGMENTS, null, 0, 0, options?.onLastRelease);
    return new MappedBuffer(Object.freeze([bytes]), null, 0, n, options?.onLastRelease);
  }

  /**
   * A buffer over a list of segments, such as the pages of a block request.
   *
   * @param segments The bvec table (copied into a frozen array; the bytes are not copied).
   * @param options `offset` into the first segment, `len`, `onLastRelease`.
   * @returns The buffer.
   * @throws {TypeError} When a segment is not a `Uint8Array`.
   * @throws {RangeError} When a segment is empty, `offset` is not inside the first segment or
   *   `len` exceeds the bytes after `offset`.
   */
  static fromSegments(
    segments: readonly Uint8Array[],
    options?: MappedBufferOptions,
  ): MappedBuffer {
    return MappedBuffer.#build(segments, options);
  }

  /**
   * A buffer over contiguous memory cut into page-sized segments at the page boundaries of its
   * ArrayBuffer, as the bvec table of a block request over that memory would be.
   *
   * @param bytes The memory (not copied).
   * @param options `pageSize` (default {@linkcode PAGE_SIZE}), `onLastRelease`.
   * @returns The buffer; `nrBvecs` is the number of pages `bytes` touches.
   * @throws {RangeError} When `pageSize` is not a positive integer.
   */
  static fromPages(
    bytes: Uint8Array,
    options?: Pick<MappedBufferOptions, "onLastRelease"> & { pageSize?: number },
  ): MappedBuffer {
    const pageSize = options?.pageSize ?? PAGE_SIZE;
    if (!Number.isSafeInteger(pageSize) || pageSize <= 0) {
      throw new RangeError(`Cannot build buffer: page size ${pageSize} is not a positive integer`);
    }
    const segs: Uint8Array[] = [];
    let pos = 0;
    while (pos < bytes.length) {
      const abs = bytes.byteOffset + pos;
      const n = Math.min(pageSize - (abs % pageSize), bytes.length - pos);
      segs.push(bytes.subarray(pos, pos + n));
      pos += n;
    }
    return MappedBuffer.#build(segs, options);
  }

  /** 4 KiB pages the buffer's bytes touch (`acct_pages`), counted on demand. */
  get acctPages(): number {
    let pages = 0;
    let left = this.len;
    let off = this.offset;
    const table = this.bvecs;
    for (let i = 0; left > 0; i++) {
      const seg = table[i]!;
      const n = Math.min(seg.length - off, left);
      pages += pagesOf(seg, off, off + n);
      left -= n;
      off = 0;
    }
    return pages;
  }

  /** Leases currently held. */
  get leases(): number {
    return this.#leases;
  }

  /**
   * Takes a lease (a fused command starts using the buffer).
   *
   * @returns This buffer.
   */
  acquire(): this {
    this.#leases++;
    return this;
  }

  /**
   * Returns a lease. When the count drops to zero, `onLastRelease` runs.
   *
   * @throws {RangeError} When no lease is held.
   */
  release(): void {
    if (this.#leases === 0) {
      throw new RangeError("Cannot release buffer: no lease is held");
    }
    if (--this.#leases === 0) this.#onLastRelease?.(this);
  }

  /**
   * Imports `[addr, addr + len)` into `iter` without copying (the RFC's
   * `io_import_kbuf_for_slave`). The buffer's virtual start address is 0.
   *
   * Errors: -EINVAL when the buffer has no bvec (a request without data: the kernel's
   * `kbuf->bvec == NULL`, checked first); -EFAULT when `addr > this.len` or
   * `len > this.len - addr` (also for negative or non-integer values). `iter` is left
   * unchanged on error.
   *
   * @param addr Byte offset in the buffer.
   * @param len Byte count.
   * @param dir {@linkcode ITER_DEST} (the consumer fills the buffer) or {@linkcode ITER_SOURCE}.
   * @param iter The iterator to fill (preallocated by the caller).
   * @returns 0, -EINVAL or -EFAULT.
   */
  importRange(addr: number, len: number, dir: IterDirection, iter: BvecIter): number {
    if (this.nrBvecs === 0) return -EINVAL;
    const bufLen = this.len;
    if (!(addr >= 0 && addr <= bufLen && len >= 0 && len <= bufLen - addr)) return -EFAULT;
    if (!Number.isInteger(addr) || !Number.isInteger(len)) return -EFAULT;
    if (len === 0) {
      iter.set(this.bvecs, 0, 0, 0, 0, dir);
      return 0;
    }
    const start = this.offset + addr;
    const ends = this.#ends;
    if (ends === null) {
      iter.set(this.bvecs, 0, start, len, 1, dir);
      return 0;
    }
    const last = start + len - 1;
    const first = find(ends, start, 0);
    const end = find(ends, last, first);
    const iovOffset = first === 0 ? start : start - ends[first - 1]!;
    iter.set(this.bvecs, first, iovOffset, len, end - first + 1, dir);
    return 0;
  }

  /**
   * Copies `bytes` into the buffer at `addr` (the copy path).
   *
   * @param bytes The source.
   * @param addr Byte offset in the buffer.
   * @returns `bytes.length`, -EFAULT when the range is outside the buffer, -EINVAL when the
   *   buffer has no bvec.
   */
  copyFrom(bytes: Uint8Array, addr: number): number {
    const it = this.#scratch ??= new BvecIter();
    const r = this.importRange(addr, bytes.length, ITER_DEST, it);
    if (r < 0) return r;
    const n = it.copyFrom(bytes);
    it.reset();
    return n;
  }

  /**
   * Copies the buffer's bytes at `addr` into `bytes` (the copy path).
   *
   * @param bytes The destination; `bytes.length` bytes are read.
   * @param addr Byte offset in the buffer.
   * @returns `bytes.length`, -EFAULT when the range is outside the buffer, -EINVAL when the
   *   buffer has no bvec.
   */
  copyTo(bytes: Uint8Array, addr: number): number {
    const it = this.#scratch ??= new BvecIter();
    const r = this.importRange(addr, bytes.length, ITER_DEST, it);
    if (r < 0) return r;
    const n = it.copyTo(bytes);
    it.reset();
    return n;
  }
}

/** Index of the segment holding table byte `pos` (counted from `bvecs[0][0]`), from `lo`. */
function find(ends: readonly number[], pos: number, lo: number): number {
  let hi = ends.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ends[mid]! > pos) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
