/**
 * The workload engine of `ublk run --bench`: fio-like jobs (`rw=randread,bs=4k,qd=128,n=200000`)
 * over any block device with positional `read`/`write`, run with `qd` requests in flight,
 * reporting IOPS, bandwidth and latency (average, p50, p99). Per-I/O work allocates nothing:
 * each in-flight slot owns one preallocated buffer.
 *
 * @module
 */

import { allocIoMemory, IO_PAGE_SIZE } from "@ublk-ts/rsrc";
import { runVerify } from "./verify.ts";
import { LatencyHistogram } from "./latency_histogram.ts";
import { formatCount, formatLatency, formatSize, parseDuration, parseSize } from "./units.ts";

/** A block device as the workload sees it: positional I/O of whole sectors. */
export interface WorkloadDevice {
  /** Size in bytes. */
  readonly size: number;
  /**
   * Reads `buf.length` bytes at `offset`.
   *
   * @returns Bytes read, or a negative errno (a thrown error counts as -EIO).
   */
  read(offset: number, buf: Uint8Array): Promise<number>;
  /**
   * Writes `data` at `offset`.
   *
   * @returns Bytes written, or a negative errno (a thrown error counts as -EIO).
   */
  write(offset: number, data: Uint8Array): Promise<number>;
  /**
   * Optional: another handle of the device, `O_DIRECT` with `direct: true` (the block device
   * front end's `open`). The workload uses it, as fio `--direct=1`, unless told not to.
   */
  open?(options: { direct?: boolean }): WorkloadDevice;
}

/** The access patterns of a workload. */
export type WorkloadRw = "read" | "write" | "randread" | "randwrite" | "rw" | "randrw" | "verify";

/** The I/O patterns `parseWorkloadSpec` accepts. */
export const WORKLOAD_RW: readonly WorkloadRw[] = [
  "read",
  "write",
  "randread",
  "randwrite",
  "rw",
  "randrw",
  "verify",
];

/** A parsed workload. */
export interface WorkloadSpec {
  /** Access pattern. `rw` is sequential mixed, `randrw` random mixed, `verify` write then check. */
  rw: WorkloadRw;
  /** Block size in bytes (a multiple of 512). */
  bs: number;
  /** Requests in flight. */
  qd: number;
  /** Number of I/Os to issue (0 = bounded by `timeMs` only). */
  n: number;
  /** Run time limit in milliseconds (0 = bounded by `n` only). */
  timeMs: number;
  /** Percentage of reads in mixed workloads. */
  rwmixread: number;
  /** Bytes of the device the workload covers, from offset 0 (0 = all of it). */
  size: number;
  /** PRNG seed for random offsets and data. */
  seed: number;
}

/** `rw=verify` without `n`: operations of the random phase. */
export const VERIFY_DEFAULT_OPS = 2000;

/** The default job: 4 KiB random reads, 32 in flight, 50 000 of them. */
export const DEFAULT_WORKLOAD: WorkloadSpec = {
  rw: "randread",
  bs: 4096,
  qd: 32,
  n: 50_000,
  timeMs: 0,
  rwmixread: 50,
  size: 0,
  seed: 1,
};

/**
 * Parses a workload spec: comma-separated `key=value` pairs. Keys, with fio's names beside
 * ours: `rw` (`readwrite`), `bs` (`blocksize`), `qd` (`iodepth`), `n` (`number_ios`), `time`
 * (`runtime`), `size`, `rwmixread` (or `rwmixwrite`), `seed` (`randseed`), `numjobs` (that many
 * jobs of `qd` each: `numjobs × qd` I/Os in flight). A key given twice (under either name) is an
 * error. Giving `time` without `n` makes the run time-bound; giving both stops at whichever
 * comes first.
 *
 * @param text The spec, such as `rw=randread,bs=4k,qd=128,n=200000` or `rw=write,bs=512k,time=5s`.
 * @returns The spec, defaults filled in.
 * @throws {RangeError} on an unknown key or a bad value.
 *
 * @example A random read job
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseWorkloadSpec } from "./workload.ts";
 * const spec = parseWorkloadSpec("rw=randread,bs=4k,qd=128,n=200000");
 * assert.equal(spec.bs, 4096);
 * assert.equal(spec.qd, 128);
 * ```
 */
