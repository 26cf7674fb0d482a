/**
 * {@linkcode NbdClient}: the NBD transmission phase with many requests in flight on one
 * connection, replies demultiplexed by cookie.
 *
 * Cookies: a request made with tag `t` (a caller-chosen u31, such as a ublk tag) is sent as
 * one or more NBD requests, one per `maxPayload`-sized part, with cookie
 * `t << 32 | partIndex`. Requests made without a tag get one from `0x80000000` up.
 *
 * Results, never exceptions: each call resolves to bytes transferred (READ/WRITE), 0
 * (FLUSH/TRIM/WRITE_ZEROES) or a negative errno. Local refusals: `-EPERM` for writes to a
 * read-only export, `-EOPNOTSUPP` for FLUSH/TRIM/WRITE_ZEROES/FUA the server did not offer,
 * `-EINVAL` for ranges past the end or not aligned to the minimum block size, `-EBUSY` for a
 * tag already in flight. If the server goes away (EOF, reset, a bad magic or an unknown
 * cookie on the wire) every request in flight resolves to `-EIO` and the client is dead:
 * later calls resolve to `-EIO` at once. After {@linkcode NbdClient.disconnect} or
 * {@linkcode NbdClient.close}, calls resolve to `-ESHUTDOWN`.
 *
 * Memory: calls are pooled per tag and headers are encoded straight into one preallocated
 * send buffer, where requests submitted in one burst (and WRITE payloads that fit) are
 * coalesced into a single send; larger payloads are written from the caller's memory. READ
 * payloads are received straight into the caller's buffer or segment list
 * ({@linkcode NbdClient.readv}). A zero-copy target that moves payloads itself (io_uring
 * SEND/RECV into ublk request pages) uses the same pieces without this class:
 * {@linkcode nbdHandshake}, {@linkcode encodeRequest} (number cookies, no bigint) and
 * {@linkcode readReplyHeader}, which leaves the payload in the stream (see `nbd_reply.ts`).
 *
 * @module
 */

import {
  EADDRNOTAVAIL,
  EBUSY,
  ECONNREFUSED,
  ECONNRESET,
  EINVAL,
  EIO,
  ENETUNREACH,
  ENOENT,
  EOPNOTSUPP,
  EPERM,
  ErrnoError,
  ESHUTDOWN,
  ETIMEDOUT,
} from "@ublk-ts/uapi";
import { NbdError } from "./nbd_error.ts";
import { type NbdExportInfo, nbdHandshake, type NbdHandshakeOptions } from "./nbd_handshake.ts";
import {
  NBD_CMD_DISC,
  NBD_CMD_FLAG_FUA,
  NBD_CMD_FLAG_NO_HOLE,
  NBD_CMD_FLUSH,
  NBD_CMD_READ,
  NBD_CMD_TRIM,
  NBD_CMD_WRITE,
  NBD_CMD_WRITE_ZEROES,
  NBD_FLAG_READ_ONLY,
  NBD_FLAG_SEND_FLUSH,
  NBD_FLAG_SEND_FUA,
  NBD_FLAG_SEND_TRIM,
  NBD_FLAG_SEND_WRITE_ZEROES,
  NBD_REPLY_FLAG_DONE,
  NBD_REPLY_TYPE_OFFSET_DATA,
  NBD_REPLY_TYPE_OFFSET_HOLE,
  NBD_REQUEST_MAGIC,
  NBD_REQUEST_SIZE,
  nbdErrorToErrno,
  setU64,
} from "./nbd_proto.ts";
import {
  NBD_REPLY_CHUNK,
  NBD_REPLY_NEED_MORE,
  NBD_REPLY_SIMPLE,
  type NbdReplyHeader,
  newReplyHeader,
  parseReplyHeader,
  readReplyHeader,
} from "./nbd_reply.ts";
import {
  copyFromSegments,
  drainConnection,
  NbdReader,
  type NbdStream,
  writeAll,
  zeroSegments,
} from "./nbd_stream.ts";

/** Options of {@linkcode NbdClient.connect}. */
export interface NbdConnectOptions extends NbdHandshakeOptions, NbdClientOptions {
  /** A unix socket path; when set, `hostname`/`port` are ignored. */
  path?: string;
  /** TCP host, default `127.0.0.1`. */
  hostname?: string;
  /** TCP port, default 10809. */
  port?: number;
  /** Give up the handshake after this many ms (0 = never), default 30000. */
  handshakeTimeoutMs?: number;
}

