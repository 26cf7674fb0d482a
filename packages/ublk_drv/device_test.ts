import assert from "node:assert/strict";
import { ModelKernel } from "@ublk-ts/model";
import { UBLK_ATTR_FUA, UBLK_ATTR_READ_ONLY, UBLK_ATTR_VOLATILE_CACHE } from "@ublk-ts/uapi";
import { createDevice } from "@ublk-ts/ublk";
import { installUblk, UblkDriver } from "./driver.ts";
import { RamDiskTarget } from "@ublk-ts/testing";

function rand(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

function kernel(): ModelKernel {
  const k = new ModelKernel();
  installUblk(k, { nrCpuIds: 4 });
  return k;
}

Deno.test("`createDevice()` serves a write then a read through a RAM disk", async () => {
  const target = new RamDiskTarget(1 << 20);
  await using dev = await createDevice(kernel(), target, { depth: 16 });
  const data = rand(8192, 7);
  assert.equal(await dev.bdev.write(4096, data), 8192);
  assert.deepEqual(target.mem.subarray(4096, 4096 + 8192), data);
  const back = new Uint8Array(8192);
  assert.equal(await dev.bdev.read(4096, back), 8192);
  assert.deepEqual(back, data);
});

for (const queues of [1, 2, 3, 4]) {
  for (const qd of [1, 8, 128]) {
    Deno.test(`bdev random I/O keeps data intact with ${queues} queue(s) and QD ${qd}`, async () => {
      const size = 4 << 20;
      const target = new RamDiskTarget(size);
      const depth = Math.min(64, qd);
      await using dev = await createDevice(kernel(), target, {
        queues,
        depth,
        maxIoBufBytes: 64 * 1024,
      });
      assert.equal(dev.info.nrHwQueues, queues);
      const shadow = new Uint8Array(size);
      let seed = 1000 * queues + qd;
      const next = (): number => {
        seed = (seed * 1103515245 + 12345) >>> 0;
        return seed;
      };
      // Writes to disjoint slots so concurrent requests never overlap.
      const slots = 256;
      const slotBytes = size / slots;
      const ops: Promise<void>[] = [];
      for (let round = 0; round < 2; round++) {
        ops.length = 0;
        const used = new Set<number>();
        for (let i = 0; i < qd; i++) {
          let s = next() % slots;
          while (used.has(s)) s = (s + 1) % slots;
          used.add(s);
          const len = (1 + (next() % (slotBytes / 512))) * 512; // up to 16 KiB: splits at 64 KiB
          const off = s * slotBytes;
          const data = rand(len, next());
          shadow.set(data, off);
          ops.push(dev.bdev.write(off, data).then((r) => assert.equal(r, len)));
        }
        await Promise.all(ops);
      }
      assert.deepEqual(target.mem, shadow);
      ops.length = 0;
      for (let i = 0; i < qd; i++) {
        const off = (next() % (size / 512 - 256)) * 512;
        const len = (1 + (next() % 256)) * 512; // up to 128 KiB: split in several requests
        const buf = new Uint8Array(len);
        ops.push(
          dev.bdev.read(off, buf).then((r) => {
            assert.equal(r, len);
            assert.deepEqual(buf, shadow.subarray(off, off + len));
          }),
        );
      }
      await Promise.all(ops);
      let served = 0;
      for (const q of dev.queues) served += q.served;
      assert.ok(served >= 3 * qd);
      if (queues > 1 && qd >= 8) assert.ok(dev.queues.every((q) => q.served > 0));
    });
  }
}

Deno.test("bdev requests wait for a free tag when QD exceeds the depth", async () => {
  const target = new RamDiskTarget(1 << 20, { delayMs: 1 });
  await using dev = await createDevice(kernel(), target, { depth: 4 });
  const ps: Promise<number>[] = [];
  for (let i = 0; i < 64; i++) ps.push(dev.bdev.write(i * 4096, rand(4096, i + 1)));
  assert.ok(dev.bdev.inflight <= 4 + 64);
  const rs = await Promise.all(ps);
  assert.ok(rs.every((r) => r === 4096));
  for (let i = 0; i < 64; i++) {
    assert.deepEqual(target.mem.subarray(i * 4096, (i + 1) * 4096), rand(4096, i + 1));
  }
  assert.equal(dev.bdev.inflight, 0);
});

Deno.test("bdev splits at max_sectors and reports the total", async () => {
  const target = new RamDiskTarget(1 << 20, { params: { maxSectors: 16 } });
  await using dev = await createDevice(kernel(), target, { depth: 8, maxIoBufBytes: 65536 });
  assert.equal(dev.bdev.maxRequestBytes, 8192);
  const data = rand(65536, 3);
  assert.equal(await dev.bdev.write(0, data), 65536);
  assert.equal(target.ops[1], 8);
  const back = new Uint8Array(65536);
  assert.equal(await dev.bdev.read(0, back), 65536);
  assert.deepEqual(back, data);
});

Deno.test("bdev rejects unaligned I/O with RangeError and out-of-range I/O with -EIO", async () => {
  await using dev = await createDevice(kernel(), new RamDiskTarget(1 << 20), { depth: 4 });
  assert.throws(() => dev.bdev.read(100, new Uint8Array(512)), RangeError);
  assert.throws(() => dev.bdev.read(0, new Uint8Array(100)), RangeError);
  assert.throws(() => dev.bdev.discard(0, 10), RangeError);
  assert.equal(await dev.bdev.read(1 << 20, new Uint8Array(512)), -5);
  assert.equal(await dev.bdev.read(0, new Uint8Array(0)), 0);
  assert.equal(dev.bdev.size, 1 << 20);
});

Deno.test("bdev logical block size 4096 is enforced", async () => {
  const target = new RamDiskTarget(1 << 20, { params: { logicalBsShift: 12 } });
  await using dev = await createDevice(kernel(), target, { depth: 4 });
  assert.equal(dev.bdev.logicalBlockSize, 4096);
  assert.throws(() => dev.bdev.read(512, new Uint8Array(4096)), RangeError);
  assert.equal(await dev.bdev.read(4096, new Uint8Array(4096)), 4096);
});

Deno.test("bdev flush, FUA, discard and write zeroes reach the target per the attributes", async () => {
  const target = new RamDiskTarget(1 << 20, {
    params: {
      attrs: UBLK_ATTR_VOLATILE_CACHE | UBLK_ATTR_FUA,
      discard: { maxDiscardSectors: 64, maxWriteZeroesSectors: 64 },
    },
  });
  await using dev = await createDevice(kernel(), target, { depth: 4 });
  assert.equal(await dev.bdev.flush(), 0);
  assert.equal(target.ops[2], 1);
  assert.equal(await dev.bdev.write(0, rand(65536, 9), { fua: true }), 65536);
  assert.equal(await dev.bdev.discard(0, 65536), 0);
  assert.equal(target.ops[3], 2); // split at 64 sectors
  assert.ok(target.mem.subarray(0, 65536).every((b) => b === 0));
  target.mem.fill(1);
  assert.equal(await dev.bdev.writeZeroes(4096, 4096), 0);
  assert.equal(target.ops[5], 1);
  assert.equal(target.mem[4096], 0);
  assert.equal(target.mem[4095], 1);
});

Deno.test("bdev flush without a volatile cache and discard without limits", async () => {
  const target = new RamDiskTarget(1 << 20);
  await using dev = await createDevice(kernel(), target, { depth: 4 });
  assert.equal(await dev.bdev.flush(), 0);
  assert.equal(target.ops[2], 0);
  assert.equal(await dev.bdev.discard(0, 4096), -95);
  assert.equal(await dev.bdev.writeZeroes(0, 4096), -95);
});

Deno.test("bdev writes to a read-only device fail with -EPERM", async () => {
  const target = new RamDiskTarget(1 << 20, { params: { attrs: UBLK_ATTR_READ_ONLY } });
  await using dev = await createDevice(kernel(), target, { depth: 4 });
  assert.equal(dev.bdev.readOnly, true);
  assert.equal(await dev.bdev.write(0, new Uint8Array(512)), -1);
  assert.equal(await dev.bdev.read(0, new Uint8Array(512)), 512);
});

Deno.test("target errors reach the caller as block-layer errno", async () => {
  const target = new RamDiskTarget(1 << 20);
  await using dev = await createDevice(kernel(), target, { depth: 4 });
  target.failWith = -28; // ENOSPC passes through
  assert.equal(await dev.bdev.write(0, new Uint8Array(512)), -28);
  target.failWith = -22; // EINVAL becomes EIO
  assert.equal(await dev.bdev.read(0, new Uint8Array(512)), -5);
  target.failWith = 0;
  assert.equal(await dev.bdev.read(0, new Uint8Array(512)), 512);
});

Deno.test("short results complete the done part and requeue the rest", async () => {
  const target = new RamDiskTarget(1 << 20, { shortBytes: 1024 });
  await using dev = await createDevice(kernel(), target, { depth: 4 });
  const data = rand(8192, 11);
  assert.equal(await dev.bdev.write(0, data), 8192);
  assert.equal(target.ops[1], 8);
  const back = new Uint8Array(8192);
  assert.equal(await dev.bdev.read(0, back), 8192);
  assert.deepEqual(back, data);
  assert.equal(target.ops[0], 8);
});

Deno.test("a READ completed with 0 bytes fails with -EIO", async () => {
  const target = new RamDiskTarget(1 << 20, { shortBytes: 0 });
  await using dev = await createDevice(kernel(), target, { depth: 4 });
  assert.equal(await dev.bdev.read(0, new Uint8Array(4096)), -5);
});

Deno.test("NEED_GET_DATA: writes copy at the server's NEED_GET_DATA command", async () => {
  const target = new RamDiskTarget(1 << 20);
  await using dev = await createDevice(kernel(), target, { depth: 8, needGetData: true });
  assert.notEqual(dev.info.flags & 4n, 0n);
  const ps: Promise<number>[] = [];
  for (let i = 0; i < 16; i++) ps.push(dev.bdev.write(i * 8192, rand(8192, 50 + i)));
  assert.ok((await Promise.all(ps)).every((r) => r === 8192));
  for (let i = 0; i < 16; i++) {
    assert.deepEqual(target.mem.subarray(i * 8192, (i + 1) * 8192), rand(8192, 50 + i));
  }
  const back = new Uint8Array(8192);
  assert.equal(await dev.bdev.read(8192, back), 8192);
  assert.deepEqual(back, rand(8192, 51));
  assert.equal(dev.queues[0]!.errors, 0);
});

Deno.test("legacy opcodes drive the same lifecycle and data path", async () => {
  const target = new RamDiskTarget(1 << 20);
  await using dev = await createDevice(kernel(), target, { depth: 8, legacyOpcodes: true });
  assert.equal(dev.ctrl.legacyOpcodes, true);
  assert.equal(await dev.bdev.write(0, rand(4096, 5)), 4096);
  const back = new Uint8Array(4096);
  assert.equal(await dev.bdev.read(0, back), 4096);
  assert.deepEqual(back, rand(4096, 5));
  assert.equal(dev.queues[0]!.errors, 0);
});

Deno.test("stop() ends the queues, deletes the device and closes the target", async () => {
  const k = kernel();
  const target = new RamDiskTarget(1 << 20);
  const dev = await createDevice(k, target, { depth: 8 });
  const id = dev.id;
  const bdev = dev.bdev; // a client holding the disk across its removal
  assert.equal(await bdev.write(0, rand(4096, 1)), 4096);
  await dev.stop();
  await dev.stop();
  assert.equal(target.closed, true);
  assert.equal(UblkDriver.of(k)!.device(id), undefined);
  assert.equal(k.blockDevice(`/dev/ublkb${id}`), undefined, "DEL_DEV unregistered the disk");
  assert.equal(await bdev.read(0, new Uint8Array(512)), -19);
  assert.equal(k.open(`/dev/ublkc${id}`, 2), -2);
});

Deno.test("stop() waits for requests in flight, which complete", async () => {
  const target = new RamDiskTarget(1 << 20, { delayMs: 5 });
  const dev = await createDevice(kernel(), target, { depth: 8 });
  const ps: Promise<number>[] = [];
  for (let i = 0; i < 8; i++) ps.push(dev.bdev.write(i * 4096, rand(4096, i + 1)));
  const stopped = dev.stop();
  assert.ok((await Promise.all(ps)).every((r) => r === 4096));
  await stopped;
  assert.deepEqual(target.mem.subarray(0, 4096), rand(4096, 1));
});