export function parseWorkloadSpec(text: string): WorkloadSpec {
  const spec: WorkloadSpec = { ...DEFAULT_WORKLOAD };
  let sawN = false;
  let sawTime = false;
  let numjobs = 1;
  const given = new Map<string, string>();
  for (const part of text.split(",")) {
    const item = part.trim();
    if (item === "") continue;
    const eq = item.indexOf("=");
    if (eq <= 0) throw new RangeError(`Cannot parse workload item "${item}": expected key=value`);
    const key = item.slice(0, eq).trim().toLowerCase();
    const value = item.slice(eq + 1).trim();
    const canonical = WORKLOAD_KEY_ALIASES[key] ?? key;
    const before = given.get(canonical);
    if (before !== undefined) {
      throw new RangeError(
        `Cannot use workload key "${key}" twice (${before} and ${key}=${value}): give it once`,
      );
    }
    given.set(canonical, `${key}=${value}`);
    switch (key) {
      case "rw":
      case "readwrite":
        if (!(WORKLOAD_RW as readonly string[]).includes(value)) {
          throw new RangeError(
            `Cannot use rw "${value}": expected one of ${WORKLOAD_RW.join(", ")}`,
          );
        }
        spec.rw = value as WorkloadRw;
        break;
      case "bs":
      case "blocksize":
        spec.bs = parseSize(value, "bs");
        if (spec.bs === 0 || spec.bs % 512 !== 0) {
          throw new RangeError(`Cannot use bs "${value}": not a positive multiple of 512`);
        }
        break;
      case "qd":
      case "iodepth":
        spec.qd = parseCount(value, key, 1, 65536);
        break;
      case "n":
      case "number_ios":
        spec.n = parseCount(value, key, 1, Number.MAX_SAFE_INTEGER);
        sawN = true;
        break;
      case "time":
      case "runtime":
        spec.timeMs = parseDuration(value, key);
        if (spec.timeMs <= 0) throw new RangeError(`Cannot use ${key} "${value}": not positive`);
        sawTime = true;
        break;
      case "size":
        spec.size = parseSize(value, "size");
        break;
      case "rwmixread":
        spec.rwmixread = parseCount(value, key, 0, 100);
        break;
      case "rwmixwrite":
        spec.rwmixread = 100 - parseCount(value, key, 0, 100);
        break;
      case "seed":
      case "randseed":
        spec.seed = parseCount(value, key, 0, 0xffffffff);
        break;
      case "numjobs":
        numjobs = parseCount(value, key, 1, 64);
        break;
      default:
        throw new RangeError(
          `Cannot use workload key "${key}": expected rw, bs, qd, n, time, size, rwmixread, rwmixwrite, seed or numjobs (fio names: readwrite, blocksize, iodepth, number_ios, runtime, randseed)`,
        );
    }
  }
  if (numjobs > 1) {
    if (spec.qd * numjobs > 65536) {
      throw new RangeError(
        `Cannot use numjobs=${numjobs} with qd=${spec.qd}: over 65536 in flight`,
      );
    }
    spec.qd *= numjobs;
  }
  if (sawTime && !sawN) spec.n = 0;
  if (spec.rw === "verify" && !sawN) spec.n = VERIFY_DEFAULT_OPS;
  return spec;
}

/** fio's names of the workload keys, and the key each stands for (to catch repeats). */
const WORKLOAD_KEY_ALIASES: Readonly<Record<string, string>> = {
  readwrite: "rw",
  blocksize: "bs",
  iodepth: "qd",
  number_ios: "n",
  runtime: "time",
  rwmixwrite: "rwmixread",
  randseed: "seed",
};

/**
 * Whether a workload writes (`write`, `randwrite`, `rw`, `randrw`, `verify`).
 *
 * @param spec The workload.
 * @returns True when it writes to the device.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isWriteWorkload, parseWorkloadSpec } from "./workload.ts";
 * assert.equal(isWriteWorkload(parseWorkloadSpec("rw=verify")), true);
 * assert.equal(isWriteWorkload(parseWorkloadSpec("rw=randread")), false);
 * ```
 */
export function isWriteWorkload(spec: WorkloadSpec): boolean {
  return spec.rw !== "read" && spec.rw !== "randread";
}

