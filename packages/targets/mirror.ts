/**
 * The mirror target (RAID 1): N legs holding the same data (the legs of
 * {@linkcode StripeTarget}: files, NBD exports, any target).
 *
 * - **Writes** (and DISCARD, WRITE_ZEROES, FLUSH) go to every leg that is not failed, in
 *   parallel. In fused zero copy that is N slaves reading the same lent pages at once (the
 *   shared lease); in copy mode N writes out of the same server buffer. The request succeeds
 *   when at least one leg took it; a leg that failed it is marked failed and the device goes on
 *   degraded.
 * - **Reads** go to the active legs in turn (round robin). A read that fails on one leg marks
 *   it failed and is retried on the next active leg; only when none is left does it fail.
 * - **State** ({@linkcode MirrorTarget.status}): each leg's state (`active`, `failed`,
 *   `resyncing`), why it failed, its I/O counts, and the resync's progress.
 * - **Re-add** ({@linkcode MirrorTarget.addLeg}): a new leg (or a repaired one) takes the place
 *   of a failed leg (or is appended) and is resynced in the background from an active leg
 *   through the legs' side channels, window by window; writes reach it from the moment it is
 *   added, and a write that overlaps the window being copied waits for the copy, so the leg
 *   ends identical to its source. It serves reads once the resync completes.
 *
 * Errors that are not a leg's fault (-EOPNOTSUPP, -EINVAL, -EROFS, -EPERM) fail the request
 * without marking the leg. The queues register fixed files once, at start: a leg added to a
 * running device must not need fixed files, so a file leg added later is served through its
 * side channel (copy mode only), and in zero copy a leg cannot be re-added (-EOPNOTSUPP).
 *
 * @module
 */

import type { IoDesc, Target, TargetDevInfo, TargetIoCtx, TargetParams } from "@ublk-ts/ublk";
import {
  EBUSY,
  EINVAL,
  EIO,
  EOPNOTSUPP,
  EPERM,
  EROFS,
  ErrnoError,
  UBLK_IO_OP_DISCARD,
  UBLK_IO_OP_FLUSH,
  UBLK_IO_OP_READ,
  UBLK_IO_OP_WRITE,
  UBLK_IO_OP_WRITE_ZEROES,
} from "@ublk-ts/uapi";
import { allocIoMemory } from "@ublk-ts/rsrc";
import { combineParams, type Leg, LegSet, type LegSideChannel, pieceResult } from "./stripe.ts";

/** A mirror leg's state. */
export type MirrorLegState = "active" | "failed" | "resyncing";

/** One leg as {@linkcode MirrorTarget.status} shows it. */
export interface MirrorLegStatus {
  /** Its index. */
  readonly index: number;
  /** What it is (a path or an NBD URI). */
  readonly uri: string;
  /** Its state. */
  readonly state: MirrorLegState;
  /** Why it failed (`""` when it has not). */
  readonly reason: string;
  /** The errno it failed with (0 when it has not). */
  readonly errno: number;
  /** Reads it served. */
  readonly reads: number;
  /** Writes (and discards, write-zeroes) it took. */
  readonly writes: number;
}

/** A resync in progress (or the last one). */
export interface MirrorResyncStatus {
  /** The leg being rebuilt. */
  readonly leg: number;
  /** The leg it copies from. */
  readonly source: number;
  /** Bytes copied. */
  readonly done: number;
  /** Bytes to copy (the device size). */
  readonly total: number;
  /** `running`, `done`, or `failed`. */
  readonly state: "running" | "done" | "failed";
  /** Why it failed (`""` otherwise). */
  readonly reason: string;
}

/** The mirror's state. */
export interface MirrorStatus {
  /** The legs. */
  readonly legs: readonly MirrorLegStatus[];
  /** True when a leg is not active. */
  readonly degraded: boolean;
  /** The current or last resync (null when none ran). */
  readonly resync: MirrorResyncStatus | null;
}

