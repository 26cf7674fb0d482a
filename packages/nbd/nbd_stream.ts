/**
 * The byte transport under the NBD client: {@linkcode NbdStream} (what `Deno.Conn` already
 * is, for TCP and unix sockets alike) and {@linkcode NbdReader}, a buffered reader that hands
 * headers out of its own buffer and can move payloads straight into caller memory (a
 * `Uint8Array[]` segment list, such as the pages of a ublk request).
 *
 * Zero copy split: the reply header always goes through the reader's buffer, but a READ
 * payload need not. After a header is consumed, {@linkcode NbdReader.buffered} bytes of the
 * payload may already sit in the buffer (take them with {@linkcode NbdReader.takeInto}); the
 * rest is still in the socket, where a zero-copy target may receive it with io_uring RECV
 * straight into request pages, then carry on with the reader for the next header.
 *
 * @module
 */

/** A duplex byte stream: `Deno.Conn` (TCP or unix) satisfies it. */
export interface NbdStream {
  /**
   * Reads up to `p.length` bytes.
   *
   * @param p The destination.
   * @returns The number of bytes read, or `null` at end of stream.
   */
  read(p: Uint8Array): Promise<number | null>;
  /**
   * Writes up to `p.length` bytes.
   *
   * @param p The source.
   * @returns The number of bytes written (may be short).
   */
  write(p: Uint8Array): Promise<number>;
  /** Closes the stream; pending reads end. */
  close(): void;
  /**
   * Shuts the sending side (the peer reads EOF after what was sent), when the stream can;
   * `Deno.Conn` can.
   */
  closeWrite?(): Promise<void>;
}

/** What {@linkcode drainConnection} needs of a connection (a `Deno.Conn` has it all). */
export interface DrainableConn {
  /** Reads up to `p.length` bytes; `null` at EOF. */
  read(p: Uint8Array): Promise<number | null>;
  /** Closes the connection (pending reads and writes end). */
  close?(): void;
  /** Shuts the sending side: the peer reads EOF after what was sent. */
  closeWrite?(): Promise<void>;
}

/**
 * Drains a dead NBD connection instead of closing it at once: shuts the sending side, waits
 * for `readerStopped` (the reply loop's end: never two reads at once), then reads and drops
 * whatever the server still sends until it closes its side; when `ms` pass first the
 * connection is closed. When this resolves after the server's close, a WRITE the server had
 * received is carried out by now or never — not later, over what a new connection wrote.
 *
 * @param conn The connection.
 * @param readerStopped Resolves when the connection's reply loop has stopped reading.
 * @param ms How long to wait for the server to close.
 */
export async function drainConnection(
  conn: DrainableConn,
  readerStopped: Promise<unknown>,
  ms: number,
): Promise<void> {
  // Not awaited: it waits for a pending write, which ends only once the server reads, and the
  // server reads only once its replies are read.
  try {
    conn.closeWrite?.().catch(() => {});
  } catch { /* closed */ }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<void>((r) =>
    timer = setTimeout(() => {
      try {
        conn.close?.();
      } catch { /* closed */ }
      r();
    }, ms)
  );
  const drained = (async () => {
    await readerStopped;
    const scratch = new Uint8Array(4096);
    try {
      while ((await conn.read(scratch)) !== null) { /* drop */ }
    } catch { /* closed or reset: the server is gone too */ }
  })();
  await Promise.race([drained, deadline]);
  clearTimeout(timer);
}

/**
 * Writes all of `p`, looping over short writes.
 *
 * @param stream The stream.
 * @param p The bytes.
 */
export async function writeAll(stream: NbdStream, p: Uint8Array): Promise<void> {
  let off = 0;
  while (off < p.length) {
    off += await stream.write(off === 0 ? p : p.subarray(off));
  }
}

/**
 * A buffered reader over an {@linkcode NbdStream}.
 *
 * The buffer is allocated once; {@linkcode NbdReader.ensure} makes `n` bytes readable at
 * {@linkcode NbdReader.view} `[NbdReader.start, NbdReader.start + n)`, then the caller
 * {@linkcode NbdReader.consume}s them. End of stream mid-object is reported as `false`,
 * never thrown; transport errors (reset) are thrown by the stream and left to the caller.
 *
 * @example Read a 4-byte magic
 * ```ts
 * import assert from "node:assert/strict";
 * import { NbdReader } from "@ublk-ts/nbd";
 * const bytes = new Uint8Array([0x67, 0x44, 0x66, 0x98]);
 * let done = false;
 * const stream = {
 *   read(p: Uint8Array) {
 *     if (done) return Promise.resolve(null);
 *     done = true;
 *     p.set(bytes);
 *     return Promise.resolve(4);
 *   },
 *   write: (p: Uint8Array) => Promise.resolve(p.length),
 *   close() {},
 * };
 * const r = new NbdReader(stream);
 * assert.equal(await r.ensure(4), true);
 * assert.equal(r.view.getUint32(r.start), 0x67446698);
 * ```
 */
