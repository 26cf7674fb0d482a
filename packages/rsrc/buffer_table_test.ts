import assert from "node:assert/strict";
import { EBUSY, EFAULT, EINVAL, ENXIO, EOVERFLOW } from "@ublk-ts/uapi";
import {
  BufferTable,
  IORING_MAX_REG_BUFFERS,
  MAX_REG_BUFFER_BYTES,
  MAX_RW_COUNT,
  RegisteredBuffer,
} from "./buffer_table.ts";
import { BvecIter, ITER_DEST, ITER_SOURCE } from "./bvec_iter.ts";

/** A table whose buffers sit at 0x10000 * (slot order of first sight). */
function table(freed: RegisteredBuffer[] = []): BufferTable {
  const bases = new Map<Uint8Array, bigint>();
  return new BufferTable({
    addressOf: (b) => {
      let a = bases.get(b);
      if (a === undefined) bases.set(b, a = 0x10000n * BigInt(bases.size + 1));
      return a;
    },
    onFree: (b) => freed.push(b),
  });
}

function ok<T>(x: T | number): T {
  if (typeof x === "number") throw new assert.AssertionError({ message: `got errno ${x}` });
  return x;
}

Deno.test("`BufferTable.register()` fills dense slots with fixed bases", () => {
  const t = table();
  const a = new Uint8Array(8192);
  const b = new Uint8Array(100);
  assert.equal(t.registered, false);
  assert.equal(t.register([a, b]), 0);
  assert.equal(t.registered, true);
  assert.equal(t.nr, 2);
  assert.equal(t.liveCount, 2);
  const e0 = ok(t.lookup(0));
  const e1 = ok(t.lookup(1));
  assert.equal(e0.bytes, a);
  assert.equal(e0.base, 0x10000n);
  assert.equal(e0.len, 8192);
  assert.equal(e0.acctPages, 2);
  assert.equal(e0.index, 0);
  assert.equal(e1.base, 0x20000n);
  assert.equal(e1.index, 1);
  assert.equal(e0.refs, 1); // the table's
});

Deno.test("`BufferTable.register()` twice gives -EBUSY, also for sparse", () => {
  const t = table();
  assert.equal(t.register([new Uint8Array(1)]), 0);
  assert.equal(t.register([new Uint8Array(1)]), -EBUSY);
  assert.equal(t.registerSparse(4), -EBUSY);
  assert.equal(t.nr, 1);
});

Deno.test("`BufferTable.register()` rejects nr 0 and nr > IORING_MAX_REG_BUFFERS with -EINVAL", () => {
  const t = table();
  assert.equal(t.register([]), -EINVAL);
  const one = new Uint8Array(4096);
  const many = new Array<Uint8Array>(IORING_MAX_REG_BUFFERS + 1).fill(one);
  assert.equal(t.register(many), -EINVAL);
  assert.equal(t.registered, false);
  assert.equal(t.register(many.slice(1)), 0);
  assert.equal(t.nr, 16384);
});

Deno.test("`BufferTable.register()` fails whole with -EFAULT on an empty buffer", () => {
  const freed: RegisteredBuffer[] = [];
  const t = table(freed);
  assert.equal(t.register([new Uint8Array(8), new Uint8Array(0)]), -EFAULT);
  assert.equal(t.registered, false);
  assert.equal(t.liveCount, 0);
  assert.equal(freed.length, 1); // the first one was built, then released
  assert.equal(t.register([new Uint8Array(8)]), 0);
});

Deno.test("`BufferTable.register()` gives -EFAULT above 1 GiB and accepts exactly 1 GiB", () => {
  const t = table();
  const big = new Uint8Array(MAX_REG_BUFFER_BYTES + 1);
  assert.equal(t.register([big]), -EFAULT);
  assert.equal(t.register([big.subarray(0, MAX_REG_BUFFER_BYTES)]), 0);
});

Deno.test("`BufferTable.register()` with null leaves the slot empty (-EFAULT on lookup)", () => {
  const t = table();
  assert.equal(t.register([new Uint8Array(8), null]), 0);
  assert.equal(t.nr, 2);
  assert.equal(t.liveCount, 1);
  assert.equal(t.lookup(1), -EFAULT);
  assert.equal(t.get(1), -EFAULT);
});

Deno.test("`BufferTable.registerSparse()` makes empty slots and checks nr", () => {
  const t = table();
  assert.equal(t.registerSparse(0), -EINVAL);
  assert.equal(t.registerSparse(IORING_MAX_REG_BUFFERS + 1), -EINVAL);
  assert.equal(t.registerSparse(4), 0);
  assert.equal(t.nr, 4);
  assert.equal(t.liveCount, 0);
  for (let i = 0; i < 4; i++) assert.equal(t.lookup(i), -EFAULT);
});