/** Options of {@linkcode MirrorTarget}. */
export interface MirrorTargetOptions {
  /** Told one line when a leg fails, is added, or finishes resyncing. */
  onEvent?: (message: string) => void;
  /** Bytes copied per resync step (a multiple of 4096). Default 256 KiB. */
  resyncWindow?: number;
}

/** Options of {@linkcode MirrorTarget.addLeg}. */
export interface MirrorAddOptions {
  /** The index of the failed leg to replace. Default the first failed one, else a new leg. */
  replace?: number;
}

interface LegInfo {
  state: MirrorLegState;
  reason: string;
  errno: number;
  reads: number;
  writes: number;
}

interface Window {
  readonly start: number;
  readonly end: number;
  readonly done: Promise<void>;
}

interface InFlight {
  readonly start: number;
  readonly end: number;
  readonly done: Promise<unknown>;
}

/** Whether a leg's error means the leg is bad (not the request). */
function legFault(res: number): boolean {
  return res !== -EOPNOTSUPP && res !== -EINVAL && res !== -EROFS && res !== -EPERM;
}

function errnoName(res: number): string {
  try {
    return new ErrnoError(-res).code;
  } catch {
    return String(res);
  }
}

/**
 * The mirror target (see the module doc).
 *
 * @example Two files (ignored: needs a kernel)
 * ```ts ignore
 * import { fileLeg, MirrorTarget } from "@ublk-ts/targets";
 * const target = new MirrorTarget([fileLeg(kernel, "a.img"), fileLeg(kernel, "b.img")]);
 * const dev = await createDevice(kernel, target, { zeroCopy: true });
 * console.log(target.status().degraded);
 * ```
 */
export class MirrorTarget implements Target {
  /** "mirror". */
  readonly name: string = "mirror";
  readonly #set: LegSet;
  readonly #info: LegInfo[];
  readonly #onEvent: (message: string) => void;
  readonly #windowBytes: number;
  #dev: TargetDevInfo | null = null;
  #size = 0;
  #rr = 0;
  #window: Window | null = null;
  readonly #writes: Set<InFlight> = new Set();
  #resync: MirrorResyncStatus | null = null;
  #resyncRun: Promise<void> = Promise.resolve();
  #closed = false;

