/**
 * Small targets for tests and benchmarks of the server library: a RAM disk (copy mode, with an
 * optional delay to keep requests in flight, and zero copy through fused READ/WRITE slaves on a
 * model file), and a null-like target.
 *
 * @module
 */

import { IORING_OP_READ, IORING_OP_WRITE, UBLK_IO_OP_READ, UBLK_IO_OP_WRITE } from "@ublk-ts/uapi";
import type { IoDesc, Target, TargetDevInfo, TargetIoCtx, TargetParams } from "@ublk-ts/ublk";

/** Options of {@linkcode RamDiskTarget}. */
export interface RamDiskOptions {
  /** Serve each request after this many milliseconds (0: synchronously). */
  delayMs?: number;
  /** Extra params (discard, attrs, block size…). */
  params?: Partial<TargetParams>;
  /** Return at most this many bytes per READ/WRITE (short I/O). */
  shortBytes?: number;
}

/**
 * A RAM disk: copy mode only (it touches `ctx.buf`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RamDiskTarget } from "@ublk-ts/testing";
 * const t = new RamDiskTarget(1 << 20);
 * assert.equal(t.mem.length, 1 << 20);
 * ```
 */
export class RamDiskTarget implements Target {
  /** "ram". */
  readonly name: string = "ram";
  /** The disk. */
  readonly mem: Uint8Array;
  /** Requests seen per op. */
  readonly ops: number[] = [0, 0, 0, 0, 0, 0];
  /** Set to fail every request with this errno. */
  failWith = 0;
  /** Closed. */
  closed = false;
  readonly #opts: RamDiskOptions;

  /**
   * A RAM disk of `size` bytes.
   *
   * @param size Bytes.
   * @param options Options.
   */
  constructor(size: number, options: RamDiskOptions = {}) {
    this.mem = new Uint8Array(size);
    this.#opts = options;
  }

  /**
   * Params: the size and the options' extras.
   *
   * @param _dev The device.
   * @returns Params.
   */
  init(_dev: TargetDevInfo): TargetParams {
    return { devSize: this.mem.length, ...this.#opts.params };
  }

  /**
   * Serves one request.
   *
   * @param ctx Context.
   * @param _tag Tag.
   * @param iod Request.
   * @returns Bytes or errno.
   */
  handleIo(ctx: TargetIoCtx, _tag: number, iod: IoDesc): number | Promise<number> {
    const d = this.#opts.delayMs ?? 0;
    if (d > 0) {
      const op = iod.op, start = iod.startSector, nr = iod.nrSectors;
      return new Promise((r) => setTimeout(() => r(this.#serve(ctx, op, start, nr)), d));
    }
    return this.#serve(ctx, iod.op, iod.startSector, iod.nrSectors);
  }

  #serve(ctx: TargetIoCtx, op: number, start: number, nr: number): number {
    this.ops[op] = (this.ops[op] ?? 0) + 1;
    if (this.failWith !== 0) return this.failWith;
    const off = start * 512;
    let n = nr * 512;
    if (this.#opts.shortBytes !== undefined && n > this.#opts.shortBytes) {
      n = this.#opts.shortBytes;
    }
    if (off + n > this.mem.length) return -5;
    if (op === UBLK_IO_OP_READ) ctx.buf.set(this.mem.subarray(off, off + n));
    else if (op === UBLK_IO_OP_WRITE) this.mem.set(ctx.buf.subarray(0, n), off);
    else if (op === 3 || op === 5) {
      this.mem.fill(0, off, off + n);
      return 0;
    } else return 0;
    return n;
  }

  /** Marks the target closed. */
  close(): void {
    this.closed = true;
  }
}

/**
 * Zero copy over a backing file: every READ/WRITE is one fused pair (master
 * UBLK_IO_FUSED_SUBMIT_IO + slave READ/WRITE on fixed file 1), optionally split in `parts`
 * fused pairs over sub-ranges of the request.
 */
export class FusedFileTarget implements Target {
  /** "fused-file". */
  readonly name: string = "fused-file";
  /** The backing fd (registered as fixed file 1). */
  readonly fixedFds: readonly number[];
  readonly #size: number;
  readonly #parts: number;
  /** Force this slave opcode for every request (direction tests). */
  forceOpcode = 0;

  /**
   * A target over `fd`.
   *
   * @param fd A kernel fd of the backing file.
   * @param size Bytes.
   * @param parts Fused pairs per request.
   */
  constructor(fd: number, size: number, parts = 1) {
    this.fixedFds = [fd];
    this.#size = size;
    this.#parts = parts;
  }

  /**
   * Params.
   *
   * @param _dev The device.
   * @returns Params.
   */
  init(_dev: TargetDevInfo): TargetParams {
    return { devSize: this.#size };
  }

  /**
   * Serves one request with fused pairs.
   *
   * @param ctx Context.
   * @param _tag Tag.
   * @param iod Request.
   * @returns Bytes or errno.
   */
  async handleIo(ctx: TargetIoCtx, _tag: number, iod: IoDesc): Promise<number> {
    if (iod.op !== UBLK_IO_OP_READ && iod.op !== UBLK_IO_OP_WRITE && this.forceOpcode === 0) {
      return 0;
    }
    const opcode = this.forceOpcode ||
      (iod.op === UBLK_IO_OP_READ ? IORING_OP_READ : IORING_OP_WRITE);
    const total = iod.bytes;
    const parts = Math.max(1, Math.min(this.#parts, total / 512));
    const per = Math.ceil(total / parts / 512) * 512;
    const ps: Promise<number>[] = [];
    for (let o = 0; o < total; o += per) {
      const len = Math.min(per, total - o);
      ps.push(ctx.fused({ opcode, fd: 1, bufOff: o, len, off: iod.offset + o }));
    }
    const rs = await Promise.all(ps);
    let sum = 0;
    for (const r of rs) {
      if (r < 0) return r;
      sum += r;
    }
    return sum;
  }
}

/**
 * A bare null device for benchmarks: only a size (no discard, no cache attributes), and every
 * request completes at once with `nr_sectors << 9` without touching data. Not the
 * `NullTarget` of `@ublk-ts/targets` (options, zero fill, per-op results).
 */
export class BareNullTarget implements Target {
  /** "null". */
  readonly name: string = "null";
  readonly #size: number;

  /**
   * A null device.
   *
   * @param size Bytes.
   */
  constructor(size: number) {
    this.#size = size;
  }

  /**
   * Params.
   *
   * @param _dev The device.
   * @returns Params.
   */
  init(_dev: TargetDevInfo): TargetParams {
    return { devSize: this.#size };
  }

  /**
   * Serves one request.
   *
   * @param _ctx Context.
   * @param _tag Tag.
   * @param iod Request.
   * @returns Bytes.
   */
  handleIo(_ctx: TargetIoCtx, _tag: number, iod: IoDesc): number {
    return iod.nrSectors << 9;
  }
}
