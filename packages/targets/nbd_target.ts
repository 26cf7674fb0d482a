/**
 * The nbd target: a ublk device backed by an NBD export, served through one
 * {@linkcode NbdClient} connection with many requests in flight (the ublk tag is the cookie's
 * high half). READ/WRITE move data between the tag's server buffer and the socket; FLUSH →
 * NBD_CMD_FLUSH, DISCARD → NBD_CMD_TRIM, WRITE_ZEROES → NBD_CMD_WRITE_ZEROES (NO_HOLE when the
 * request says NOUNMAP), FUA → NBD_CMD_FLAG_FUA. Operations the server did not offer complete
 * with -EOPNOTSUPP. When the server goes away every request in flight, and every later one,
 * completes with -EIO, so the device can still be stopped and deleted.
 *
 * Zero copy (`NbdTarget.connect({ zeroCopy: true, kernel })`): the socket is adopted as a model
 * fd (fixed file 1 of the queue rings) and payloads move with fused commands — a WRITE's payload
 * is a fused SEND (or SEND_ZC with `sendZc`, TCP only) slave out of the request pages, a READ
 * reply's payload a fused RECV (MSG_WAITALL) slave straight into them. Request and reply
 * headers go over the connection directly. Structured replies are negotiated as in copy mode and
 * checked the same way (data inside the request, a READ covered byte for byte at DONE, error
 * chunks); READs ask for a single data chunk (NBD_CMD_FLAG_DF) where the server offers it.
 *
 * Reconnect (`reconnect: N`, both modes): after the connection died, the next request tries up
 * to N times to connect again (the same options and checks as the first connection); requests
 * that were in flight end -EIO. In both modes the dead connection is drained first (the server
 * closes it, or it is closed after the drain time), so a WRITE it still held never lands after
 * a newer one sent over the new connection. In zero copy the new socket is adopted as a plain
 * fd of the kernel, which every queue ring sees (the queues registered their fixed files at
 * start).
 *
 * @module
 */

import type { IoDesc, Target, TargetDevInfo, TargetIoCtx, TargetParams } from "@ublk-ts/ublk";
import {
  ECONNREFUSED,
  ECONNRESET,
  EINVAL,
  EIO,
  ENOENT,
  EOPNOTSUPP,
  EPERM,
  EPROTO,
  EROFS,
  ErrnoError,
  ETIMEDOUT,
  UBLK_ATTR_FUA,
  UBLK_ATTR_READ_ONLY,
  UBLK_ATTR_VOLATILE_CACHE,
  UBLK_IO_F_FUA,
  UBLK_IO_F_NOUNMAP,
  UBLK_IO_OP_DISCARD,
  UBLK_IO_OP_FLUSH,
  UBLK_IO_OP_READ,
  UBLK_IO_OP_WRITE,
  UBLK_IO_OP_WRITE_ZEROES,
} from "@ublk-ts/uapi";
import {
  NBD_DEFAULT_TIMEOUT_MS,
  NbdClient,
  type NbdConnectOptions,
  type NbdWriteZeroesOptions,
} from "@ublk-ts/nbd";
import { type NbdExportInfo, nbdHandshake } from "@ublk-ts/nbd";
import { NbdError, NbdReader } from "@ublk-ts/nbd";
import { NbdZeroCopy } from "./_nbd_zc.ts";
import {
  NBD_CMD_FLAG_DF,
  NBD_CMD_FLAG_FUA,
  NBD_CMD_FLAG_NO_HOLE,
  NBD_CMD_FLUSH,
  NBD_CMD_READ,
  NBD_CMD_TRIM,
  NBD_CMD_WRITE,
  NBD_CMD_WRITE_ZEROES,
  NBD_FLAG_READ_ONLY,
  NBD_FLAG_SEND_DF,
  NBD_FLAG_SEND_FLUSH,
  NBD_FLAG_SEND_FUA,
  NBD_FLAG_SEND_TRIM,
  NBD_FLAG_SEND_WRITE_ZEROES,
} from "@ublk-ts/nbd";

