/**
 * Stream sockets of the model: {@linkcode ConnSocket} over a `Deno.Conn`, and in-memory pairs
 * from {@linkcode memSocketPair} (the model's `socketpair(AF_UNIX, SOCK_STREAM)`).
 *
 * @module
 */

import { EAGAIN, EBADF, ECANCELED, EPIPE } from "@ublk-ts/uapi";
import type { IoResult } from "@ublk-ts/ring";
import type { ModelSocket } from "./model_file.ts";
import { errnoOf } from "./_errno_of.ts";

interface Reader {
  buf: Uint8Array;
  got: number;
  waitAll: boolean;
  resolve: (n: number) => void;
}

/** One end of an in-memory stream socket pair. */
export class MemSocket implements ModelSocket {
  /** The other end. */
  peer: MemSocket | null = null;
  /** AF_UNIX: no SEND_ZC. */
  readonly zerocopy: boolean = false;
  #chunks: Uint8Array[] = [];
  #chunkOff = 0;
  #readers: Reader[] = [];
  #closed = false;
  #eof = false;

  /**
   * Sends (copies) bytes to the peer; completes at once.
   *
   * @param buf Bytes.
   * @returns Bytes sent, -EPIPE when the peer is closed, -EBADF when closed.
   */
  send(buf: Uint8Array): number {
    if (this.#closed) return -EBADF;
    const p = this.peer;
    if (!p || p.#closed) return -EPIPE;
    if (buf.length > 0) p.#deliver(buf.slice());
    return buf.length;
  }

  /**
   * Receives bytes; resolves when at least one byte (all of `buf` with `waitAll`) or EOF came.
   *
   * @param buf Destination.
   * @param waitAll MSG_WAITALL.
   * @param nonblock MSG_DONTWAIT.
   * @returns Bytes, 0 at EOF, or a negative errno (-EAGAIN when nonblocking and empty).
   */
  recv(buf: Uint8Array, waitAll: boolean, nonblock = false): IoResult {
    if (this.#closed) return -EBADF;
    if (buf.length === 0) return 0;
    const r: Reader = { buf, got: 0, waitAll, resolve: () => {} };
    if (this.#readers.length === 0) {
      this.#fill(r);
      if (r.got === buf.length || this.#eof || (r.got > 0 && !waitAll)) return r.got;
      if (nonblock) return r.got > 0 ? r.got : -EAGAIN;
    } else if (nonblock) {
      return -EAGAIN;
    }
    return new Promise((resolve) => {
      r.resolve = resolve;
      this.#readers.push(r);
    });
  }

  #fill(r: Reader): void {
    while (r.got < r.buf.length && this.#chunks.length > 0) {
      const c = this.#chunks[0]!;
      const n = Math.min(c.length - this.#chunkOff, r.buf.length - r.got);
      r.buf.set(c.subarray(this.#chunkOff, this.#chunkOff + n), r.got);
      r.got += n;
      this.#chunkOff += n;
      if (this.#chunkOff === c.length) {
        this.#chunks.shift();
        this.#chunkOff = 0;
      }
    }
  }

  #serve(): void {
    while (this.#readers.length > 0) {
      const r = this.#readers[0]!;
      this.#fill(r);
      if (r.got === r.buf.length || this.#eof || (r.got > 0 && !r.waitAll)) {
        this.#readers.shift();
        r.resolve(r.got);
      } else break;
    }
  }

  #deliver(c: Uint8Array): void {
    this.#chunks.push(c);
    this.#serve();
  }

  #peerClosed(): void {
    this.#eof = true;
    this.#serve();
  }

  /**
   * Bytes queued for receiving.
   *
   * @returns The count.
   */
  pending(): number {
    let n = -this.#chunkOff;
    for (const c of this.#chunks) n += c.length;
    return n;
  }

  /**
   * Withdraws the pending receive into `buf`.
   *
   * @param buf The receive's buffer.
   */
  cancelOp(buf: Uint8Array): void {
    const i = this.#readers.findIndex((r) => r.buf === buf);
    if (i >= 0) this.#readers.splice(i, 1);
  }

  /** Fails pending receives with -ECANCELED. */
  cancel(): void {
    for (const r of this.#readers.splice(0)) r.resolve(-ECANCELED);
  }

  /** Closes this end (the peer sees EOF). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const r of this.#readers.splice(0)) r.resolve(r.got > 0 ? r.got : -EBADF);
    const p = this.peer;
    if (p) p.#peerClosed();
  }
}

/**
 * Two connected in-memory stream sockets.
 *
 * @returns The two ends.
 *
 * @example Ping
 * ```ts
 * import assert from "node:assert/strict";
 * import { memSocketPair } from "@ublk-ts/model";
 * const [a, b] = memSocketPair();
 * assert.equal(a.send(new Uint8Array([1, 2])), 2);
 * const buf = new Uint8Array(4);
 * assert.equal(b.recv(buf, false), 2);
 * ```
 */
export function memSocketPair(): [MemSocket, MemSocket] {
  const a = new MemSocket();
  const b = new MemSocket();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/** A model socket over a `Deno.Conn` (TCP or Unix stream). */
export class ConnSocket implements ModelSocket {
  /** The connection. */
  readonly conn: Deno.Conn;
  /** True for TCP (SEND_ZC works), false for Unix sockets. */
  readonly zerocopy: boolean;
  #closed = false;
  #pending: Set<(n: number) => void> = new Set();

  /**
   * Wraps a connected `Deno.Conn`.
   *
   * @param conn A connected `Deno.Conn`.
   */
  constructor(conn: Deno.Conn) {
    this.conn = conn;
    this.zerocopy = conn.localAddr.transport === "tcp";
  }

  #track(p: Promise<number>): Promise<number> {
    return new Promise((resolve) => {
      this.#pending.add(resolve);
      p.then((n) => {
        if (this.#pending.delete(resolve)) resolve(n);
      });
    });
  }

  /**
   * Writes all of `buf`.
   *
   * @param buf Bytes.
   * @returns Bytes, or a negative errno.
   */
  send(buf: Uint8Array): IoResult {
    if (this.#closed) return -EBADF;
    const run = async (): Promise<number> => {
      try {
        let done = 0;
        while (done < buf.length) done += await this.conn.write(buf.subarray(done));
        return done;
      } catch (e) {
        return errnoOf(e);
      }
    };
    return this.#track(run());
  }

  /**
   * Reads into `buf`.
   *
   * @param buf Destination.
   * @param waitAll MSG_WAITALL.
   * @returns Bytes, 0 at EOF, or a negative errno.
   */
  recv(buf: Uint8Array, waitAll: boolean): IoResult {
    if (this.#closed) return -EBADF;
    if (buf.length === 0) return 0;
    const run = async (): Promise<number> => {
      let got = 0;
      try {
        while (got < buf.length) {
          const n = await this.conn.read(buf.subarray(got));
          if (n === null) break;
          got += n;
          if (!waitAll) break;
        }
        return got;
      } catch (e) {
        return got > 0 ? got : errnoOf(e);
      }
    };
    return this.#track(run());
  }

  /**
   * Withdraws the operation in flight on `buf`. Deno cannot withdraw a pending read or write
   * on a `Deno.Conn`, and it would go on touching `buf` after the request completed (a RECV
   * landing bytes in pages handed back to their owner, a SEND transmitting pages reused for
   * other data); closing the connection aborts it synchronously. The stream is out of step
   * anyway once a transfer stops midway, so the connection is shut (later operations fail
   * -EBADF), as a dying process's sockets are.
   *
   * @param _buf The operation's buffer.
   */
  cancelOp(_buf: Uint8Array): void {
    if (this.#pending.size > 0) this.close();
  }

  /** Resolves pending operations with -ECANCELED (their late results are dropped). */
  cancel(): void {
    for (const r of this.#pending) r(-ECANCELED);
    this.#pending.clear();
  }

  /** Closes the connection. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.cancel();
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }
}