/**
 * Checks that a workload fits a device of `size` bytes: `size=` no larger than the device,
 * `bs` no larger than the region. Nothing is shrunk silently.
 *
 * @param spec The workload.
 * @param size The device size in bytes.
 * @throws {RangeError} When it does not fit.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkWorkloadFits, parseWorkloadSpec } from "./workload.ts";
 * assert.throws(() => checkWorkloadFits(parseWorkloadSpec("size=1k,bs=4k"), 1 << 20), /bs=4k/);
 * assert.throws(() => checkWorkloadFits(parseWorkloadSpec("rw=verify,size=2m"), 1 << 20), /larger than the device/);
 * ```
 */
export function checkWorkloadFits(spec: WorkloadSpec, size: number): void {
  if (spec.size > size) {
    throw new RangeError(
      `Cannot run size=${formatSize(spec.size)}: larger than the device (${formatSize(size)})`,
    );
  }
  const region = spec.size > 0
    ? spec.size
    : spec.rw === "verify"
    ? Math.min(VERIFY_DEFAULT_REGION, size)
    : size;
  if (spec.bs > region) {
    throw new RangeError(
      `Cannot run bs=${formatSize(spec.bs)}: the region is only ${formatSize(region)}${
        spec.size > 0 ? " (size=)" : ""
      }`,
    );
  }
}

function parseCount(value: string, key: string, min: number, max: number): number {
  const v = /^\d+[kKmM]?$/.test(value)
    ? Number(value.replace(/[kK]$/, "000").replace(/[mM]$/, "000000"))
    : NaN;
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw new RangeError(
      `Cannot use ${key} "${value}": expected a whole number in [${min}, ${max}]`,
    );
  }
  return v;
}

/**
 * Prints a spec back in the form `parseWorkloadSpec` reads.
 *
 * @param spec The spec.
 * @returns Text such as `rw=randread,bs=4k,qd=32,n=50000`.
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatWorkloadSpec, parseWorkloadSpec } from "./workload.ts";
 * assert.equal(formatWorkloadSpec(parseWorkloadSpec("rw=write,bs=64k")), "rw=write,bs=64k,qd=32,n=50000");
 * ```
 */
export function formatWorkloadSpec(spec: WorkloadSpec): string {
  const parts = [`rw=${spec.rw}`, `bs=${formatSize(spec.bs)}`, `qd=${spec.qd}`];
  if (spec.n > 0) parts.push(`n=${spec.n}`);
  if (spec.timeMs > 0) parts.push(`time=${spec.timeMs / 1000}s`);
  if (spec.size > 0) parts.push(`size=${formatSize(spec.size)}`);
  if (spec.rw === "rw" || spec.rw === "randrw") parts.push(`rwmixread=${spec.rwmixread}`);
  return parts.join(",");
}

/** Progress of a running workload, as given to `onProgress`. */
export interface WorkloadProgress {
  /** I/Os completed so far. */
  readonly ops: number;
  /** Bytes moved so far. */
  readonly bytes: number;
  /** Seconds since the start. */
  readonly elapsed: number;
  /** Fraction done in [0, 1] (by count or by time, whichever is further). */
  readonly fraction: number;
  /** IOPS since the previous progress report. */
  readonly recentIops: number;
}

/** Options of `runWorkload`. */
export interface RunWorkloadOptions {
  /** Called about every `progressIntervalMs` while the workload runs. */
  onProgress?: (progress: WorkloadProgress) => void;
  /** Progress interval (default 200 ms). */
  progressIntervalMs?: number;
  /** Stops the workload early (the result then has `interrupted: true`). */
  signal?: AbortSignal;
  /**
   * Open the device `O_DIRECT` where it can be (`dev.open({ direct: true })`), as fio
   * `--direct=1`; default true. `verify` always runs buffered (its buffers are its own).
   */
  direct?: boolean;
}

/** What a finished workload measured. */
export interface WorkloadResult {
  /** The spec that ran. */
  readonly spec: WorkloadSpec;
  /** I/Os completed (successfully or not). */
  readonly ops: number;
  /** Reads completed. */
  readonly reads: number;
  /** Writes completed. */
  readonly writes: number;
  /** Bytes moved by successful I/Os. */
  readonly bytes: number;
  /** Wall time in seconds. */
  readonly seconds: number;
  /** I/Os per second. */
  readonly iops: number;
  /** Bandwidth in MB/s (10^6 bytes). */
  readonly mbps: number;
  /** Mean latency in nanoseconds. */
  readonly latAvgNs: number;
  /** Median latency in nanoseconds. */
  readonly latP50Ns: number;
  /** 99th percentile latency in nanoseconds. */
  readonly latP99Ns: number;
  /** Failed I/Os (negative result or thrown). */
  readonly errors: number;
  /** The first failure's result (a negative errno), or 0. */
  readonly firstError: number;
  /** Verify mode: blocks whose read-back differed from what was written. */
  readonly mismatches: number;
  /** True when stopped by the abort signal. */
  readonly interrupted: boolean;
}