/** What the nbd target needs from an NBD connection (an {@linkcode NbdClient}). */
export type NbdTargetClient = Pick<
  NbdClient,
  "info" | "size" | "alive" | "read" | "write" | "flush" | "trim" | "writeZeroes" | "disconnect"
>;

/** What zero copy needs from the kernel: adopting the connection as a socket fd. */
export interface NbdSocketAdopter {
  /**
   * Adopts a connected `Deno.Conn` as a model socket fd.
   *
   * @returns The fd.
   */
  adoptConn(conn: Deno.Conn): number;
  /**
   * Closes an fd.
   *
   * @returns 0 or a negative errno.
   */
  closeFd(fd: number): number;
}

/** Options of {@linkcode NbdTarget.connect}. */
export interface NbdTargetConnectOptions extends NbdConnectOptions {
  /** Serve a zero-copy device (fused SEND/RECV); needs `kernel`. Default false. */
  zeroCopy?: boolean;
  /** Zero copy: send WRITE payloads with SEND_ZC (TCP only). Default false. */
  sendZc?: boolean;
  /** Zero copy: the kernel that adopts the socket. */
  kernel?: NbdSocketAdopter;
  /**
   * Per-request timeout in seconds, as the kernel nbd driver's (`nbd-client -timeout`): a
   * request the server leaves unanswered this long fails with -EIO, the connection is torn
   * down and every other request in flight fails with -EIO too, so the device can always be
   * deleted. 0 = none. Default 30. Overrides `requestTimeoutMs`.
   */
  timeout?: number;
  /**
   * How many times to try to reconnect after the connection died (a request timed out, the
   * server closed or reset it, the stream went out of step), as `nbd-client -persist` does.
   * Requests in flight on the dead connection end -EIO (none is re-issued: a WRITE may or may
   * not have reached the server); the next requests wait for the new connection, which must
   * offer the same export size. Attempts back off from 100 ms to 2 s; when all fail the
   * request fails -EIO and the next one tries again. Both modes first drain the dead
   * connection (until the server closes it, at most the timeout or 5 s, then it is closed), so a
   * WRITE the server still held never lands after a newer one. Default 0 (no reconnect).
   */
  reconnect?: number;
  /**
   * Serve the export read-only: UBLK_ATTR_READ_ONLY, and WRITE, DISCARD and WRITE_ZEROES
   * fail with -EROFS without reaching the server. Default false (a read-only export is
   * read-only anyway).
   */
  readOnly?: boolean;
}

interface ZcState {
  conn: Deno.Conn;
  info: NbdExportInfo;
  kernel: NbdSocketAdopter;
  engine: NbdZeroCopy;
  fd: number;
  /** Set once the connection is being closed (single flight). */
  closing?: Promise<void>;
}

/** What a reconnect needs: the first connection's options, checks and engine settings. */
interface ReconnectPolicy {
  options: NbdTargetConnectOptions;
  attempts: number;
  timeoutMs: number;
}

/** Per-tag reusable call state: no allocation per I/O but the client's promise. */
class TagState {
  readonly io: NbdWriteZeroesOptions = { tag: 0, fua: false, noHole: false };
  view: Uint8Array = new Uint8Array(0);
}

/**
 * The nbd target.
 *
 * @example Connect to a server (ignored: needs an NBD server)
 * ```ts ignore
 * import { NbdTarget } from "@ublk-ts/targets";
 * const target = await NbdTarget.connect({ path: "/tmp/nbd.sock" });
 * ```
 */
export class NbdTarget implements Target {
  /** "nbd". */
  readonly name: string = "nbd";
  /** The NBD connection (copy mode), or `null` in zero copy. */
  #client: NbdTargetClient | null;
  #reconnect: ReconnectPolicy | null = null;
  #reconnecting: Promise<void> | null = null;
  #reconnects = 0;
  #zc: ZcState | null;
  #fixedFds: number[] = [];
  #tags: TagState[] = [];
  #depth = 0;
  #closed = false;
  #warnings: string[] = [];
  #readOnly = false;

