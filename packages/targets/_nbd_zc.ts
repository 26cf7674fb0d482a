/**
 * The zero-copy NBD transmission engine of the nbd target (private). One connection, simple
 * replies only (structured replies are not negotiated), many requests in flight with the ublk
 * (queue, tag) as the cookie.
 *
 * Headers go through small preallocated buffers written to and read from the connection
 * directly; payloads never pass through a server buffer: a WRITE's payload is a fused SEND
 * (or SEND_ZC) slave out of the request pages, a READ reply's payload a fused RECV slave
 * (MSG_WAITALL) straight into them, both on the socket adopted as a model fd (fixed file 1 of
 * the queue rings).
 *
 * Ordering on the stream: sends are serialised (a WRITE's header and payload are adjacent);
 * one reply loop reads a header, then — for a READ — receives its payload through the tag's
 * context before reading the next header. If the server goes away every request in flight and
 * every later one completes with -EIO.
 *
 * @module
 */

import type { FusedIo, TargetIoCtx } from "@ublk-ts/ublk";
import { EIO, IORING_OP_RECV, IORING_OP_SEND, IORING_OP_SEND_ZC } from "@ublk-ts/uapi";
import {
  NBD_CMD_DISC,
  NBD_CMD_READ,
  NBD_CMD_WRITE,
  NBD_DEFAULT_TIMEOUT_MS,
  NBD_REQUEST_MAGIC,
  NBD_REQUEST_SIZE,
  NBD_SIMPLE_REPLY_MAGIC,
  NBD_SIMPLE_REPLY_SIZE,
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
}

/** One tag's request state, preallocated and reused. */
class Slot {
  readonly hdr: Uint8Array = new Uint8Array(NBD_REQUEST_SIZE);
  readonly view: DataView = new DataView(this.hdr.buffer);
  // `off` stays 0: SEND/RECV have no file offset (the kernel rejects RECV with addr2 != 0).
  readonly io: FusedIo = {
    opcode: IORING_OP_RECV,
    fd: NBD_SOCKET_FIXED_INDEX,
    bufOff: 0,
    len: 0,
    off: 0,
  };
  ctx: TargetIoCtx | null = null;
  type = 0;
  length = 0;
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
  readonly #reply: Uint8Array = new Uint8Array(NBD_SIMPLE_REPLY_SIZE);
  readonly #replyView: DataView = new DataView(this.#reply.buffer);
  #sendChain: Promise<void> = Promise.resolve();
  #dead = 0;
  #loop: Promise<void> | null = null;
  readonly #timeoutMs: number;
  #watchdog: ReturnType<typeof setInterval> | null = null;
  #busy = 0;
  #timedOut = false;

  /**
   * @param conn The connection, past the handshake, with nothing buffered.
   * @param sendZc Send WRITE payloads with SEND_ZC instead of SEND.
   * @param timeoutMs Per-request timeout (0 = none): a request unanswered this long tears the
   *   connection down, and it and every request in flight complete with -EIO.
   */
  constructor(conn: ZcConn, sendZc: boolean, timeoutMs: number = NBD_DEFAULT_TIMEOUT_MS) {
    this.#conn = conn;
    this.#sendOp = sendZc ? IORING_OP_SEND_ZC : IORING_OP_SEND;
    this.#timeoutMs = timeoutMs;
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
        this.#fail(-EIO);
        try {
          this.#conn.close?.();
        } catch { /* closed */ }
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
      s = new Slot();
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

  async #replyLoop(): Promise<void> {
    const v = this.#replyView;
    // A READ whose payload arrived while other requests were in flight is confirmed only by the
    // next well-formed reply header: a server that sent fewer payload bytes than asked and
    // carried on has had its next reply's bytes received into the request pages, and the
    // stream is then out of step. Such a READ must end -EIO (with the rest), never succeed with
    // wrong contents. With nothing else in flight no later reply can have been taken in.
    let unconfirmed: Slot | null = null;
    try {
      while (this.#dead === 0) {
        if (!(await this.#readExact(this.#reply))) break;
        if (v.getUint32(0) !== NBD_SIMPLE_REPLY_MAGIC || v.getUint32(8) !== 0) break;
        const s = this.#slots.get(v.getUint32(12));
        if (s === undefined || s.resolve === null) break; // unknown cookie: out of step
        if (unconfirmed !== null) {
          unconfirmed.settle(unconfirmed.length);
          unconfirmed = null;
        }
        const error = v.getUint32(4);
        if (error !== 0) {
          s.settle(nbdErrorToErrno(error));
          continue;
        }
        if (s.type === NBD_CMD_READ && s.length > 0) {
          const io = s.io;
          io.opcode = IORING_OP_RECV;
          io.bufOff = 0;
          io.len = s.length;
          io.opFlags = MSG_WAITALL;
          const res = await s.ctx!.fused(io);
          if (res !== s.length) {
            s.settle(-EIO);
            break;
          }
          let others = false;
          for (const o of this.#slots.values()) {
            if (o !== s && o.resolve !== null) {
              others = true;
              break;
            }
          }
          if (others) unconfirmed = s;
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

  readonly #settled = (res: number): number => {
    if (--this.#busy === 0) this.#unwatch();
    return res;
  };

  #fail(res = -EIO): void {
    if (this.#dead === 0) this.#dead = res;
    for (const s of this.#slots.values()) if (s.resolve !== null) s.settle(this.#dead);
  }

  /**
   * Sends NBD_CMD_DISC after the sends queued so far (best effort) and stops: requests still
   * in flight complete with -EIO.
   *
   * @param ms How long to wait for the send chain.
   */
  async disconnect(ms = 1000): Promise<void> {
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
    this.#fail(-EIO);
  }

  /** Resolves when the reply loop has ended (after the connection is closed). */
  get finished(): Promise<void> {
    return this.#loop ?? Promise.resolve();
  }
}
