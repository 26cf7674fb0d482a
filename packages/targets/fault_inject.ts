/**
 * The fault-inject target: another target with delays and errors injected in front of it, to
 * exercise error paths (a failing stripe piece, a mirror leg that dies, a read retried on the
 * other leg) without a broken disk. kublk has a `fault_inject` target that delays I/O; this
 * one also fails requests:
 *
 * - **delays**: every request (or a seeded random share of them) waits `delayUs` before it
 *   reaches the inner target (a JavaScript timer: short delays round up to its granularity,
 *   about a millisecond);
 * - **errors by rate**: a seeded random share (`errorRate`, 0..1) of the requests of the
 *   chosen ops completes with `-errno` (default -EIO) without reaching the inner target; the
 *   same seed gives the same sequence of decisions;
 * - **errors by LBA range**: requests that touch a byte range of the device (and are of the
 *   chosen ops) fail with that range's errno;
 * - **fail everything** ({@linkcode FaultInjectTarget.failAll}): a disk that just died.
 *
 * The rules can be changed while the device runs ({@linkcode FaultInjectTarget.setFaults}). The
 * inner target sees the same context (tag, buffer, fused slaves, fixed files), so the data
 * mode is the inner target's.
 *
 * @module
 */

import type { IoDesc, Target, TargetDevInfo, TargetIoCtx, TargetParams } from "@ublk-ts/ublk";
import {
  EIO,
  UBLK_IO_OP_DISCARD,
  UBLK_IO_OP_FLUSH,
  UBLK_IO_OP_READ,
  UBLK_IO_OP_WRITE,
  UBLK_IO_OP_WRITE_ZEROES,
} from "@ublk-ts/uapi";

/** The kinds of request a fault applies to. */
export type FaultOp = "read" | "write" | "flush" | "discard" | "write-zeroes";

/** Every {@linkcode FaultOp}. */
export const FAULT_OPS: readonly FaultOp[] = ["read", "write", "flush", "discard", "write-zeroes"];

/** An error on a byte range of the device. */
export interface FaultRange {
  /** First byte. */
  start: number;
  /** One past the last byte. */
  end: number;
  /** The errno (positive). Default EIO. */
  errno?: number;
  /** The ops it applies to (a FLUSH has no range: it matches any range listing it). Default read and write. */
  ops?: readonly FaultOp[];
}

/** What to inject. */
export interface FaultRules {
  /** Microseconds each delayed request waits. Default 0. */
  delayUs?: number;
  /** Share of requests delayed (0..1). Default 1 (every one) when `delayUs` is set. */
  delayRate?: number;
  /** Share of requests failed (0..1). Default 0. */
  errorRate?: number;
  /** The errno of rate errors (positive). Default EIO. */
  errno?: number;
  /** The ops rate errors apply to. Default read and write. */
  ops?: readonly FaultOp[];
  /** Errors on byte ranges. */
  ranges?: readonly FaultRange[];
  /** Seed of the random decisions. Default 1. */
  seed?: number;
}

/** What the target injected so far. */
export interface FaultStats {
  /** Requests seen. */
  requests: number;
  /** Requests failed by the rules. */
  errors: number;
  /** Requests delayed. */
  delayed: number;
}

type Rules = Required<Omit<FaultRules, "ranges">> & { ranges: readonly FaultRange[] };

function opName(op: number): FaultOp | null {
  switch (op) {
    case UBLK_IO_OP_READ:
      return "read";
    case UBLK_IO_OP_WRITE:
      return "write";
    case UBLK_IO_OP_FLUSH:
      return "flush";
    case UBLK_IO_OP_DISCARD:
      return "discard";
    case UBLK_IO_OP_WRITE_ZEROES:
      return "write-zeroes";
    default:
      return null;
  }
}

function checkRate(name: string, r: number | undefined): void {
  if (r !== undefined && !(r >= 0 && r <= 1)) {
    throw new RangeError(`Cannot use fault ${name} ${r}: expected a number in [0, 1]`);
  }
}

function checkErrno(e: number | undefined): void {
  if (e !== undefined && !(Number.isInteger(e) && e > 0 && e < 4096)) {
    throw new RangeError(`Cannot inject errno ${e}: expected a positive errno`);
  }
}

/**
 * Checks fault rules.
 *
 * @param rules The rules.
 * @throws {RangeError} for a rate outside [0, 1], a bad errno, delay or range.
 */
export function checkFaultRules(rules: FaultRules): void {
  checkRate("error rate", rules.errorRate);
  checkRate("delay rate", rules.delayRate);
  checkErrno(rules.errno);
  if (rules.delayUs !== undefined && !(rules.delayUs >= 0 && rules.delayUs <= 60e6)) {
    throw new RangeError(`Cannot delay by ${rules.delayUs} us: expected 0..60000000`);
  }
  for (const r of rules.ranges ?? []) {
    checkErrno(r.errno);
    if (!(Number.isSafeInteger(r.start) && Number.isSafeInteger(r.end) && r.start < r.end)) {
      throw new RangeError(`Cannot use fault range [${r.start}, ${r.end}): expected start < end`);
    }
  }
}

