/**
 * The {@linkcode Target} interface: what a ublk target (null, loop, nbd, ramdisk, stripe,
 * mirror) implements so the server library can run it, and the per-I/O context
 * ({@linkcode TargetIoCtx}) and descriptor ({@linkcode IoDesc}) the queue loop hands it.
 *
 * Flow: `createDevice`/`UblkCtrl` call `init(dev)` once and turn the returned
 * {@linkcode TargetParams} into `ublk_params` (SET_PARAMS). Each queue's loop then calls
 * `handleIo(ctx, tag, iod)` for every request the driver delivers and commits the number it
 * returns (bytes done, or a negative errno) with COMMIT_AND_FETCH_REQ.
 *
 * @module
 */

import { UblksrvIoDesc } from "@ublk-ts/uapi";
import type { DataMode } from "./data_mode.ts";

/** What a target learns about the device at `init` (from `ublksrv_ctrl_dev_info`). */
export interface TargetDevInfo {
  /** The device id (N of `/dev/ublkbN`). */
  readonly devId: number;
  /** Number of hardware queues. */
  readonly nrHwQueues: number;
  /** Tags per queue. */
  readonly queueDepth: number;
  /** Largest request in bytes (`max_io_buf_bytes`, page aligned). */
  readonly maxIoBufBytes: number;
  /** Negotiated UBLK_F_* flags. */
  readonly flags: bigint;
  /**
   * How data moves ({@linkcode DataMode}: copy, user-copy, register, auto, fused). The queue
   * always sets it; absent (hand-made infos in tests) means "fused" with `zeroCopy`, else
   * "copy".
   */
  readonly dataMode?: DataMode;
  /**
   * True in the zero-copy modes (fused, register, auto): the target gets no server buffer and
   * moves data with {@linkcode TargetIoCtx.fused}.
   */
  readonly zeroCopy: boolean;
}

/** Discard and write-zeroes limits (`struct ublk_param_discard`). */
export interface TargetDiscardParams {
  /** `discard_alignment` in bytes. Default 0. */
  alignment?: number;
  /** `discard_granularity` in bytes (must be non-zero). Default the logical block size. */
  granularity?: number;
  /** `max_discard_sectors`. Default 0 (no discard). */
  maxDiscardSectors?: number;
  /** `max_write_zeroes_sectors`. Default 0 (no write zeroes). */
  maxWriteZeroesSectors?: number;
  /** `max_discard_segments` (the driver accepts only 1 when discard is on). Default 1. */
  maxDiscardSegments?: number;
}

/** What `Target.init` returns: the device's geometry and limits (`struct ublk_param_basic`). */
export interface TargetParams {
  /** Device size in bytes (a multiple of the logical block size). */
  devSize: number;
  /** `logical_bs_shift` (9..12). Default 9. */
  logicalBsShift?: number;
  /** `physical_bs_shift` (≥ logical). Default = logical. */
  physicalBsShift?: number;
  /** `io_opt_shift`. Default = logical. */
  ioOptShift?: number;
  /** `io_min_shift`. Default = logical. */
  ioMinShift?: number;
  /** `max_sectors` (≤ max_io_buf_bytes >> 9). Default max_io_buf_bytes >> 9. */
  maxSectors?: number;
  /** `chunk_sectors` (requests never cross a chunk boundary). Default 0. */
  chunkSectors?: number;
  /** UBLK_ATTR_* (READ_ONLY 1, ROTATIONAL 2, VOLATILE_CACHE 4, FUA 8). Default 0. */
  attrs?: number;
  /** Discard limits; absent means no UBLK_PARAM_TYPE_DISCARD. */
  discard?: TargetDiscardParams;
}

/** Byte offset of the high half of a little-endian u64. */
const U64_HI = 4;

/**
 * One request as the driver described it in `io_desc[tag]` (`struct ublksrv_io_desc`),
 * decoded into numbers. The queue loop owns one per tag and refreshes it before each
 * `handleIo`; a target must not keep it after its result is returned.
 */
export class IoDesc {
  /** UBLK_IO_OP_* (`op_flags & 0xff`). */
  op = 0;
  /** UBLK_IO_F_* (`op_flags & ~0xff`, unshifted: FUA is 1 << 13). */
  flags = 0;
  /** `nr_sectors` (512-byte sectors). */
  nrSectors = 0;
  /** `start_sector` (512-byte sectors). */
  startSector = 0;
  /** Low 32 bits of `addr`. */
  addrLo = 0;
  /** High 32 bits of `addr`. */
  addrHi = 0;

