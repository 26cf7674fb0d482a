import assert from "node:assert/strict";
import fc from "fast-check";
import { EFAULT, EINVAL } from "@ublk-ts/uapi";
import { BvecIter, ITER_DEST, ITER_SOURCE } from "./bvec_iter.ts";
import { MappedBuffer } from "./mapped_buffer.ts";

function seq(n: number, start = 0): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (start + i) & 0xff;
  return b;
}

function gather(it: BvecIter): number[] {
  return it.views().flatMap((v) => [...v]);
}

Deno.test("`MappedBuffer.fromBytes()` has one bvec, offset 0, len of the bytes", () => {
  const b = MappedBuffer.fromBytes(new Uint8Array(10000));
  assert.equal(b.len, 10000);
  assert.equal(b.offset, 0);
  assert.equal(b.nrBvecs, 1);
  assert.equal(b.acctPages, 3);
});

Deno.test("`MappedBuffer.fromBytes()` of empty bytes has no bvec; imports give -EINVAL", () => {
  const b = MappedBuffer.fromBytes(new Uint8Array(0));
  assert.equal(b.len, 0);
  assert.equal(b.nrBvecs, 0);
  assert.equal(b.acctPages, 0);
  const it = new BvecIter();
  assert.equal(b.importRange(0, 0, ITER_DEST, it), -EINVAL);
  assert.equal(b.importRange(0, 1, ITER_DEST, it), -EINVAL);
  assert.equal(b.importRange(1, 0, ITER_DEST, it), -EINVAL);
  assert.equal(b.copyTo(new Uint8Array(0), 0), -EINVAL);
  assert.equal(MappedBuffer.fromSegments([]).importRange(0, 0, ITER_DEST, it), -EINVAL);
});

Deno.test("`importRange()` of len 0 on a zero-length view of a bvec succeeds", () => {
  const b = MappedBuffer.fromSegments([new Uint8Array(8)], { offset: 3, len: 0 });
  assert.equal(b.len, 0);
  assert.equal(b.nrBvecs, 1);
  const it = new BvecIter();
  assert.equal(b.importRange(0, 0, ITER_DEST, it), 0);
  assert.equal(it.count, 0);
  assert.equal(b.importRange(0, 1, ITER_DEST, it), -EFAULT);
});

Deno.test("`MappedBuffer.fromSegments()` applies offset and default len", () => {
  const b = MappedBuffer.fromSegments([seq(100), seq(50, 100)], { offset: 30 });
  assert.equal(b.len, 120);
  assert.equal(b.offset, 30);
  assert.equal(b.nrBvecs, 2);
  const out = new Uint8Array(120);
  assert.equal(b.copyTo(out, 0), 120);
  assert.deepEqual([...out], [...seq(120, 30)]);
});

Deno.test("`MappedBuffer.fromSegments()` honours an explicit shorter len", () => {
  const b = MappedBuffer.fromSegments([seq(100), seq(50, 100)], { offset: 10, len: 95 });
  assert.equal(b.len, 95);
  const it = new BvecIter();
  assert.equal(b.importRange(0, 95, ITER_SOURCE, it), 0);
  assert.equal(it.nrSegs, 2);
  assert.deepEqual(gather(it), [...seq(95, 10)]);
  assert.equal(b.importRange(0, 96, ITER_SOURCE, it), -EFAULT);
});

Deno.test("`MappedBuffer.fromSegments()` rejects bad arguments", () => {
  assert.throws(() => MappedBuffer.fromSegments([new Uint8Array(0)]), RangeError);
  assert.throws(
    () => MappedBuffer.fromSegments([new Uint8Array(4)], { offset: 4 }),
    RangeError,
  );
  assert.throws(
    () => MappedBuffer.fromSegments([new Uint8Array(4), new Uint8Array(4)], { offset: 5 }),
    RangeError,
  );
  assert.throws(() => MappedBuffer.fromSegments([new Uint8Array(4)], { offset: -1 }), RangeError);
  assert.throws(() => MappedBuffer.fromSegments([new Uint8Array(4)], { len: 5 }), RangeError);
  assert.throws(
    () => MappedBuffer.fromSegments([new Uint8Array(4)], { offset: 1, len: 4 }),
    RangeError,
  );
  assert.throws(() => MappedBuffer.fromSegments([], { offset: 1 }), RangeError);
  assert.throws(
    () => MappedBuffer.fromSegments([[1, 2] as unknown as Uint8Array]),
    TypeError,
  );
});