/**
 * The fault-inject target.
 *
 * @example Fail reads of the first 4 KiB of a null device
 * ```ts
 * import assert from "node:assert/strict";
 * import { IoDesc } from "@ublk-ts/ublk";
 * import { FaultInjectTarget, NullTarget } from "@ublk-ts/targets";
 * const t = new FaultInjectTarget(new NullTarget({ size: 1 << 20 }), {
 *   ranges: [{ start: 0, end: 4096 }],
 * });
 * const ctx = { buf: new Uint8Array(0), zeroCopy: false } as unknown as Parameters<
 *   FaultInjectTarget["handleIo"]
 * >[0];
 * const iod = new IoDesc();
 * iod.nrSectors = 8;
 * assert.equal(t.handleIo(ctx, 0, iod), -5); // -EIO
 * iod.startSector = 8;
 * assert.equal(t.handleIo(ctx, 0, iod), 4096);
 * ```
 */
export class FaultInjectTarget implements Target {
  /** "fault_inject". */
  readonly name: string = "fault_inject";
  /** The target faults are injected in front of. */
  readonly inner: Target;
  #rules: Rules;
  #x = 1;
  #failAll = 0;
  readonly #stats: FaultStats = { requests: 0, errors: 0, delayed: 0 };

  /**
   * Wraps a target with fault injection.
   *
   * @param inner The target to serve requests that are not failed.
   * @param rules What to inject (none by default).
   * @throws {RangeError} for bad rules.
   */
  constructor(inner: Target, rules: FaultRules = {}) {
    this.inner = inner;
    this.#rules = this.#normalise(rules);
  }

  #normalise(rules: FaultRules): Rules {
    checkFaultRules(rules);
    this.#x = (rules.seed ?? 1) >>> 0 || 1;
    return {
      delayUs: rules.delayUs ?? 0,
      delayRate: rules.delayRate ?? 1,
      errorRate: rules.errorRate ?? 0,
      errno: rules.errno ?? EIO,
      ops: rules.ops ?? ["read", "write"],
      ranges: rules.ranges ?? [],
      seed: rules.seed ?? 1,
    };
  }

  /**
   * Replaces the rules (while the device runs); the random sequence restarts from the seed.
   *
   * @param rules The new rules.
   */
  setFaults(rules: FaultRules): void {
    this.#rules = this.#normalise(rules);
  }

  /**
   * Fails every request from now on with `-errno` (0 to stop), as a disk that died.
   *
   * @param errno The errno (positive), default EIO; 0 heals.
   */
  failAll(errno: number = EIO): void {
    if (errno !== 0) checkErrno(errno);
    this.#failAll = errno;
  }

  /** What was injected so far. */
  get stats(): Readonly<FaultStats> {
    return this.#stats;
  }

  /** The inner target's fixed files. */
  get fixedFds(): readonly number[] | undefined {
    return this.inner.fixedFds;
  }

  /**
   * Initialises the inner target.
   *
   * @param dev The device.
   * @returns The inner target's parameters.
   */
  init(dev: TargetDevInfo): TargetParams | Promise<TargetParams> {
    return this.inner.init(dev);
  }

  /** The next pseudo-random number in [0, 1) (xorshift32). */
  #random(): number {
    let x = this.#x;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#x = x >>> 0;
    return this.#x / 4294967296;
  }

  /** The errno the rules give this request, or 0. */
  #errnoFor(iod: IoDesc): number {
    if (this.#failAll !== 0) return this.#failAll;
    const op = opName(iod.op);
    if (op === null) return 0;
    const r = this.#rules;
    const start = iod.offset, end = start + iod.bytes;
    for (const range of r.ranges) {
      const ops = range.ops ?? ["read", "write"];
      if (!ops.includes(op)) continue;
      const hit = iod.op === UBLK_IO_OP_FLUSH ||
        (start < range.end && end > range.start);
      if (hit) return range.errno ?? EIO;
    }
    if (r.errorRate > 0 && r.ops.includes(op) && this.#random() < r.errorRate) return r.errno;
    return 0;
  }

  /**
   * Serves one request: an injected error, or the inner target's result (after a delay).
   *
   * @param ctx The tag's context.
   * @param tag The tag.
   * @param iod The request.
   * @returns The result.
   */
  handleIo(ctx: TargetIoCtx, tag: number, iod: IoDesc): number | Promise<number> {
    this.#stats.requests++;
    const errno = this.#errnoFor(iod);
    const r = this.#rules;
    const delay = r.delayUs > 0 && (r.delayRate >= 1 || this.#random() < r.delayRate);
    if (errno !== 0) {
      this.#stats.errors++;
      if (!delay) return -errno;
    }
    if (!delay) return this.inner.handleIo(ctx, tag, iod);
    this.#stats.delayed++;
    return new Promise<void>((resolve) => setTimeout(resolve, r.delayUs / 1000)).then(() =>
      errno !== 0 ? -errno : this.inner.handleIo(ctx, tag, iod)
    );
  }

  /**
   * Closes the inner target.
   *
   * @returns When it is closed.
   */
  close(): void | Promise<void> {
    return this.inner.close?.();
  }
}