  /** `addr`: the server buffer address the driver recorded for the tag (built on demand). */
  get addr(): bigint {
    return (BigInt(this.addrHi) << 32n) | BigInt(this.addrLo);
  }

  /** Sets `addr` (tests and targets that build descriptors). */
  set addr(v: bigint) {
    this.addrLo = Number(v & 0xffff_ffffn);
    this.addrHi = Number((v >> 32n) & 0xffff_ffffn);
  }

  /**
   * Decodes `io_desc[tag]` from the queue's descriptor area.
   *
   * @param view The descriptor area.
   * @param off Byte offset of the descriptor (`tag * 24`).
   * @returns This object.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { IoDesc } from "@ublk-ts/ublk";
   * const v = new DataView(new ArrayBuffer(24));
   * v.setUint32(0, 1 | (1 << 13), true); // WRITE | FUA
   * v.setUint32(4, 8, true);
   * v.setBigUint64(8, 100n, true);
   * const d = new IoDesc().load(v, 0);
   * assert.equal(d.op, 1);
   * assert.equal(d.flags, 1 << 13);
   * assert.equal(d.nrSectors, 8);
   * assert.equal(d.startSector, 100);
   * ```
   */
  load(view: DataView, off: number): this {
    const opFlags = view.getUint32(off, true);
    this.op = opFlags & 0xff;
    this.flags = opFlags & ~0xff;
    this.nrSectors = view.getUint32(off + UblksrvIoDesc.OFFSET_NR_SECTORS, true);
    this.startSector = view.getUint32(off + UblksrvIoDesc.OFFSET_START_SECTOR, true) +
      view.getUint32(off + UblksrvIoDesc.OFFSET_START_SECTOR + U64_HI, true) * 2 ** 32;
    this.addrLo = view.getUint32(off + UblksrvIoDesc.OFFSET_ADDR, true);
    this.addrHi = view.getUint32(off + UblksrvIoDesc.OFFSET_ADDR + U64_HI, true);
    return this;
  }

  /** Byte offset of the request on the device (`startSector << 9`). */
  get offset(): number {
    return this.startSector * 512;
  }

  /** Byte length of the request (`nrSectors << 9`). */
  get bytes(): number {
    return this.nrSectors * 512;
  }
}

/**
 * One zero-copy data op over a sub-range of the request pages. The queue runs it in the
 * device's mode: `fused` as the RFC's FUSED_CMD slave; `register` and `auto` as READ_FIXED /
 * WRITE_FIXED with `buf_index` = the tag's registered request buffer and `addr` = `bufOff`
 * (RECV and SEND on a socket become READ_FIXED / WRITE_FIXED on it; SEND_ZC stays SEND_ZC with
 * IORING_RECVSEND_FIXED_BUF; continued until `len` moved when a send or a RECV with MSG_WAITALL
 * comes back short).
 */
export interface FusedIo {
  /** IORING_OP_READ, WRITE, SEND, RECV or SEND_ZC. */
  opcode: number;
  /** The file or socket: a fixed-file index with `fixed` (targets' files start at 1). */
  fd: number;
  /** `fd` is a registered-file index. Default true. */
  fixed?: boolean;
  /** Byte offset into the request buffer (the slave's `addr`). Default 0. */
  bufOff?: number;
  /** Bytes to move. Default the whole request. */
  len?: number;
  /** File offset (`off`). Default: the request's byte offset for READ/WRITE, 0 otherwise. */
  off?: number;
  /** `rw_flags` / `msg_flags`. Default 0. */
  opFlags?: number;
  /** IOSQE_* flags of the slave (IO_LINK moves to the master). Default 0. */
  flags?: number;
}

/**
 * Fills one SQE for a target I/O. `sqe` is the ring's SQE memory and `off` the SQE's byte
 * offset; the queue writes `user_data` after the callback returns.
 */
export type PrepSqe = (sqe: DataView, off: number) => void;