export class NbdReader {
  #stream: NbdStream;
  #buf: Uint8Array;
  #view: DataView;
  #start = 0;
  #end = 0;
  /**
   * Called right before each read from the stream (when the buffer cannot satisfy a call),
   * that is whenever the reader may block; the client flushes its queued requests there.
   */
  beforeRead: (() => void) | null = null;

  /**
   * Builds a reader.
   *
   * @param stream The stream to read.
   * @param capacity The buffer size (≥ 4096), default 256 KiB.
   */
  constructor(stream: NbdStream, capacity: number = 256 * 1024) {
    if (!Number.isSafeInteger(capacity) || capacity < 4096) {
      throw new RangeError(`Cannot make an NbdReader: capacity ${capacity} is below 4096`);
    }
    this.#stream = stream;
    this.#buf = new Uint8Array(capacity);
    this.#view = new DataView(this.#buf.buffer);
  }

  /** A big-endian view of the whole buffer; valid bytes start at {@linkcode NbdReader.start}. */
  get view(): DataView {
    return this.#view;
  }

  /** The buffer itself (same memory as {@linkcode NbdReader.view}). */
  get bytes(): Uint8Array {
    return this.#buf;
  }

  /** Offset in the buffer of the first unconsumed byte. */
  get start(): number {
    return this.#start;
  }

  /** The buffer capacity. */
  get capacity(): number {
    return this.#buf.length;
  }

  /**
   * How many bytes are buffered and not yet consumed.
   *
   * @returns The count.
   */
  buffered(): number {
    return this.#end - this.#start;
  }

  /**
   * Makes at least `n` bytes readable at `view[start…]`.
   *
   * @param n Bytes needed (≤ capacity).
   * @returns `true`, or `false` when the stream ended first.
   */
  ensure(n: number): boolean | Promise<boolean> {
    if (this.#end - this.#start >= n) return true;
    return this.#fill(n);
  }

  async #fill(n: number): Promise<boolean> {
    if (n > this.#buf.length) {
      throw new RangeError(`Cannot buffer ${n} bytes: capacity is ${this.#buf.length}`);
    }
    if (this.#start + n > this.#buf.length) this.#compact();
    while (this.#end - this.#start < n) {
      this.beforeRead?.();
      const got = await this.#stream.read(this.#buf.subarray(this.#end));
      if (got === null || got === 0) return false;
      this.#end += got;
    }
    return true;
  }

  #compact(): void {
    const len = this.#end - this.#start;
    if (len > 0) this.#buf.copyWithin(0, this.#start, this.#end);
    this.#start = 0;
    this.#end = len;
  }

