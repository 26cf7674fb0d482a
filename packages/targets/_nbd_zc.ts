/**
 * The zero-copy NBD transmission engine of the nbd target (private). One connection, simple
 * replies or, when negotiated, structured reply chunks (checked as copy mode checks them), many
 * requests in flight with the ublk (queue, tag) as the cookie.
 *
 * Headers go through small preallocated buffers written to and read from the connection
 * directly; payloads never pass through a server buffer: a WRITE's payload is a fused SEND
 * (or SEND_ZC) slave out of the request pages, a READ reply's payload a fused RECV slave
 * (MSG_WAITALL) straight into them, both on the socket adopted as a model fd (fixed file 1 of
 * the queue rings, or a plain fd every ring of the kernel sees: a reconnected socket, which
 * the queues' fixed-file tables, registered at their start, do not hold).
 *
 * Ordering on the stream: sends are serialised (a WRITE's header and payload are adjacent);
 * one reply loop reads a header, then — for a READ — receives its payload through the tag's
 * context before reading the next header. If the server goes away every request in flight and
 * every later one completes with -EIO. With `drainOnDeath` (the target reconnects) a dead
 * connection is drained at once — the sending side shut, the stream read until the server
 * closes it, or closed after the drain time — so a WRITE the server still held is carried out
 * or dropped before a new connection carries anything ({@linkcode NbdZeroCopy.disconnect}).
 *
 * @module
 */

import type { FusedIo, TargetIoCtx } from "@ublk-ts/ublk";
import { EIO, IORING_OP_RECV, IORING_OP_SEND, IORING_OP_SEND_ZC } from "@ublk-ts/uapi";
import {
  drainConnection,
  getU64,
  NBD_CMD_DISC,
  NBD_CMD_READ,
  NBD_CMD_WRITE,
  NBD_DEFAULT_TIMEOUT_MS,
  NBD_REPLY_FLAG_DONE,
  NBD_REPLY_TYPE_ERROR_BIT,
  NBD_REPLY_TYPE_NONE,
  NBD_REPLY_TYPE_OFFSET_DATA,
  NBD_REQUEST_MAGIC,
  NBD_REQUEST_SIZE,
  NBD_SIMPLE_REPLY_MAGIC,
  NBD_SIMPLE_REPLY_SIZE,
  NBD_STRUCTURED_REPLY_MAGIC,
  NBD_STRUCTURED_REPLY_SIZE,
  nbdErrorToErrno,
  nbdWatchdogPeriod,
  setU64,
} from "@ublk-ts/nbd";

/** `MSG_WAITALL`. */
const MSG_WAITALL = 0x100;
/** The fixed-file index of the socket on the queue rings. */
export const NBD_SOCKET_FIXED_INDEX = 1;

/** A duplex byte stream (`Deno.Conn`). */
export interface ZcConn {
  /** Reads up to `p.length` bytes; `null` at EOF. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes some of `p`. */
  write(p: Uint8Array): Promise<number>;
  /** Closes the connection (pending reads and writes end). */
  close?(): void;
  /** Shuts the sending side (`shutdown(SHUT_WR)`): the server reads EOF after our bytes. */
  closeWrite?(): Promise<void>;
}

/** How long {@linkcode NbdZeroCopy.disconnect} waits for the server to close its side. */
export const NBD_ZC_DRAIN_MS = 5000;

/** Options of {@linkcode NbdZeroCopy}. */
export interface NbdZcOptions {
  /**
   * The socket as the fused slaves name it. Default {@linkcode NBD_SOCKET_FIXED_INDEX} (a
   * fixed-file index of the queue rings).
   */
  fd?: number;
  /** `fd` is a fixed-file index. Default true; false: an fd of the kernel the rings share. */
  fixed?: boolean;
  /**
   * When the connection dies (a request timed out, the server closed it, the stream went out
   * of step), drain it at once as {@linkcode NbdZeroCopy.disconnect} does instead of closing
   * it (at a timeout) or leaving it open: a reconnecting target awaits `disconnect()` before
   * its new connection carries anything. Default false.
   */
  drainOnDeath?: boolean;
}

