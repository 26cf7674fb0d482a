/**
 * The stripe target (RAID 0) and the leg machinery the composite targets (stripe, mirror)
 * share.
 *
 * **Legs.** A leg is any {@linkcode Target} serving one backing store — a
 * {@linkcode LoopTarget} over a file, an {@linkcode NbdTarget} over an NBD export (a server
 * elsewhere), or a target wrapped in a fault injector — plus a name and, for mirror resync, an
 * optional side channel ({@linkcode Leg.openSideChannel}). A composite never re-implements a
 * leg's I/O: it hands the leg target a *piece* of the request through a per-piece context
 * ({@linkcode LegCtx}) that looks like a tag of its own:
 *
 * - a descriptor with the piece's op, leg offset and length (and, in copy mode, the server
 *   buffer address of the piece);
 * - copy mode: `buf` is the piece's sub-array of the tag's server buffer;
 * - fused zero copy (RFC): `fused({bufOff…})` becomes a slave on the piece's sub-range of the
 *   lent request buffer (`bufOff` shifted by the piece's offset in the request); several such
 *   slaves are out on one request at once and the driver completes the request when its last
 *   lease is back;
 * - the leg's fixed files (its index 1..n) are renumbered to where the composite put them in
 *   the queue rings' file table.
 *
 * A new data mode (upstream register-buf or auto-buf-reg: a fixed-buffer op on a sub-range of
 * the registered request buffer) is one more branch in {@linkcode LegCtx}: the leg targets
 * gain it once and every composite gets it for free.
 *
 * **Stripe semantics** (as kublk's `stripe.c`): N legs, a chunk of 2^k bytes (≥ 4 KiB, default
 * 64 KiB); device chunk `c` lives on leg `c mod N` at leg chunk `⌊c / N⌋`; the device size is
 * N × the smallest leg rounded down to a chunk. A READ/WRITE is split at chunk boundaries into
 * one piece per chunk it touches, all issued at once; the request completes when the last
 * piece has, with the request's bytes, or the errno of the first piece (in request order) that
 * failed; a short piece fails the request with -EIO. FLUSH goes to every leg; DISCARD and
 * WRITE_ZEROES (offered only when every leg offers them) become one range per leg.
 *
 * @module
 */

import {
  IoDesc,
  type Target,
  type TargetDevInfo,
  type TargetIoCtx,
  type TargetParams,
} from "@ublk-ts/ublk";
import type { DataMode, FusedIo, PrepSqe } from "@ublk-ts/ublk";
import {
  EIO,
  EOPNOTSUPP,
  ErrnoError,
  IORING_OP_READ,
  IORING_OP_WRITE,
  IOSQE_FIXED_FILE,
  IoUringSqe,
  UBLK_ATTR_FUA,
  UBLK_ATTR_READ_ONLY,
  UBLK_ATTR_ROTATIONAL,
  UBLK_ATTR_VOLATILE_CACHE,
  UBLK_IO_OP_DISCARD,
  UBLK_IO_OP_FLUSH,
  UBLK_IO_OP_READ,
  UBLK_IO_OP_WRITE,
  UBLK_IO_OP_WRITE_ZEROES,
} from "@ublk-ts/uapi";
import { NBD_FLAG_SEND_FLUSH, NbdClient } from "@ublk-ts/nbd";
import { type LoopFileOpener, LoopTarget, type LoopTargetOptions } from "./loop.ts";
import { NbdTarget, type NbdTargetConnectOptions } from "./nbd_target.ts";

// ---- legs -------------------------------------------------------------------------------------

/**
 * An out-of-band path to a leg's data, outside the ublk queues (mirror resync reads a healthy
 * leg and writes the one being rebuilt through these). Results as the block device contract:
 * bytes, or a negative errno.
 */
export interface LegSideChannel {
  /** Reads `buf.length` bytes at `offset` of the leg. */
  read(offset: number, buf: Uint8Array): Promise<number>;
  /** Writes `data` at `offset` of the leg. */
  write(offset: number, data: Uint8Array): Promise<number>;
  /** Makes what was written durable (0 or a negative errno). */
  flush(): Promise<number>;
  /** Releases the channel. */
  close(): Promise<void> | void;
}

