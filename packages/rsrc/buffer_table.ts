/**
 * {@linkcode BufferTable}: io_uring's registered (fixed) buffers — IORING_REGISTER_BUFFERS,
 * IORING_REGISTER_BUFFERS2 with IORING_RSRC_REGISTER_SPARSE, IORING_REGISTER_BUFFERS_UPDATE and
 * IORING_UNREGISTER_BUFFERS — with the errno results of Linux 6.x, and the range check that
 * READ_FIXED / WRITE_FIXED make (`io_import_fixed`).
 *
 * @module
 */

import { EBUSY, EFAULT, EINVAL } from "@ublk-ts/uapi";
import type { BvecIter, IterDirection } from "./bvec_iter.ts";
import { PAGE_SIZE } from "./mapped_buffer.ts";
import { RsrcNode } from "./rsrc_node.ts";
import { SlotTable } from "./_slot_table.ts";

/** `IORING_MAX_REG_BUFFERS` (io_uring/rsrc.h): most buffers a table may hold, 1 << 14. */
export const IORING_MAX_REG_BUFFERS = 16384;
/** Largest registered buffer (`io_buffer_validate`: SZ_1G); longer ones fail with -EFAULT. */
export const MAX_REG_BUFFER_BYTES = 1 << 30;
/** `MAX_RW_COUNT` (INT_MAX & PAGE_MASK): longest fixed-buffer I/O; longer gives -EFAULT. */
export const MAX_RW_COUNT = 0x7fff_f000;

const PAGE = BigInt(PAGE_SIZE);
const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * One registered buffer: the bytes, their fixed user address `base`, and a reference count
 * (held by the table while it sits in a slot, and by each in-flight request after
 * {@linkcode BufferTable.get}).
 */
export class RegisteredBuffer extends RsrcNode<Uint8Array> {
  /** User address of byte 0 (`imu->ubuf`). */
  readonly base: bigint;
  /** `base` as a number when it is a safe integer (the fast path of the range check), else NaN. */
  readonly baseNumber: number;
  /** Length in bytes. */
  readonly len: number;
  /** 4 KiB pages `[base, base + len)` touches (`acct_pages`, no huge-page coalescing). */
  readonly acctPages: number;
  /** The one-entry bvec table over `value`, for {@linkcode BufferTable.importFixedIter}. */
  readonly bvecs: readonly Uint8Array[];
  /**
   * Directions I/O may use the buffer in (`imu->dir`): bit `1 << ITER_DEST` (a READ fills it),
   * bit `1 << ITER_SOURCE` (a WRITE drains it). User buffers allow both.
   */
  readonly dir: number;
  /** Registered by a driver (`io_buffer_register_bvec`, `is_kbuf`): `addr` is an offset. */
  readonly isKernel: boolean;

  /**
   * A registered buffer holding one reference (the table's).
   *
   * @param bytes The memory (not copied).
   * @param base Its user address.
   * @param index Its slot.
   * @param onFree Called when the last reference is dropped.
   * @param dir Allowed directions (default both); `isKernel` is set when `dir` is given.
   */
  constructor(
    bytes: Uint8Array,
    base: bigint,
    index: number,
    onFree?: (node: RsrcNode<Uint8Array>) => void,
    dir?: number,
  ) {
    super(bytes, index, onFree);
    this.dir = dir ?? 3;
    this.isKernel = dir !== undefined;
    this.base = base;
    this.baseNumber = base >= 0n && base <= MAX_SAFE_BIG ? Number(base) : NaN;
    this.len = bytes.length;
    this.acctPages = bytes.length === 0
      ? 0
      : Number((base + BigInt(bytes.length) - 1n) / PAGE - base / PAGE) + 1;
    this.bvecs = Object.freeze([bytes]);
  }

  /** The memory (same as `value`). */
  get bytes(): Uint8Array {
    return this.value;
  }
}