/** One tag's request state, preallocated and reused. */
class Slot {
  constructor(fd: number, fixed: boolean) {
    this.io = { opcode: IORING_OP_RECV, fd, fixed, bufOff: 0, len: 0, off: 0 };
  }
  readonly hdr: Uint8Array = new Uint8Array(NBD_REQUEST_SIZE);
  readonly view: DataView = new DataView(this.hdr.buffer);
  // `off` stays 0: SEND/RECV have no file offset (the kernel rejects RECV with addr2 != 0).
  readonly io: FusedIo;
  ctx: TargetIoCtx | null = null;
  type = 0;
  length = 0;
  /** Export offset (structured OFFSET_DATA chunks are placed relative to it). */
  offset = 0;
  /** Structured replies: READ bytes the chunks covered so far. */
  covered = 0;
  /** Structured replies: the errno of an error chunk (0 = none so far). */
  error = 0;
  busy = false;
  startedAt = 0;
  resolve: ((res: number) => void) | null = null;
  readonly settle = (res: number): void => {
    const r = this.resolve;
    this.resolve = null;
    this.busy = false;
    this.ctx = null;
    r?.(res);
  };
}

/** The engine. */
export class NbdZeroCopy {
  readonly #conn: ZcConn;
  readonly #sendOp: number;
  readonly #slots: Map<number, Slot> = new Map();
  readonly #reply: Uint8Array = new Uint8Array(NBD_STRUCTURED_REPLY_SIZE);
  readonly #replyView: DataView = new DataView(this.#reply.buffer);
  #sendChain: Promise<void> = Promise.resolve();
  #dead = 0;
  #loop: Promise<void> | null = null;
  readonly #timeoutMs: number;
  readonly #structured: boolean;
  readonly #scratch: Uint8Array = new Uint8Array(512);
  #watchdog: ReturnType<typeof setInterval> | null = null;
  #busy = 0;
  #timedOut = false;
  readonly #fd: number;
  readonly #fixed: boolean;
  readonly #drainOnDeath: boolean;
  #drained: Promise<void> | null = null;

  /**
   * @param conn The connection, past the handshake, with nothing buffered.
   * @param sendZc Send WRITE payloads with SEND_ZC instead of SEND.
   * @param timeoutMs Per-request timeout (0 = none): a request unanswered this long tears the
   *   connection down, and it and every request in flight complete with -EIO.
   * @param structured Structured replies were negotiated: chunks are accepted besides simple
   *   replies (READs should then carry NBD_CMD_FLAG_DF: an OFFSET_HOLE chunk, which cannot be
   *   zero-filled into pages only fused commands reach, fails its READ with -EIO).
   * @param options The socket's fd for the slaves, and whether a dead connection is drained.
   */
  constructor(
    conn: ZcConn,
    sendZc: boolean,
    timeoutMs: number = NBD_DEFAULT_TIMEOUT_MS,
    structured = false,
    options: NbdZcOptions = {},
  ) {
    this.#conn = conn;
    this.#sendOp = sendZc ? IORING_OP_SEND_ZC : IORING_OP_SEND;
    this.#timeoutMs = timeoutMs;
    this.#structured = structured;
    this.#fd = options.fd ?? NBD_SOCKET_FIXED_INDEX;
    this.#fixed = options.fixed ?? true;
    this.#drainOnDeath = options.drainOnDeath ?? false;
  }