/** One leg of a composite target. */
export interface Leg {
  /** What the leg is, as given on the command line (a path or an `nbd://` URI). */
  readonly uri: string;
  /** The target serving the leg. */
  readonly target: Target;
  /** Opens a side channel to the leg's data (needed to resync a mirror leg from or to it). */
  openSideChannel?(): Promise<LegSideChannel>;
}

/**
 * A leg over a file: a {@linkcode LoopTarget} (O_DIRECT by default, FLUSH, FUA, discard, write
 * zeroes as the loop target does them) and a side channel through the host file.
 *
 * @param kernel Opens the file (the model or native kernel).
 * @param path The backing file.
 * @param options The loop target's options.
 * @returns The leg.
 * @throws What the {@linkcode LoopTarget} constructor throws.
 *
 * @example A missing file
 * ```ts
 * import assert from "node:assert/strict";
 * import { fileLeg } from "@ublk-ts/targets";
 * const kernel = { open: () => 3, closeFd: () => 0 };
 * assert.throws(() => fileLeg(kernel, "/nonexistent/leg.img"), /ENOENT/);
 * ```
 */
export function fileLeg(kernel: LoopFileOpener, path: string, options?: LoopTargetOptions): Leg {
  const target = new LoopTarget(kernel, path, options);
  return {
    uri: path,
    target,
    openSideChannel: () => Promise.resolve(fileSideChannel(path, target.readOnly)),
  };
}

/** A side channel through the host file (positional, one call at a time). */
function fileSideChannel(path: string, readOnly: boolean): LegSideChannel {
  const file = Deno.openSync(path, { read: true, write: !readOnly });
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(f: () => Promise<T>): Promise<T> => {
    const p = chain.then(f, f);
    chain = p.catch(() => {});
    return p;
  };
  const errnoOf = (e: unknown): number => e instanceof Deno.errors.PermissionDenied ? -13 : -EIO;
  return {
    read: (offset, buf) =>
      serial(async () => {
        try {
          await file.seek(offset, Deno.SeekMode.Start);
          let got = 0;
          while (got < buf.length) {
            const n = await file.read(buf.subarray(got));
            if (n === null) break;
            got += n;
          }
          return got;
        } catch (e) {
          return errnoOf(e);
        }
      }),
    write: (offset, data) =>
      serial(async () => {
        try {
          await file.seek(offset, Deno.SeekMode.Start);
          let done = 0;
          while (done < data.length) done += await file.write(data.subarray(done));
          return done;
        } catch (e) {
          return errnoOf(e);
        }
      }),
    flush: () =>
      serial(async () => {
        try {
          await file.syncData();
          return 0;
        } catch (e) {
          return errnoOf(e);
        }
      }),
    close: () => {
      try {
        file.close();
      } catch { /* closed */ }
    },
  };
}

/**
 * A leg over an NBD export: an {@linkcode NbdTarget} (copy mode, or zero copy with
 * `options.zeroCopy` and `options.kernel`) and a side channel that opens a second connection
 * to the same export.
 *
 * @param options Where the server is, the export, zero copy.
 * @param uri The name to show (default derived from `options`).
 * @returns The leg, connected.
 * @throws What {@linkcode NbdTarget.connect} throws.
 */
export async function nbdLeg(options: NbdTargetConnectOptions, uri?: string): Promise<Leg> {
  const target = await NbdTarget.connect(options);
  const { zeroCopy: _z, sendZc: _s, kernel: _k, ...plain } = options;
  return {
    uri: uri ?? nbdUriOf(options),
    target,
    openSideChannel: async (): Promise<LegSideChannel> => {
      const c = await NbdClient.connect(plain);
      return {
        read: (o, b) => c.read(o, b),
        write: (o, d) => c.write(o, d),
        flush: () =>
          (c.info.transmissionFlags & NBD_FLAG_SEND_FLUSH) !== 0 ? c.flush() : Promise.resolve(0),
        close: () => c.disconnect(),
      };
    },
  };
}

