/**
 * Arithmetic on the io_uring ring counters. SQ/CQ `head` and `tail` are free-running u32s
 * that wrap at 2^32; entries are indexed with `counter & ring_mask`, and the number of
 * entries between two counters is their difference modulo 2^32.
 *
 * @example Count pending CQEs across the wrap
 * ```ts
 * import assert from "node:assert/strict";
 * import { u32Add, u32Sub } from "@ublk-ts/uapi";
 * const head = 0xffff_fffe;
 * const tail = u32Add(head, 5); // wrapped to 3
 * assert.equal(tail, 3);
 * assert.equal(u32Sub(tail, head), 5);
 * ```
 *
 * @module
 */

/**
 * `(a + b) mod 2^32`.
 * @param a A u32 counter.
 * @param b An increment.
 * @returns The wrapped sum.
 */
export function u32Add(a: number, b: number): number {
  return (a + b) >>> 0;
}

/**
 * `(a - b) mod 2^32`: entries from `b` up to `a` (e.g. `tail - head`).
 * @param a The later counter.
 * @param b The earlier counter.
 * @returns The wrapped difference.
 */
export function u32Sub(a: number, b: number): number {
  return (a - b) >>> 0;
}

/**
 * The slot of counter `c` in a ring of `mask + 1` entries.
 * @param c A u32 counter.
 * @param mask `ring_entries - 1` (a power of two minus one).
 * @returns `c & mask`.
 */
export function ringIndex(c: number, mask: number): number {
  return (c & mask) >>> 0;
}