Deno.test("`MappedBuffer` is immutable: frozen table and instance", () => {
  const segs = [new Uint8Array(8)];
  const b = MappedBuffer.fromSegments(segs);
  assert.ok(Object.isFrozen(b.bvecs));
  assert.ok(Object.isFrozen(b));
  segs.push(new Uint8Array(8)); // the caller's array is not the table
  assert.equal(b.nrBvecs, 1);
  assert.throws(() => (b.bvecs as Uint8Array[]).push(new Uint8Array(1)), TypeError);
  assert.throws(() => ((b as { len: number }).len = 1), TypeError);
});

Deno.test("`MappedBuffer.acctPages` counts 4 KiB pages touched", () => {
  const ab = new ArrayBuffer(3 * 4096);
  const b = MappedBuffer.fromSegments([new Uint8Array(ab, 4000, 200)]);
  assert.equal(b.acctPages, 2);
  const c = MappedBuffer.fromSegments([new Uint8Array(ab, 0, 4096), new Uint8Array(ab, 8192, 1)]);
  assert.equal(c.acctPages, 2);
  const d = MappedBuffer.fromSegments([new Uint8Array(ab)], { offset: 4096, len: 4096 });
  assert.equal(d.acctPages, 1);
});

Deno.test("`importRange()` views write through to the original memory (no copy)", () => {
  const p0 = new Uint8Array(16);
  const p1 = new Uint8Array(16);
  const b = MappedBuffer.fromSegments([p0, p1], { offset: 4 });
  const it = new BvecIter();
  assert.equal(b.importRange(10, 4, ITER_DEST, it), 0);
  const views = it.views();
  assert.equal(views.length, 2);
  assert.equal(views[0]!.buffer, p0.buffer);
  assert.equal(views[1]!.buffer, p1.buffer);
  views[0]!.fill(0xaa);
  views[1]!.fill(0xbb);
  // offset 4 + addr 10 = p0[14..16) then p1[0..2)
  assert.deepEqual([...p0.subarray(12)], [0, 0, 0xaa, 0xaa]);
  assert.deepEqual([...p1.subarray(0, 4)], [0xbb, 0xbb, 0, 0]);
});

Deno.test("`importRange()` fills the iterator fields for a range in the second segment", () => {
  const b = MappedBuffer.fromSegments([seq(8), seq(8, 8), seq(8, 16)], { offset: 3 });
  const it = new BvecIter();
  assert.equal(b.importRange(5, 8, ITER_SOURCE, it), 0);
  assert.equal(it.index, 1);
  assert.equal(it.iovOffset, 0);
  assert.equal(it.count, 8);
  assert.equal(it.nrSegs, 1);
  assert.equal(it.dir, ITER_SOURCE);
  assert.equal(it.views()[0], b.bvecs[1]); // a whole bvec is handed out as is
  assert.equal(b.importRange(4, 10, ITER_DEST, it), 0);
  assert.equal(it.index, 0);
  assert.equal(it.iovOffset, 7);
  assert.equal(it.nrSegs, 3);
  assert.deepEqual(gather(it), [...seq(10, 7)]);
});

Deno.test("`importRange()` boundaries: addr == len with len 0, end at bufLen, one past", () => {
  const b = MappedBuffer.fromSegments([seq(5), seq(7, 5)], { offset: 2 }); // len 10
  const it = new BvecIter();
  assert.equal(b.importRange(10, 0, ITER_DEST, it), 0);
  assert.equal(it.count, 0);
  assert.equal(it.nrSegs, 0);
  assert.deepEqual(it.views(), []);
  assert.equal(b.importRange(6, 4, ITER_DEST, it), 0);
  assert.deepEqual(gather(it), [8, 9, 10, 11]);
  assert.equal(b.importRange(0, 10, ITER_DEST, it), 0);
  assert.equal(b.importRange(6, 5, ITER_DEST, it), -EFAULT);
  assert.equal(b.importRange(11, 0, ITER_DEST, it), -EFAULT);
  assert.equal(b.importRange(0, 11, ITER_DEST, it), -EFAULT);
  assert.equal(b.importRange(-1, 1, ITER_DEST, it), -EFAULT);
  assert.equal(b.importRange(0, -1, ITER_DEST, it), -EFAULT);
  assert.equal(b.importRange(0.5, 1, ITER_DEST, it), -EFAULT);
  assert.equal(b.importRange(NaN, 1, ITER_DEST, it), -EFAULT);
  assert.equal(b.importRange(0, NaN, ITER_DEST, it), -EFAULT);
  assert.equal(b.importRange(Number.MAX_SAFE_INTEGER, 1, ITER_DEST, it), -EFAULT);
});

Deno.test("`importRange()` leaves the iterator unchanged on -EFAULT", () => {
  const b = MappedBuffer.fromBytes(seq(8));
  const it = new BvecIter();
  assert.equal(b.importRange(2, 3, ITER_SOURCE, it), 0);
  assert.equal(b.importRange(2, 30, ITER_DEST, it), -EFAULT);
  assert.equal(it.iovOffset, 2);
  assert.equal(it.count, 3);
  assert.equal(it.dir, ITER_SOURCE);
});