function nbdUriOf(o: NbdTargetConnectOptions): string {
  const name = o.exportName ?? "";
  if (o.path !== undefined) return `nbd+unix:///${name}?socket=${o.path}`;
  return `nbd://${o.hostname ?? "127.0.0.1"}:${o.port ?? 10809}/${name}`;
}

/** A parsed `--leg` argument ({@linkcode parseLegSpec}). */
export type LegSpec =
  | { readonly kind: "file"; readonly path: string }
  | {
    readonly kind: "nbd";
    readonly path?: string;
    readonly hostname?: string;
    readonly port?: number;
    readonly exportName: string;
  };

/**
 * Parses a `--leg` argument: a file path, `nbd://host[:port][/export]` or
 * `nbd+unix:///[export]?socket=PATH`.
 *
 * @param spec The argument.
 * @returns What it names.
 * @throws {TypeError} for an empty argument or a malformed NBD URI.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseLegSpec } from "@ublk-ts/targets";
 * assert.deepEqual(parseLegSpec("/dev/shm/a.img"), { kind: "file", path: "/dev/shm/a.img" });
 * assert.deepEqual(parseLegSpec("nbd://10.0.0.2:10810/disk"), {
 *   kind: "nbd", hostname: "10.0.0.2", port: 10810, exportName: "disk",
 * });
 * assert.deepEqual(parseLegSpec("nbd+unix:///?socket=/tmp/a.sock"), {
 *   kind: "nbd", path: "/tmp/a.sock", exportName: "",
 * });
 * ```
 */