/** Options of {@linkcode BufferTable}. */
export interface BufferTableOptions {
  /**
   * The user address of a buffer's first byte (the ring passes `kernel.addressOf`). Default: a
   * synthetic, page-aligned address per ArrayBuffer, stable for its lifetime.
   */
  addressOf?: (bytes: Uint8Array) => bigint;
  /** Called when a buffer's last reference is dropped (after unregister or replacement). */
  onFree?: (buf: RegisteredBuffer) => void;
}

const synthetic = new WeakMap<ArrayBufferLike, bigint>();
let nextSynthetic = 0x7f00_0000_0000n;

function syntheticAddressOf(bytes: Uint8Array): bigint {
  let base = synthetic.get(bytes.buffer);
  if (base === undefined) {
    base = nextSynthetic;
    synthetic.set(bytes.buffer, base);
    const pages = BigInt(Math.ceil(bytes.buffer.byteLength / PAGE_SIZE) + 1); // + guard page
    nextSynthetic += pages * PAGE;
  }
  return base + BigInt(bytes.byteOffset);
}

/**
 * The registered-buffer table of one ring.
 *
 * Errors follow Linux 6.x (checked on 6.18 by `testdata/rsrc_probe.c`): register while
 * registered -EBUSY; `nr` of 0 or above {@linkcode IORING_MAX_REG_BUFFERS} -EINVAL; an empty or
 * over-1-GiB buffer -EFAULT (the whole registration fails); update or unregister with no table
 * -ENXIO; update beyond the table -EINVAL; a fixed-buffer I/O naming a bad or empty slot, or a
 * range outside the buffer, -EFAULT.
 *
 * Safety: a buffer's memory must stay alive (not detached) until `onFree` reports it freed.
 *
 * @example Register, read through a fixed buffer, unregister while in flight
 * ```ts
 * import assert from "node:assert/strict";
 * import { BufferTable } from "@ublk-ts/rsrc";
 * const bytes = new Uint8Array(8192);
 * const table = new BufferTable({ addressOf: () => 0x10000n });
 * assert.equal(table.register([bytes]), 0);
 * const buf = table.get(0);
 * if (typeof buf === "number") throw new Error("unexpected");
 * const view = table.importFixed(buf, 0x10000n + 100n, 50);
 * assert.ok(view instanceof Uint8Array && view.length === 50);
 * assert.equal(table.importFixed(buf, 0x10000n + 8190n, 4), -14); // -EFAULT
 * assert.equal(table.unregister(), 0);
 * assert.equal(table.liveCount, 1); // still held by the request
 * table.put(buf);
 * assert.equal(table.liveCount, 0);
 * ```
 */