/** xorshift32: deterministic, allocation-free. */
function nextRandom(state: Uint32Array): number {
  let x = state[0]!;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  state[0] = x;
  return x >>> 0;
}

/** Fills a write buffer with a pattern derived from the slot and seed. */
function fillPattern(words: Uint32Array, block: number, seed: number): void {
  let x = ((block + 1) * 2654435761 + seed * 40503 + 1) >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x;
  }
}

/**
 * Runs a workload to its end (count, time, or abort) with `spec.qd` requests in flight.
 *
 * Writes carry a fixed per-slot pattern. `verify` runs the targets' integrity workload
 * (`runVerify` of `@ublk-ts/targets`: `n` random reads and writes of stamped sectors up to `bs`
 * bytes, then a full read-back of the region, which defaults to the first 64 MiB) and counts
 * mismatching sectors. Failed I/Os are counted, not thrown, and stop the run.
 *
 * @param dev The device.
 * @param spec The workload.
 * @param options Progress callback and abort signal.
 * @returns What was measured.
 * @throws {RangeError} when `bs` or `size` does not fit the device.
 *
 * @example Against an in-memory device
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseWorkloadSpec, runWorkload } from "./workload.ts";
 * const mem = new Uint8Array(1 << 20);
 * const dev = {
 *   size: mem.length,
 *   read: (off: number, buf: Uint8Array) => {
 *     buf.set(mem.subarray(off, off + buf.length));
 *     return Promise.resolve(buf.length);
 *   },
 *   write: (off: number, data: Uint8Array) => {
 *     mem.set(data, off);
 *     return Promise.resolve(data.length);
 *   },
 * };
 * const r = await runWorkload(dev, parseWorkloadSpec("rw=randread,bs=4k,qd=4,n=100"));
 * assert.equal(r.ops, 100);
 * ```
 */
