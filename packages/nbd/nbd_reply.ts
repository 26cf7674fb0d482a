/**
 * The reply side of the NBD transmission phase as a reusable parser:
 * {@linkcode readReplyHeader} reads one simple reply or one structured chunk header (plus
 * the fixed part of OFFSET_DATA / OFFSET_HOLE / ERROR payloads) from an
 * {@linkcode NbdReader} into a caller-owned {@linkcode NbdReplyHeader}, and leaves the
 * variable payload in the stream.
 *
 * That is the zero-copy split: the caller decides where the payload goes. {@linkcode NbdClient}
 * reads it into the request's segment list with {@linkcode NbdReader.readIntoSegments}; a
 * zero-copy ublk target may instead take {@linkcode NbdReader.buffered} bytes from the
 * buffer and receive the rest of `length` with io_uring RECV straight into request pages.
 *
 * @module
 */

import {
  getU64,
  NBD_REPLY_TYPE_ERROR_BIT,
  NBD_REPLY_TYPE_OFFSET_DATA,
  NBD_REPLY_TYPE_OFFSET_HOLE,
  NBD_SIMPLE_REPLY_MAGIC,
  NBD_SIMPLE_REPLY_SIZE,
  NBD_STRUCTURED_REPLY_MAGIC,
  NBD_STRUCTURED_REPLY_SIZE,
} from "./nbd_proto.ts";
import type { NbdReader } from "./nbd_stream.ts";

/** {@linkcode readReplyHeader} result: the stream ended (EOF, possibly mid-header). */
export const NBD_REPLY_EOF = 0;
/** {@linkcode readReplyHeader} result: a simple reply. */
export const NBD_REPLY_SIMPLE = 1;
/** {@linkcode readReplyHeader} result: a structured reply chunk. */
export const NBD_REPLY_CHUNK = 2;
/** {@linkcode readReplyHeader} result: a bad magic or malformed chunk; the stream is lost. */
export const NBD_REPLY_GARBAGE = 3;
/** {@linkcode parseReplyHeader} result: not enough bytes buffered (see `need`). */
export const NBD_REPLY_NEED_MORE: number = -1;

/** A reply header, filled in place by {@linkcode readReplyHeader} (allocate one, reuse it). */
export interface NbdReplyHeader {
  /** `NBD_REPLY_SIMPLE`, `NBD_REPLY_CHUNK`, `NBD_REPLY_EOF` or `NBD_REPLY_GARBAGE`. */
  kind: number;
  /** The magic seen (useful when `kind` is garbage). */
  magic: number;
  /** High 32 bits of the cookie. */
  cookieHi: number;
  /** Low 32 bits of the cookie. */
  cookieLo: number;
  /** Simple reply error, or the error of an ERROR chunk (NBD values; 0 = none). */
  error: number;
  /** Chunk flags (`NBD_REPLY_FLAG_DONE`); 1 (done) for simple replies. */
  flags: number;
  /** Chunk type (`NBD_REPLY_TYPE_*`); 0 for simple replies. */
  type: number;
  /** Export offset of OFFSET_DATA / OFFSET_HOLE chunks. */
  dataOffset: number;
  /** Hole size of an OFFSET_HOLE chunk. */
  holeSize: number;
  /**
   * Payload bytes still in the stream: the data of OFFSET_DATA, the message (and offset) of
   * ERROR chunks, the whole payload of other chunks; 0 for simple replies, whose READ data
   * length the caller knows from its request.
   */
  length: number;
  /** After `NBD_REPLY_NEED_MORE`: how many bytes must be buffered to parse the header. */
  need: number;
}

/**
 * A fresh, zeroed {@linkcode NbdReplyHeader}.
 *
 * @returns The header.
 */
export function newReplyHeader(): NbdReplyHeader {
  return {
    kind: NBD_REPLY_EOF,
    magic: 0,
    cookieHi: 0,
    cookieLo: 0,
    error: 0,
    flags: 0,
    type: 0,
    dataOffset: 0,
    holeSize: 0,
    length: 0,
    need: 0,
  };
}