/** Options of the {@linkcode NbdClient} constructor. */
export interface NbdClientOptions {
  /** Split READ/WRITE requests above this many bytes (capped by the server's maxPayload). */
  maxRequestBytes?: number;
  /** Size of the send staging buffer (headers and small payloads are coalesced), 256 KiB. */
  sendBufferBytes?: number;
  /**
   * Per-request timeout in ms, as the kernel nbd driver's (`nbd-client -timeout`): a request
   * unanswered this long ends the connection — it and every other request in flight resolve
   * to -EIO, later calls too ({@linkcode NbdClient.timedOut} says why). 0 = none. Default
   * {@linkcode NBD_DEFAULT_TIMEOUT_MS}.
   */
  requestTimeoutMs?: number;
  /**
   * When the connection dies (a timeout, a bad reply, the server closed it), drain it instead
   * of closing it at once: the sending side is shut and the stream read (and dropped) until the
   * server closes its side, or closed after `drainMs`. A WRITE the server had received but not
   * yet carried out is then carried out before {@linkcode NbdClient.drained} resolves or
   * never — not later, over what a new connection wrote since. For a caller that reconnects.
   * Requests whose memory the socket still reads or writes end when it lets go of it (at the
   * latest after `drainMs`); the others end at once. Default false.
   */
  drainOnDeath?: boolean;
  /**
   * With `drainOnDeath`: how long to wait for the server to close, in ms. Default the request
   * timeout, at most {@linkcode NBD_DRAIN_MS} (which is also the default with no timeout).
   */
  drainMs?: number;
}

/** The longest a dead connection is drained by default (`drainOnDeath`): 5 s. */
export const NBD_DRAIN_MS = 5000;

/** The default per-request timeout: 30 s, the block layer's default that kernel nbd keeps. */
export const NBD_DEFAULT_TIMEOUT_MS = 30_000;

/**
 * How often a request-timeout watchdog looks at the oldest request: a quarter of the timeout,
 * between 5 ms and 1 s.
 *
 * @param timeoutMs The timeout.
 * @returns The period in ms.
 */
export function nbdWatchdogPeriod(timeoutMs: number): number {
  return Math.min(1000, Math.max(5, Math.floor(timeoutMs / 4)));
}

/** Per-call options of I/O requests. */
export interface NbdIoOptions {
  /** The tag (0 ≤ tag < 2^31) to use as the cookie's high half; auto-assigned if absent. */
  tag?: number;
  /** Set `NBD_CMD_FLAG_FUA` (needs `NBD_FLAG_SEND_FUA`). */
  fua?: boolean;
}

/** Options of {@linkcode NbdClient.writeZeroes}. */
export interface NbdWriteZeroesOptions extends NbdIoOptions {
  /** Set `NBD_CMD_FLAG_NO_HOLE`: the range must stay allocated. */
  noHole?: boolean;
}

const AUTO_TAG_BASE = 0x80000000;
const NO_PAYLOAD_CHUNK = 1 << 30;
const PART_DONE = 1;
const PART_ERROR = 2;
const EMPTY = new Uint8Array(0);
const NOOP = (): void => {};

/** One user call, pooled and reused. */
class Op {
  tag = 0;
  type = 0;
  flags = 0;
  offset = 0;
  length = 0;
  chunk = 0;
  nparts = 0;
  partsLeft = 0;
  partsSent = 0;
  result = 0;
  segs: readonly Uint8Array[] = [];
  readonly single: Uint8Array[] = [EMPTY];
  partState: Uint8Array = new Uint8Array(4);
  covered: Float64Array = new Float64Array(4);
  resolve: (res: number) => void = NOOP;
  startedAt = 0;

  partLength(k: number): number {
    return Math.min(this.chunk, this.length - k * this.chunk);
  }
}

/**
 * An NBD client connection in the transmission phase.
 *
 * Safety: buffers passed to {@linkcode NbdClient.read}/{@linkcode NbdClient.write} must stay
 * untouched until the returned promise resolves (they are read or written in place).
 *
 * @example Read and write against nbdkit
 * ```ts ignore
 * import { NbdClient } from "@ublk-ts/nbd";
 * await using c = await NbdClient.connect({ path: "/tmp/nbd.sock" });
 * const buf = new Uint8Array(4096);
 * console.log(await c.write(0, buf.fill(7)), await c.read(0, buf));
 * ```
 */