  /**
   * Connects to an NBD server and runs the handshake (before any device exists).
   *
   * @param options Where (`path` for a unix socket, or `hostname`/`port`), the export, and
   *   zero copy.
   * @returns The target.
   * @throws What `Deno.connect` throws, and `NbdError` for handshake failures.
   * @throws {TypeError} for zero copy without a kernel.
   */
  static async connect(options: NbdTargetConnectOptions): Promise<NbdTarget> {
    const t = options.timeout;
    if (t !== undefined && !(t >= 0)) {
      throw new RangeError(`Cannot use NBD timeout ${t} s: expected a number of seconds >= 0`);
    }
    const timeoutMs = t !== undefined
      ? t * 1000
      : options.requestTimeoutMs ?? NBD_DEFAULT_TIMEOUT_MS;
    const readOnly = options.readOnly ?? false;
    const reconnect = options.reconnect ?? 0;
    if (!Number.isSafeInteger(reconnect) || reconnect < 0) {
      throw new RangeError(`Cannot use NBD reconnect ${reconnect}: expected a count >= 0`);
    }
    if (!options.zeroCopy) {
      const copyOptions = { ...options, requestTimeoutMs: timeoutMs, drainOnDeath: reconnect > 0 };
      const target = new NbdTarget(await NbdClient.connect(copyOptions));
      target.#readOnly = readOnly;
      target.#reconnect = { options: copyOptions, attempts: reconnect, timeoutMs };
      return target;
    }
    const kernel = options.kernel;
    if (kernel === undefined) {
      throw new TypeError(
        "Cannot connect the nbd target for zero copy: no kernel to adopt the socket",
      );
    }
    const { conn, info } = await zcConnect(options);
    const target = new NbdTarget(null, {
      conn,
      info,
      kernel,
      engine: new NbdZeroCopy(
        conn,
        options.sendZc ?? false,
        timeoutMs,
        info.structuredReplies,
        { drainOnDeath: reconnect > 0 },
      ),
      fd: -1,
    });
    target.#readOnly = readOnly;
    target.#reconnect = { options, attempts: reconnect, timeoutMs };
    return target;
  }

  /**
   * Wraps a connected client (copy mode).
   *
   * @param client The client, past the handshake.
   * @param zc Internal: the zero-copy connection.
   */
  constructor(client: NbdTargetClient | null, zc?: ZcState) {
    if (client === null && zc === undefined) {
      throw new TypeError("Cannot make an nbd target without a connection");
    }
    this.#client = client;
    this.#zc = zc ?? null;
  }

  /** The copy-mode client (the current one after a reconnect); null with zero copy. */
  get client(): NbdTargetClient | null {
    return this.#client;
  }

  /** How many times the connection was re-established (`reconnect`). */
  get reconnects(): number {
    return this.#reconnects;
  }