Deno.test("`BufferTable.lookup()` gives -EFAULT out of range and with nothing registered", () => {
  const t = table();
  assert.equal(t.lookup(0), -EFAULT);
  assert.equal(t.register([new Uint8Array(8)]), 0);
  assert.equal(t.lookup(1), -EFAULT);
  assert.equal(t.lookup(100), -EFAULT);
  assert.equal(t.lookup(-1), -EFAULT);
  assert.equal(t.lookup(0.5), -EFAULT);
  assert.ok(t.lookup(0) instanceof RegisteredBuffer);
});

Deno.test("`BufferTable.unregister()` gives -ENXIO with nothing registered", () => {
  const t = table();
  assert.equal(t.unregister(), -ENXIO);
  assert.equal(t.register([new Uint8Array(1)]), 0);
  assert.equal(t.unregister(), 0);
  assert.equal(t.unregister(), -ENXIO);
  assert.equal(t.registered, false);
  assert.equal(t.register([new Uint8Array(1)]), 0); // registrable again
});

Deno.test("`BufferTable.update()` checks nr, table and range in the kernel's order", () => {
  const t = table();
  assert.equal(t.update(0, []), -EINVAL);
  assert.equal(t.update(0, [new Uint8Array(1)]), -ENXIO);
  assert.equal(t.register([new Uint8Array(1), new Uint8Array(1)]), 0);
  assert.equal(t.update(0, []), -EINVAL);
  assert.equal(t.update(1, [null, null]), -EINVAL);
  assert.equal(t.update(2, [null]), -EINVAL);
  assert.equal(t.update(-1, [null]), -EINVAL);
  assert.equal(t.update(0xffff_ffff, [null]), -EOVERFLOW);
  assert.equal(t.update(0, [null, null]), 2);
});

Deno.test("`BufferTable.update()` replaces and clears slots and returns the count", () => {
  const freed: RegisteredBuffer[] = [];
  const t = table(freed);
  const a = new Uint8Array(8);
  const b = new Uint8Array(16);
  assert.equal(t.register([a, a]), 0);
  const old0 = ok(t.lookup(0));
  assert.equal(t.update(0, [b, null]), 2);
  assert.equal(ok(t.lookup(0)).bytes, b);
  assert.equal(ok(t.lookup(0)).index, 0);
  assert.equal(t.lookup(1), -EFAULT);
  assert.equal(freed.length, 2);
  assert.ok(freed.includes(old0));
  assert.equal(old0.freed, true);
  assert.equal(t.liveCount, 1);
});

Deno.test("`BufferTable.update()` stops at a bad buffer: partial count or -EFAULT", () => {
  const t = table();
  assert.equal(t.registerSparse(2), 0);
  const a = new Uint8Array(100);
  assert.equal(t.update(0, [a, new Uint8Array(0)]), 1);
  assert.equal(ok(t.lookup(0)).bytes, a);
  assert.equal(t.lookup(1), -EFAULT);
  assert.equal(t.update(1, [new Uint8Array(0)]), -EFAULT);
  assert.equal(t.liveCount, 1);
});

Deno.test("`BufferTable.get()` keeps a buffer alive across unregister until `put()`", () => {
  const freed: RegisteredBuffer[] = [];
  const t = table(freed);
  assert.equal(t.register([new Uint8Array(8), new Uint8Array(8)]), 0);
  const held = ok(t.get(0));
  assert.equal(held.refs, 2);
  assert.equal(t.unregister(), 0);
  assert.equal(freed.length, 1); // slot 1, unheld
  assert.equal(t.liveCount, 1);
  assert.equal(held.freed, false);
  assert.ok(t.importFixed(held, held.base, 8) instanceof Uint8Array); // still usable
  t.put(held);
  assert.equal(freed.length, 2);
  assert.equal(freed[1], held);
  assert.equal(t.liveCount, 0);
  assert.throws(() => t.put(held), RangeError);
});

Deno.test("`BufferTable.get()` keeps a replaced buffer alive until the last `put()`", () => {
  const freed: RegisteredBuffer[] = [];
  const t = table(freed);
  assert.equal(t.register([new Uint8Array(8)]), 0);
  const r1 = ok(t.get(0));
  const r2 = ok(t.get(0));
  assert.equal(t.update(0, [new Uint8Array(4)]), 1);
  assert.equal(t.liveCount, 2);
  t.put(r1);
  assert.equal(freed.length, 0);
  t.put(r2);
  assert.deepEqual(freed, [r1]);
  assert.equal(t.liveCount, 1);
  assert.equal(ok(t.lookup(0)).len, 4);
});