export class NbdClient {
  #stream: NbdStream;
  #reader: NbdReader;
  #info: NbdExportInfo;
  #size: number;
  #chunk: number;
  #ops: Map<number, Op> = new Map();
  /**
   * A simple-reply READ part whose payload arrived while other requests were in flight: it
   * completes only once the next reply header checks out. A server that sent fewer payload
   * bytes than asked and carried on has had the next reply's bytes taken as payload; the stream
   * is then out of step, and the part must end -EIO with the rest, never succeed.
   */
  #unconfirmed: Op | null = null;
  #unconfirmedPart = 0;
  #free: Op[] = [];
  #nextAuto = AUTO_TAG_BASE;
  #queue: Op[] = [];
  #qHead = 0;
  #pumping = false;
  #pumpScheduled = false;
  #pumpWanted = false;
  #draining = false;
  #pumpDone: Promise<void> = Promise.resolve();
  #staging: Uint8Array;
  #sview: DataView;
  #sused = 0;
  #dead = 0; // 0 alive, else the negative errno new calls get
  #readLoop: Promise<void>;
  #idle: (() => void) | null = null;
  #idleWait: Promise<void> | null = null;
  #discQueued = false;
  #reply: NbdReplyHeader = newReplyHeader();
  #closed = false;
  #timeoutMs: number;
  #watchdog: ReturnType<typeof setInterval> | null = null;
  #timedOut = false;
  #drainOnDeath: boolean;
  #drainMs: number;
  #drained: Promise<void> | null = null;
  /** Ops whose memory a pending socket read or write still uses (see `#hold`). */
  #held = new Set<Op>();

  /**
   * Connects over TCP or a unix socket and runs the handshake.
   *
   * Errors: throws what `Deno.connect` throws, and {@linkcode NbdError} for handshake
   * failures; the connection is closed on failure.
   *
   * @param options Where to connect, the export and client options.
   * @returns The connected client.
   */
  static async connect(options: NbdConnectOptions): Promise<NbdClient> {
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
    let timedOut = false;
    const ms = options.handshakeTimeoutMs ?? 30_000;
    const timer = ms > 0
      ? setTimeout(() => {
        timedOut = true;
        try {
          conn.close();
        } catch { /* already closed */ }
      }, ms)
      : undefined;
    try {
      if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
      const reader = new NbdReader(conn);
      const info = await nbdHandshake(conn, { ...options, reader });
      clearTimeout(timer);
      return new NbdClient(conn, info, { ...options, reader });
    } catch (e) {
      clearTimeout(timer);
      if (!timedOut) {
        try {
          conn.close();
        } catch { /* already closed */ }
      }
      if (timedOut) throw new NbdError(`Handshake timed out after ${ms} ms`, { cause: e });
      if (e instanceof NbdError || isPermissionError(e)) throw e;
      throw new NbdError("Connection failed during the handshake", { cause: e });
    }
  }

