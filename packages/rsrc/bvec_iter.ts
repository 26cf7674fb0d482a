/**
 * {@linkcode BvecIter}: the result of importing a byte range of a bvec table — the model of a
 * kernel `iov_iter` of type ITER_BVEC. It names the segments that cover the range (first bvec,
 * offset in it, byte count) without copying any byte, and hands out views or copies on demand.
 *
 * @module
 */

/** `ITER_DEST` (linux/uio.h, 0): the consumer writes into the buffer (a READ fills it). */
export const ITER_DEST = 0;
/** `ITER_SOURCE` (linux/uio.h, 1): the consumer reads from the buffer (a WRITE drains it). */
export const ITER_SOURCE = 1;

/** Direction of an import: {@linkcode ITER_DEST} or {@linkcode ITER_SOURCE}. */
export type IterDirection = typeof ITER_DEST | typeof ITER_SOURCE;

const NO_BVECS: readonly Uint8Array[] = Object.freeze([]);

/**
 * An iterator over a sub-range of a bvec table (`Uint8Array` segments). Callers preallocate one
 * per in-flight request and let {@linkcode MappedBuffer.importRange} refill it, so an import
 * allocates nothing; {@linkcode BvecIter.views} allocates only the views it returns.
 *
 * The iterator does not own the memory: it stays valid while the buffer it came from is leased.
 *
 * @example Import two bytes that straddle two segments
 * ```ts
 * import assert from "node:assert/strict";
 * import { BvecIter, ITER_DEST, MappedBuffer } from "@ublk-ts/rsrc";
 * const buf = MappedBuffer.fromSegments([new Uint8Array(4), new Uint8Array(4)]);
 * const it = new BvecIter();
 * assert.equal(buf.importRange(3, 2, ITER_DEST, it), 0);
 * assert.equal(it.nrSegs, 2);
 * it.copyFrom(new Uint8Array([7, 8]));
 * assert.deepEqual([...buf.bvecs[0]!, ...buf.bvecs[1]!], [0, 0, 0, 7, 8, 0, 0, 0]);
 * ```
 */
export class BvecIter {
  /** The whole bvec table the range lies in. */
  bvecs: readonly Uint8Array[] = NO_BVECS;
  /** Index of the first bvec of the range. */
  index = 0;
  /** Byte offset of the range in `bvecs[index]`. */
  iovOffset = 0;
  /** Bytes in the range. */
  count = 0;
  /** Number of bvecs the range touches (0 when `count` is 0). */
  nrSegs = 0;
  /** {@linkcode ITER_DEST} or {@linkcode ITER_SOURCE}. */
  dir: IterDirection = ITER_DEST;

  /**
   * Points the iterator at a range. Used by importers; no checks are made.
   *
   * @param bvecs The bvec table.
   * @param index The first bvec.
   * @param iovOffset The offset in the first bvec.
   * @param count The byte count.
   * @param nrSegs The number of bvecs touched.
   * @param dir The direction.
   */
  set(
    bvecs: readonly Uint8Array[],
    index: number,
    iovOffset: number,
    count: number,
    nrSegs: number,
    dir: IterDirection,
  ): void {
    this.bvecs = bvecs;
    this.index = index;
    this.iovOffset = iovOffset;
    this.count = count;
    this.nrSegs = nrSegs;
    this.dir = dir;
  }

  /** Empties the iterator and drops its reference to the bvec table. */
  reset(): void {
    this.set(NO_BVECS, 0, 0, 0, 0, ITER_DEST);
  }

  /**
   * Calls `fn(segment, start, end)` for each bvec the range touches, in order, with the byte
   * range `[start, end)` of that bvec. Allocates nothing.
   *
   * @param fn The visitor.
   */
  forEachSegment(fn: (segment: Uint8Array, start: number, end: number) => void): void {
    let left = this.count;
    let off = this.iovOffset;
    for (let i = this.index; left > 0; i++) {
      const seg = this.bvecs[i]!;
      const n = Math.min(seg.length - off, left);
      fn(seg, off, off + n);
      left -= n;
      off = 0;
    }
  }

  /**
   * Views (no copies) of the range, one per bvec touched. Writing through them changes the
   * buffer's memory.
   *
   * @param out An array to fill and return (its length is set to `nrSegs`).
   * @returns `out`, holding `nrSegs` views.
   */
  views(out: Uint8Array[] = []): Uint8Array[] {
    out.length = this.nrSegs;
    let left = this.count;
    let off = this.iovOffset;
    for (let i = this.index, k = 0; left > 0; i++, k++) {
      const seg = this.bvecs[i]!;
      const n = Math.min(seg.length - off, left);
      out[k] = off === 0 && n === seg.length ? seg : seg.subarray(off, off + n);
      left -= n;
      off = 0;
    }
    return out;
  }

  /**
   * Copies `src` into the range, from its start.
   *
   * @param src The bytes to write; bytes beyond `count` are ignored.
   * @returns The number of bytes copied: `min(src.length, count)`.
   */
  copyFrom(src: Uint8Array): number {
    const total = Math.min(src.length, this.count);
    let done = 0;
    let off = this.iovOffset;
    for (let i = this.index; done < total; i++) {
      const seg = this.bvecs[i]!;
      const n = Math.min(seg.length - off, total - done);
      seg.set(n === src.length ? src : src.subarray(done, done + n), off);
      done += n;
      off = 0;
    }
    return total;
  }

  /**
   * Copies the range into `dst`, from its start.
   *
   * @param dst Where to write; at most `count` bytes are written.
   * @returns The number of bytes copied: `min(dst.length, count)`.
   */
  copyTo(dst: Uint8Array): number {
    const total = Math.min(dst.length, this.count);
    let done = 0;
    let off = this.iovOffset;
    for (let i = this.index; done < total; i++) {
      const seg = this.bvecs[i]!;
      const n = Math.min(seg.length - off, total - done);
      dst.set(off === 0 && n === seg.length ? seg : seg.subarray(off, off + n), done);
      done += n;
      off = 0;
    }
    return total;
  }

  /**
   * Fills the range with one byte value (zero-fill reads).
   *
   * @param value The byte.
   * @returns The number of bytes written (`count`).
   */
  fill(value: number): number {
    let left = this.count;
    let off = this.iovOffset;
    for (let i = this.index; left > 0; i++) {
      const seg = this.bvecs[i]!;
      const n = Math.min(seg.length - off, left);
      seg.fill(value, off, off + n);
      left -= n;
      off = 0;
    }
    return this.count;
  }
}
