import assert from "node:assert/strict";
import {
  encodeChunkHeader,
  encodeErrorChunk,
  encodeOffsetHole,
  encodeSimpleReply,
  NBD_REPLY_FLAG_DONE,
  NBD_REPLY_TYPE_BLOCK_STATUS,
  NBD_REPLY_TYPE_ERROR,
  NBD_REPLY_TYPE_OFFSET_DATA,
  NBD_REPLY_TYPE_OFFSET_HOLE,
  setU64,
} from "./nbd_proto.ts";
import {
  NBD_REPLY_CHUNK,
  NBD_REPLY_EOF,
  NBD_REPLY_GARBAGE,
  NBD_REPLY_NEED_MORE,
  NBD_REPLY_SIMPLE,
  newReplyHeader,
  parseReplyHeader,
  readReplyHeader,
} from "./nbd_reply.ts";
import { NbdReader, type NbdStream } from "./nbd_stream.ts";

function streamOf(bytes: Uint8Array): NbdStream {
  let pos = 0;
  return {
    read(p: Uint8Array): Promise<number | null> {
      if (pos >= bytes.length) return Promise.resolve(null);
      const n = Math.min(p.length, bytes.length - pos, 7); // odd pieces
      p.set(bytes.subarray(pos, pos + n));
      pos += n;
      return Promise.resolve(n);
    },
    write: (p: Uint8Array) => Promise.resolve(p.length),
    close(): void {},
  };
}

Deno.test("`readReplyHeader()` parses a simple reply, then data chunks, holes and errors", async () => {
  const b = new Uint8Array(256);
  const v = new DataView(b.buffer);
  let p = 0;
  encodeSimpleReply(v, p, { error: 0, cookie: (3n << 32n) | 1n });
  p += 16;
  encodeChunkHeader(v, p, {
    flags: 0,
    type: NBD_REPLY_TYPE_OFFSET_DATA,
    cookie: 4n << 32n,
    length: 8 + 5,
  });
  setU64(v, p + 20, 4096);
  b.set([1, 2, 3, 4, 5], p + 28);
  p += 33;
  encodeChunkHeader(v, p, {
    flags: 0,
    type: NBD_REPLY_TYPE_OFFSET_HOLE,
    cookie: 4n << 32n,
    length: 12,
  });
  encodeOffsetHole(v, p + 20, { offset: 4101, size: 11 });
  p += 32;
  encodeChunkHeader(v, p, {
    flags: NBD_REPLY_FLAG_DONE,
    type: NBD_REPLY_TYPE_ERROR,
    cookie: 9n,
    length: 6 + 2,
  });
  encodeErrorChunk(v, p + 20, { error: 28, messageLength: 2 });
  b.set([104, 105], p + 26);
  p += 28;
  encodeChunkHeader(v, p, { flags: 1, type: NBD_REPLY_TYPE_BLOCK_STATUS, cookie: 9n, length: 3 });
  p += 23;
  const r = new NbdReader(streamOf(b.subarray(0, p)), 4096);
  const h = newReplyHeader();
  assert.equal(await readReplyHeader(r, h), NBD_REPLY_SIMPLE);
  assert.deepEqual([h.cookieHi, h.cookieLo, h.error, h.flags], [3, 1, 0, 1]);
  assert.equal(await readReplyHeader(r, h), NBD_REPLY_CHUNK);
  assert.deepEqual([h.type, h.dataOffset, h.length, h.cookieHi], [1, 4096, 5, 4]);
  const data = new Uint8Array(5);
  assert.equal(await r.readInto(data), true);
  assert.deepEqual([...data], [1, 2, 3, 4, 5]);
  assert.equal(await readReplyHeader(r, h), NBD_REPLY_CHUNK);
  assert.deepEqual([h.type, h.dataOffset, h.holeSize, h.length], [2, 4101, 11, 0]);
  assert.equal(await readReplyHeader(r, h), NBD_REPLY_CHUNK);
  assert.deepEqual([h.error, h.length, h.flags, h.cookieLo], [28, 2, 1, 9]);
  assert.equal(await r.skip(h.length), true);
  assert.equal(await readReplyHeader(r, h), NBD_REPLY_CHUNK);
  assert.deepEqual([h.type, h.length], [5, 3]);
  assert.equal(await r.skip(3), true);
  assert.equal(await readReplyHeader(r, h), NBD_REPLY_EOF);
});

