import assert from "node:assert/strict";
import { BvecIter, ITER_DEST, ITER_SOURCE } from "./bvec_iter.ts";

function range(): { it: BvecIter; segs: Uint8Array[] } {
  const segs = [new Uint8Array(4), new Uint8Array(4), new Uint8Array(4)];
  const it = new BvecIter();
  it.set(segs, 0, 2, 8, 3, ITER_SOURCE); // bytes 2..9 of the 12
  return { it, segs };
}

Deno.test("`BvecIter` starts empty", () => {
  const it = new BvecIter();
  assert.equal(it.count, 0);
  assert.equal(it.nrSegs, 0);
  assert.equal(it.dir, ITER_DEST);
  assert.deepEqual(it.views(), []);
  assert.equal(it.copyFrom(new Uint8Array(3)), 0);
  assert.equal(it.copyTo(new Uint8Array(3)), 0);
  assert.equal(it.fill(1), 0);
});

Deno.test("`BvecIter.views()` reuses the out array and views the segments", () => {
  const { it, segs } = range();
  const out: Uint8Array[] = [new Uint8Array(1), new Uint8Array(1), new Uint8Array(1)];
  out.push(new Uint8Array(1));
  assert.equal(it.views(out), out);
  assert.equal(out.length, 3);
  assert.deepEqual(out.map((v) => [v.byteOffset, v.length]), [[2, 2], [0, 4], [0, 2]]);
  assert.equal(out[1], segs[1]); // whole segment: no new view
  assert.equal(out[0]!.buffer, segs[0]!.buffer);
});

Deno.test("`BvecIter.copyFrom()` writes across segments and clamps to count", () => {
  const { it, segs } = range();
  assert.equal(it.copyFrom(Uint8Array.from({ length: 10 }, (_, i) => i + 1)), 8);
  assert.deepEqual(segs.flatMap((s) => [...s]), [0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0]);
  assert.equal(it.copyFrom(new Uint8Array([9, 9, 9])), 3);
  assert.deepEqual(segs.flatMap((s) => [...s]), [0, 0, 9, 9, 9, 4, 5, 6, 7, 8, 0, 0]);
});

Deno.test("`BvecIter.copyTo()` reads across segments and clamps to dst", () => {
  const { it, segs } = range();
  segs.forEach((s, k) => s.forEach((_, i) => (s[i] = k * 4 + i)));
  const dst = new Uint8Array(10);
  assert.equal(it.copyTo(dst), 8);
  assert.deepEqual([...dst], [2, 3, 4, 5, 6, 7, 8, 9, 0, 0]);
  const small = new Uint8Array(3);
  assert.equal(it.copyTo(small), 3);
  assert.deepEqual([...small], [2, 3, 4]);
});

Deno.test("`BvecIter.fill()` and `forEachSegment()` cover exactly the range", () => {
  const { it, segs } = range();
  assert.equal(it.fill(0xff), 8);
  assert.deepEqual(segs.flatMap((s) => [...s]), [0, 0, ...new Array(8).fill(0xff), 0, 0]);
  const seen: [number, number, number][] = [];
  it.forEachSegment((seg, start, end) => seen.push([segs.indexOf(seg), start, end]));
  assert.deepEqual(seen, [[0, 2, 4], [1, 0, 4], [2, 0, 2]]);
});

Deno.test("`BvecIter.reset()` empties the iterator", () => {
  const { it } = range();
  it.reset();
  assert.equal(it.count, 0);
  assert.equal(it.bvecs.length, 0);
  assert.equal(it.dir, ITER_DEST);
});
