/**
 * Parsing and printing of sizes (`4k`, `512K`, `1m`, `2GiB`), durations (`5s`, `250ms`, `1m`)
 * and rates, as fio spells them: size suffixes are powers of 1024.
 *
 * @module
 */

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

/**
 * Parses a byte count such as `4096`, `4k`, `512KiB` or `1g` (suffixes are powers of 1024).
 *
 * @param text The text.
 * @param what What the value is, for the error message.
 * @returns The number of bytes.
 * @throws {RangeError} when the text is not a non-negative size.
 *
 * @example Sizes
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSize } from "./units.ts";
 * assert.equal(parseSize("4k", "bs"), 4096);
 * ```
 */
export function parseSize(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(text.trim());
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    throw new RangeError(`Cannot parse ${what} "${text}": expected a size such as 4k, 512K or 1g`);
  }
  const v = Number(m[1]) * unit;
  if (!Number.isSafeInteger(v)) {
    throw new RangeError(`Cannot parse ${what} "${text}": not a whole number of bytes`);
  }
  return v;
}

/**
 * Parses a duration such as `5s`, `250ms`, `2m` or a bare number of seconds.
 *
 * @param text The text.
 * @param what What the value is, for the error message.
 * @returns Milliseconds.
 * @throws {RangeError} when the text is not a duration.
 *
 * @example Durations
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseDuration } from "./units.ts";
 * assert.equal(parseDuration("250ms", "time"), 250);
 * assert.equal(parseDuration("5s", "time"), 5000);
 * ```
 */
export function parseDuration(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(text.trim());
  if (!m) {
    throw new RangeError(`Cannot parse ${what} "${text}": expected a duration such as 5s or 250ms`);
  }
  const mult = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? "s"]!;
  return Number(m[1]) * mult;
}

/**
 * Prints a byte count with a binary unit (`4k`, `512k`, `1m`, `1.5g`), as fio writes `bs=`.
 *
 * @param bytes The byte count.
 * @returns The short text.
 *
 * @example Block sizes
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatSize } from "./units.ts";
 * assert.equal(formatSize(65536), "64k");
 * ```
 */
export function formatSize(bytes: number): string {
  const units = ["", "k", "m", "g", "t"];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const s = Number.isInteger(v) ? String(v) : v.toFixed(1);
  return `${s}${units[i]}`;
}

/**
 * Prints a count with a decimal suffix (`950`, `12.3k`, `1.20M`).
 *
 * @param n The count.
 * @returns The short text.
 *
 * @example IOPS
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatCount } from "./units.ts";
 * assert.equal(formatCount(12345), "12.3k");
 * ```
 */
export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return n.toFixed(0);
}

/**
 * Prints a latency given in nanoseconds with a fitting unit (`850ns`, `12.4us`, `3.10ms`).
 *
 * @param ns Nanoseconds.
 * @returns The short text.
 *
 * @example Latency
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatLatency } from "./units.ts";
 * assert.equal(formatLatency(12_400), "12.4us");
 * ```
 */
export function formatLatency(ns: number): string {
  if (ns >= 1e9) return `${(ns / 1e9).toFixed(2)}s`;
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)}ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(1)}us`;
  return `${ns.toFixed(0)}ns`;
}