/**
 * Reads the next reply header from `reader` into `out`.
 *
 * For a simple reply the 16-byte header is consumed; READ data (if `error` is 0) follows.
 * For a structured chunk the 20-byte header is consumed, and also the u64 offset of
 * OFFSET_DATA, the whole 12-byte OFFSET_HOLE payload, or the u32 error + u16 message length
 * of an error chunk; `out.length` bytes of payload remain in the stream.
 *
 * @param reader The reader positioned at a reply.
 * @param out The header to fill.
 * @returns `out.kind`.
 *
 * @example Parse a simple reply
 * ```ts
 * import assert from "node:assert/strict";
 * import { NbdReader } from "@ublk-ts/nbd";
 * import { newReplyHeader, readReplyHeader, NBD_REPLY_SIMPLE } from "@ublk-ts/nbd";
 * const bytes = new Uint8Array(16);
 * new DataView(bytes.buffer).setUint32(0, 0x67446698);
 * new DataView(bytes.buffer).setUint32(12, 9);
 * let sent = false;
 * const stream = {
 *   read(p: Uint8Array) {
 *     if (sent) return Promise.resolve(null);
 *     sent = true;
 *     p.set(bytes);
 *     return Promise.resolve(16);
 *   },
 *   write: (p: Uint8Array) => Promise.resolve(p.length),
 *   close() {},
 * };
 * const h = newReplyHeader();
 * assert.equal(await readReplyHeader(new NbdReader(stream), h), NBD_REPLY_SIMPLE);
 * assert.equal(h.cookieLo, 9);
 * ```
 */
export async function readReplyHeader(reader: NbdReader, out: NbdReplyHeader): Promise<number> {
  for (;;) {
    const kind = parseReplyHeader(reader, out);
    if (kind !== NBD_REPLY_NEED_MORE) return kind;
    if (!(await reader.ensure(out.need))) return out.kind = NBD_REPLY_EOF;
  }
}

/**
 * The synchronous half of {@linkcode readReplyHeader}: parses the next reply header if its
 * fixed part is already buffered, and otherwise consumes nothing, sets `out.need` to the
 * bytes that must be buffered first and returns {@linkcode NBD_REPLY_NEED_MORE}. Hot loops
 * call it first and fall back to the async form only when the socket must be read.
 *
 * @param reader The reader positioned at a reply.
 * @param out The header to fill.
 * @returns `out.kind`, or `NBD_REPLY_NEED_MORE`.
 */
export function parseReplyHeader(reader: NbdReader, out: NbdReplyHeader): number {
  const avail = reader.buffered();
  if (avail < 4) return needMore(out, 4);
  const v = reader.view;
  const s = reader.start;
  const magic = v.getUint32(s);
  if (magic === NBD_SIMPLE_REPLY_MAGIC) {
    if (avail < NBD_SIMPLE_REPLY_SIZE) return needMore(out, NBD_SIMPLE_REPLY_SIZE);
    out.magic = magic;
    out.error = v.getUint32(s + 4);
    out.cookieHi = v.getUint32(s + 8);
    out.cookieLo = v.getUint32(s + 12);
    out.flags = 1;
    out.type = 0;
    out.dataOffset = 0;
    out.holeSize = 0;
    out.length = 0;
    reader.consume(NBD_SIMPLE_REPLY_SIZE);
    return out.kind = NBD_REPLY_SIMPLE;
  }
  out.magic = magic;
  if (magic !== NBD_STRUCTURED_REPLY_MAGIC) return out.kind = NBD_REPLY_GARBAGE;
  if (avail < NBD_STRUCTURED_REPLY_SIZE) return needMore(out, NBD_STRUCTURED_REPLY_SIZE);
  const type = v.getUint16(s + 6);
  const length = v.getUint32(s + 16);
  let fixed = 0;
  if (type === NBD_REPLY_TYPE_OFFSET_DATA) {
    if (length < 8) return out.kind = NBD_REPLY_GARBAGE;
    fixed = 8;
  } else if (type === NBD_REPLY_TYPE_OFFSET_HOLE) {
    if (length !== 12) return out.kind = NBD_REPLY_GARBAGE;
    fixed = 12;
  } else if ((type & NBD_REPLY_TYPE_ERROR_BIT) !== 0) {
    if (length < 6) return out.kind = NBD_REPLY_GARBAGE;
    fixed = 6;
  }
  const total = NBD_STRUCTURED_REPLY_SIZE + fixed;
  if (avail < total) return needMore(out, total);
  const p = s + NBD_STRUCTURED_REPLY_SIZE;
  out.flags = v.getUint16(s + 4);
  out.type = type;
  out.cookieHi = v.getUint32(s + 8);
  out.cookieLo = v.getUint32(s + 12);
  out.error = 0;
  out.dataOffset = 0;
  out.holeSize = 0;
  out.length = length - fixed;
  if (type === NBD_REPLY_TYPE_OFFSET_DATA) {
    out.dataOffset = getU64(v, p);
  } else if (type === NBD_REPLY_TYPE_OFFSET_HOLE) {
    out.dataOffset = getU64(v, p);
    out.holeSize = v.getUint32(p + 8);
  } else if (fixed === 6) {
    out.error = v.getUint32(p);
    if (out.error === 0) return out.kind = NBD_REPLY_GARBAGE;
  }
  reader.consume(total);
  return out.kind = NBD_REPLY_CHUNK;
}

function needMore(out: NbdReplyHeader, need: number): number {
  out.need = need;
  return out.kind = NBD_REPLY_NEED_MORE;
}