  /**
   * Wraps a stream that finished the handshake.
   *
   * @param stream The stream.
   * @param info What the handshake agreed.
   * @param options Client options, and the reader the handshake used (if any).
   */
  constructor(
    stream: NbdStream,
    info: NbdExportInfo,
    options: NbdClientOptions & { reader?: NbdReader } = {},
  ) {
    this.#stream = stream;
    this.#info = info;
    this.#reader = options.reader ?? new NbdReader(stream);
    this.#size = Number(info.size);
    const max = Math.min(info.maxPayload, options.maxRequestBytes ?? 32 * 1024 * 1024);
    const unit = Math.max(info.minBlock, 1);
    this.#chunk = Math.max(unit, Math.floor(max / unit) * unit);
    const sb = options.sendBufferBytes ?? 256 * 1024;
    this.#staging = new Uint8Array(Math.max(sb, 4096));
    this.#sview = new DataView(this.#staging.buffer);
    this.#reader.beforeRead = () => {
      // About to wait for the socket: send what the last replies' callers submitted.
      this.#draining = false;
      if (this.#pumpWanted) {
        this.#pumpWanted = false;
        this.#schedulePump();
      }
    };
    const t = options.requestTimeoutMs ?? NBD_DEFAULT_TIMEOUT_MS;
    if (!(t >= 0)) throw new RangeError(`Cannot use request timeout ${t} ms: expected >= 0`);
    this.#timeoutMs = t;
    this.#drainOnDeath = options.drainOnDeath ?? false;
    const d = options.drainMs ?? (t > 0 ? Math.min(t, NBD_DRAIN_MS) : NBD_DRAIN_MS);
    if (!(d >= 0)) throw new RangeError(`Cannot use drain time ${d} ms: expected >= 0`);
    this.#drainMs = d;
    this.#readLoop = this.#runReadLoop();
  }

  /**
   * Resolves once the connection is closed and, with `drainOnDeath`, drained: the server has
   * closed its side (or `drainMs` passed). Pending while the connection is alive.
   */
  get drained(): Promise<void> {
    return this.#readLoop.then(() => this.#drained ?? undefined);
  }

  /** True once a request timed out and the connection was torn down for it. */
  get timedOut(): boolean {
    return this.#timedOut;
  }

  #watch(): void {
    const first = this.#ops.values().next();
    if (first.done) {
      this.#unwatch();
      return;
    }
    if (performance.now() - first.value.startedAt >= this.#timeoutMs) {
      this.#timedOut = true;
      this.#fail(-EIO);
    }
  }

  #unwatch(): void {
    if (this.#watchdog !== null) clearInterval(this.#watchdog);
    this.#watchdog = null;
  }

  /** What the handshake agreed (size, flags, block sizes, structured replies). */
  get info(): NbdExportInfo {
    return this.#info;
  }

  /** The export size in bytes. */
  get size(): number {
    return this.#size;
  }

  /** The largest READ/WRITE payload sent in one NBD request. */
  get maxRequestBytes(): number {
    return this.#chunk;
  }

  /** `false` once the server went away or the client was closed. */
  get alive(): boolean {
    return this.#dead === 0;
  }

  /** How many calls are in flight. */
  get inFlight(): number {
    return this.#ops.size;
  }

  /**
   * Reads `buf.length` bytes at `offset` (NBD_CMD_READ, split at the maximum payload).
   * Structured OFFSET_HOLE chunks zero-fill.
   *
   * @param offset Export byte offset.
   * @param buf The destination.
   * @param tag The tag for the cookie (auto-assigned if absent).
   * @returns `buf.length`, or a negative errno.
   */
  read(offset: number, buf: Uint8Array, tag?: number): Promise<number> {
    return this.#submitBuf(NBD_CMD_READ, 0, offset, buf, tag);
  }

  /**
   * Reads into a segment list (such as the pages of a ublk request) at `offset`.
   *
   * @param offset Export byte offset.
   * @param segments The destination segments, filled in order.
   * @param options The tag.
   * @returns The total length, or a negative errno.
   */
  readv(offset: number, segments: readonly Uint8Array[], options?: NbdIoOptions): Promise<number> {
    return this.#submit(NBD_CMD_READ, 0, offset, segments, segLength(segments), options?.tag);
  }

  /**
   * Writes `data` at `offset` (NBD_CMD_WRITE, split at the maximum payload).
   *
   * @param offset Export byte offset.
   * @param data The bytes.
   * @param options FUA and the tag.
   * @returns `data.length`, or a negative errno.
   */
  write(offset: number, data: Uint8Array, options?: NbdIoOptions): Promise<number> {
    const flags = this.#writeFlags(options);
    if (flags < 0) return Promise.resolve(flags);
    return this.#submitBuf(NBD_CMD_WRITE, flags, offset, data, options?.tag);
  }

  /**
   * Writes a segment list at `offset`.
   *
   * @param offset Export byte offset.
   * @param segments The source segments, in order.
   * @param options FUA and the tag.
   * @returns The total length, or a negative errno.
   */
  writev(offset: number, segments: readonly Uint8Array[], options?: NbdIoOptions): Promise<number> {
    const flags = this.#writeFlags(options);
    if (flags < 0) return Promise.resolve(flags);
    return this.#submit(NBD_CMD_WRITE, flags, offset, segments, segLength(segments), options?.tag);
  }

  /**
   * Flushes the server's caches (NBD_CMD_FLUSH; needs `NBD_FLAG_SEND_FLUSH`).
   *
   * @param options The tag.
   * @returns 0, or a negative errno.
   */
  flush(options?: NbdIoOptions): Promise<number> {
    if (!(this.#info.transmissionFlags & NBD_FLAG_SEND_FLUSH)) return Promise.resolve(-EOPNOTSUPP);
    return this.#submit(NBD_CMD_FLUSH, 0, 0, null, 0, options?.tag);
  }

  /**
   * Discards a range (NBD_CMD_TRIM; needs `NBD_FLAG_SEND_TRIM`).
   *
   * @param offset Export byte offset.
   * @param length Byte length.
   * @param options FUA and the tag.
   * @returns 0, or a negative errno.
   */
  trim(offset: number, length: number, options?: NbdIoOptions): Promise<number> {
    const flags = this.#writeFlags(options);
    if (flags < 0) return Promise.resolve(flags);
    if (!(this.#info.transmissionFlags & NBD_FLAG_SEND_TRIM)) return Promise.resolve(-EOPNOTSUPP);
    return this.#submit(NBD_CMD_TRIM, flags, offset, null, length, options?.tag);
  }

  /**
   * Writes zeroes over a range (NBD_CMD_WRITE_ZEROES; needs `NBD_FLAG_SEND_WRITE_ZEROES`).
   *
   * @param offset Export byte offset.
   * @param length Byte length.
   * @param options NO_HOLE, FUA and the tag.
   * @returns 0, or a negative errno.
   */
  writeZeroes(offset: number, length: number, options?: NbdWriteZeroesOptions): Promise<number> {
    const flags = this.#writeFlags(options);
    if (flags < 0) return Promise.resolve(flags);
    if (!(this.#info.transmissionFlags & NBD_FLAG_SEND_WRITE_ZEROES)) {
      return Promise.resolve(-EOPNOTSUPP);
    }
    return this.#submit(
      NBD_CMD_WRITE_ZEROES,
      flags | (options?.noHole ? NBD_CMD_FLAG_NO_HOLE : 0),
      offset,
      null,
      length,
      options?.tag,
    );
  }

  /**
   * Waits for the requests in flight, sends NBD_CMD_DISC and closes the connection. Safe to
   * call twice; later calls resolve to `-ESHUTDOWN`.
   *
   * @param options `timeoutMs`: stop waiting for requests in flight after this long and
   *   close at once (they resolve to `-ESHUTDOWN`); default: wait for them.
   * @returns When the connection is closed.
   */
  async disconnect(options?: { timeoutMs?: number }): Promise<void> {
    if (this.#dead === 0) this.#dead = -ESHUTDOWN; // no new calls from here on
    if (this.#ops.size > 0 && !this.#closed) {
      this.#idleWait ??= new Promise<void>((resolve) => this.#idle = resolve);
      const ms = options?.timeoutMs;
      if (ms === undefined) await this.#idleWait;
      else {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const late = new Promise<boolean>((res) => timer = setTimeout(() => res(true), ms));
        const timedOut = await Promise.race([this.#idleWait.then(() => false), late]);
        clearTimeout(timer);
        if (timedOut) {
          await this.close();
          return;
        }
      }
    }
    if (!this.#closed && !this.#discQueued) {
      this.#discQueued = true;
      const op = this.#takeOp(0);
      op.type = NBD_CMD_DISC;
      op.flags = 0;
      op.offset = 0;
      op.length = 0;
      op.chunk = 1;
      op.nparts = 1;
      op.partsSent = 0;
      op.segs = op.single;
      this.#queue.push(op);
      this.#schedulePump(true);
      await Promise.resolve();
      await this.#pumpDone;
    }
    await this.close();
  }

  /**
   * Closes the connection at once: requests in flight resolve to `-ESHUTDOWN`. Safe to call
   * twice.
   *
   * @returns When the connection's reader has stopped.
   */
  async close(): Promise<void> {
    this.#fail(-ESHUTDOWN);
    await this.#pumpDone;
    await this.#readLoop;
    await this.#drained;
  }

  /** Same as {@linkcode NbdClient.disconnect}. @returns When closed. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.disconnect();
  }

  // ------------------------------------------------------------------------------------------

  #writeFlags(options: NbdIoOptions | undefined): number {
    if (this.#info.transmissionFlags & NBD_FLAG_READ_ONLY) return -EPERM;
    if (options?.fua) {
      if (!(this.#info.transmissionFlags & NBD_FLAG_SEND_FUA)) return -EOPNOTSUPP;
      return NBD_CMD_FLAG_FUA;
    }
    return 0;
  }

  #submitBuf(
    type: number,
    flags: number,
    offset: number,
    buf: Uint8Array,
    tag: number | undefined,
  ): Promise<number> {
    return this.#submit(type, flags, offset, buf, buf.length, tag);
  }

  #submit(
    type: number,
    flags: number,
    offset: number,
    data: Uint8Array | readonly Uint8Array[] | null,
    length: number,
    tag: number | undefined,
  ): Promise<number> {
    if (tag !== undefined && (!Number.isInteger(tag) || tag < 0 || tag >= AUTO_TAG_BASE)) {
      throw new RangeError(`Cannot use tag ${tag}: it must be an integer in [0, 2^31)`);
    }
    if (this.#dead !== 0) return Promise.resolve(this.#dead);
    if (
      !Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0
    ) {
      return Promise.resolve(-EINVAL);
    }
    if (type !== NBD_CMD_FLUSH) {
      if (offset + length > this.#size) return Promise.resolve(-EINVAL);
      const unit = this.#info.minBlock;
      if (unit > 1 && (offset % unit !== 0 || length % unit !== 0)) {
        return Promise.resolve(-EINVAL);
      }
      if (length === 0) return Promise.resolve(0);
    }
    if (tag === undefined) tag = this.#autoTag();
    else if (this.#ops.has(tag)) return Promise.resolve(-EBUSY);

    const op = this.#takeOp(tag);
    op.type = type;
    op.flags = flags;
    op.offset = offset;
    op.length = length;
    op.result = 0;
    if (data === null) op.segs = op.single;
    else if (data instanceof Uint8Array) {
      op.single[0] = data;
      op.segs = op.single;
    } else op.segs = data;
    op.chunk = type === NBD_CMD_READ || type === NBD_CMD_WRITE ? this.#chunk : NO_PAYLOAD_CHUNK;
    const nparts = type === NBD_CMD_FLUSH ? 1 : Math.ceil(length / op.chunk);
    op.nparts = op.partsLeft = nparts;
    op.partsSent = 0;
    if (op.partState.length < nparts) {
      op.partState = new Uint8Array(nparts);
      op.covered = new Float64Array(nparts);
    } else {
      op.partState.fill(0, 0, nparts);
      op.covered.fill(0, 0, nparts);
    }
    const p = new Promise<number>((resolve) => op.resolve = resolve);
    op.startedAt = performance.now();
    if (this.#timeoutMs > 0 && this.#watchdog === null) {
      this.#watchdog = setInterval(() => this.#watch(), nbdWatchdogPeriod(this.#timeoutMs));
    }
    this.#ops.set(tag, op);
    this.#queue.push(op);
    this.#schedulePump();
    return p;
  }

  #takeOp(tag: number): Op {
    const op = this.#free.pop() ?? new Op();
    op.tag = tag;
    return op;
  }

  #autoTag(): number {
    for (;;) {
      const t = this.#nextAuto;
      this.#nextAuto = t === 0xffffffff ? AUTO_TAG_BASE : t + 1;
      if (!this.#ops.has(t)) return t;
    }
  }

  #finish(op: Op): void {
    this.#ops.delete(op.tag);
    const res = op.result < 0
      ? op.result
      : (op.type === NBD_CMD_READ || op.type === NBD_CMD_WRITE)
      ? op.length
      : 0;
    const resolve = op.resolve;
    op.single[0] = EMPTY;
    op.segs = op.single;
    op.resolve = NOOP;
    this.#free.push(op);
    resolve(res);
    if (this.#ops.size === 0) {
      if (this.#watchdog !== null) this.#unwatch();
      this.#wakeIdle();
    }
  }

  /**
   * Fails everything in flight with `res` (with `drainOnDeath`, an op the socket still holds
   * when it lets go) and closes the stream, or starts draining it (once).
   */
  #fail(res: number): void {
    if (this.#dead === 0) this.#dead = res;
    // The connection dies now; drained (a caller that reconnects) unless closed on purpose.
    const drain = !this.#closed && this.#drainOnDeath && res !== -ESHUTDOWN;
    // While the stream is left open (being drained) a pending read or write still uses its
    // op's memory: that op ends when the socket lets go of it (`#release`). A closed stream
    // ends them at once.
    const keepHeld = drain || this.#drained !== null;
    this.#unconfirmed = null;
    this.#unwatch();
    for (const op of [...this.#ops.values()]) {
      op.result = res;
      if (!(keepHeld && this.#held.has(op))) this.#finish(op);
    }
    this.#queue.length = 0;
    this.#qHead = 0;
    this.#wakeIdle();
    if (!this.#closed) {
      this.#closed = true;
      if (drain) this.#drained = this.#drain();
      else {
        try {
          this.#stream.close();
        } catch { /* already closed */ }
      }
    }
  }

  /** Marks `op`'s memory as used by a socket read or write about to be awaited. */
  #hold(op: Op): void {
    this.#held.add(op);
  }

  /** The socket let go of `op`'s memory: a dead connection's held op ends now. */
  #release(op: Op): void {
    this.#held.delete(op);
    if (this.#closed && this.#ops.get(op.tag) === op) {
      if (op.result >= 0) op.result = -EIO;
      this.#finish(op);
    }
  }

  /**
   * Shuts the sending side and reads (and drops) until the server closes, or closes the
   * stream after `#drainMs`; then nothing of the connection is left.
   */
  async #drain(): Promise<void> {
    const stream = this.#stream;
    const close = () => {
      try {
        stream.close();
      } catch { /* already closed */ }
    };
    if (stream.closeWrite === undefined) return close();
    await drainConnection(stream, this.#readLoop, this.#drainMs);
    close();
    await this.#readLoop;
  }

  #wakeIdle(): void {
    if (this.#idle === null) return;
    const idle = this.#idle;
    this.#idle = null;
    this.#idleWait = null;
    idle();
  }

  #completePart(op: Op, k: number, res: number): void {
    op.partState[k]! |= PART_DONE;
    if (res < 0 && op.result >= 0) op.result = res;
    if (--op.partsLeft === 0) this.#finish(op);
  }

  // ---- sending ------------------------------------------------------------------------------

  /**
   * Starts the sender in a microtask, so that requests made in one burst share a send. While
   * the reader is still handling buffered replies (whose completions typically submit new
   * requests), the start is deferred until the reader runs dry, unless `force`d.
   */
  #schedulePump(force = false): void {
    if (this.#draining && !force) {
      this.#pumpWanted = true;
      return;
    }
    if (this.#pumping || this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    queueMicrotask(() => {
      this.#pumpScheduled = false;
      if (!this.#pumping) this.#pumpDone = this.#pump();
    });
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      while (this.#qHead < this.#queue.length) {
        const op = this.#queue[this.#qHead]!;
        while (op.partsSent < op.nparts) {
          const k = op.partsSent;
          const pos = k * op.chunk;
          const len = op.type === NBD_CMD_FLUSH || op.type === NBD_CMD_DISC ? 0 : op.partLength(k);
          if (this.#sused + NBD_REQUEST_SIZE > this.#staging.length) await this.#flushStaging();
          if (this.#closed) return;
          const v = this.#sview;
          const s = this.#sused;
          v.setUint32(s, NBD_REQUEST_MAGIC);
          v.setUint16(s + 4, op.flags);
          v.setUint16(s + 6, op.type);
          v.setUint32(s + 8, op.tag);
          v.setUint32(s + 12, k);
          setU64(v, s + 16, op.offset + pos);
          v.setUint32(s + 24, len);
          this.#sused += NBD_REQUEST_SIZE;
          op.partsSent++;
          if (op.type === NBD_CMD_WRITE) {
            if (len <= this.#staging.length - this.#sused) {
              copyFromSegments(this.#staging, this.#sused, op.segs, pos, len);
              this.#sused += len;
            } else {
              await this.#flushStaging();
              this.#hold(op);
              try {
                await this.#writeSegments(op.segs, pos, len);
              } finally {
                this.#release(op);
              }
            }
            if (this.#closed) return;
          }
        }
        this.#qHead++;
      }
      await this.#flushStaging();
    } catch {
      this.#fail(-EIO);
    } finally {
      this.#pumping = false;
      if (this.#qHead >= this.#queue.length) {
        this.#queue.length = 0;
        this.#qHead = 0;
      } else if (!this.#closed) this.#schedulePump();
    }
  }

  async #flushStaging(): Promise<void> {
    if (this.#sused === 0) return;
    const n = this.#sused;
    this.#sused = 0;
    if (this.#closed) return;
    await writeAll(this.#stream, this.#staging.subarray(0, n));
  }

  async #writeSegments(
    segs: readonly Uint8Array[],
    position: number,
    length: number,
  ): Promise<void> {
    let i = 0;
    let pos = position;
    while (i < segs.length && pos >= segs[i]!.length) pos -= segs[i++]!.length;
    while (length > 0 && i < segs.length) {
      const seg = segs[i]!;
      const n = Math.min(seg.length - pos, length);
      if (this.#closed) return;
      await writeAll(
        this.#stream,
        pos === 0 && n === seg.length ? seg : seg.subarray(pos, pos + n),
      );
      length -= n;
      pos = 0;
      i++;
    }
  }

  // ---- receiving ----------------------------------------------------------------------------

  async #runReadLoop(): Promise<void> {
    // Let the constructor return before the first read.
    await Promise.resolve();
    try {
      for (;;) {
        this.#draining = true;
        // Replies already buffered are handled synchronously; the loop awaits only when the
        // socket must be read.
        let ok = this.#readOne();
        if (typeof ok !== "boolean") ok = await ok;
        if (!ok) {
          this.#fail(-EIO);
          return;
        }
      }
    } catch {
      this.#fail(-EIO);
    }
  }

  /** Handles one reply; `false` = stream lost (EOF, garbage, unknown cookie). */
  #readOne(): boolean | Promise<boolean> {
    const kind = parseReplyHeader(this.#reader, this.#reply);
    if (kind === NBD_REPLY_NEED_MORE) return this.#readOneSlow();
    return this.#dispatch(kind);
  }

  async #readOneSlow(): Promise<boolean> {
    const kind = await readReplyHeader(this.#reader, this.#reply);
    return await this.#dispatch(kind);
  }

  /** Handles a parsed reply header and its payload. */
  #dispatch(kind: number): boolean | Promise<boolean> {
    if (kind !== NBD_REPLY_SIMPLE && kind !== NBD_REPLY_CHUNK) return false;
    if (this.#closed) return false; // a dead connection being drained: nothing is read
    const r = this.#reader;
    const h = this.#reply;
    const op = this.#ops.get(h.cookieHi);
    const k = h.cookieLo;
    if (op === undefined || k >= op.partsSent || (op.partState[k]! & PART_DONE) !== 0) {
      return false;
    }
    const u = this.#unconfirmed;
    if (u !== null) {
      if (u === op && this.#unconfirmedPart === k) return false; // a second reply to the part
      this.#unconfirmed = null;
      if (this.#ops.get(u.tag) === u) this.#completePart(u, this.#unconfirmedPart, 0);
    }
    const pos = k * op.chunk;
    const partLen = op.partLength(k);
    if (kind === NBD_REPLY_SIMPLE) {
      const res = nbdErrorToErrno(h.error);
      if (op.type === NBD_CMD_READ && h.error === 0) {
        if (!r.tryReadIntoSegments(op.segs, pos, partLen)) {
          return this.#payloadSlow(op, k, pos, partLen, -1, 0);
        }
        this.#readPartReceived(op, k);
        return true;
      }
      this.#completePart(op, k, res);
      return true;
    }
    // Structured chunk.
    const flags = h.flags;
    if (h.error !== 0) {
      const res = nbdErrorToErrno(h.error);
      op.partState[k]! |= PART_ERROR;
      if (op.result >= 0) op.result = res;
      if (!r.trySkip(h.length)) return this.#skipSlow(op, k, h.length, flags);
    } else if (h.type === NBD_REPLY_TYPE_OFFSET_DATA) {
      const rel = h.dataOffset - op.offset - pos;
      if (op.type !== NBD_CMD_READ || rel < 0 || rel + h.length > partLen) return false;
      if (!r.tryReadIntoSegments(op.segs, pos + rel, h.length)) {
        return this.#payloadSlow(op, k, pos + rel, h.length, flags, h.length);
      }
      op.covered[k]! += h.length;
    } else if (h.type === NBD_REPLY_TYPE_OFFSET_HOLE) {
      const rel = h.dataOffset - op.offset - pos;
      if (op.type !== NBD_CMD_READ || rel < 0 || rel + h.holeSize > partLen) return false;
      zeroSegments(op.segs, pos + rel, h.holeSize);
      op.covered[k]! += h.holeSize;
    } else if (!r.trySkip(h.length)) return this.#skipSlow(op, k, h.length, flags);
    this.#chunkEnd(op, k, flags);
    return true;
  }

  /**
   * Receives a READ payload that is not all buffered, then completes the part (simple reply,
   * `flags` -1) or accounts the chunk's `covered` bytes and ends it.
   */
  async #payloadSlow(
    op: Op,
    k: number,
    position: number,
    length: number,
    flags: number,
    covered: number,
  ): Promise<boolean> {
    let ok: boolean;
    this.#hold(op);
    try {
      ok = await this.#reader.readIntoSegments(op.segs, position, length);
    } finally {
      this.#release(op);
    }
    if (!ok || this.#closed) return false; // the stream ended, or died meanwhile
    if (this.#ops.get(op.tag) !== op) return true; // failed meanwhile
    if (flags < 0) this.#readPartReceived(op, k);
    else {
      op.covered[k]! += covered;
      this.#chunkEnd(op, k, flags);
    }
    return true;
  }

  async #skipSlow(op: Op, k: number, length: number, flags: number): Promise<boolean> {
    if (!(await this.#reader.skip(length)) || this.#closed) return false;
    if (this.#ops.get(op.tag) !== op) return true;
    this.#chunkEnd(op, k, flags);
    return true;
  }

  /** A simple READ part's payload is in: completes it, or defers it (see `#unconfirmed`). */
  #readPartReceived(op: Op, k: number): void {
    if (this.#ops.size > 1 || op.partsLeft > 1) {
      this.#unconfirmed = op;
      this.#unconfirmedPart = k;
    } else this.#completePart(op, k, 0);
  }

  /** After a chunk: on DONE, completes the part (a READ must have been fully covered). */
  #chunkEnd(op: Op, k: number, flags: number): void {
    if ((flags & NBD_REPLY_FLAG_DONE) === 0) return;
    let res = 0;
    if ((op.partState[k]! & PART_ERROR) === 0) {
      if (op.type === NBD_CMD_READ && op.covered[k] !== op.partLength(k)) {
        res = -EIO; // the server claimed success without covering the range
      }
    } else res = op.result;
    this.#completePart(op, k, res);
  }
}

function segLength(segs: readonly Uint8Array[]): number {
  let n = 0;
  for (const s of segs) n += s.length;
  return n;
}

function isPermissionError(e: unknown): boolean {
  return e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.NotCapable;
}

/** Maps a `Deno.connect` failure to an {@linkcode ErrnoError} (permission errors pass). */
function connectError(e: unknown, options: NbdConnectOptions): unknown {
  if (isPermissionError(e)) return e;
  const table: Array<[unknown, number]> = [
    [Deno.errors.ConnectionRefused, ECONNREFUSED],
    [Deno.errors.NotFound, ENOENT],
    [Deno.errors.ConnectionReset, ECONNRESET],
    [Deno.errors.TimedOut, ETIMEDOUT],
    [Deno.errors.AddrNotAvailable, EADDRNOTAVAIL],
    [Deno.errors.NetworkUnreachable, ENETUNREACH],
  ];
  const where = options.path ?? `${options.hostname ?? "127.0.0.1"}:${options.port ?? 10809}`;
  for (const [cls, errno] of table) {
    if (typeof cls === "function" && e instanceof cls) {
      return new ErrnoError(errno, { op: `connect ${where}`, cause: e });
    }
  }
  return e;
}
