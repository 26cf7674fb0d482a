/**
 * A data integrity workload over any block device, in the spirit of fio's `--verify`.
 *
 * Every 512-byte sector written carries a 32-byte header and a payload that is a pure
 * function of `(seed, sector offset, generation)`:
 *
 * | bytes  | field                                                     |
 * | ------ | --------------------------------------------------------- |
 * | 0..4   | magic `0x56524659` ("VRFY"), little-endian                |
 * | 4..8   | FNV-1a 32 of bytes 8..512 of the sector                   |
 * | 8..16  | the sector's byte offset (u64)                            |
 * | 16..20 | generation (a global write counter, from 1)               |
 * | 20..24 | seed                                                      |
 * | 24..32 | zero                                                      |
 * | 32..   | xorshift32 stream seeded from seed, offset and generation |
 *
 * Workers (up to queue depth 128) pick random sector-aligned ranges, some of them straddling
 * a multiple of a split size (such as ublk's `max_io_buf_bytes`), and either write a fresh
 * generation or read and check what the shadow map says must be there. Ranges in flight are
 * locked, so overlapping I/O never races. A final pass reads the whole region back. The
 * shadow map ({@linkcode VerifyShadow}) can rebuild the expected image byte for byte, so a
 * caller can compare the backing file or export after the run.
 *
 * @module
 */

/** The minimal block device {@linkcode runVerify} drives. */
export interface BlockDevice {
  /** Size in bytes. */
  readonly size: number | bigint;
  /**
   * Reads `buf.length` bytes at `offset`.
   *
   * @param offset Byte offset.
   * @param buf Destination.
   * @returns Bytes read, or a negative errno.
   */
  read(offset: number, buf: Uint8Array): Promise<number>;
  /**
   * Writes `data` at `offset`.
   *
   * @param offset Byte offset.
   * @param data Source.
   * @returns Bytes written, or a negative errno.
   */
  write(offset: number, data: Uint8Array): Promise<number>;
}

/** The sector size of the verify format. */
export const VERIFY_SECTOR = 512;
/** The magic at the start of each verified sector ("VRFY"). */
export const VERIFY_MAGIC = 0x56524659;
/** Size of the per-sector header. */
export const VERIFY_HEADER_SIZE = 32;

const GEN_UNKNOWN = 0xffffffff;

/** Which part of a sector failed to check. */
export type VerifyField =
  | "magic"
  | "checksum"
  | "offset"
  | "generation"
  | "seed"
  | "data"
  | "zero";

/** One sector that did not hold what was written. */
export interface VerifyMismatch {
  /** Byte offset of the sector. */
  offset: number;
  /** The field that differed. */
  field: VerifyField;
  /** The expected value (for "data"/"zero": the byte index in the sector). */
  expected: number;
  /** The value found (for "data"/"zero": the byte found). */
  got: number;
}

/** An I/O that failed or was short. */
export interface VerifyIoError {
  /** Which call. */
  op: "read" | "write";
  /** Byte offset. */
  offset: number;
  /** Byte length. */
  length: number;
  /** What the device returned (a negative errno, or a short count). */
  result: number;
}

/** Progress of a run, given to {@linkcode VerifyOptions.progress}. */
export interface VerifyProgress {
  /** `"random"` (the mixed phase) or `"final"` (the read-back pass). */
  phase: "random" | "final";
  /** Operations done in this phase. */
  done: number;
  /** Operations planned in this phase. */
  total: number;
  /** Bytes written so far. */
  bytesWritten: number;
  /** Bytes read so far. */
  bytesRead: number;
  /** Mismatches so far. */
  mismatches: number;
}