export async function runWorkload(
  dev: WorkloadDevice,
  spec: WorkloadSpec,
  options: RunWorkloadOptions = {},
): Promise<WorkloadResult> {
  if (spec.rw === "verify") return await runVerifyWorkload(dev, spec, options);
  if (options.direct !== false && dev.open !== undefined) dev = dev.open({ direct: true });
  const region = spec.size > 0 ? Math.min(spec.size, dev.size) : dev.size;
  if (spec.bs > region) {
    throw new RangeError(
      `Cannot run bs=${formatSize(spec.bs)}: the device region is only ${region} bytes`,
    );
  }
  if (spec.n === 0 && spec.timeMs === 0) {
    throw new RangeError("Cannot run a workload with neither n nor time");
  }
  const blocks = Math.floor(region / spec.bs);
  const hist = new LatencyHistogram();
  const interval = options.progressIntervalMs ?? 200;
  const signal = options.signal;
  const seed = spec.seed >>> 0;

  // Shared counters.
  let issued = 0;
  let ops = 0;
  let reads = 0;
  let writes = 0;
  let bytes = 0;
  let errors = 0;
  let firstError = 0;
  let seqCursor = 0;
  let stop = false;
  let interrupted = false;
  const start = performance.now();
  const deadline = spec.timeMs > 0 ? start + spec.timeMs : Infinity;
  let nextReport = start + interval;
  let lastReportOps = 0;
  let lastReportAt = start;
  let nextYield = start + 50;
  let gate: Promise<void> | null = null;

  const report = (now: number): void => {
    if (!options.onProgress) return;
    const byCount = spec.n > 0 ? ops / spec.n : 0;
    const byTime = spec.timeMs > 0 ? (now - start) / spec.timeMs : 0;
    const dt = (now - lastReportAt) / 1000;
    options.onProgress({
      ops,
      bytes,
      elapsed: (now - start) / 1000,
      fraction: Math.min(1, Math.max(byCount, byTime)),
      recentIops: dt > 0 ? (ops - lastReportOps) / dt : 0,
    });
    lastReportOps = ops;
    lastReportAt = now;
  };

  const fail = (res: number): void => {
    errors++;
    if (firstError === 0) firstError = res < 0 ? res : -5;
    stop = true;
  };

  const worker = async (slot: number): Promise<void> => {
    // Page-aligned (as fio's and ublksrv's posix_memalign): O_DIRECT needs it, and copies into
    // unaligned memory run several times slower.
    const buf = slotBuffers.subarray(slot * slotBytes, slot * slotBytes + spec.bs);
    const words = new Uint32Array(buf.buffer, buf.byteOffset, spec.bs >>> 2);
    fillPattern(words, slot, seed);
    const rng = new Uint32Array([((seed + 1) * 0x9e3779b1 + slot * 0x85ebca6b) >>> 0 || 1]);
    while (!stop) {
      if (signal?.aborted) {
        interrupted = true;
        stop = true;
        break;
      }
      if (spec.n > 0 && issued >= spec.n) break;
      if (spec.timeMs > 0 && performance.now() >= deadline) break;
      issued++;
      let block: number;
      switch (spec.rw) {
        case "read":
        case "write":
        case "rw":
          block = seqCursor;
          seqCursor = seqCursor + 1 >= blocks ? 0 : seqCursor + 1;
          break;
        default:
          block = nextRandom(rng) % blocks;
      }
      const isRead = spec.rw === "read" || spec.rw === "randread" ||
        ((spec.rw === "rw" || spec.rw === "randrw") && nextRandom(rng) % 100 < spec.rwmixread);
      const offset = block * spec.bs;
      const t0 = performance.now();
      let res: number;
      try {
        res = isRead ? await dev.read(offset, buf) : await dev.write(offset, buf);
      } catch {
        res = -5;
      }
      const t1 = performance.now();
      hist.record((t1 - t0) * 1e6);
      ops++;
      if (isRead) reads++;
      else writes++;
      if (res < 0) fail(res);
      else {
        bytes += res;
        if (res !== spec.bs) fail(-5);
      }
      if (t1 >= nextReport) {
        nextReport = t1 + interval;
        report(t1);
      }
      if (t1 >= nextYield) {
        // Let timers, signals and sockets run now and then: every worker parks on one timer,
        // so the microtask queue drains and the event loop gets a turn.
        nextYield = t1 + 50;
        gate = new Promise<void>((r) =>
          setTimeout(() => {
            gate = null;
            r();
          }, 0)
        );
      }
      if (gate !== null) await gate;
    }
  };

  const workers: Promise<void>[] = [];
  const qd = Math.min(spec.qd, spec.n > 0 ? spec.n : spec.qd);
  const slotBytes = Math.ceil(spec.bs / IO_PAGE_SIZE) * IO_PAGE_SIZE;
  const slotBuffers = allocIoMemory(slotBytes * qd);
  for (let i = 0; i < qd; i++) workers.push(worker(i));
  await Promise.all(workers);
  const end = performance.now();
  report(end);
  const seconds = (end - start) / 1000;
  return {
    spec,
    ops,
    reads,
    writes,
    bytes,
    seconds,
    iops: seconds > 0 ? ops / seconds : 0,
    mbps: seconds > 0 ? bytes / seconds / 1e6 : 0,
    latAvgNs: hist.mean,
    latP50Ns: hist.percentile(50),
    latP99Ns: hist.percentile(99),
    errors,
    firstError,
    mismatches: 0,
    interrupted,
  };
}

/** The region `rw=verify` covers when no `size` is given. */
export const VERIFY_DEFAULT_REGION: number = 64 * 1024 * 1024;