export function parseLegSpec(spec: string): LegSpec {
  if (spec === "") throw new TypeError("Cannot use an empty leg");
  if (!spec.startsWith("nbd://") && !spec.startsWith("nbd+unix://")) {
    return { kind: "file", path: spec };
  }
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    throw new TypeError(`Cannot parse leg "${spec}": not a valid NBD URI`);
  }
  const exportName = decodeURIComponent(url.pathname.replace(/^\//, ""));
  if (url.protocol === "nbd+unix:") {
    const path = url.searchParams.get("socket");
    if (path === null || path === "") {
      throw new TypeError(`Cannot parse leg "${spec}": nbd+unix needs ?socket=PATH`);
    }
    return { kind: "nbd", path, exportName };
  }
  if (url.hostname === "") throw new TypeError(`Cannot parse leg "${spec}": no host`);
  const port = url.port === "" ? 10809 : Number(url.port);
  return { kind: "nbd", hostname: url.hostname.replace(/^\[|\]$/g, ""), port, exportName };
}

/** What {@linkcode openLeg} needs: a kernel that opens files and, for zero copy, adopts sockets. */
export interface OpenLegKernel extends LoopFileOpener {
  /** Adopts a connected socket as a kernel fd (NBD legs in zero copy). */
  adoptConn?(conn: Deno.Conn): number;
}

/** Options of {@linkcode openLeg}. */
export interface OpenLegOptions {
  /** Serve a zero-copy device (NBD legs connect for fused SEND/RECV). Default false. */
  zeroCopy?: boolean;
  /** File legs: O_DIRECT. Default true. */
  direct?: boolean;
  /** File legs: logical block size. Default 512. */
  logicalBlockSize?: number;
}

/**
 * Opens a `--leg` argument (see {@linkcode parseLegSpec}): a {@linkcode fileLeg} or an
 * {@linkcode nbdLeg}.
 *
 * @param kernel The kernel of the device.
 * @param spec The argument.
 * @param options Zero copy, O_DIRECT.
 * @returns The leg.
 * @throws {TypeError} for a malformed argument, or zero copy over NBD without `adoptConn`.
 */
export function openLeg(
  kernel: OpenLegKernel,
  spec: string,
  options: OpenLegOptions = {},
): Promise<Leg> {
  const s = parseLegSpec(spec);
  if (s.kind === "file") {
    const lo: LoopTargetOptions = {};
    if (options.direct !== undefined) lo.direct = options.direct;
    if (options.logicalBlockSize !== undefined) lo.logicalBlockSize = options.logicalBlockSize;
    return Promise.resolve(fileLeg(kernel, s.path, lo));
  }
  const o: NbdTargetConnectOptions = { exportName: s.exportName };
  if (s.path !== undefined) o.path = s.path;
  if (s.hostname !== undefined) o.hostname = s.hostname;
  if (s.port !== undefined) o.port = s.port;
  if (options.zeroCopy) {
    const adopt = kernel.adoptConn;
    if (adopt === undefined) {
      throw new TypeError(`Cannot open leg "${spec}" for zero copy: the kernel adopts no sockets`);
    }
    o.zeroCopy = true;
    o.kernel = { adoptConn: (c) => adopt.call(kernel, c), closeFd: (fd) => kernel.closeFd(fd) };
  }
  return nbdLeg(o, spec);
}

// ---- the per-piece context ---------------------------------------------------------------------

/**
 * The context a leg target sees for one piece of a request (see the module doc): its own
 * descriptor and buffer, its fixed files renumbered, fused slaves on the piece's sub-range of
 * the request buffer. One per (leg, queue, virtual tag), reused.
 *
 * @internal
 */
export class LegCtx implements TargetIoCtx {
  readonly qid: number;
  /** The virtual tag: `tag * slots + slot`. */
  readonly tag: number;
  readonly dev: TargetDevInfo;
  readonly zeroCopy: boolean;
  readonly dataMode: DataMode;
  /** The piece's descriptor. */
  readonly iod: IoDesc = new IoDesc();
  buf: Uint8Array = new Uint8Array(0);
  #base: TargetIoCtx | null = null;
  #bufOff = 0;
  /** Where the leg's fixed file 1 sits in the queue's table. */
  #fixedBase = 1;
  #prep: PrepSqe | null = null;
  readonly #io: FusedIo = { opcode: 0, fd: 0, fixed: true, bufOff: 0, len: 0, off: 0 };
  readonly #wrapped: PrepSqe = (v, o) => {
    this.#prep!(v, o);
    this.#prep = null;
    if ((v.getUint8(o + IoUringSqe.OFFSET_FLAGS) & IOSQE_FIXED_FILE) !== 0) {
      const fd = v.getInt32(o + IoUringSqe.OFFSET_FD, true);
      if (fd >= 1) v.setInt32(o + IoUringSqe.OFFSET_FD, fd - 1 + this.#fixedBase, true);
    }
  };

  constructor(qid: number, tag: number, dev: TargetDevInfo) {
    this.qid = qid;
    this.tag = tag;
    this.dev = dev;
    this.zeroCopy = dev.zeroCopy;
    this.dataMode = dev.dataMode ?? (dev.zeroCopy ? "fused" : "copy");
  }

  /** The piece's place in the tag buffer (copy modes), 0 with zero copy. */
  get bufAddr(): number {
    return this.#base === null || this.zeroCopy ? 0 : this.#base.bufAddr + this.#bufOff;
  }

  /**
   * Points the context at one piece.
   *
   * @param base The real tag's context.
   * @param parent The request's descriptor.
   * @param op UBLK_IO_OP_* of the piece.
   * @param legOff Byte offset on the leg.
   * @param bufOff Byte offset of the piece in the request buffer.
   * @param len Bytes.
   * @param fixedBase The leg's first fixed-file index.
   * @returns The piece's descriptor.
   */
  bind(
    base: TargetIoCtx,
    parent: IoDesc,
    op: number,
    legOff: number,
    bufOff: number,
    len: number,
    fixedBase: number,
  ): IoDesc {
    this.#base = base;
    this.#bufOff = bufOff;
    this.#fixedBase = fixedBase;
    const d = this.iod;
    d.op = op;
    d.flags = parent.flags;
    d.startSector = legOff / 512;
    d.nrSectors = len / 512;
    const addr = parent.addrHi * 4294967296 + parent.addrLo + bufOff;
    d.addrLo = addr % 4294967296;
    d.addrHi = Math.floor(addr / 4294967296);
    if (!this.zeroCopy && (op === UBLK_IO_OP_READ || op === UBLK_IO_OP_WRITE)) {
      const b = base.buf;
      if (
        this.buf.buffer !== b.buffer || this.buf.byteOffset !== b.byteOffset + bufOff ||
        this.buf.length !== len
      ) {
        this.buf = b.subarray(bufOff, bufOff + len);
      }
    }
    return d;
  }

  submit(prep: PrepSqe): Promise<number> {
    this.#prep = prep;
    return this.#base!.submit(this.#wrapped);
  }

  fused(io: FusedIo): Promise<number> {
    // Data mode: the RFC fused command. A slave on [bufOff, bufOff + len) of the piece is a
    // slave on the same pages shifted by the piece's offset in the request buffer.
    const d = this.iod;
    const f = this.#io;
    const rw = io.opcode === IORING_OP_READ || io.opcode === IORING_OP_WRITE;
    f.opcode = io.opcode;
    f.fixed = io.fixed !== false;
    f.fd = f.fixed && io.fd >= 1 ? io.fd - 1 + this.#fixedBase : io.fd;
    f.bufOff = this.#bufOff + (io.bufOff ?? 0);
    f.len = io.len ?? d.bytes;
    f.off = io.off ?? (rw ? d.offset : 0);
    f.opFlags = io.opFlags ?? 0;
    f.flags = io.flags ?? 0;
    return this.#base!.fused(f);
  }
}

/** The virtual device a leg target is initialised with: `slots` pieces per real tag. */
function legDevInfo(dev: TargetDevInfo, slots: number): TargetDevInfo {
  const depth = dev.queueDepth * slots;
  if (depth > 0xffff) {
    throw new RangeError(
      `Cannot serve ${slots} pieces per request at queue depth ${dev.queueDepth}: more than 65535 leg tags`,
    );
  }
  return { ...dev, queueDepth: depth };
}

/** The result of one piece as the request sees it: its bytes, or an errno (short → -EIO). */
export function pieceResult(res: number, want: number, op: number): number {
  if (res < 0) return res;
  if (op !== UBLK_IO_OP_READ && op !== UBLK_IO_OP_WRITE) return 0;
  return res === want ? res : -EIO;
}

/**
 * The legs of a composite target, initialised: their params, their fixed files placed in one
 * table, the per-piece contexts.
 *
 * @internal
 */
export class LegSet {
  readonly legs: Leg[];
  readonly params: TargetParams[] = [];
  /** Per leg: the index of its fixed file 1 in the queue rings (0 is /dev/ublkcN). */
  readonly fixedBase: number[] = [];
  #fixedFds: number[] = [];
  #ctxs: LegCtx[][][] = [];
  #slots = 1;
  #vdev: TargetDevInfo | null = null;

  constructor(legs: readonly Leg[]) {
    this.legs = [...legs];
  }

  /** Every leg's fixed files, in leg order. */
  get fixedFds(): readonly number[] {
    return this.#fixedFds;
  }

  /**
   * Initialises every leg with a virtual device of `slots` pieces per tag.
   *
   * @returns Each leg's params.
   */
  async init(dev: TargetDevInfo, slots: number): Promise<TargetParams[]> {
    this.#slots = slots;
    const vdev = legDevInfo(dev, slots);
    this.#vdev = vdev;
    this.#ctxs = this.legs.map(() => []);
    this.params.length = 0;
    for (const leg of this.legs) this.params.push(await leg.target.init(vdev));
    this.#placeFixed();
    return this.params;
  }

  /** Initialises one more leg (a replacement) on the same virtual device. */
  async initLeg(i: number, leg: Leg): Promise<TargetParams> {
    const p = await leg.target.init(this.#vdev!);
    if ((leg.target.fixedFds ?? []).length !== 0) {
      throw new ErrnoError(EOPNOTSUPP, {
        op: `Add leg "${leg.uri}" to a running device (it needs fixed files; the queues ` +
          `registered theirs at start)`,
      });
    }
    this.legs[i] = leg;
    this.params[i] = p;
    this.#ctxs[i] = [];
    if (this.fixedBase[i] === undefined) this.fixedBase[i] = 1;
    return p;
  }

  #placeFixed(): void {
    this.#fixedFds = [];
    this.fixedBase.length = 0;
    for (const leg of this.legs) {
      this.fixedBase.push(1 + this.#fixedFds.length);
      this.#fixedFds.push(...(leg.target.fixedFds ?? []));
    }
  }

  /**
   * Issues one piece on leg `i`: the leg target serves it as a request of its own.
   *
   * @returns The leg target's result.
   */
  issue(
    i: number,
    ctx: TargetIoCtx,
    parent: IoDesc,
    slot: number,
    op: number,
    legOff: number,
    bufOff: number,
    len: number,
  ): Promise<number> | number {
    let q = this.#ctxs[i]![ctx.qid];
    if (q === undefined) {
      q = [];
      this.#ctxs[i]![ctx.qid] = q;
    }
    const vtag = ctx.tag * this.#slots + slot;
    let c = q[vtag];
    if (c === undefined) {
      c = new LegCtx(ctx.qid, vtag, this.#vdev!);
      q[vtag] = c;
    }
    const d = c.bind(ctx, parent, op, legOff, bufOff, len, this.fixedBase[i]!);
    try {
      return this.legs[i]!.target.handleIo(c, vtag, d);
    } catch {
      return -EIO;
    }
  }

  /** Closes every leg target (errors are ignored: the device is going away). */
  async close(): Promise<void> {
    for (const leg of this.legs) {
      try {
        await leg.target.close?.();
      } catch { /* closing */ }
    }
  }
}

/**
 * Combines leg params into the composite's: read-only if any leg is, a volatile cache if any
 * leg has one, FUA / rotational only if every leg has it, discard and write zeroes only if
 * every leg offers them, the largest logical block size.
 *
 * @internal
 */
export function combineParams(
  params: readonly TargetParams[],
  devSize: number,
  maxDiscardSectors: number,
): TargetParams {
  let lbs = 9, pbs = 9, any = 0, all = UBLK_ATTR_FUA | UBLK_ATTR_ROTATIONAL;
  let discard = true, zeroes = true, gran = 512, maxSectors = Infinity;
  for (const p of params) {
    if (p.maxSectors !== undefined) maxSectors = Math.min(maxSectors, p.maxSectors);
    const l = p.logicalBsShift ?? 9;
    lbs = Math.max(lbs, l);
    pbs = Math.max(pbs, p.physicalBsShift ?? l);
    any |= (p.attrs ?? 0) & (UBLK_ATTR_READ_ONLY | UBLK_ATTR_VOLATILE_CACHE);
    all &= p.attrs ?? 0;
    discard &&= (p.discard?.maxDiscardSectors ?? 0) > 0;
    zeroes &&= (p.discard?.maxWriteZeroesSectors ?? 0) > 0;
    gran = Math.max(gran, p.discard?.granularity ?? 512);
  }
  const size = devSize - (devSize % (1 << lbs));
  const out: TargetParams = {
    devSize: size,
    logicalBsShift: lbs,
    physicalBsShift: pbs,
    ioMinShift: lbs,
    ioOptShift: pbs,
    attrs: any | all,
  };
  if (maxSectors !== Infinity) out.maxSectors = maxSectors;
  if ((discard || zeroes) && (any & UBLK_ATTR_READ_ONLY) === 0) {
    out.discard = {
      granularity: gran,
      maxDiscardSectors: discard ? maxDiscardSectors : 0,
      maxWriteZeroesSectors: zeroes ? maxDiscardSectors : 0,
      maxDiscardSegments: 1,
    };
  }
  return out;
}

// ---- stripe -----------------------------------------------------------------------------------

/** The default stripe chunk: 64 KiB. */
export const STRIPE_DEFAULT_CHUNK = 64 * 1024;

/** Options of {@linkcode StripeTarget}. */
export interface StripeTargetOptions {
  /** Chunk size in bytes: a power of two ≥ 4 KiB. Default 64 KiB. */
  chunkSize?: number;
}

/** One leg's share of a request, as {@linkcode stripeMap} computes it. */
export interface StripePiece {
  /** The leg. */
  leg: number;
  /** Byte offset on the leg. */
  legOff: number;
  /** Byte offset in the request buffer. */
  bufOff: number;
  /** Bytes. */
  len: number;
}

/**
 * Splits `[offset, offset + length)` of a striped device at chunk boundaries.
 *
 * @param offset Device byte offset.
 * @param length Bytes.
 * @param chunk Chunk size (a power of two).
 * @param legs Number of legs.
 * @returns One piece per chunk touched, in request order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stripeMap } from "@ublk-ts/targets";
 * // 12 KiB at 6 KiB over 2 legs of 4 KiB chunks: chunks 1, 2, 3, 4.
 * assert.deepEqual(stripeMap(6144, 12288, 4096, 2), [
 *   { leg: 1, legOff: 2048, bufOff: 0, len: 2048 },
 *   { leg: 0, legOff: 4096, bufOff: 2048, len: 4096 },
 *   { leg: 1, legOff: 4096, bufOff: 6144, len: 4096 },
 *   { leg: 0, legOff: 8192, bufOff: 10240, len: 2048 },
 * ]);
 * ```
 */
export function stripeMap(
  offset: number,
  length: number,
  chunk: number,
  legs: number,
): StripePiece[] {
  const out: StripePiece[] = [];
  let pos = offset, bufOff = 0;
  while (bufOff < length) {
    const c = Math.floor(pos / chunk);
    const inChunk = pos - c * chunk;
    const len = Math.min(chunk - inChunk, length - bufOff);
    out.push({ leg: c % legs, legOff: Math.floor(c / legs) * chunk + inChunk, bufOff, len });
    pos += len;
    bufOff += len;
  }
  return out;
}

/** The leg range `[start, end)` that holds the device range `[offset, offset + length)`. */
function legRange(
  offset: number,
  length: number,
  chunk: number,
  legs: number,
  leg: number,
): [number, number] {
  // The first chunk at or after `offset` on `leg`, and the last one before the end.
  const lo = (pos: number): number => {
    const c = Math.floor(pos / chunk);
    const row = Math.floor(c / legs), col = c % legs;
    if (col === leg) return row * chunk + (pos - c * chunk);
    return (col < leg ? row : row + 1) * chunk;
  };
  const start = lo(offset);
  const end = lo(offset + length);
  return [start, Math.max(start, end)];
}

/**
 * The stripe target (RAID 0) over N ≥ 2 legs (see the module doc).
 *
 * @example Two files, 64 KiB chunks (ignored: needs a kernel)
 * ```ts ignore
 * import { fileLeg, StripeTarget } from "@ublk-ts/targets";
 * const target = new StripeTarget([fileLeg(kernel, "a.img"), fileLeg(kernel, "b.img")]);
 * const dev = await createDevice(kernel, target, { zeroCopy: true });
 * ```
 */
export class StripeTarget implements Target {
  /** "stripe". */
  readonly name: string = "stripe";
  /** The chunk size in bytes. */
  readonly chunkSize: number;
  readonly #set: LegSet;
  #slots = 1;
  #closed = false;

  /**
   * Makes a stripe (RAID 0) over the legs.
   *
   * @param legs The legs (their targets are initialised and closed by this target).
   * @param options The chunk size.
   * @throws {RangeError} for fewer than 2 legs or a bad chunk size.
   */
  constructor(legs: readonly Leg[], options: StripeTargetOptions = {}) {
    if (legs.length < 2) {
      throw new RangeError(`Cannot stripe over ${legs.length} leg(s): expected at least 2`);
    }
    const chunk = options.chunkSize ?? STRIPE_DEFAULT_CHUNK;
    if (!Number.isInteger(chunk) || chunk < 4096 || (chunk & (chunk - 1)) !== 0) {
      throw new RangeError(
        `Cannot use stripe chunk size ${chunk}: expected a power of two of at least 4096`,
      );
    }
    this.chunkSize = chunk;
    this.#set = new LegSet(legs);
  }

  /** The legs. */
  get legs(): readonly Leg[] {
    return this.#set.legs;
  }

  /** Every leg's fixed files (read after `init`). */
  get fixedFds(): readonly number[] {
    return this.#set.fixedFds;
  }

  /**
   * Initialises the legs and returns the striped geometry.
   *
   * @param dev The device.
   * @returns The parameters.
   * @throws {RangeError} when a leg is smaller than one chunk.
   */
  async init(dev: TargetDevInfo): Promise<TargetParams> {
    const n = this.#set.legs.length;
    this.#slots = Math.max(n, Math.ceil(dev.maxIoBufBytes / this.chunkSize) + 1);
    const params = await this.#set.init(dev, this.#slots);
    let min = Infinity;
    for (const p of params) min = Math.min(min, p.devSize);
    const perLeg = Math.floor(min / this.chunkSize) * this.chunkSize;
    if (perLeg === 0) {
      throw new RangeError(
        `Cannot stripe legs of ${min} bytes with chunk size ${this.chunkSize}: a leg must hold a chunk`,
      );
    }
    const out = combineParams(params, perLeg * n, dev.maxIoBufBytes >>> 9);
    const shift = Math.log2(this.chunkSize);
    out.ioMinShift = Math.max(out.ioMinShift ?? 9, Math.min(shift, 12));
    if (out.discard !== undefined) {
      out.discard.granularity = Math.min(
        Math.max(out.discard.granularity ?? 512, 512),
        this.chunkSize,
      );
    }
    return out;
  }

  /**
   * Serves one request: pieces on the legs, in parallel.
   *
   * @param ctx The tag's context.
   * @param _tag The tag.
   * @param iod The request.
   * @returns Bytes, 0, or the first failing piece's errno.
   */
  handleIo(ctx: TargetIoCtx, _tag: number, iod: IoDesc): Promise<number> | number {
    switch (iod.op) {
      case UBLK_IO_OP_READ:
      case UBLK_IO_OP_WRITE:
        return this.#rw(ctx, iod);
      case UBLK_IO_OP_FLUSH:
        return this.#perLeg(ctx, iod, false);
      case UBLK_IO_OP_DISCARD:
      case UBLK_IO_OP_WRITE_ZEROES:
        return this.#perLeg(ctx, iod, true);
      default:
        return -EOPNOTSUPP;
    }
  }

  #rw(ctx: TargetIoCtx, iod: IoDesc): Promise<number> | number {
    const set = this.#set, chunk = this.chunkSize, n = set.legs.length;
    const op = iod.op, length = iod.bytes;
    const results: (Promise<number> | number)[] = [];
    const lens: number[] = [];
    let pos = iod.offset, bufOff = 0, slot = 0;
    while (bufOff < length) {
      const c = Math.floor(pos / chunk);
      const inChunk = pos - c * chunk;
      const len = Math.min(chunk - inChunk, length - bufOff);
      const legOff = Math.floor(c / n) * chunk + inChunk;
      results.push(set.issue(c % n, ctx, iod, slot++, op, legOff, bufOff, len));
      lens.push(len);
      pos += len;
      bufOff += len;
    }
    return settle(results, lens, op, length);
  }

  #perLeg(ctx: TargetIoCtx, iod: IoDesc, ranged: boolean): Promise<number> | number {
    const set = this.#set, n = set.legs.length;
    const results: (Promise<number> | number)[] = [];
    const lens: number[] = [];
    for (let leg = 0; leg < n; leg++) {
      let start = 0, end = 0;
      if (ranged) {
        [start, end] = legRange(iod.offset, iod.bytes, this.chunkSize, n, leg);
        if (end === start) continue;
      }
      results.push(set.issue(leg, ctx, iod, leg, iod.op, start, 0, end - start));
      lens.push(end - start);
    }
    return settle(results, lens, iod.op, 0);
  }

  /** Closes every leg. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#set.close();
  }
}

/** Waits for every piece; the request's result (see the module doc). */
function settle(
  results: (Promise<number> | number)[],
  lens: number[],
  op: number,
  total: number,
): Promise<number> | number {
  let sync = true;
  for (const r of results) if (typeof r !== "number") sync = false;
  const finish = (rs: readonly number[]): number => {
    for (let i = 0; i < rs.length; i++) {
      const r = pieceResult(rs[i]!, lens[i]!, op);
      if (r < 0) return r;
    }
    return total;
  };
  if (sync) return finish(results as number[]);
  // Every piece is waited for, even after one failed: a piece still in flight moves data in
  // the request's buffer (or holds a lease on its pages), so the request must not complete
  // before it does. A piece that throws counts as -EIO.
  return Promise.all(
    results.map((r) => typeof r === "number" ? r : r.catch(() => -EIO)),
  ).then(finish);
}