/** Options of {@linkcode runVerify}. */
export interface VerifyOptions {
  /** The RNG seed (u32); random when absent. Printed on failure. */
  seed?: number;
  /** Operations in the random phase, default 2000. */
  ops?: number;
  /** Concurrent workers (1..128), default 32. */
  queueDepth?: number;
  /** Alignment unit of offsets and sizes (a multiple of 512), default 512. */
  blockSize?: number;
  /** Smallest I/O in bytes, default `blockSize`. */
  minBytes?: number;
  /** Stops the run: no new I/O is started once it is aborted, and the final pass is skipped. */
  signal?: AbortSignal;
  /** Largest I/O in bytes, default 128 KiB. */
  maxBytes?: number;
  /** A split size (such as `maxIoBufBytes`): about a quarter of I/Os straddle a multiple. */
  splitBytes?: number;
  /** Start of the region under test, default 0. */
  regionOffset?: number;
  /** Length of the region, default the rest of the device. */
  regionLength?: number;
  /** Fraction of writes in the random phase, default 0.6. */
  writeRatio?: number;
  /** Read the whole region back at the end, default `true`. */
  finalPass?: boolean;
  /** What never-written sectors hold: `"zero"` checks them, `"unknown"` (default) skips. */
  initial?: "zero" | "unknown";
  /** Called every `progressEvery` operations and at the end of each phase. */
  progress?: (p: VerifyProgress) => void;
  /** Operations between progress calls, default 500. */
  progressEvery?: number;
  /** Mismatches kept in the report (the count goes on), default 100. */
  maxMismatches?: number;
  /** Do not print the seed on failure. */
  quiet?: boolean;
}

/** The result of {@linkcode runVerify}. */
export interface VerifyReport {
  /** The seed used (rerun with it to reproduce). */
  seed: number;
  /** Operations issued (both phases). */
  ops: number;
  /** Bytes written. */
  bytesWritten: number;
  /** Bytes read. */
  bytesRead: number;
  /** Sectors checked. */
  blocksChecked: number;
  /** Total mismatching sectors (may exceed `mismatches.length`). */
  mismatchCount: number;
  /** The first mismatches. */
  mismatches: VerifyMismatch[];
  /** Failed or short I/O. */
  errors: VerifyIoError[];
  /** The shadow map: what every sector must hold. */
  shadow: VerifyShadow;
}

/**
 * FNV-1a 32 over `bytes[start, end)`.
 *
 * @param bytes The data.
 * @param start First byte.
 * @param end Past the last byte.
 * @returns The hash (u32).
 */