Deno.test("`copyFrom()` and `copyTo()` round-trip across segments and fail with -EFAULT", () => {
  const b = MappedBuffer.fromSegments([new Uint8Array(3), new Uint8Array(3), new Uint8Array(3)], {
    offset: 1,
  });
  assert.equal(b.copyFrom(seq(6, 1), 1), 6);
  const out = new Uint8Array(8);
  assert.equal(b.copyTo(out, 0), 8);
  assert.deepEqual([...out], [0, 1, 2, 3, 4, 5, 6, 0]);
  assert.deepEqual([...b.bvecs[0]!], [0, 0, 1]);
  assert.equal(b.copyFrom(new Uint8Array(2), 7), -EFAULT);
  assert.equal(b.copyTo(new Uint8Array(9), 0), -EFAULT);
  assert.equal(b.copyTo(new Uint8Array(0), 8), 0);
});

Deno.test("`acquire()`/`release()` count leases and call onLastRelease once at zero", () => {
  let calls = 0;
  let seen: MappedBuffer | undefined;
  const b = MappedBuffer.fromBytes(new Uint8Array(4), {
    onLastRelease: (x) => {
      calls++;
      seen = x;
    },
  });
  assert.equal(b.leases, 0);
  assert.equal(b.acquire(), b);
  b.acquire();
  b.acquire();
  assert.equal(b.leases, 3);
  b.release();
  b.release();
  assert.equal(calls, 0);
  b.release();
  assert.equal(calls, 1);
  assert.equal(seen, b);
  assert.equal(b.leases, 0);
  assert.throws(() => b.release(), RangeError);
  assert.equal(calls, 1);
  b.acquire();
  b.release();
  assert.equal(calls, 2);
});

Deno.test("`importRange()` matches a flat reference or returns -EFAULT exactly out of range", () => {
  const segmentation = fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 0, maxLength: 8 });
  fc.assert(
    fc.property(
      segmentation,
      fc.nat(60),
      fc.nat(80),
      fc.nat(200),
      fc.nat(200),
      fc.boolean(),
      (sizes, offsetSeed, lenTrim, addr, len, shorter) => {
        const total = sizes.reduce((a, b) => a + b, 0);
        const segs = [];
        let k = 0;
        for (const s of sizes) {
          segs.push(seq(s, k));
          k += s;
        }
        const offset = sizes.length === 0 ? 0 : offsetSeed % sizes[0]!;
        const maxLen = total - offset;
        const bufLen = shorter ? Math.max(0, maxLen - lenTrim) : maxLen;
        const b = MappedBuffer.fromSegments(segs, { offset, len: bufLen });
        const flat = seq(total).subarray(offset, offset + bufLen);
        const it = new BvecIter();
        const r = b.importRange(addr, len, ITER_DEST, it);
        if (sizes.length === 0) {
          assert.equal(r, -EINVAL);
          return;
        }
        const outOfRange = addr > bufLen || len > bufLen - addr;
        if (outOfRange) {
          assert.equal(r, -EFAULT);
          return;
        }
        assert.equal(r, 0);
        assert.equal(it.count, len);
        const views = it.views();
        assert.equal(views.length, it.nrSegs);
        for (const v of views) assert.ok(v.length > 0);
        assert.deepEqual(views.flatMap((v) => [...v]), [...flat.subarray(addr, addr + len)]);
        const copied = new Uint8Array(len);
        assert.equal(it.copyTo(copied), len);
        assert.deepEqual([...copied], [...flat.subarray(addr, addr + len)]);
      },
    ),
    { numRuns: 2000 },
  );
});

Deno.test("`MappedBuffer.fromPages()` cuts at page boundaries of the ArrayBuffer", () => {
  const ab = new ArrayBuffer(4 * 4096);
  const bytes = new Uint8Array(ab, 4000, 8400); // 96 + 4096 + 4096 + 112
  const b = MappedBuffer.fromPages(bytes);
  assert.equal(b.len, 8400);
  assert.equal(b.offset, 0);
  assert.deepEqual(b.bvecs.map((s) => [s.byteOffset, s.length]), [
    [4000, 96],
    [4096, 4096],
    [8192, 4096],
    [12288, 112],
  ]);
  assert.equal(b.acctPages, 4);
  const small = MappedBuffer.fromPages(new Uint8Array(ab, 0, 10), { pageSize: 4 });
  assert.deepEqual(small.bvecs.map((s) => s.length), [4, 4, 2]);
  assert.equal(MappedBuffer.fromPages(new Uint8Array(0)).nrBvecs, 0);
  assert.throws(() => MappedBuffer.fromPages(bytes, { pageSize: 0 }), RangeError);
});