  /** Whether the connection died and a reconnect may be tried. */
  get #mayReconnect(): boolean {
    return this.#reconnect !== null && this.#reconnect.attempts > 0 && !this.#closed;
  }

  /** Whether the current connection works. */
  get #alive(): boolean {
    return this.#client !== null ? this.#client.alive : this.#zc!.engine.alive;
  }

  /** Tries to connect again (single flight); the export must keep its size. */
  #reconnectNow(): Promise<void> {
    return this.#reconnecting ??=
      (this.#client !== null ? this.#reconnectCopy() : this.#reconnectZc())
        .finally(() => (this.#reconnecting = null));
  }

  /** The back-off before attempt `k` (0-based), unless closed meanwhile: true to go on. */
  async #backOff(k: number): Promise<boolean> {
    await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** k)));
    return !this.#closed;
  }

  async #reconnectCopy(): Promise<void> {
    const rc = this.#reconnect!;
    const old = this.#client!;
    // As in zero copy: the dead connection is drained (the server closed it, so a WRITE it had
    // received is carried out by now or never) or closed after the drain time, before a new
    // connection carries a WRITE that a late copy of the old one would otherwise overwrite.
    await old.disconnect().catch(() => {});
    for (let k = 0; k < rc.attempts && !this.#closed && (await this.#backOff(k)); k++) {
      let c: NbdClient;
      try {
        c = await NbdClient.connect(rc.options);
      } catch {
        continue;
      }
      if (this.#closed || c.size !== old.size) {
        // Closed meanwhile, or a different export: never serve the wrong disk.
        await c.disconnect().catch(() => {});
        if (!this.#closed) rc.attempts = 0;
        break;
      }
      this.#client = c;
      this.#reconnects++;
      break;
    }
  }

  async #reconnectZc(): Promise<void> {
    const rc = this.#reconnect!;
    const old = this.#zc!;
    // The dead connection is drained (the server closed it: a WRITE it had received is carried
    // out by now or never) or closed after the drain time before a new connection carries a
    // WRITE, which a late copy of the old one would otherwise overwrite.
    await this.#closeZc(old);
    for (let k = 0; k < rc.attempts && !this.#closed && (await this.#backOff(k)); k++) {
      let next: { conn: Deno.Conn; info: NbdExportInfo };
      try {
        next = await zcConnect(rc.options);
      } catch {
        continue;
      }
      if (this.#closed || next.info.size !== old.info.size) {
        // Closed meanwhile, or a different export: never serve the wrong disk.
        closeQuietly(next.conn);
        if (!this.#closed) rc.attempts = 0;
        break;
      }
      const fd = old.kernel.adoptConn(next.conn);
      if (fd < 0) {
        closeQuietly(next.conn);
        continue;
      }
      // A plain fd: every queue ring of the kernel sees it, while their fixed-file tables were
      // registered once, at their start, with the first socket.
      const engine = new NbdZeroCopy(
        next.conn,
        rc.options.sendZc ?? false,
        rc.timeoutMs,
        next.info.structuredReplies,
        { fd, fixed: false, drainOnDeath: true },
      );
      engine.start();
      this.#zc = { conn: next.conn, info: next.info, kernel: old.kernel, engine, fd };
      this.#fixedFds = [fd]; // for queues that start from now on
      this.#reconnects++;
      break;
    }
  }

  /**
   * Disconnects a zero-copy connection (draining it, see {@linkcode NbdZeroCopy.disconnect})
   * and closes its socket (single flight).
   */
  #closeZc(zc: ZcState): Promise<void> {
    return zc.closing ??= (async () => {
      await zc.engine.disconnect();
      // The queue rings' fixed-file tables may still hold the model file: close the
      // connection itself too.
      if (zc.fd >= 0) zc.kernel.closeFd(zc.fd);
      closeQuietly(zc.conn);
      await zc.engine.finished;
    })();
  }

  async #afterReconnect(ctx: TargetIoCtx, tag: number, iod: IoDesc): Promise<number> {
    await this.#reconnectNow();
    if (this.#closed || !this.#alive) return -EIO;
    return await this.handleIo(ctx, tag, iod);
  }

  /**
   * Notes about the export worth telling the user once (a size rounded down to whole logical
   * blocks), in the order they arose; each appears once however often the target is
   * initialised.
   */
  get warnings(): readonly string[] {
    return this.#warnings;
  }

  /** Whether the device is served read-only (the `readOnly` option or a read-only export). */
  get readOnly(): boolean {
    return this.#readOnly || (this.info.transmissionFlags & NBD_FLAG_READ_ONLY) !== 0;
  }

  /** True once a request timed out and the connection was torn down for it. */
  get timedOut(): boolean {
    if (this.#zc !== null) return this.#zc.engine.timedOut;
    const c = this.client as { timedOut?: boolean } | null;
    return c?.timedOut ?? false;
  }

  /** The socket's fd, registered as fixed file 1 in zero copy (empty in copy mode). */
  get fixedFds(): readonly number[] {
    return this.#fixedFds;
  }

  /** What the handshake agreed. */
  get info(): NbdExportInfo {
    return this.client !== null ? this.client.info : this.#zc!.info;
  }

  /**
   * Returns the export's geometry and the operations it offers.
   *
   * @param dev The device.
   * @returns The parameters.
   * @throws {ErrnoError} EINVAL when the device's zero-copy mode differs from the connection's.
   */
  init(dev: TargetDevInfo): TargetParams {
    if (dev.zeroCopy !== (this.#zc !== null)) {
      throw new ErrnoError(EINVAL, {
        op: `Serve a ${
          dev.zeroCopy ? "zero-copy" : "copy-mode"
        } device with an nbd target connected for ${this.#zc ? "zero copy" : "copy mode"}`,
      });
    }
    const zc = this.#zc;
    if (zc !== null && zc.fd < 0) {
      const fd = zc.kernel.adoptConn(zc.conn);
      if (fd < 0) throw new ErrnoError(-fd, { op: "Adopt the NBD socket" });
      zc.fd = fd;
      this.#fixedFds = [fd];
      zc.engine.start();
    }
    this.#depth = dev.queueDepth;
    this.#tags = [];
    for (let i = 0; i < dev.nrHwQueues * dev.queueDepth; i++) this.#tags.push(new TagState());
    const info = this.info;
    const f = info.transmissionFlags;
    let lbs = 512;
    while (lbs < info.minBlock && lbs < 4096) lbs *= 2;
    const { size, note } = nbdDeviceSize(info.size, lbs);
    if (note !== null && !this.#warnings.includes(note)) this.#warnings.push(note);
    const shift = Math.log2(lbs);
    const params: TargetParams = {
      devSize: size,
      logicalBsShift: shift,
      physicalBsShift: Math.max(shift, 12),
      ioOptShift: Math.max(shift, 12),
      ioMinShift: shift,
      attrs: ((f & NBD_FLAG_READ_ONLY) || this.#readOnly ? UBLK_ATTR_READ_ONLY : 0) |
        ((f & NBD_FLAG_SEND_FLUSH) ? UBLK_ATTR_VOLATILE_CACHE : 0) |
        ((f & NBD_FLAG_SEND_FUA) ? UBLK_ATTR_FUA : 0),
    };
    if (f & (NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES)) {
      params.discard = {
        granularity: Math.max(lbs, 4096),
        maxDiscardSectors: (f & NBD_FLAG_SEND_TRIM) ? 0xffffffff >>> 9 : 0,
        maxWriteZeroesSectors: (f & NBD_FLAG_SEND_WRITE_ZEROES) ? 0xffffffff >>> 9 : 0,
        maxDiscardSegments: 1,
      };
    }
    const maxSectors = Math.floor(Math.min(info.maxPayload, dev.maxIoBufBytes) / 512);
    if (maxSectors < dev.maxIoBufBytes / 512) params.maxSectors = maxSectors;
    return params;
  }

  #state(ctx: TargetIoCtx): TagState {
    const key = ctx.qid * this.#depth + ctx.tag;
    let s = this.#tags[key];
    if (s === undefined) {
      s = new TagState();
      this.#tags[key] = s;
    }
    s.io.tag = ctx.qid * 65536 + ctx.tag;
    return s;
  }

  /**
   * Serves one request over the NBD connection.
   *
   * @param ctx The tag's context.
   * @param _tag The tag.
   * @param iod The request.
   * @returns Bytes done, 0 for FLUSH/DISCARD/WRITE_ZEROES, or a negative errno.
   */
  handleIo(ctx: TargetIoCtx, _tag: number, iod: IoDesc): Promise<number> | number {
    const n = iod.bytes;
    if (
      this.#readOnly &&
      (iod.op === UBLK_IO_OP_WRITE || iod.op === UBLK_IO_OP_DISCARD ||
        iod.op === UBLK_IO_OP_WRITE_ZEROES)
    ) return -EROFS;
    if (!this.#alive && this.#mayReconnect) return this.#afterReconnect(ctx, _tag, iod);
    if (this.#zc !== null) return this.#zeroCopyIo(ctx, iod, n);
    const client = this.#client!;
    const s = this.#state(ctx);
    switch (iod.op) {
      case UBLK_IO_OP_READ:
      case UBLK_IO_OP_WRITE: {
        if (
          s.view.buffer !== ctx.buf.buffer || s.view.byteOffset !== ctx.buf.byteOffset ||
          s.view.length !== n
        ) {
          s.view = ctx.buf.subarray(0, n);
        }
        if (iod.op === UBLK_IO_OP_READ) return client.read(iod.offset, s.view, s.io.tag);
        s.io.fua = (iod.flags & UBLK_IO_F_FUA) !== 0;
        s.io.noHole = false;
        return client.write(iod.offset, s.view, s.io);
      }
      case UBLK_IO_OP_FLUSH:
        s.io.fua = false;
        return client.flush(s.io);
      case UBLK_IO_OP_DISCARD:
        s.io.fua = false;
        return client.trim(iod.offset, n, s.io);
      case UBLK_IO_OP_WRITE_ZEROES:
        s.io.fua = (iod.flags & UBLK_IO_F_FUA) !== 0;
        s.io.noHole = (iod.flags & UBLK_IO_F_NOUNMAP) !== 0;
        return client.writeZeroes(iod.offset, n, s.io);
      default:
        return -EOPNOTSUPP;
    }
  }

  get #zcReadFlags(): number {
    const info = this.#zc!.info;
    return info.structuredReplies && (info.transmissionFlags & NBD_FLAG_SEND_DF) !== 0
      ? NBD_CMD_FLAG_DF
      : 0;
  }

  #zeroCopyIo(ctx: TargetIoCtx, iod: IoDesc, n: number): Promise<number> | number {
    const engine = this.#zc!.engine;
    const f = this.#zc!.info.transmissionFlags;
    const fua = (iod.flags & UBLK_IO_F_FUA) !== 0 && (f & NBD_FLAG_SEND_FUA) !== 0
      ? NBD_CMD_FLAG_FUA
      : 0;
    switch (iod.op) {
      case UBLK_IO_OP_READ:
        // Structured replies: ask for one OFFSET_DATA chunk (no holes, which could not be
        // zero-filled into the request pages).
        return engine.request(ctx, NBD_CMD_READ, this.#zcReadFlags, iod.offset, n);
      case UBLK_IO_OP_WRITE:
        if (f & NBD_FLAG_READ_ONLY) return -EPERM;
        return engine.request(ctx, NBD_CMD_WRITE, fua, iod.offset, n);
      case UBLK_IO_OP_FLUSH:
        if (!(f & NBD_FLAG_SEND_FLUSH)) return -EOPNOTSUPP;
        return engine.request(ctx, NBD_CMD_FLUSH, 0, 0, 0);
      case UBLK_IO_OP_DISCARD:
        if (!(f & NBD_FLAG_SEND_TRIM)) return -EOPNOTSUPP;
        return engine.request(ctx, NBD_CMD_TRIM, 0, iod.offset, n);
      case UBLK_IO_OP_WRITE_ZEROES:
        if (!(f & NBD_FLAG_SEND_WRITE_ZEROES)) return -EOPNOTSUPP;
        return engine.request(
          ctx,
          NBD_CMD_WRITE_ZEROES,
          fua | ((iod.flags & UBLK_IO_F_NOUNMAP) !== 0 ? NBD_CMD_FLAG_NO_HOLE : 0),
          iod.offset,
          n,
        );
      default:
        return -EOPNOTSUPP;
    }
  }

  /**
   * Disconnects (NBD_CMD_DISC after the requests in flight) and closes the socket. Safe to call
   * twice.
   *
   * @returns When the connection is closed.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#reconnecting;
    if (this.#client !== null) {
      await this.#client.disconnect();
      return;
    }
    await this.#closeZc(this.#zc!);
  }
}

/**
 * Zero copy: connects and runs the handshake. Structured replies only with NBD_FLAG_SEND_DF:
 * READs then ask for one data chunk, never holes (which could not be zero-filled into pages
 * only fused commands reach). A server that offers structured replies without DF gets a second
 * connection with simple replies.
 */
async function zcConnect(
  options: NbdTargetConnectOptions,
): Promise<{ conn: Deno.Conn; info: NbdExportInfo }> {
  const first = await zcHandshake(options, options.structuredReplies ?? true);
  const info = first.info;
  if (!info.structuredReplies || (info.transmissionFlags & NBD_FLAG_SEND_DF) !== 0) return first;
  closeQuietly(first.conn);
  return await zcHandshake(options, false);
}

/** Closes a connection that may be closed already. */
function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* closed */ }
}

/** Zero copy: connects and runs the handshake (with its timeout); nothing left buffered. */
async function zcHandshake(
  options: NbdTargetConnectOptions,
  structuredReplies: boolean,
): Promise<{ conn: Deno.Conn; info: NbdExportInfo }> {
  let conn: Deno.Conn;
  try {
    conn = options.path !== undefined
      ? await Deno.connect({ transport: "unix", path: options.path })
      : await Deno.connect({
        hostname: options.hostname ?? "127.0.0.1",
        port: options.port ?? 10809,
      });
  } catch (e) {
    throw connectError(e, options);
  }
  // The same handshake timeout as copy mode: a silent server does not hang the connect.
  let timedOut = false;
  const hsMs = options.handshakeTimeoutMs ?? 30_000;
  const timer = hsMs > 0
    ? setTimeout(() => {
      timedOut = true;
      try {
        conn.close();
      } catch { /* closed */ }
    }, hsMs)
    : undefined;
  try {
    if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
    const reader = new NbdReader(conn, 4096);
    let info: NbdExportInfo;
    try {
      info = await nbdHandshake(conn, {
        exportName: options.exportName ?? "",
        structuredReplies,
        reader,
      });
    } catch (e) {
      if (timedOut) throw new NbdError(`Handshake timed out after ${hsMs} ms`, { cause: e });
      throw e;
    } finally {
      clearTimeout(timer);
    }
    if (reader.buffered() !== 0) {
      throw new ErrnoError(EPROTO, { op: "NBD handshake (unexpected bytes after it)" });
    }
    return { conn, info };
  } catch (e) {
    try {
      conn.close();
    } catch { /* closed */ }
    throw e;
  }
}

/** The largest export size served: offsets must stay exact in a JavaScript number. */
export const NBD_MAX_EXPORT_BYTES: number = Number.MAX_SAFE_INTEGER;

/**
 * The device size for an NBD export: the export size rounded down to whole logical blocks.
 *
 * @example Round down a size that is not a multiple of 512
 * ```ts
 * import assert from "node:assert/strict";
 * import { nbdDeviceSize } from "@ublk-ts/targets";
 * assert.equal(nbdDeviceSize(1000n, 512).size, 512);
 * ```
 *
 * @param exportSize The size the server announced.
 * @param lbs The logical block size.
 * @returns The size, and a note to tell the user once when it was rounded down (else null).
 * @throws {NbdError} When the export is empty, smaller than one block, or larger than
 *   {@linkcode NBD_MAX_EXPORT_BYTES} (such as 2^64-1): it cannot be served.
 */
export function nbdDeviceSize(
  exportSize: bigint,
  lbs: number,
): { size: number; note: string | null } {
  if (exportSize > BigInt(NBD_MAX_EXPORT_BYTES)) {
    throw new NbdError(
      `Cannot serve the NBD export: its size ${exportSize} bytes is over the largest supported, ${NBD_MAX_EXPORT_BYTES} bytes (2^53-1)`,
    );
  }
  const bytes = Number(exportSize);
  const size = bytes - (bytes % lbs);
  if (size <= 0) {
    throw new NbdError(
      `Cannot serve the NBD export: its size ${bytes} bytes is less than one ${lbs}-byte block`,
    );
  }
  const note = size === bytes
    ? null
    : `NBD export size ${bytes} bytes is not a multiple of ${lbs}: the device has ${size} bytes (the last ${
      bytes - size
    } are not served)`;
  return { size, note };
}

/** A `Deno.connect` failure as an {@linkcode ErrnoError} naming the peer (others pass). */
function connectError(e: unknown, options: NbdConnectOptions): unknown {
  const table: [new (...args: never[]) => Error, number][] = [
    [Deno.errors.ConnectionRefused, ECONNREFUSED],
    [Deno.errors.NotFound, ENOENT],
    [Deno.errors.ConnectionReset, ECONNRESET],
    [Deno.errors.TimedOut, ETIMEDOUT],
  ];
  const where = options.path ?? `${options.hostname ?? "127.0.0.1"}:${options.port ?? 10809}`;
  for (const [cls, errno] of table) {
    if (e instanceof cls) return new ErrnoError(errno, { op: `connect ${where}`, cause: e });
  }
  return e;
}