export function fnv1a32(bytes: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function mix(seed: number, sector: number, gen: number): number {
  let h = (seed ^ Math.imul(sector >>> 0, 0x9e3779b1) ^
    Math.imul((sector / 0x1_0000_0000) | 0, 0x85ebca6b) ^
    Math.imul(gen, 0xc2b2ae35)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return (h >>> 0) || 0x9e3779b9;
}

/**
 * Writes the verify sector for `(seed, offset, generation)` at `bytes[at, at + 512)`.
 *
 * @param bytes The destination.
 * @param at Byte index in `bytes`.
 * @param stamp The seed, the sector's byte offset and the generation.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkSector, fillSector } from "./verify.ts";
 * const b = new Uint8Array(512);
 * fillSector(b, 0, { seed: 1, offset: 4096, generation: 3 });
 * assert.equal(checkSector(b, 0, { seed: 1, offset: 4096, generation: 3 }), null);
 * ```
 */
export function fillSector(bytes: Uint8Array, at: number, stamp: VerifyStamp): void {
  const v = new DataView(bytes.buffer, bytes.byteOffset + at, VERIFY_SECTOR);
  v.setUint32(0, VERIFY_MAGIC, true);
  v.setUint32(8, stamp.offset >>> 0, true);
  v.setUint32(12, Math.floor(stamp.offset / 0x1_0000_0000), true);
  v.setUint32(16, stamp.generation, true);
  v.setUint32(20, stamp.seed, true);
  v.setUint32(24, 0, true);
  v.setUint32(28, 0, true);
  let x = mix(stamp.seed, stamp.offset / VERIFY_SECTOR, stamp.generation);
  for (let i = VERIFY_HEADER_SIZE; i < VERIFY_SECTOR; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    v.setUint32(i, x >>> 0, true);
  }
  v.setUint32(4, fnv1a32(bytes, at + 8, at + VERIFY_SECTOR), true);
}

/** What identifies a sector's content. */
export interface VerifyStamp {
  /** The run's seed. */
  seed: number;
  /** The sector's byte offset. */
  offset: number;
  /** The write generation. */
  generation: number;
}

/**
 * Checks the sector at `bytes[at, at + 512)` against its expected stamp: magic, checksum,
 * offset, generation and seed. A checksum over the whole sector catches any flipped byte.
 *
 * @param bytes The data read.
 * @param at Byte index in `bytes`.
 * @param stamp What must be there.
 * @returns `null` when good, else the first mismatch.
 */
export function checkSector(
  bytes: Uint8Array,
  at: number,
  stamp: VerifyStamp,
): VerifyMismatch | null {
  const v = new DataView(bytes.buffer, bytes.byteOffset + at, VERIFY_SECTOR);
  const m = (field: VerifyField, expected: number, got: number): VerifyMismatch => ({
    offset: stamp.offset,
    field,
    expected,
    got,
  });
  const magic = v.getUint32(0, true);
  if (magic !== VERIFY_MAGIC) return m("magic", VERIFY_MAGIC, magic);
  const off = v.getUint32(8, true) + v.getUint32(12, true) * 0x1_0000_0000;
  if (off !== stamp.offset) return m("offset", stamp.offset, off);
  const gen = v.getUint32(16, true);
  if (gen !== stamp.generation) return m("generation", stamp.generation, gen);
  const seed = v.getUint32(20, true);
  if (seed !== (stamp.seed >>> 0)) return m("seed", stamp.seed >>> 0, seed);
  const sum = fnv1a32(bytes, at + 8, at + VERIFY_SECTOR);
  const stored = v.getUint32(4, true);
  if (sum !== stored) return m("checksum", stored, sum);
  return null;
}

/**
 * The shadow map of a run: the generation last written to each sector of the region, from
 * which the expected image is rebuilt.
 */
export class VerifyShadow {
  /** The run's seed. */
  readonly seed: number;
  /** First byte of the region. */
  readonly regionOffset: number;
  /** Length of the region in bytes (a multiple of 512). */
  readonly regionLength: number;
  /** What never-written sectors hold. */
  readonly initial: "zero" | "unknown";
  /** Generation per sector: 0 never written, `0xffffffff` unknown (a write failed). */
  readonly generations: Uint32Array;

  /**
   * Builds an empty shadow map.
   *
   * @param seed The run's seed.
   * @param region Region offset and length, and the initial content.
   */
  constructor(
    seed: number,
    region: { offset: number; length: number; initial?: "zero" | "unknown" },
  ) {
    if (region.offset % VERIFY_SECTOR || region.length % VERIFY_SECTOR || region.length <= 0) {
      throw new RangeError(
        `Cannot shadow region ${region.offset}+${region.length}: it must be non-empty and 512-byte aligned`,
      );
    }
    this.seed = seed >>> 0;
    this.regionOffset = region.offset;
    this.regionLength = region.length;
    this.initial = region.initial ?? "unknown";
    this.generations = new Uint32Array(region.length / VERIFY_SECTOR);
  }

  /**
   * The generation of the sector at `offset` (0 = never written).
   *
   * @param offset A sector's byte offset inside the region.
   * @returns The generation.
   */
  generation(offset: number): number {
    return this.generations[(offset - this.regionOffset) / VERIFY_SECTOR] ?? 0;
  }

  /**
   * Rebuilds the bytes the device must hold in `[offset, offset + length)`: stamped sectors,
   * zeroes for never-written ones (when `initial` is "zero"; else zeroes too, and
   * {@linkcode VerifyShadow.known} says which sectors count).
   *
   * @param offset Byte offset (512-aligned, inside the region).
   * @param length Byte length (multiple of 512).
   * @param out Destination, a new buffer when absent.
   * @returns The expected bytes.
   */
  expectedImage(offset: number, length: number, out?: Uint8Array): Uint8Array {
    const buf = out ?? new Uint8Array(length);
    for (let p = 0; p < length; p += VERIFY_SECTOR) {
      const gen = this.generation(offset + p);
      if (gen === 0 || gen === GEN_UNKNOWN) buf.fill(0, p, p + VERIFY_SECTOR);
      else fillSector(buf, p, { seed: this.seed, offset: offset + p, generation: gen });
    }
    return buf;
  }

  /**
   * Whether the content of the sector at `offset` is known.
   *
   * @param offset A sector's byte offset inside the region.
   * @returns `true` when written, or never written and `initial` is "zero".
   */
  known(offset: number): boolean {
    const gen = this.generation(offset);
    if (gen === GEN_UNKNOWN) return false;
    return gen !== 0 || this.initial === "zero";
  }

  /**
   * Compares bytes read independently (say from the backing file) with the expected image.
   *
   * @param offset Device byte offset of `bytes[0]` (512-aligned).
   * @param bytes The bytes (a multiple of 512).
   * @param limit Stop after this many mismatches, default 100.
   * @returns The mismatching sectors, byte-exact ("data"/"zero" name the first bad byte).
   */
  compare(offset: number, bytes: Uint8Array, limit: number = 100): VerifyMismatch[] {
    const out: VerifyMismatch[] = [];
    const exp = new Uint8Array(VERIFY_SECTOR);
    for (let p = 0; p + VERIFY_SECTOR <= bytes.length && out.length < limit; p += VERIFY_SECTOR) {
      const off = offset + p;
      if (!this.known(off)) continue;
      const gen = this.generation(off);
      this.expectedImage(off, VERIFY_SECTOR, exp);
      for (let i = 0; i < VERIFY_SECTOR; i++) {
        if (bytes[p + i] !== exp[i]) {
          out.push({
            offset: off,
            field: gen === 0 ? "zero" : "data",
            expected: i,
            got: bytes[p + i]!,
          });
          break;
        }
      }
    }
    return out;
  }
}

/**
 * The expected image of `[offset, offset + length)` after a run.
 *
 * @param report The run's report.
 * @param offset Byte offset (512-aligned).
 * @param length Byte length (multiple of 512).
 * @returns The expected bytes (never-written sectors as zeroes).
 */
export function expectedImage(report: VerifyReport, offset: number, length: number): Uint8Array {
  return report.shadow.expectedImage(offset, length);
}

/** A device call's result; a thrown error counts as its `-errno` (or -EIO). */
async function settle(p: Promise<number>): Promise<number> {
  try {
    return await p;
  } catch (e) {
    const errno = (e as { errno?: unknown })?.errno;
    return typeof errno === "number" && errno > 0 ? -errno : -5;
  }
}

/** A small seeded RNG (mulberry32). */
class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

/**
 * Runs the verify workload on `device`.
 *
 * A seed reproduces a run exactly at queue depth 1; with more workers the interleaving (and
 * so which generation lands where) follows completion order, and the shadow map records it.
 * Device calls that throw count as I/O errors (`-errno` of an `ErrnoError`, else -EIO).
 *
 * @param device The device under test.
 * @param options Seed, sizes, queue depth, split size, region, progress.
 * @returns The report; `mismatches` and `errors` are empty on success.
 *
 * @example On an in-memory device
 * ```ts
 * import assert from "node:assert/strict";
 * import { runVerify } from "./verify.ts";
 * const mem = new Uint8Array(1 << 20);
 * const dev = {
 *   size: mem.length,
 *   read: (o: number, b: Uint8Array) => (b.set(mem.subarray(o, o + b.length)), Promise.resolve(b.length)),
 *   write: (o: number, d: Uint8Array) => (mem.set(d, o), Promise.resolve(d.length)),
 * };
 * const r = await runVerify(dev, { seed: 42, ops: 200, initial: "zero" });
 * assert.equal(r.mismatchCount, 0);
 * ```
 */
export async function runVerify(
  device: BlockDevice,
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const seed = (options.seed ?? Math.floor(Math.random() * 0x1_0000_0000)) >>> 0;
  const unit = options.blockSize ?? VERIFY_SECTOR;
  if (unit % VERIFY_SECTOR || unit <= 0) {
    throw new RangeError(`Cannot verify with block size ${unit}: it must be a multiple of 512`);
  }
  const devSize = Number(device.size);
  const regionOffset = options.regionOffset ?? 0;
  const regionLength = options.regionLength ?? devSize - regionOffset;
  if (
    regionOffset % unit || regionLength % unit || regionLength < unit ||
    regionOffset + regionLength > devSize
  ) {
    throw new RangeError(
      `Cannot verify region ${regionOffset}+${regionLength} of a ${devSize}-byte device with block size ${unit}`,
    );
  }
  const qd = options.queueDepth ?? 32;
  if (!Number.isInteger(qd) || qd < 1 || qd > 128) {
    throw new RangeError(`Cannot verify at queue depth ${qd}: it must be in [1, 128]`);
  }
  const minBytes = Math.max(unit, options.minBytes ?? unit);
  const maxBytes = Math.min(regionLength, Math.max(minBytes, options.maxBytes ?? 128 * 1024));
  const minUnits = Math.ceil(minBytes / unit);
  const maxUnits = Math.floor(maxBytes / unit);
  const split = options.splitBytes ?? 0;
  const ops = options.ops ?? 2000;
  const writeRatio = options.writeRatio ?? 0.6;
  const every = options.progressEvery ?? 500;
  const maxKept = options.maxMismatches ?? 100;
  const shadow = new VerifyShadow(seed, {
    offset: regionOffset,
    length: regionLength,
    initial: options.initial ?? "unknown",
  });
  const gens = shadow.generations;
  const busy = new Uint8Array(gens.length);
  const rng = new Rng(seed);
  const report: VerifyReport = {
    seed,
    ops: 0,
    bytesWritten: 0,
    bytesRead: 0,
    blocksChecked: 0,
    mismatchCount: 0,
    mismatches: [],
    errors: [],
    shadow,
  };
  let generation = 0;
  const sectorsPerUnit = unit / VERIFY_SECTOR;
  const regionUnits = regionLength / unit;

  const emit = (phase: "random" | "final", done: number, total: number): void => {
    options.progress?.({
      phase,
      done,
      total,
      bytesWritten: report.bytesWritten,
      bytesRead: report.bytesRead,
      mismatches: report.mismatchCount,
    });
  };

  const pick = (): [number, number] => {
    const n = minUnits + rng.int(maxUnits - minUnits + 1);
    if (split > 0 && n >= 2 && rng.next() < 0.25) {
      // Straddle a multiple of the split size inside the region.
      const firstB = Math.ceil((regionOffset + unit) / split) * split;
      const lastB = regionOffset + regionLength - unit;
      if (firstB <= lastB) {
        const count = Math.floor((lastB - firstB) / split) + 1;
        const b = firstB + rng.int(count) * split;
        if (b % unit === 0) {
          const before = 1 + rng.int(n - 1);
          let start = (b - regionOffset) / unit - before;
          start = Math.max(0, Math.min(start, regionUnits - n));
          return [start, n];
        }
      }
    }
    return [rng.int(regionUnits - n + 1), n];
  };

  const lock = (s: number, n: number): boolean => {
    const a = s * sectorsPerUnit;
    const b = a + n * sectorsPerUnit;
    for (let i = a; i < b; i++) if (busy[i]) return false;
    busy.fill(1, a, b);
    return true;
  };
  const unlock = (s: number, n: number): void => {
    busy.fill(0, s * sectorsPerUnit, (s + n) * sectorsPerUnit);
  };

  const mismatch = (m: VerifyMismatch): void => {
    report.mismatchCount++;
    if (report.mismatches.length < maxKept) report.mismatches.push(m);
  };

  const check = (buf: Uint8Array, offset: number, length: number): void => {
    for (let p = 0; p < length; p += VERIFY_SECTOR) {
      const off = offset + p;
      const gen = gens[(off - regionOffset) / VERIFY_SECTOR]!;
      if (gen === GEN_UNKNOWN) continue;
      if (gen === 0) {
        if (shadow.initial !== "zero") continue;
        report.blocksChecked++;
        for (let i = 0; i < VERIFY_SECTOR; i++) {
          if (buf[p + i] !== 0) {
            mismatch({ offset: off, field: "zero", expected: i, got: buf[p + i]! });
            break;
          }
        }
        continue;
      }
      report.blocksChecked++;
      const m = checkSector(buf, p, { seed, offset: off, generation: gen });
      if (m !== null) mismatch(m);
    }
  };

  const doRead = async (buf: Uint8Array, offset: number, length: number): Promise<void> => {
    const view = buf.subarray(0, length);
    const res = await settle(device.read(offset, view));
    report.ops++;
    if (res !== length) {
      report.errors.push({ op: "read", offset, length, result: res });
      return;
    }
    report.bytesRead += length;
    check(view, offset, length);
  };

  // Phase 1: random mixed writes and reads.
  let issued = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    const buf = new Uint8Array(maxUnits * unit);
    while (issued < ops && !options.signal?.aborted) {
      issued++;
      let range: [number, number] | null = null;
      for (let tries = 1; range === null; tries++) {
        const r = pick();
        if (lock(r[0], r[1])) range = r;
        else if (tries % 8 === 0) await new Promise((res) => setTimeout(res, 0));
      }
      const [s, n] = range;
      const offset = regionOffset + s * unit;
      const length = n * unit;
      try {
        if (rng.next() < writeRatio) {
          let gen = ++generation;
          if (gen >= GEN_UNKNOWN) gen = generation = 1;
          for (let p = 0; p < length; p += VERIFY_SECTOR) {
            fillSector(buf, p, { seed, offset: offset + p, generation: gen });
          }
          const first = (offset - regionOffset) / VERIFY_SECTOR;
          const count = length / VERIFY_SECTOR;
          const res = await settle(device.write(offset, buf.subarray(0, length)));
          report.ops++;
          if (res === length) {
            report.bytesWritten += length;
            gens.fill(gen, first, first + count);
          } else {
            report.errors.push({ op: "write", offset, length, result: res });
            gens.fill(GEN_UNKNOWN, first, first + count);
          }
        } else {
          await doRead(buf, offset, length);
        }
      } finally {
        unlock(s, n);
      }
      if (++done % every === 0) emit("random", done, ops);
    }
  };
  await Promise.all(Array.from({ length: qd }, worker));
  emit("random", done, ops);

  // Phase 2: read the whole region back.
  if ((options.finalPass ?? true) && !options.signal?.aborted) {
    const chunk = Math.max(unit, Math.floor(Math.min(maxBytes, 1 << 20) / unit) * unit);
    const total = Math.ceil(regionLength / chunk);
    let next = 0;
    let fdone = 0;
    const reader = async (): Promise<void> => {
      const buf = new Uint8Array(chunk);
      while (next < total && !options.signal?.aborted) {
        const i = next++;
        const offset = regionOffset + i * chunk;
        const length = Math.min(chunk, regionOffset + regionLength - offset);
        await doRead(buf, offset, length);
        if (++fdone % every === 0) emit("final", fdone, total);
      }
    };
    await Promise.all(Array.from({ length: qd }, reader));
    emit("final", fdone, total);
  }

  if (!options.quiet && (report.mismatchCount > 0 || report.errors.length > 0)) {
    console.error(
      `verify failed: ${report.mismatchCount} mismatches, ${report.errors.length} I/O errors (seed ${seed})`,
    );
  }
  return report;
}