Deno.test("`BufferTable.importFixed()` returns a view inside [base, base+len) or -EFAULT", () => {
  const t = table();
  const a = new Uint8Array(8192);
  assert.equal(t.register([a]), 0);
  const e = ok(t.lookup(0));
  const v = ok(t.importFixed(e, e.base + 100n, 50));
  assert.equal(v.buffer, a.buffer);
  assert.equal(v.byteOffset, 100);
  assert.equal(v.length, 50);
  v[0] = 7;
  assert.equal(a[100], 7); // no copy
  assert.equal(ok(t.importFixed(e, e.base, 8192)).length, 8192);
  assert.equal(ok(t.importFixed(e, e.base + 8191n, 1)).length, 1);
  assert.equal(ok(t.importFixed(e, e.base + 8192n, 0)).length, 0);
  assert.equal(t.importFixed(e, e.base + 8192n, 1), -EFAULT);
  assert.equal(t.importFixed(e, e.base + 8193n, 0), -EFAULT);
  assert.equal(t.importFixed(e, e.base - 1n, 1), -EFAULT);
  assert.equal(t.importFixed(e, e.base, 8193), -EFAULT);
  assert.equal(t.importFixed(e, e.base, -1), -EFAULT);
  assert.equal(t.importFixed(e, 0x20000n, 1), -EFAULT);
  assert.equal(t.importFixed(e, e.base, MAX_RW_COUNT + 1), -EFAULT);
});

Deno.test("`BufferTable.importFixedIter()` fills an iterator over one bvec", () => {
  const t = table();
  const a = new Uint8Array(64);
  assert.equal(t.register([a]), 0);
  const e = ok(t.lookup(0));
  const it = new BvecIter();
  assert.equal(t.importFixedIter(e, e.base + 10n, 20, ITER_SOURCE, it), 0);
  assert.equal(it.index, 0);
  assert.equal(it.iovOffset, 10);
  assert.equal(it.count, 20);
  assert.equal(it.nrSegs, 1);
  assert.equal(it.dir, ITER_SOURCE);
  it.fill(9);
  assert.equal(a[10], 9);
  assert.equal(a[29], 9);
  assert.equal(a[30], 0);
  assert.equal(t.importFixedIter(e, e.base + 60n, 5, ITER_DEST, it), -EFAULT);
  assert.equal(it.count, 20);
  assert.equal(t.importFixedIter(e, e.base + 64n, 0, ITER_DEST, it), 0);
  assert.equal(it.nrSegs, 0);
});

Deno.test("`BufferTable` default addresses are page aligned per ArrayBuffer plus byteOffset", () => {
  const t = new BufferTable();
  const ab = new ArrayBuffer(3 * 4096);
  const x = new Uint8Array(ab, 0, 4096);
  const y = new Uint8Array(ab, 4096 + 10, 100);
  const z = new Uint8Array(4096);
  assert.equal(t.register([x, y, z]), 0);
  const [ex, ey, ez] = [ok(t.lookup(0)), ok(t.lookup(1)), ok(t.lookup(2))];
  assert.equal(ex.base % 4096n, 0n);
  assert.equal(ey.base - ex.base, 4106n);
  assert.ok(ez.base >= ex.base + 3n * 4096n || ez.base + 4096n <= ex.base);
  assert.equal(ey.acctPages, 1);
});

Deno.test("`BufferTable.close()` unregisters, is safe twice, and backs `using`", () => {
  const freed: RegisteredBuffer[] = [];
  {
    using t = table(freed);
    assert.equal(t.register([new Uint8Array(1), new Uint8Array(1)]), 0);
  }
  assert.equal(freed.length, 2);
  const t = table();
  t.close();
  t.close();
  assert.equal(t.register([new Uint8Array(1)]), 0);
  t.close();
  assert.equal(t.registered, false);
});

Deno.test("`BufferTable.importFixed()` range check is exact for bases beyond 2^53", () => {
  const base = (1n << 60n) + 1n;
  const t = new BufferTable({ addressOf: () => base });
  assert.equal(t.register([new Uint8Array(16)]), 0);
  const e = ok(t.lookup(0));
  assert.ok(Number.isNaN(e.baseNumber));
  assert.equal(ok(t.importFixed(e, base + 15n, 1)).byteOffset, 15);
  assert.equal(t.importFixed(e, base + 16n, 1), -EFAULT);
  assert.equal(t.importFixed(e, base - 1n, 1), -EFAULT);
  assert.equal(t.importFixed(e, 5n, 1), -EFAULT);
});

Deno.test("`BufferTable.importFixed()` fast path rejects addresses beyond 2^53", () => {
  const t = table();
  assert.equal(t.register([new Uint8Array(16)]), 0);
  const e = ok(t.lookup(0));
  assert.equal(e.baseNumber, 0x10000);
  assert.equal(t.importFixed(e, (1n << 64n) - 1n, 1), -EFAULT);
  assert.equal(t.importFixed(e, (1n << 53n) + 0x10000n, 0), -EFAULT);
});