export class BufferTable {
  readonly #slots: SlotTable<Uint8Array | null, RegisteredBuffer>;
  readonly #addressOf: (bytes: Uint8Array) => bigint;
  readonly #onFree: ((buf: RegisteredBuffer) => void) | undefined;
  #live = 0;
  readonly #freeNode = (node: RsrcNode<Uint8Array>): void => {
    this.#live--;
    this.#onFree?.(node as RegisteredBuffer);
  };

  /**
   * An empty table (nothing registered).
   *
   * @param options `addressOf`, `onFree`.
   */
  constructor(options?: BufferTableOptions) {
    this.#addressOf = options?.addressOf ?? syntheticAddressOf;
    this.#onFree = options?.onFree;
    this.#slots = new SlotTable({
      max: IORING_MAX_REG_BUFFERS,
      tooMany: EINVAL,
      skip: () => false,
      make: (bytes, index) => this.#make(bytes, index),
    });
  }

  #make(bytes: Uint8Array | null, index: number): RegisteredBuffer | null | number {
    if (bytes === null) return null;
    if (!(bytes instanceof Uint8Array)) return -EFAULT;
    if (bytes.length === 0 || bytes.length > MAX_REG_BUFFER_BYTES) return -EFAULT;
    const node = new RegisteredBuffer(bytes, this.#addressOf(bytes), index, this.#freeNode);
    this.#live++;
    return node;
  }

  /** Slots in the table (0 when nothing is registered). */
  get nr(): number {
    return this.#slots.nr;
  }

  /** Whether a table is registered. */
  get registered(): boolean {
    return this.#slots.slots !== null;
  }

  /** Buffers not yet freed: those in slots plus those only requests still hold. */
  get liveCount(): number {
    return this.#live;
  }

  /**
   * IORING_REGISTER_BUFFERS (see io_uring_register_buffers(3)): one slot per entry, `null`
   * leaving the slot empty (an iovec of NULL base and 0 length).
   *
   * Errors: -EBUSY when registered; -EINVAL when empty or above
   * {@linkcode IORING_MAX_REG_BUFFERS}; -EFAULT for an empty or over-1-GiB buffer (nothing is
   * registered then).
   *
   * @param buffers The buffers (not copied).
   * @returns 0, or a negative errno.
   */
  register(buffers: readonly (Uint8Array | null)[]): number {
    const r = this.#slots.checkRegister(buffers.length, EBUSY);
    return r < 0 ? r : this.#slots.register(buffers);
  }

  /**
   * IORING_REGISTER_BUFFERS2 with IORING_RSRC_REGISTER_SPARSE (see
   * io_uring_register_buffers_sparse(3)): `nr` empty slots.
   *
   * Errors: -EBUSY when registered; -EINVAL when `nr` is 0 or above
   * {@linkcode IORING_MAX_REG_BUFFERS}.
   *
   * @param nr Slot count.
   * @returns 0, or a negative errno.
   */
  registerSparse(nr: number): number {
    const r = this.#slots.checkRegister(nr, EBUSY);
    if (r < 0) return r;
    this.#slots.registerSparse(nr);
    return 0;
  }

  /**
   * IORING_REGISTER_BUFFERS_UPDATE (see io_uring_register_buffers_update_tag(3)): replaces
   * slots `offset..offset + buffers.length - 1`; `null` empties a slot. A replaced buffer lives
   * on until requests holding it drop their references. Stops at the first bad buffer.
   *
   * Errors: -EINVAL for no entries; -ENXIO when nothing is registered; -EINVAL beyond the table;
   * -EFAULT for a bad first buffer.
   *
   * @param offset First slot.
   * @param buffers New contents.
   * @returns Slots updated (> 0), or a negative errno when none was.
   */
  update(offset: number, buffers: readonly (Uint8Array | null)[]): number {
    return this.#slots.update(offset, buffers);
  }

  /**
   * `io_buffer_register_bvec`: a driver registers kernel pages (a ublk request's) in slot
   * `index`; I/O addresses them by offset from 0 and only in the directions of `dir`.
   *
   * @param index Slot.
   * @param bytes The pages (not copied).
   * @param dir `1 << ITER_DEST` and/or `1 << ITER_SOURCE`.
   * @param release Called once the slot and every request holding the buffer let go.
   * @returns 0; -EINVAL outside the table (or none registered); -EBUSY when the slot is in use.
   */
  registerKernel(index: number, bytes: Uint8Array, dir: number, release: () => void): number {
    if (!(index >= 0 && index < this.#slots.nr)) return -EINVAL;
    if (this.#slots.lookup(index) !== null) return -EBUSY;
    const node = new RegisteredBuffer(bytes, 0n, index, (n) => {
      this.#freeNode(n);
      release();
    }, dir);
    this.#live++;
    this.#slots.replace(index, node);
    return 0;
  }

  /**
   * `io_buffer_unregister_bvec`: empties a slot a driver registered.
   *
   * @param index Slot.
   * @returns 0; -EINVAL outside the table or for an empty slot; -EBUSY for a user buffer.
   */
  unregisterKernel(index: number): number {
    if (!(index >= 0 && index < this.#slots.nr)) return -EINVAL;
    const node = this.#slots.lookup(index);
    if (node === null) return -EINVAL;
    if (!node.isKernel) return -EBUSY;
    this.#slots.replace(index, null);
    return 0;
  }

  /**
   * IORING_UNREGISTER_BUFFERS (see io_uring_unregister_buffers(3)). Buffers that requests still
   * hold stay alive until their last {@linkcode BufferTable.put}.
   *
   * @returns 0, or -ENXIO when nothing is registered.
   */
  unregister(): number {
    return this.#slots.unregister();
  }

  /**
   * Unregisters whatever is registered; safe to call twice. Held entries live on until their
   * last `put()`.
   */
  close(): void {
    this.#slots.unregister();
  }

  /** Alias of {@linkcode BufferTable.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * The buffer in slot `index`, without taking a reference.
   *
   * @param index The SQE's `buf_index`.
   * @returns The buffer, or -EFAULT when `index` is out of range or the slot is empty.
   */
  lookup(index: number): RegisteredBuffer | number {
    return this.#slots.lookup(index) ?? -EFAULT;
  }

  /**
   * The buffer in slot `index`, with a reference the caller (an in-flight request) must return
   * with {@linkcode BufferTable.put}.
   *
   * @param index The SQE's `buf_index`.
   * @returns The buffer, or -EFAULT when `index` is out of range or the slot is empty.
   */
  get(index: number): RegisteredBuffer | number {
    const node = this.#slots.lookup(index);
    return node === null ? -EFAULT : node.ref();
  }

  /**
   * Returns a reference taken with {@linkcode BufferTable.get}.
   *
   * @param buf The buffer.
   * @throws {RangeError} When the buffer is already freed.
   */
  put(buf: RegisteredBuffer): void {
    buf.put();
  }

  /**
   * The view of `[addr, addr + len)` of a registered buffer (`io_import_fixed`), not a copy.
   *
   * @param buf The buffer.
   * @param addr User address (the SQE's `addr`).
   * @param len Byte count (the SQE's `len`).
   * @returns The view, or -EFAULT when the range is not inside `[base, base + len)` or `len`
   *   exceeds {@linkcode MAX_RW_COUNT}.
   */
  importFixed(buf: RegisteredBuffer, addr: bigint, len: number): Uint8Array | number {
    const off = this.#offsetOf(buf, addr, len);
    return off < 0 ? off : buf.value.subarray(off, off + len);
  }

  /**
   * Like {@linkcode BufferTable.importFixed}, into a preallocated iterator (no allocation).
   *
   * @param buf The buffer.
   * @param addr User address.
   * @param len Byte count.
   * @param dir The direction.
   * @param iter The iterator to fill.
   * @returns 0, or -EFAULT.
   */
  importFixedIter(
    buf: RegisteredBuffer,
    addr: bigint,
    len: number,
    dir: IterDirection,
    iter: BvecIter,
  ): number {
    const off = this.#offsetOf(buf, addr, len);
    if (off < 0) return off;
    iter.set(buf.bvecs, 0, len === 0 ? 0 : off, len, len === 0 ? 0 : 1, dir);
    return 0;
  }

  #offsetOf(buf: RegisteredBuffer, addr: bigint, len: number): number {
    if (!Number.isInteger(len) || len < 0 || len > MAX_RW_COUNT) return -EFAULT;
    if (typeof addr !== "bigint") return -EFAULT;
    const base = buf.baseNumber;
    if (base === base && addr <= MAX_SAFE_BIG) {
      // Both are exact doubles: no BigInt arithmetic (which allocates).
      const off = Number(addr) - base;
      return off < 0 || off > buf.len - len ? -EFAULT : off;
    }
    if (addr < buf.base) return -EFAULT;
    const off = addr - buf.base;
    if (off > BigInt(buf.len - len)) return -EFAULT;
    return Number(off);
  }
}
