import assert from "node:assert/strict";
import {
  allocIoMemory,
  IO_PAGE_SIZE,
  ioAddressOf,
  type IoMapping,
  ioMemoryInfo,
  isIoAligned,
  setIoMemoryProvider,
} from "./io_memory.ts";

function realAddress(bytes: Uint8Array): number {
  return Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(bytes as Uint8Array<ArrayBuffer>)));
}

Deno.test("allocIoMemory() gives page-aligned real addresses for every size", () => {
  for (const n of [0, 1, 512, 4096, 4097, 64 * 1024, 512 * 1024, 1 << 20, 3 << 20]) {
    const b = allocIoMemory(n);
    assert.equal(b.length, n);
    if (n === 0) continue;
    const real = realAddress(b);
    assert.equal(real % IO_PAGE_SIZE, 0, `size ${n}: address ${real}`);
    assert.equal(ioAddressOf(b), real, `size ${n}: cached address`);
    assert.ok(isIoAligned(b));
  }
});

Deno.test("allocIoMemory() never lets two allocations share a page", () => {
  const a = allocIoMemory(100);
  const b = allocIoMemory(100);
  a.fill(1);
  assert.equal(b[0], 0);
  if (a.buffer === b.buffer) {
    assert.ok(Math.abs(b.byteOffset - a.byteOffset) >= IO_PAGE_SIZE);
  }
});

Deno.test("ioAddressOf() of a view inside an arena adds its offset", () => {
  const b = allocIoMemory(16384);
  assert.equal(ioAddressOf(b.subarray(512)), ioAddressOf(b) + 512);
  assert.ok(isIoAligned(b.subarray(512), 512));
  assert.ok(!isIoAligned(b.subarray(512), 4096));
  assert.ok(!isIoAligned(b.subarray(16), 64));
});

Deno.test("isIoAligned() sees that a fresh Uint8Array is usually not page-aligned", () => {
  // Not asserted per array (the heap may hand out an aligned one): over many, some are not.
  const arrays = Array.from({ length: 16 }, () => new Uint8Array(256 * 1024));
  assert.ok(arrays.some((a) => !isIoAligned(a)));
  for (const a of arrays) assert.equal(ioAddressOf(a), realAddress(a));
});

Deno.test("allocIoMemory() rejects bad lengths and alignments", () => {
  assert.throws(() => allocIoMemory(-1), RangeError);
  assert.throws(() => allocIoMemory(1.5), RangeError);
  assert.throws(() => allocIoMemory(8, { align: 3 }), RangeError);
  assert.throws(() => allocIoMemory(8, { align: 8192 }), RangeError);
});

Deno.test("setIoMemoryProvider() takes arenas from the provider and checks them", () => {
  const maps: number[] = [];
  const backing: ArrayBuffer[] = [];
  setIoMemoryProvider({
    name: "test",
    map(bytes: number): IoMapping | null {
      maps.push(bytes);
      // A page-aligned region of a larger buffer stands in for an mmap.
      const big = new ArrayBuffer(bytes + IO_PAGE_SIZE);
      const base = realAddress(new Uint8Array(big));
      const skew = (IO_PAGE_SIZE - (base % IO_PAGE_SIZE)) % IO_PAGE_SIZE;
      backing.push(big);
      return { buffer: big.slice(0, 0), address: base + skew }; // wrong length: refused
    },
  });
  try {
    assert.throws(() => allocIoMemory(2 << 20), RangeError);
    assert.deepEqual(maps, [2 << 20]);
    assert.equal(ioMemoryInfo().provider, "test");
  } finally {
    setIoMemoryProvider(null);
  }
  let declined = 0;
  setIoMemoryProvider({ name: "declines", map: () => (declined++, null) });
  try {
    const b = allocIoMemory(2 << 20);
    assert.equal(declined, 1);
    assert.equal(realAddress(b) % IO_PAGE_SIZE, 0);
  } finally {
    setIoMemoryProvider(null);
  }
  assert.equal(ioMemoryInfo().provider, "arraybuffer");
});