/**
 * The per-tag context of a queue, handed to `handleIo`. One object per tag, reused.
 *
 * Copy and user copy: `buf` is the tag's server buffer (`max_io_buf_bytes` of the queue's
 * page-aligned arena); for WRITE it holds the data to write, for READ the target fills it and
 * returns the bytes (in user copy the queue moves them with pread/pwrite on `/dev/ublkcN`).
 * Zero copy (fused, register, auto): `buf` is empty; the target moves data with
 * {@linkcode TargetIoCtx.fused}.
 */
export interface TargetIoCtx {
  /** Queue id. */
  readonly qid: number;
  /** Tag. */
  readonly tag: number;
  /** The tag's server buffer (copy mode); empty with zero copy. */
  readonly buf: Uint8Array;
  /** True in the zero-copy modes (`buf` is empty; use `fused`). */
  readonly zeroCopy: boolean;
  /** The device's data mode. */
  readonly dataMode: DataMode;
  /** The address of `buf` for SQEs (`kernel.addressOf(buf)`); 0 with zero copy. */
  readonly bufAddr: number;
  /** The device. */
  readonly dev: TargetDevInfo;
  /**
   * Issues one SQE on the queue's ring for this tag and resolves with its CQE's `res`.
   * Use it for target I/O (backing-file READ/WRITE/FSYNC/FALLOCATE, sockets). Several may be
   * in flight per tag.
   *
   * @param prep Fills the SQE (opcode, fd, addr, len, off, flags…).
   * @returns The CQE result.
   */
  submit(prep: PrepSqe): Promise<number>;
  /**
   * Zero copy: moves data between `[bufOff, bufOff + len)` of the request pages and `io.fd`.
   * Fused: `FUSED_CMD` = master `UBLK_IO_FUSED_SUBMIT_IO(qid, tag)` + the slave described by
   * `io`; resolves with the slave's result, or the master's error when the driver refused the
   * buffer (-EINVAL for a wrong direction or a request without data). Register/auto: see
   * {@linkcode FusedIo}; resolves with the bytes moved, or the registration's error (-EINVAL
   * for a request without data, -EBUSY for a slot in use) or the op's (-EFAULT for a wrong
   * direction).
   *
   * @param io The slave.
   * @returns The slave's result or the master's negative errno.
   */
  fused(io: FusedIo): Promise<number>;
}

/**
 * A ublk target.
 *
 * @example A RAM disk in copy mode
 * ```ts
 * import type { IoDesc, Target, TargetIoCtx, TargetParams } from "@ublk-ts/ublk";
 * class Ram implements Target {
 *   readonly name = "ram";
 *   readonly mem = new Uint8Array(1 << 20);
 *   init(): TargetParams {
 *     return { devSize: this.mem.length };
 *   }
 *   handleIo(ctx: TargetIoCtx, _tag: number, iod: IoDesc): number {
 *     const off = iod.offset, n = iod.bytes;
 *     if (iod.op === 0) ctx.buf.set(this.mem.subarray(off, off + n));
 *     else if (iod.op === 1) this.mem.set(ctx.buf.subarray(0, n), off);
 *     return n;
 *   }
 * }
 * ```
 */
export interface Target {
  /** Short name ("null", "loop", "nbd"). */
  readonly name: string;
  /**
   * Fds the queues register as fixed files 1..n (0 is `/dev/ublkcN`), so SQEs can name them
   * with IOSQE_FIXED_FILE (zero-copy slaves need it). Read after `init`.
   */
  readonly fixedFds?: readonly number[];
  /**
   * Called once before the device starts.
   *
   * @param dev The device.
   * @returns Geometry and limits.
   */
  init(dev: TargetDevInfo): TargetParams | Promise<TargetParams>;
  /**
   * Serves one request. Return a number to commit at once (no Promise on the fast path), or a
   * Promise of it. Result: bytes done (READ/WRITE; may be short), 0 for FLUSH/DISCARD/
   * WRITE_ZEROES, or a negative errno. A READ that returns 0 fails with -EIO (as the kernel).
   *
   * @param ctx The tag's context.
   * @param tag The tag (`ctx.tag`).
   * @param iod The request.
   * @returns The result.
   */
  handleIo(ctx: TargetIoCtx, tag: number, iod: IoDesc): number | Promise<number>;
  /** Releases what the target holds (files, sockets). Called once, after the queues stop. */
  close?(): void | Promise<void>;
}