async function runVerifyWorkload(
  dev: WorkloadDevice,
  spec: WorkloadSpec,
  options: RunWorkloadOptions,
): Promise<WorkloadResult> {
  const region = Math.min(spec.size > 0 ? spec.size : VERIFY_DEFAULT_REGION, dev.size);
  const regionLength = region - (region % 512);
  if (regionLength < spec.bs) {
    throw new RangeError(
      `Cannot verify with bs=${formatSize(spec.bs)}: the device region is only ${region} bytes`,
    );
  }
  const hist = new LatencyHistogram();
  const signal = options.signal;
  let interrupted = false;
  let reads = 0;
  let writes = 0;
  let nextYield = performance.now() + 50;
  let gate: Promise<void> | null = null;
  const timed = (isRead: boolean) => async (offset: number, buf: Uint8Array): Promise<number> => {
    // The model completes I/O in microtasks: now and then every worker parks on one timer, so
    // the microtask queue drains and timers and signal handlers (Ctrl-C) get a turn; otherwise
    // an abort would never be seen.
    if (gate === null && performance.now() >= nextYield) {
      gate = new Promise<void>((r) =>
        setTimeout(() => {
          gate = null;
          nextYield = performance.now() + 50;
          r();
        }, 0)
      );
    }
    if (gate !== null) await gate;
    if (signal?.aborted) {
      interrupted = true;
      return -125; // ECANCELED
    }
    const t0 = performance.now();
    let res: number;
    try {
      res = isRead ? await dev.read(offset, buf) : await dev.write(offset, buf);
    } catch {
      res = -5;
    }
    hist.record((performance.now() - t0) * 1e6);
    if (isRead) reads++;
    else writes++;
    return res;
  };
  const ops = spec.n > 0 ? spec.n : VERIFY_DEFAULT_OPS;
  const start = performance.now();
  let lastAt = start;
  let lastOps = 0;
  const report = await runVerify({ size: dev.size, read: timed(true), write: timed(false) }, {
    seed: spec.seed,
    ops,
    queueDepth: Math.min(spec.qd, 128),
    maxBytes: spec.bs,
    regionLength,
    quiet: true,
    ...(signal ? { signal } : {}),
    progressEvery: 100,
    progress: (p) => {
      if (!options.onProgress) return;
      const now = performance.now();
      const done = reads + writes;
      const dt = (now - lastAt) / 1000;
      const total = ops + regionLength / Math.min(spec.bs, 128 * 1024);
      options.onProgress({
        ops: done,
        bytes: p.bytesRead + p.bytesWritten,
        elapsed: (now - start) / 1000,
        fraction: Math.min(1, (p.phase === "random" ? p.done : ops + p.done) / total),
        recentIops: dt > 0 ? (done - lastOps) / dt : 0,
      });
      lastAt = now;
      lastOps = done;
    },
  });
  const seconds = (performance.now() - start) / 1000;
  const bytes = report.bytesRead + report.bytesWritten;
  const firstError = report.errors[0]?.result ?? 0;
  return {
    spec,
    ops: reads + writes,
    reads,
    writes,
    bytes,
    seconds,
    iops: seconds > 0 ? (reads + writes) / seconds : 0,
    mbps: seconds > 0 ? bytes / seconds / 1e6 : 0,
    latAvgNs: hist.mean,
    latP50Ns: hist.percentile(50),
    latP99Ns: hist.percentile(99),
    errors: interrupted ? 0 : report.errors.length,
    firstError: firstError < 0 ? firstError : firstError > 0 ? -5 : 0,
    mismatches: interrupted ? 0 : report.mismatchCount,
    interrupted,
  };
}

/**
 * One line describing a result: `randread bs=4k qd=32: 50000 ios in 1.20 s, 41.6k IOPS, 170.4
 * MB/s, lat avg 760us p99 1.90ms`.
 *
 * @param r The result.
 * @returns The line.
 *
 * @example A summary line
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatWorkloadResult, parseWorkloadSpec, runWorkload } from "./workload.ts";
 * const dev = {
 *   size: 1 << 16,
 *   read: (_o: number, b: Uint8Array) => Promise.resolve(b.length),
 *   write: (_o: number, b: Uint8Array) => Promise.resolve(b.length),
 * };
 * const r = await runWorkload(dev, parseWorkloadSpec("bs=4k,n=10"));
 * assert.match(formatWorkloadResult(r), /IOPS/);
 * ```
 */
export function formatWorkloadResult(r: WorkloadResult): string {
  const s = r.spec;
  let line = `${s.rw} bs=${formatSize(s.bs)} qd=${s.qd}: ${r.ops} ios in ${
    r.seconds.toFixed(2)
  } s, ${formatCount(r.iops)} IOPS, ${r.mbps.toFixed(1)} MB/s, lat avg ${
    formatLatency(r.latAvgNs)
  } p50 ${formatLatency(r.latP50Ns)} p99 ${formatLatency(r.latP99Ns)}`;
  if (s.rw === "verify") line += `, ${r.mismatches} mismatches`;
  if (r.errors > 0) line += `, ${r.errors} errors (first ${r.firstError})`;
  if (r.interrupted) line += " (interrupted)";
  return line;
}
