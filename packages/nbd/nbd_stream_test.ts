import assert from "node:assert/strict";
import {
  copyFromSegments,
  NbdReader,
  type NbdStream,
  writeAll,
  zeroSegments,
} from "./nbd_stream.ts";

/** A stream that yields `data` in pieces of at most `piece` bytes, then EOF. */
function chunked(data: Uint8Array, piece: number): NbdStream & { reads: number[] } {
  let pos = 0;
  const reads: number[] = [];
  return {
    reads,
    read(p: Uint8Array): Promise<number | null> {
      reads.push(p.length);
      if (pos >= data.length) return Promise.resolve(null);
      const n = Math.min(piece, p.length, data.length - pos);
      p.set(data.subarray(pos, pos + n));
      pos += n;
      return Promise.resolve(n);
    },
    write: (p: Uint8Array) => Promise.resolve(Math.min(p.length, 3)),
    close(): void {},
  };
}

function seq(n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => i & 255);
}

Deno.test("`NbdReader.ensure()` assembles headers from 1-byte reads and reports EOF", async () => {
  const r = new NbdReader(chunked(seq(10), 1), 4096);
  assert.equal(await r.ensure(8), true);
  assert.equal(r.view.getUint8(r.start + 7), 7);
  r.consume(8);
  assert.equal(r.buffered(), 0);
  assert.equal(await r.ensure(4), false);
  assert.equal(r.buffered(), 2);
});

Deno.test("`NbdReader.ensure()` compacts when a header wraps the buffer end", async () => {
  const data = seq(4096 + 100);
  const r = new NbdReader(chunked(data, 4000), 4096);
  assert.equal(await r.ensure(4000), true);
  r.consume(3990);
  assert.equal(await r.ensure(100), true);
  assert.equal(r.bytes[r.start], data[3990]);
  assert.equal(r.bytes[r.start + 99], data[4089]);
  await assert.rejects(Promise.resolve(r.ensure(5000)), RangeError);
});

Deno.test("`NbdReader.readIntoSegments()` fills segments across buffer and direct reads", async () => {
  const data = seq(20000);
  const s = chunked(data, 3000);
  const r = new NbdReader(s, 4096);
  assert.equal(await r.ensure(16), true);
  r.consume(16);
  const segs = [new Uint8Array(100), new Uint8Array(9000), new Uint8Array(10000)];
  assert.equal(await r.readIntoSegments(segs, 50, 15000), true);
  const flat = new Uint8Array(19100);
  copyFromSegments(flat, 0, segs, 0, 19100);
  assert.deepEqual(flat.subarray(50, 15050), data.subarray(16, 15016));
  assert.ok(flat.subarray(0, 50).every((x) => x === 0));
  assert.ok(s.reads.some((n) => n > 4096), "large remainders go straight to the segment");
  assert.equal(await r.readIntoSegments(segs, 0, 5000), false, "EOF mid-payload");
});

Deno.test("`NbdReader.skip()` and `takeInto()` move past payloads", async () => {
  const r = new NbdReader(chunked(seq(10000), 700), 4096);
  assert.equal(await r.skip(9000), true);
  assert.equal(await r.ensure(1), true);
  assert.equal(r.bytes[r.start], 9000 & 255);
  const dst = new Uint8Array(5000);
  const n = r.takeInto(dst);
  assert.ok(n > 0 && n <= r.capacity);
  assert.equal(dst[0], 9000 & 255);
  assert.equal(await r.skip(5000), false);
});

Deno.test("`writeAll()` loops over short writes", async () => {
  const got: number[] = [];
  const s: NbdStream = {
    read: () => Promise.resolve(null),
    write(p: Uint8Array): Promise<number> {
      got.push(...p.subarray(0, 3));
      return Promise.resolve(Math.min(3, p.length));
    },
    close(): void {},
  };
  await writeAll(s, seq(10));
  assert.deepEqual(got, [...seq(10)]);
});

Deno.test("`zeroSegments()` and `copyFromSegments()` address positions across segments", () => {
  const segs = [new Uint8Array(3).fill(1), new Uint8Array(4).fill(2), new Uint8Array(5).fill(3)];
  zeroSegments(segs, 2, 6);
  assert.deepEqual([...segs[0]!, ...segs[1]!, ...segs[2]!], [1, 1, 0, 0, 0, 0, 0, 0, 3, 3, 3, 3]);
  const out = new Uint8Array(6);
  copyFromSegments(out, 1, segs, 7, 5);
  assert.deepEqual([...out], [0, 0, 3, 3, 3, 3]);
});

Deno.test("`NbdReader.tryReadIntoSegments()` and `trySkip()` act only on buffered bytes", async () => {
  const r = new NbdReader(chunked(seq(100), 60), 4096);
  assert.equal(await r.ensure(60), true);
  const segs = [new Uint8Array(10), new Uint8Array(10)];
  assert.equal(r.tryReadIntoSegments(segs, 5, 61), false);
  assert.equal(r.buffered(), 60);
  assert.equal(r.tryReadIntoSegments(segs, 5, 12), true);
  assert.deepEqual([...segs[0]!], [0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
  assert.deepEqual([...segs[1]!], [5, 6, 7, 8, 9, 10, 11, 0, 0, 0]);
  assert.equal(r.trySkip(49), false);
  assert.equal(r.trySkip(48), true);
  assert.equal(r.buffered(), 0);
});