Deno.test("`readReplyHeader()` reports garbage magic and malformed chunks", async () => {
  const h = newReplyHeader();
  const g = new Uint8Array(16).fill(0xde);
  assert.equal(await readReplyHeader(new NbdReader(streamOf(g)), h), NBD_REPLY_GARBAGE);
  assert.equal(h.magic, 0xdededede);
  const b = new Uint8Array(40);
  const v = new DataView(b.buffer);
  encodeChunkHeader(v, 0, { flags: 1, type: NBD_REPLY_TYPE_OFFSET_HOLE, cookie: 1n, length: 11 });
  assert.equal(await readReplyHeader(new NbdReader(streamOf(b)), h), NBD_REPLY_GARBAGE);
  encodeChunkHeader(v, 0, { flags: 1, type: NBD_REPLY_TYPE_ERROR, cookie: 1n, length: 6 });
  encodeErrorChunk(v, 20, { error: 0, messageLength: 0 });
  assert.equal(await readReplyHeader(new NbdReader(streamOf(b)), h), NBD_REPLY_GARBAGE);
});

Deno.test("`readReplyHeader()` reports EOF mid-header", async () => {
  const b = new Uint8Array(16);
  encodeSimpleReply(new DataView(b.buffer), 0, { error: 0, cookie: 1n });
  const h = newReplyHeader();
  assert.equal(await readReplyHeader(new NbdReader(streamOf(b.subarray(0, 10))), h), NBD_REPLY_EOF);
  assert.equal(await readReplyHeader(new NbdReader(streamOf(new Uint8Array(0))), h), NBD_REPLY_EOF);
});

Deno.test("`parseReplyHeader()` asks for more bytes without consuming any", async () => {
  const b = new Uint8Array(40);
  const v = new DataView(b.buffer);
  encodeChunkHeader(v, 0, {
    flags: 1,
    type: NBD_REPLY_TYPE_OFFSET_DATA,
    cookie: 2n,
    length: 8 + 4,
  });
  setU64(v, 20, 512);
  const r = new NbdReader(streamOf(b.subarray(0, 32)), 4096);
  const h = newReplyHeader();
  assert.equal(parseReplyHeader(r, h), NBD_REPLY_NEED_MORE);
  assert.equal(h.need, 4);
  assert.equal(await r.ensure(7), true); // one 7-byte piece
  assert.equal(parseReplyHeader(r, h), NBD_REPLY_NEED_MORE);
  assert.equal(h.need, 20);
  assert.equal(r.buffered(), 7);
  assert.equal(await r.ensure(21), true);
  assert.equal(parseReplyHeader(r, h), NBD_REPLY_NEED_MORE);
  assert.equal(h.need, 28, "OFFSET_DATA needs its u64 offset too");
  assert.equal(await r.ensure(28), true);
  assert.equal(parseReplyHeader(r, h), NBD_REPLY_CHUNK);
  assert.deepEqual([h.dataOffset, h.length, h.cookieLo], [512, 4, 2]);
});

Deno.test("zero-copy split: buffered payload bytes via `takeInto()`, the rest from the stream", async () => {
  // A simple READ reply with 10000 bytes of data, delivered 7 bytes at a time.
  const data = Uint8Array.from({ length: 10000 }, (_, i) => (i * 7) & 255);
  const wire = new Uint8Array(16 + data.length);
  encodeSimpleReply(new DataView(wire.buffer), 0, { error: 0, cookie: 1n });
  wire.set(data, 16);
  const stream = streamOf(wire);
  const r = new NbdReader(stream, 4096);
  const h = newReplyHeader();
  assert.equal(await readReplyHeader(r, h), NBD_REPLY_SIMPLE);
  // The caller (say io_uring RECV into request pages) owns the payload from here on.
  const pages = new Uint8Array(data.length);
  let got = r.takeInto(pages);
  assert.equal(r.buffered(), 0);
  while (got < pages.length) {
    const n = await stream.read(pages.subarray(got));
    assert.ok(n !== null);
    got += n;
  }
  assert.deepEqual(pages, data);
});
