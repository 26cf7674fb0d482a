/**
 * The null target: a device of a given size that stores nothing. WRITE, FLUSH, DISCARD and
 * WRITE_ZEROES succeed at once; READ succeeds without touching data, or, with `zeroFill` in
 * copy mode, fills the server buffer with zeroes first. In zero copy there is nothing to fuse:
 * the request completes without any copy at all, which is where the driver's saving shows most.
 *
 * @module
 */

import type { IoDesc, Target, TargetDevInfo, TargetIoCtx, TargetParams } from "@ublk-ts/ublk";
import {
  EOPNOTSUPP,
  UBLK_ATTR_VOLATILE_CACHE,
  UBLK_IO_OP_DISCARD,
  UBLK_IO_OP_FLUSH,
  UBLK_IO_OP_READ,
  UBLK_IO_OP_WRITE,
  UBLK_IO_OP_WRITE_ZEROES,
} from "@ublk-ts/uapi";

/** The null target's default size: 250 GiB, as ublksrv's null target. */
export const NULL_DEFAULT_SIZE = 250 * 1024 ** 3;

/** Options of {@linkcode NullTarget}. */
export interface NullTargetOptions {
  /** Device size in bytes (a multiple of 512). Default 250 GiB. */
  size?: number;
  /** Copy mode: zero the server buffer on READ so readers see zeroes. Default false. */
  zeroFill?: boolean;
}

/**
 * The null target.
 *
 * @example Serve a READ in copy mode
 * ```ts
 * import assert from "node:assert/strict";
 * import { IoDesc } from "@ublk-ts/ublk";
 * import { NullTarget } from "@ublk-ts/targets";
 * const t = new NullTarget({ size: 1 << 20, zeroFill: true });
 * const buf = new Uint8Array(4096).fill(7);
 * const iod = new IoDesc();
 * iod.nrSectors = 8;
 * const ctx = { buf, zeroCopy: false } as unknown as Parameters<NullTarget["handleIo"]>[0];
 * assert.equal(t.handleIo(ctx, 0, iod), 4096);
 * assert.equal(buf[0], 0);
 * ```
 */
export class NullTarget implements Target {
  /** "null". */
  readonly name: string = "null";
  /** Device size in bytes. */
  readonly size: number;
  /** Whether copy-mode READs zero the server buffer. */
  readonly zeroFill: boolean;

  /**
   * Makes a null target.
   *
   * @param options Size and READ behaviour.
   * @throws {RangeError} when the size is not a positive multiple of 512.
   */
  constructor(options: NullTargetOptions = {}) {
    const size = options.size ?? NULL_DEFAULT_SIZE;
    if (!Number.isSafeInteger(size) || size <= 0 || size % 512 !== 0) {
      throw new RangeError(
        `Cannot make a null device of ${size} bytes: not a positive multiple of 512`,
      );
    }
    this.size = size;
    this.zeroFill = options.zeroFill ?? false;
  }

  /**
   * Returns the geometry: the configured size, 512-byte sectors, a volatile cache.
   *
   * @param _dev The device.
   * @returns The parameters.
   */
  init(_dev: TargetDevInfo): TargetParams {
    return {
      devSize: this.size,
      logicalBsShift: 9,
      physicalBsShift: 12,
      ioOptShift: 12,
      ioMinShift: 9,
      attrs: UBLK_ATTR_VOLATILE_CACHE,
      discard: {
        granularity: 4096,
        maxDiscardSectors: 0xffffffff >>> 9,
        maxWriteZeroesSectors: 0xffffffff >>> 9,
        maxDiscardSegments: 1,
      },
    };
  }

  /**
   * Completes the request at once.
   *
   * @param ctx The tag's context.
   * @param _tag The tag.
   * @param iod The request.
   * @returns The request's bytes for READ/WRITE, 0 for FLUSH/DISCARD/WRITE_ZEROES, -EOPNOTSUPP
   *   otherwise.
   */
  handleIo(ctx: TargetIoCtx, _tag: number, iod: IoDesc): number {
    switch (iod.op) {
      case UBLK_IO_OP_READ:
        if (this.zeroFill && !ctx.zeroCopy) ctx.buf.fill(0, 0, iod.bytes);
        return iod.bytes;
      case UBLK_IO_OP_WRITE:
        return iod.bytes;
      case UBLK_IO_OP_FLUSH:
      case UBLK_IO_OP_DISCARD:
      case UBLK_IO_OP_WRITE_ZEROES:
        return 0;
      default:
        return -EOPNOTSUPP;
    }
  }
}
