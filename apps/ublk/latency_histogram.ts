/**
 * A log-linear latency histogram (HDR style: 16 sub-buckets per power of two, about 6 %
 * precision) over nanoseconds. Recording allocates nothing.
 *
 * @module
 */

const SUB_BITS = 4;
const SUB = 1 << SUB_BITS;
const BUCKETS = 64 * SUB;

/**
 * Latency histogram with constant-time, allocation-free recording.
 *
 * @example Percentiles
 * ```ts
 * import assert from "node:assert/strict";
 * import { LatencyHistogram } from "./latency_histogram.ts";
 * const h = new LatencyHistogram();
 * for (let i = 1; i <= 100; i++) h.record(i * 1000);
 * assert.ok(Math.abs(h.percentile(99) - 99_000) < 99_000 * 0.07);
 * ```
 */
export class LatencyHistogram {
  #counts: Float64Array = new Float64Array(BUCKETS);
  #count = 0;
  #sum = 0;
  #max = 0;

  /** Number of samples recorded. */
  get count(): number {
    return this.#count;
  }

  /** Mean of the samples in nanoseconds (0 when empty). */
  get mean(): number {
    return this.#count === 0 ? 0 : this.#sum / this.#count;
  }

  /** Largest sample in nanoseconds. */
  get max(): number {
    return this.#max;
  }

  /**
   * Records one sample.
   *
   * @param ns The latency in nanoseconds (negative values count as 0).
   */
  record(ns: number): void {
    const v = ns > 0 ? Math.floor(ns) : 0;
    this.#counts[bucketOf(v)]!++;
    this.#count++;
    this.#sum += v;
    if (v > this.#max) this.#max = v;
  }

  /**
   * The value below which `p` percent of the samples fall (the bucket's midpoint).
   *
   * @param p A percentile in [0, 100].
   * @returns Nanoseconds, or 0 when empty.
   */
  percentile(p: number): number {
    if (!(p >= 0 && p <= 100)) throw new RangeError(`Cannot take percentile ${p}: not in [0, 100]`);
    if (this.#count === 0) return 0;
    const want = Math.max(1, Math.ceil((p / 100) * this.#count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i]!;
      if (seen >= want) return Math.min(bucketMid(i), this.#max);
    }
    return this.#max;
  }

  /** Forgets every sample. */
  reset(): void {
    this.#counts.fill(0);
    this.#count = 0;
    this.#sum = 0;
    this.#max = 0;
  }
}

function bucketOf(v: number): number {
  if (v < SUB) return v;
  const e = v < 0x80000000 ? 31 - Math.clz32(v) : Math.floor(Math.log2(v));
  const sub = Math.floor(v / 2 ** (e - SUB_BITS)) & (SUB - 1);
  const idx = (e - SUB_BITS + 1) * SUB + sub;
  return idx < BUCKETS ? idx : BUCKETS - 1;
}

function bucketMid(idx: number): number {
  if (idx < SUB) return idx;
  const e = Math.floor(idx / SUB) + SUB_BITS - 1;
  const sub = idx % SUB;
  const lo = 2 ** e + sub * 2 ** (e - SUB_BITS);
  return lo + 2 ** (e - SUB_BITS) / 2;
}