  /**
   * Makes a mirror (RAID 1) over the legs.
   *
   * @param legs Two or more legs (their targets are initialised and closed by this target).
   * @param options Events, resync window.
   * @throws {RangeError} for fewer than 2 legs or a bad window.
   */
  constructor(legs: readonly Leg[], options: MirrorTargetOptions = {}) {
    if (legs.length < 2) {
      throw new RangeError(`Cannot mirror over ${legs.length} leg(s): expected at least 2`);
    }
    const w = options.resyncWindow ?? 256 * 1024;
    if (!Number.isSafeInteger(w) || w <= 0 || w % 4096 !== 0) {
      throw new RangeError(`Cannot resync by ${w} bytes: expected a positive multiple of 4096`);
    }
    this.#windowBytes = w;
    this.#onEvent = options.onEvent ?? (() => {});
    this.#set = new LegSet(legs);
    this.#info = legs.map(() => ({ state: "active", reason: "", errno: 0, reads: 0, writes: 0 }));
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
   * The legs' states and the resync's progress.
   *
   * @returns A snapshot.
   */
  status(): MirrorStatus {
    const legs = this.#info.map((l, index): MirrorLegStatus => ({
      index,
      uri: this.#set.legs[index]!.uri,
      state: l.state,
      reason: l.reason,
      errno: l.errno,
      reads: l.reads,
      writes: l.writes,
    }));
    return {
      legs,
      degraded: legs.some((l) => l.state !== "active"),
      resync: this.#resync === null ? null : { ...this.#resync },
    };
  }

  /** Resolves when the current resync (if any) has ended, done or failed. */
  resyncFinished(): Promise<void> {
    return this.#resyncRun;
  }

  /**
   * Initialises the legs: the device is as large as the smallest.
   *
   * @param dev The device.
   * @returns The parameters.
   */
  async init(dev: TargetDevInfo): Promise<TargetParams> {
    this.#dev = dev;
    const params = await this.#set.init(dev, 1);
    let min = Infinity;
    for (const p of params) min = Math.min(min, p.devSize);
    const out = combineParams(params, min, 0xffffffff >>> 9);
    this.#size = out.devSize;
    return out;
  }

  /**
   * Serves one request.
   *
   * @param ctx The tag's context.
   * @param _tag The tag.
   * @param iod The request.
   * @returns Bytes, 0, or a negative errno.
   */
  handleIo(ctx: TargetIoCtx, _tag: number, iod: IoDesc): Promise<number> | number {
    switch (iod.op) {
      case UBLK_IO_OP_READ:
        return this.#read(ctx, iod);
      case UBLK_IO_OP_WRITE:
      case UBLK_IO_OP_DISCARD:
      case UBLK_IO_OP_WRITE_ZEROES:
        return this.#write(ctx, iod, true);
      case UBLK_IO_OP_FLUSH:
        return this.#write(ctx, iod, false);
      default:
        return -EOPNOTSUPP;
    }
  }

  #markFailed(i: number, res: number, what: string): void {
    const l = this.#info[i]!;
    if (l.state === "failed") return;
    const was = l.state;
    l.state = "failed";
    l.errno = -res;
    l.reason = `${what}: ${errnoName(res)}`;
    const left = this.#info.filter((x) => x.state === "active").length;
    this.#onEvent(
      `mirror: leg ${i} (${this.#set.legs[i]!.uri}) failed (${l.reason})${
        was === "resyncing" ? ", resync stopped" : ""
      }; ${left} active leg${left === 1 ? "" : "s"} left`,
    );
  }

  async #read(ctx: TargetIoCtx, iod: IoDesc): Promise<number> {
    const n = this.#info.length;
    const first = this.#rr++ % n;
    let last = -EIO;
    for (let k = 0; k < n; k++) {
      const i = (first + k) % n;
      if (this.#info[i]!.state !== "active") continue;
      let r: number;
      try {
        r = await this.#set.issue(i, ctx, iod, 0, iod.op, iod.offset, 0, iod.bytes);
      } catch {
        r = -EIO;
      }
      r = pieceResult(r, iod.bytes, iod.op);
      if (r >= 0) {
        this.#info[i]!.reads++;
        return r;
      }
      if (!legFault(r)) return r;
      this.#markFailed(i, r, `read at ${iod.offset}`);
      last = r;
    }
    return last;
  }

  async #write(ctx: TargetIoCtx, iod: IoDesc, ranged: boolean): Promise<number> {
    const start = iod.offset, end = ranged ? start + iod.bytes : start;
    while (
      ranged && this.#window !== null && start < this.#window.end && end > this.#window.start
    ) {
      await this.#window.done;
    }
    const legs: number[] = [];
    for (let i = 0; i < this.#info.length; i++) {
      if (this.#info[i]!.state !== "failed") legs.push(i);
    }
    if (legs.length === 0) return -EIO;
    const len = ranged ? iod.bytes : 0;
    const done = Promise.all(legs.map(async (i) => {
      try {
        return await this.#set.issue(i, ctx, iod, 0, iod.op, start, 0, len);
      } catch {
        return -EIO;
      }
    }));
    const entry: InFlight = { start, end, done };
    if (ranged) this.#writes.add(entry);
    let rs: number[];
    try {
      rs = await done;
    } finally {
      this.#writes.delete(entry);
    }
    let ok = 0, failure = 0, refused = 0;
    for (let k = 0; k < legs.length; k++) {
      const i = legs[k]!;
      const r = pieceResult(rs[k]!, len, iod.op);
      if (r >= 0) {
        ok++;
        if (ranged) this.#info[i]!.writes++;
      } else if (!legFault(r)) {
        refused ||= r;
      } else {
        failure ||= r;
        this.#markFailed(i, r, `${ranged ? "write" : "flush"} at ${start}`);
      }
    }
    if (refused !== 0) return refused;
    if (ok === 0 || !this.#info.some((l) => l.state === "active")) return failure || -EIO;
    return iod.op === UBLK_IO_OP_WRITE ? iod.bytes : 0;
  }

  /**
   * Adds a leg to the running device and resyncs it in the background from an active leg
   * ({@linkcode MirrorTarget.status} shows the progress, {@linkcode MirrorTarget.resyncFinished}
   * waits for it).
   *
   * @param leg The new leg (it needs a side channel; a leg whose target needs fixed files is
   *   served through it, copy mode only).
   * @param options Which failed leg it replaces.
   * @returns The new leg's index.
   * @throws {ErrnoError} EBUSY while another resync runs; EOPNOTSUPP in zero copy for a leg
   *   that needs fixed files, or for a leg without a side channel; EINVAL for a bad index or
   *   when no active leg can be read.
   * @throws {RangeError} when the leg is smaller than the device.
   */
  async addLeg(leg: Leg, options: MirrorAddOptions = {}): Promise<number> {
    const dev = this.#dev;
    if (dev === null || this.#closed) {
      throw new ErrnoError(EINVAL, {
        op: `Add mirror leg "${leg.uri}" (the device is not running)`,
      });
    }
    if (this.#resync?.state === "running") {
      throw new ErrnoError(EBUSY, {
        op: `Add mirror leg "${leg.uri}" (leg ${this.#resync.leg} is still resyncing)`,
      });
    }
    const openSide = leg.openSideChannel;
    if (openSide === undefined) {
      throw new ErrnoError(EOPNOTSUPP, {
        op: `Add mirror leg "${leg.uri}" (it has no side channel to resync through)`,
      });
    }
    const source = this.#info.findIndex((l, i) =>
      l.state === "active" && this.#set.legs[i]!.openSideChannel !== undefined
    );
    if (source < 0) {
      throw new ErrnoError(EINVAL, {
        op: `Add mirror leg "${leg.uri}" (no active leg with a side channel to copy from)`,
      });
    }
    let index = options.replace ?? this.#info.findIndex((l) => l.state === "failed");
    if (index < 0) index = this.#info.length;
    if (
      index > this.#info.length ||
      (index < this.#info.length && this.#info[index]!.state !== "failed")
    ) {
      throw new ErrnoError(EINVAL, { op: `Replace mirror leg ${index} (it is not a failed leg)` });
    }
    let target: Target = leg.target;
    let channel: LegSideChannel | null = null;
    try {
      if ((leg.target.fixedFds ?? []).length !== 0) {
        if (dev.zeroCopy) {
          throw new ErrnoError(EOPNOTSUPP, {
            op:
              `Add mirror leg "${leg.uri}" to a zero-copy device (the leg needs fixed files and the queues registered theirs at start)`,
          });
        }
        const params = await leg.target.init(dev);
        await leg.target.close?.();
        channel = await openSide.call(leg);
        target = new ChannelTarget(channel, params);
      }
      const placed: Leg = { uri: leg.uri, target, openSideChannel: leg.openSideChannel };
      const old = index < this.#set.legs.length ? this.#set.legs[index]! : null;
      const p = await this.#set.initLeg(index, placed);
      if (p.devSize < this.#size) {
        throw new RangeError(
          `Cannot add mirror leg "${leg.uri}": its ${p.devSize} bytes are fewer than the device's ${this.#size}`,
        );
      }
      if (old !== null) {
        // A failed leg gets no new I/O; what it still has in flight ends on its own.
        Promise.resolve().then(() => old.target.close?.()).catch(() => {});
      }
    } catch (e) {
      await target.close?.();
      throw e;
    }
    const info: LegInfo = { state: "resyncing", reason: "", errno: 0, reads: 0, writes: 0 };
    this.#info[index] = info;
    this.#resync = {
      leg: index,
      source,
      done: 0,
      total: this.#size,
      state: "running",
      reason: "",
    };
    this.#onEvent(`mirror: leg ${index} (${leg.uri}) added, resyncing from leg ${source}`);
    this.#resyncRun = this.#runResync(index, source, leg).catch(() => {});
    return index;
  }

  async #runResync(index: number, source: number, leg: Leg): Promise<void> {
    const set = this.#set;
    let src: LegSideChannel | null = null, dst: LegSideChannel | null = null;
    const buf = allocIoMemory(this.#windowBytes);
    const fail = (reason: string): void => {
      this.#resync = { ...this.#resync!, state: "failed", reason };
      if (this.#info[index]!.state === "resyncing") this.#markFailed(index, -EIO, reason);
    };
    try {
      src = await set.legs[source]!.openSideChannel!();
      dst = await leg.openSideChannel!();
      for (let off = 0; off < this.#size; off += this.#windowBytes) {
        if (this.#closed) return fail("device stopped");
        if (this.#info[index]!.state !== "resyncing") return fail("the leg failed");
        if (this.#info[source]!.state !== "active") return fail(`source leg ${source} failed`);
        const end = Math.min(off + this.#windowBytes, this.#size);
        let release!: () => void;
        this.#window = { start: off, end, done: new Promise<void>((r) => (release = r)) };
        try {
          const overlapping = [...this.#writes].filter((w) => w.start < end && w.end > off);
          await Promise.all(overlapping.map((w) => w.done));
          const b = buf.subarray(0, end - off);
          const r = await src.read(off, b);
          if (r !== b.length) return fail(`resync read at ${off} from leg ${source}: ${r}`);
          const w = await dst.write(off, b);
          if (w !== b.length) return fail(`resync write at ${off}: ${w}`);
        } finally {
          this.#window = null;
          release();
        }
        this.#resync = { ...this.#resync!, done: end };
      }
      const f = await dst.flush();
      if (f < 0) return fail(`resync flush: ${errnoName(f)}`);
      if (this.#info[index]!.state !== "resyncing") return fail("the leg failed");
      this.#info[index]!.state = "active";
      this.#resync = { ...this.#resync!, state: "done" };
      this.#onEvent(`mirror: leg ${index} (${leg.uri}) resynced (${this.#size} bytes)`);
    } catch (e) {
      fail(`resync: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      await src?.close();
      await dst?.close();
    }
  }

  /** Stops a resync and closes every leg. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#resyncRun;
    await this.#set.close();
  }
}

/**
 * A copy-mode target over a leg's side channel: how a leg that needs fixed files (a file) is
 * served once the queues have started. DISCARD and WRITE_ZEROES write zeroes, so the leg stays
 * identical to the others.
 */
class ChannelTarget implements Target {
  readonly name: string = "channel";
  readonly #ch: LegSideChannel;
  readonly #params: TargetParams;
  #zeroes: Uint8Array | null = null;

  constructor(ch: LegSideChannel, params: TargetParams) {
    this.#ch = ch;
    this.#params = params;
  }

  init(): TargetParams {
    return this.#params;
  }

  handleIo(ctx: TargetIoCtx, _tag: number, iod: IoDesc): Promise<number> | number {
    if (ctx.zeroCopy) return -EOPNOTSUPP;
    switch (iod.op) {
      case UBLK_IO_OP_READ:
        return this.#ch.read(iod.offset, ctx.buf.subarray(0, iod.bytes));
      case UBLK_IO_OP_WRITE:
        return this.#ch.write(iod.offset, ctx.buf.subarray(0, iod.bytes));
      case UBLK_IO_OP_FLUSH:
        return this.#ch.flush();
      case UBLK_IO_OP_DISCARD:
      case UBLK_IO_OP_WRITE_ZEROES:
        return this.#zero(iod.offset, iod.bytes);
      default:
        return -EOPNOTSUPP;
    }
  }

  async #zero(off: number, len: number): Promise<number> {
    const z = this.#zeroes ??= allocIoMemory(64 * 1024);
    for (let done = 0; done < len;) {
      const n = Math.min(z.length, len - done);
      const r = await this.#ch.write(off + done, z.subarray(0, n));
      if (r !== n) return r < 0 ? r : -EIO;
      done += n;
    }
    return 0;
  }

  close(): Promise<void> | void {
    return this.#ch.close();
  }
}