  /**
   * Drops `n` buffered bytes (after {@linkcode NbdReader.ensure}).
   *
   * @param n Bytes to consume.
   */
  consume(n: number): void {
    this.#start += n;
    if (this.#start === this.#end) this.#start = this.#end = 0;
  }

  /**
   * Moves up to `dst.length` already-buffered bytes into `dst` without reading the stream.
   *
   * @param dst The destination.
   * @returns The number of bytes moved.
   */
  takeInto(dst: Uint8Array): number {
    const n = Math.min(dst.length, this.#end - this.#start);
    if (n > 0) {
      dst.set(this.#buf.subarray(this.#start, this.#start + n));
      this.consume(n);
    }
    return n;
  }

  /**
   * Reads exactly `dst.length` bytes into `dst`: buffered bytes first, then large remainders
   * straight from the stream into `dst`, small ones through the buffer.
   *
   * @param dst The destination.
   * @returns `true`, or `false` when the stream ended first.
   */
  async readInto(dst: Uint8Array): Promise<boolean> {
    let off = this.takeInto(dst);
    while (off < dst.length) {
      const left = dst.length - off;
      if (left >= this.#buf.length >>> 1) {
        this.beforeRead?.();
        const got = await this.#stream.read(dst.subarray(off));
        if (got === null || got === 0) return false;
        off += got;
      } else {
        if (!(await this.#fillSome())) return false;
        off += this.takeInto(dst.subarray(off));
      }
    }
    return true;
  }

  /**
   * Reads exactly `length` bytes into a segment list, starting `position` bytes into the
   * concatenation of `segments`.
   *
   * @param segments The destination segments (such as request pages).
   * @param position Byte position in the concatenated segments.
   * @param length Bytes to read.
   * @returns `true`, or `false` when the stream ended first.
   */
  async readIntoSegments(
    segments: readonly Uint8Array[],
    position: number,
    length: number,
  ): Promise<boolean> {
    let i = 0;
    let pos = position;
    while (i < segments.length && pos >= segments[i]!.length) pos -= segments[i++]!.length;
    while (length > 0) {
      const seg = segments[i];
      if (seg === undefined) throw new RangeError("Cannot read past the end of the segments");
      const n = Math.min(seg.length - pos, length);
      const dst = pos === 0 && n === seg.length ? seg : seg.subarray(pos, pos + n);
      if (!(await this.readInto(dst))) return false;
      length -= n;
      pos = 0;
      i++;
    }
    return true;
  }

  /**
   * The synchronous fast path of {@linkcode NbdReader.readIntoSegments}: copies `length`
   * bytes into the segments only if they are all buffered already.
   *
   * @param segments The destination segments.
   * @param position Byte position in the concatenated segments.
   * @param length Bytes to copy.
   * @returns `true` when copied and consumed, `false` (nothing consumed) otherwise.
   */
  tryReadIntoSegments(segments: readonly Uint8Array[], position: number, length: number): boolean {
    if (this.#end - this.#start < length) return false;
    let i = 0;
    let pos = position;
    while (i < segments.length && pos >= segments[i]!.length) pos -= segments[i++]!.length;
    let src = this.#start;
    let left = length;
    while (left > 0) {
      const seg = segments[i];
      if (seg === undefined) throw new RangeError("Cannot read past the end of the segments");
      const n = Math.min(seg.length - pos, left);
      seg.set(this.#buf.subarray(src, src + n), pos);
      src += n;
      left -= n;
      pos = 0;
      i++;
    }
    this.consume(length);
    return true;
  }

  /**
   * Discards `n` bytes only if they are all buffered already.
   *
   * @param n Bytes to skip.
   * @returns `true` when skipped, `false` (nothing consumed) otherwise.
   */
  trySkip(n: number): boolean {
    if (this.#end - this.#start < n) return false;
    this.consume(n);
    return true;
  }

  /**
   * Discards exactly `n` bytes of the stream.
   *
   * @param n Bytes to skip.
   * @returns `true`, or `false` when the stream ended first.
   */
  async skip(n: number): Promise<boolean> {
    while (n > 0) {
      if (this.#end === this.#start && !(await this.#fillSome())) return false;
      const k = Math.min(n, this.#end - this.#start);
      this.consume(k);
      n -= k;
    }
    return true;
  }

  async #fillSome(): Promise<boolean> {
    if (this.#end === this.#start) this.#start = this.#end = 0;
    else if (this.#end === this.#buf.length) this.#compact();
    this.beforeRead?.();
    const got = await this.#stream.read(this.#buf.subarray(this.#end));
    if (got === null || got === 0) return false;
    this.#end += got;
    return true;
  }
}

/**
 * Zero-fills `length` bytes of a segment list starting `position` bytes in.
 *
 * @param segments The segments.
 * @param position Byte position in the concatenated segments.
 * @param length Bytes to zero.
 */
export function zeroSegments(
  segments: readonly Uint8Array[],
  position: number,
  length: number,
): void {
  let i = 0;
  let pos = position;
  while (i < segments.length && pos >= segments[i]!.length) pos -= segments[i++]!.length;
  while (length > 0 && i < segments.length) {
    const seg = segments[i]!;
    const n = Math.min(seg.length - pos, length);
    seg.fill(0, pos, pos + n);
    length -= n;
    pos = 0;
    i++;
  }
}

/**
 * Copies `length` bytes out of a segment list starting `position` bytes in.
 *
 * @param dst The destination (at least `length` bytes from `dstOffset`).
 * @param dstOffset Offset in `dst`.
 * @param segments The source segments.
 * @param position Byte position in the concatenated segments.
 * @param length Bytes to copy.
 */
export function copyFromSegments(
  dst: Uint8Array,
  dstOffset: number,
  segments: readonly Uint8Array[],
  position: number,
  length: number,
): void {
  let i = 0;
  let pos = position;
  while (i < segments.length && pos >= segments[i]!.length) pos -= segments[i++]!.length;
  while (length > 0 && i < segments.length) {
    const seg = segments[i]!;
    const n = Math.min(seg.length - pos, length);
    dst.set(pos === 0 && n === seg.length ? seg : seg.subarray(pos, pos + n), dstOffset);
    dstOffset += n;
    length -= n;
    pos = 0;
    i++;
  }
}
