/**
 * The model kernel's address space: every `ArrayBuffer` that names I/O memory gets a region id
 * (the upper 32 bits of its addresses), so an SQE's `addr` resolves back to bytes in O(1).
 *
 * @module
 */

import { EFAULT } from "@ublk-ts/uapi";

/** One region: the buffer (weakly held) and its length. */
interface Region {
  ref: WeakRef<ArrayBufferLike>;
  len: number;
  /** The last view handed out (reused when the same range is resolved again). */
  lastLo: number;
  lastLen: number;
  lastView: Uint8Array | null;
}

/**
 * Addresses for `ArrayBuffer`s. Address = `regionId << 32 | byteOffset`; region 0 is never
 * used, so address 0 (NULL) always faults.
 *
 * Safety: regions are held weakly; an address whose buffer was collected resolves to -EFAULT.
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { AddressSpace } from "@ublk-ts/model";
 * const as = new AddressSpace();
 * const buf = new Uint8Array(16);
 * const addr = as.addressOf(buf.subarray(4));
 * const view = as.resolve(addr, 8);
 * assert.ok(view instanceof Uint8Array);
 * assert.equal(view.byteOffset, 4);
 * assert.equal(as.resolve(0n, 1), -14);
 * ```
 */
export class AddressSpace {
  #ids: WeakMap<ArrayBufferLike, number> = new WeakMap();
  #regions: (Region | undefined)[] = [undefined];

  /**
   * The address of `bytes[0]` (region base cached per ArrayBuffer).
   *
   * @param bytes Memory.
   * @returns Its address.
   */
  addressOf(bytes: Uint8Array): bigint {
    return (BigInt(this.regionOf(bytes.buffer)) << 32n) + BigInt(bytes.byteOffset);
  }

  /**
   * The region id of a buffer, allocating one on first use.
   *
   * @param buffer The ArrayBuffer.
   * @returns The region id (≥ 1).
   */
  regionOf(buffer: ArrayBufferLike): number {
    let id = this.#ids.get(buffer);
    if (id === undefined) {
      if (buffer.byteLength > 0xffffffff) {
        throw new RangeError(`Cannot map buffer: length ${buffer.byteLength} exceeds 4 GiB`);
      }
      id = this.#regions.length;
      this.#regions.push({
        ref: new WeakRef(buffer),
        len: buffer.byteLength,
        lastLo: -1,
        lastLen: -1,
        lastView: null,
      });
      this.#ids.set(buffer, id);
    }
    return id;
  }

  /**
   * Bytes `[addr, addr + len)` as a view, or -EFAULT. The last view of each region is reused
   * when the same range is resolved again (no allocation on steady-state I/O).
   *
   * @param addr An address from {@linkcode AddressSpace.addressOf} (plus an offset).
   * @param len Length in bytes.
   * @returns A view, or `-EFAULT`.
   */
  resolve(addr: bigint, len: number): Uint8Array | number {
    const hi = Number(addr >> 32n);
    const lo = Number(addr & 0xffffffffn);
    return this.resolveParts(hi, lo, len);
  }

  /**
   * {@linkcode AddressSpace.resolve} from the two 32-bit halves of an address (no bigint).
   *
   * @param hi Upper 32 bits (the region id).
   * @param lo Lower 32 bits (the byte offset).
   * @param len Length in bytes.
   * @returns A view, or `-EFAULT`.
   */
  resolveParts(hi: number, lo: number, len: number): Uint8Array | number {
    const r = this.#regions[hi];
    if (r === undefined) return -EFAULT;
    if (lo + len > r.len) return -EFAULT;
    const last = r.lastView;
    if (last !== null && r.lastLo === lo && r.lastLen === len && last.byteLength === len) {
      return last;
    }
    const buf = r.ref.deref();
    if (buf === undefined || buf.byteLength < lo + len) return -EFAULT;
    const v = new Uint8Array(buf, lo, len);
    r.lastLo = lo;
    r.lastLen = len;
    r.lastView = v;
    return v;
  }

  /**
   * Like {@linkcode AddressSpace.resolveParts}, but a range running past the end of its buffer
   * is cut at the end (as a copy to user memory stops at the first unmapped page): -EFAULT
   * only when not even the first byte is mapped.
   *
   * @param hi Upper 32 bits (the region id).
   * @param lo Lower 32 bits (the byte offset).
   * @param len Length in bytes (> 0).
   * @returns A view of at most `len` bytes, or `-EFAULT`.
   */
  resolveClamped(hi: number, lo: number, len: number): Uint8Array | number {
    const r = this.#regions[hi];
    if (r === undefined || lo >= r.len) return -EFAULT;
    return this.resolveParts(hi, lo, Math.min(len, r.len - lo));
  }

  /**
   * The buffer of a region and its base address check, for callers that cache views.
   *
   * @param hi Region id.
   * @returns The buffer, or `undefined` when unknown or collected.
   */
  bufferOf(hi: number): ArrayBufferLike | undefined {
    return this.#regions[hi]?.ref.deref();
  }
}