  /** The default drain time: {@linkcode NBD_ZC_DRAIN_MS}, or the request timeout when shorter. */
  get #drainMs(): number {
    return this.#timeoutMs > 0 ? Math.min(NBD_ZC_DRAIN_MS, this.#timeoutMs) : NBD_ZC_DRAIN_MS;
  }

  /** True once a request timed out and the connection was torn down for it. */
  get timedOut(): boolean {
    return this.#timedOut;
  }

  #watch(): void {
    const now = performance.now();
    for (const s of this.#slots.values()) {
      if (s.resolve !== null && now - s.startedAt >= this.#timeoutMs) {
        this.#timedOut = true;
        this.#fail(-EIO); // with drainOnDeath this starts the drain instead of the close
        if (!this.#drainOnDeath) {
          try {
            this.#conn.close?.();
          } catch { /* closed */ }
        }
        return;
      }
    }
  }

  #unwatch(): void {
    if (this.#watchdog !== null) clearInterval(this.#watchdog);
    this.#watchdog = null;
  }

  /** Whether the connection still works. */
  get alive(): boolean {
    return this.#dead === 0;
  }

  /** Starts the reply loop. */
  start(): void {
    this.#loop ??= this.#replyLoop();
  }

  #slot(key: number): Slot {
    let s = this.#slots.get(key);
    if (s === undefined) {
      s = new Slot(this.#fd, this.#fixed);
      this.#slots.set(key, s);
    }
    return s;
  }

  /**
   * Issues one NBD command for a tag and resolves with its result.
   *
   * @param ctx The tag's context (its fused commands move the payload).
   * @param type NBD_CMD_*.
   * @param flags NBD_CMD_FLAG_*.
   * @param offset Export offset.
   * @param length Byte length.
   * @returns Bytes (READ/WRITE), 0, or a negative errno.
   */
  request(
    ctx: TargetIoCtx,
    type: number,
    flags: number,
    offset: number,
    length: number,
  ): Promise<number> {
    if (this.#dead !== 0) return Promise.resolve(this.#dead);
    const key = ctx.qid * 65536 + ctx.tag;
    const s = this.#slot(key);
    if (s.busy) return Promise.resolve(-EIO);
    s.busy = true;
    s.startedAt = performance.now();
    this.#busy++;
    if (this.#timeoutMs > 0 && this.#watchdog === null) {
      this.#watchdog = setInterval(() => this.#watch(), nbdWatchdogPeriod(this.#timeoutMs));
    }
    s.ctx = ctx;
    s.type = type;
    s.length = length;
    s.offset = offset;
    s.covered = 0;
    s.error = 0;
    const v = s.view;
    v.setUint32(0, NBD_REQUEST_MAGIC);
    v.setUint16(4, flags);
    v.setUint16(6, type);
    setU64(v, 8, key);
    setU64(v, 16, offset);
    v.setUint32(24, length);
    const done = new Promise<number>((resolve) => s.resolve = resolve).then(this.#settled);
    this.#sendChain = this.#sendChain.then(() => this.#send(s));
    return done;
  }

  async #send(s: Slot): Promise<void> {
    // Capture the request now: a (misbehaving) server may reply before the payload is sent.
    const ctx = s.ctx;
    const type = s.type;
    const length = s.length;
    if (this.#dead !== 0 || s.resolve === null || ctx === null) return;
    try {
      await this.#writeAll(s.hdr);
    } catch {
      this.#fail();
      return;
    }
    // Dead meanwhile (disconnect, a failed reply): no payload goes out after the death, so the
    // server never gets a whole WRITE from a connection that is being torn down.
    if (this.#dead !== 0) return;
    if (type === NBD_CMD_WRITE && length > 0) {
      const io = s.io;
      io.opcode = this.#sendOp;
      io.bufOff = 0;
      io.len = length;
      io.opFlags = 0;
      const res = await ctx.fused(io);
      if (res !== length) {
        // The stream is out of step now: nothing on this connection can be trusted.
        this.#fail();
      }
    }
  }

  async #writeAll(p: Uint8Array): Promise<void> {
    let done = 0;
    while (done < p.length) done += await this.#conn.write(done === 0 ? p : p.subarray(done));
  }

  async #readExact(p: Uint8Array): Promise<boolean> {
    let got = 0;
    while (got < p.length) {
      const n = await this.#conn.read(got === 0 ? p : p.subarray(got));
      if (n === null) return false;
      got += n;
    }
    return true;
  }

  /** Whether a request other than `s` is in flight. */
  #othersInFlight(s: Slot): boolean {
    for (const o of this.#slots.values()) if (o !== s && o.resolve !== null) return true;
    return false;
  }

  /** Receives `len` payload bytes of `s`'s READ at `bufOff` of its pages (fused RECV). */
  async #recvPayload(s: Slot, bufOff: number, len: number): Promise<boolean> {
    const io = s.io;
    io.opcode = IORING_OP_RECV;
    io.bufOff = bufOff;
    io.len = len;
    io.opFlags = MSG_WAITALL;
    return (await s.ctx!.fused(io)) === len;
  }

  /** Reads and drops `n` bytes of the stream. */
  async #skip(n: number): Promise<boolean> {
    while (n > 0) {
      const k = Math.min(n, this.#scratch.length);
      if (!(await this.#readExact(this.#scratch.subarray(0, k)))) return false;
      n -= k;
    }
    return true;
  }

  async #replyLoop(): Promise<void> {
    const v = this.#replyView;
    const magic = this.#reply.subarray(0, 4);
    const simpleRest = this.#reply.subarray(4, NBD_SIMPLE_REPLY_SIZE);
    const chunkRest = this.#reply.subarray(4, NBD_STRUCTURED_REPLY_SIZE);
    // A READ whose payload arrived while other requests were in flight is confirmed only by the
    // next well-formed reply header: a server that sent fewer payload bytes than asked and
    // carried on has had its next reply's bytes received into the request pages, and the
    // stream is then out of step. Such a READ must end -EIO (with the rest), never succeed with
    // wrong contents. With nothing else in flight no later reply can have been taken in.
    let unconfirmed: Slot | null = null;
    try {
      while (this.#dead === 0) {
        if (!(await this.#readExact(magic))) break;
        const m = v.getUint32(0);
        const chunk = m === NBD_STRUCTURED_REPLY_MAGIC && this.#structured;
        if (!chunk && m !== NBD_SIMPLE_REPLY_MAGIC) break;
        if (!(await this.#readExact(chunk ? chunkRest : simpleRest))) break;
        if (v.getUint32(8) !== 0) break;
        const s = this.#slots.get(v.getUint32(12));
        if (s === undefined || s.resolve === null) break; // unknown cookie: out of step
        if (unconfirmed !== null) {
          if (unconfirmed === s) break; // a second reply to a finished READ
          unconfirmed.settle(unconfirmed.length);
          unconfirmed = null;
        }
        if (chunk) {
          const r = await this.#chunk(s, v.getUint16(4), v.getUint16(6), v.getUint32(16));
          if (r === "lost") break;
          if (r === "read done") {
            if (this.#othersInFlight(s)) unconfirmed = s;
            else s.settle(s.length);
          }
          continue;
        }
        const error = v.getUint32(4);
        if (error !== 0) {
          s.settle(nbdErrorToErrno(error));
          continue;
        }
        if (s.type === NBD_CMD_READ && s.length > 0) {
          if (!(await this.#recvPayload(s, 0, s.length))) {
            s.settle(-EIO);
            break;
          }
          if (this.#othersInFlight(s)) unconfirmed = s;
          else s.settle(s.length);
        } else {
          s.settle(s.type === NBD_CMD_WRITE ? s.length : 0);
        }
      }
    } catch {
      // A reset or closed connection: fall through and fail what is in flight.
    }
    this.#fail();
  }

  /**
   * One structured reply chunk for `s` (its 20-byte header read), with the checks copy mode
   * makes: data only for a READ and inside its range, error chunks well formed, and at DONE a
   * READ without error must have been covered byte for byte. Holes cannot be written into
   * pages only fused commands reach: an OFFSET_HOLE chunk fails the READ with -EIO.
   *
   * @returns "lost" when the stream is out of step (everything fails), "read done" when a
   *   READ ended well (the caller settles or defers it), else "ok" (more chunks, or settled).
   */
  async #chunk(
    s: Slot,
    flags: number,
    type: number,
    length: number,
  ): Promise<"lost" | "read done" | "ok"> {
    const v = this.#replyView;
    const read = s.type === NBD_CMD_READ;
    if (type === NBD_REPLY_TYPE_OFFSET_DATA) {
      if (!read || length < 8) return "lost";
      if (!(await this.#readExact(this.#reply.subarray(0, 8)))) return "lost";
      const rel = getU64(v, 0) - s.offset;
      const n = length - 8;
      if (rel < 0 || rel + n > s.length) return "lost"; // data outside the request
      if (n > 0 && !(await this.#recvPayload(s, rel, n))) {
        s.settle(-EIO);
        return "lost";
      }
      s.covered += n;
    } else if ((type & NBD_REPLY_TYPE_ERROR_BIT) !== 0) {
      if (length < 6) return "lost";
      if (!(await this.#readExact(this.#reply.subarray(0, 6)))) return "lost";
      const error = v.getUint32(0);
      if (error === 0 || v.getUint16(4) > length - 6) return "lost";
      if (!(await this.#skip(length - 6))) return "lost";
      if (s.error === 0) s.error = nbdErrorToErrno(error);
    } else if (type === NBD_REPLY_TYPE_NONE) {
      if (length !== 0 || (flags & NBD_REPLY_FLAG_DONE) === 0) return "lost";
    } else {
      // OFFSET_HOLE (not fillable here) or a type this client did not ask for.
      if (!(await this.#skip(length))) return "lost";
      if (s.error === 0) s.error = -EIO;
    }
    if ((flags & NBD_REPLY_FLAG_DONE) === 0) return "ok";
    if (s.error !== 0) s.settle(s.error);
    else if (!read) s.settle(s.type === NBD_CMD_WRITE ? s.length : 0);
    else if (s.covered !== s.length) s.settle(-EIO); // success without covering the range
    else return "read done";
    return "ok";
  }

  readonly #settled = (res: number): number => {
    if (--this.#busy === 0) this.#unwatch();
    return res;
  };

  #fail(res = -EIO, drainMs: number = this.#drainMs): void {
    const first = this.#dead === 0;
    if (first) this.#dead = res;
    for (const s of this.#slots.values()) if (s.resolve !== null) s.settle(this.#dead);
    if (first && this.#drainOnDeath) this.#drainOnce(drainMs);
  }

  /**
   * Sends NBD_CMD_DISC after the sends queued so far (best effort) and stops: requests still
   * in flight complete with -EIO. Then shuts the sending side and reads (and drops) whatever
   * the server still sends until it closes its side, so that when this resolves the server
   * is done with the connection: a WRITE it had received but not yet carried out (queued
   * behind replies nobody read, after the server's death) is carried out now or never —
   * never later, over what a recovered server has written since on another connection.
   * Once the connection is dead (and with `drainOnDeath` being drained already) it only waits
   * for that drain.
   *
   * @param ms How long to wait for the send chain.
   * @param drainMs How long to wait for the server to close, then the connection is closed
   *   (default {@linkcode NBD_ZC_DRAIN_MS}, or the request timeout when shorter).
   */
  async disconnect(
    ms = 1000,
    drainMs: number = this.#drainMs,
  ): Promise<void> {
    if (this.#dead === 0) {
      const disc = new Uint8Array(NBD_REQUEST_SIZE);
      const v = new DataView(disc.buffer);
      v.setUint32(0, NBD_REQUEST_MAGIC);
      v.setUint16(6, NBD_CMD_DISC);
      const sent = this.#sendChain.then(() => this.#writeAll(disc)).catch(() => {});
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([sent, new Promise<void>((r) => timer = setTimeout(r, ms))]);
      clearTimeout(timer);
    }
    this.#fail(-EIO, drainMs);
    await this.#drainOnce(drainMs);
  }

  /** {@linkcode NbdZeroCopy.#drain}, once (later calls wait for the first). */
  #drainOnce(ms: number): Promise<void> {
    return this.#drained ??= this.#drain(ms);
  }

  /** Shuts the sending side and reads until the server closes (or `ms` pass, then closes). */
  async #drain(ms: number): Promise<void> {
    // The reply loop stops at its next read (never two reads at once).
    await drainConnection(this.#conn, this.#loop ?? Promise.resolve(), ms);
  }

  /** Resolves when the reply loop has ended (after the connection is closed). */
  get finished(): Promise<void> {
    return this.#loop ?? Promise.resolve();
  }
}
