// The null target over the real path: a ModelKernel with the model ublk driver, `createDevice`
// and I/O through the in-process block device, in copy mode and zero copy.
import assert from "node:assert/strict";
import { allocIoMemory } from "@ublk-ts/rsrc";
import { installFusedCmd } from "@ublk-ts/fused-cmd";
import { ModelKernel } from "@ublk-ts/model";
import { createDevice, IoDesc, type TargetIoCtx, type UblkDevice } from "@ublk-ts/ublk";
import { installUblk, type UblkBlockDevice, UblkDriver } from "@ublk-ts/ublk-drv";
import { FaultBackend } from "@ublk-ts/testing";
import { EIO, EOPNOTSUPP, UBLK_ATTR_VOLATILE_CACHE } from "@ublk-ts/uapi";
import { NULL_DEFAULT_SIZE, NullTarget } from "./null.ts";

interface NullDev extends AsyncDisposable {
  readonly backend: FaultBackend;
  readonly dev: UblkDevice;
  readonly bdev: UblkBlockDevice;
}

/** One queue of one tag, so every request reuses the same server buffer. */
async function nullDevice(target: NullTarget, zeroCopy: boolean): Promise<NullDev> {
  const backend = new FaultBackend();
  const kernel = new ModelKernel({ backend });
  installFusedCmd(kernel);
  installUblk(kernel, { nrCpuIds: 4 });
  const dev = await createDevice(kernel, target, { queues: 1, depth: 1, zeroCopy });
  return {
    backend,
    dev,
    bdev: UblkDriver.of(kernel)!.blockDevice(dev.id)!,
    [Symbol.asyncDispose]: () => dev.stop(),
  };
}

const DEV = { devId: 0, nrHwQueues: 1, queueDepth: 1, maxIoBufBytes: 4096, flags: 0n };

Deno.test("`NullTarget.init()` reports its size and a volatile cache with discard", () => {
  const dev = { ...DEV, zeroCopy: false };
  assert.equal(new NullTarget().init(dev).devSize, NULL_DEFAULT_SIZE);
  const p = new NullTarget({ size: 1 << 20 }).init(dev);
  assert.equal(p.devSize, 1 << 20);
  assert.equal(p.attrs, UBLK_ATTR_VOLATILE_CACHE);
  assert.ok(p.discard!.maxDiscardSectors! > 0 && p.discard!.maxWriteZeroesSectors! > 0);
});

Deno.test("`new NullTarget()` rejects sizes that are not multiples of 512", () => {
  assert.throws(() => new NullTarget({ size: 1000 }), RangeError);
  assert.throws(() => new NullTarget({ size: 0 }), RangeError);
  assert.throws(() => new NullTarget({ size: -512 }), RangeError);
});

Deno.test("`NullTarget.handleIo()` refuses an unknown op with -EOPNOTSUPP", () => {
  const d = new IoDesc();
  d.op = 13;
  d.nrSectors = 8;
  const ctx = { zeroCopy: false, buf: new Uint8Array(4096) } as unknown as TargetIoCtx;
  assert.equal(new NullTarget().handleIo(ctx, 0, d), -EOPNOTSUPP);
});

for (const zeroCopy of [false, true]) {
  const mode = zeroCopy ? "zero copy" : "copy";

  Deno.test(`\`NullTarget\` (${mode}) completes every op on a device without file I/O`, async () => {
    await using d = await nullDevice(new NullTarget({ size: 1 << 20 }), zeroCopy);
    assert.equal(d.bdev.size, 1 << 20);
    assert.equal(await d.bdev.read(0, new Uint8Array(65536)), 65536);
    assert.equal(await d.bdev.write(4096, new Uint8Array(4096).fill(1)), 4096);
    assert.equal(await d.bdev.write(8192, new Uint8Array(4096), { fua: true }), 4096);
    assert.equal(await d.bdev.flush(), 0);
    assert.equal(await d.bdev.discard(0, 8192), 0);
    assert.equal(await d.bdev.writeZeroes(8192, 8192), 0);
    assert.equal(await d.bdev.read((1 << 20) - 4096, new Uint8Array(4096)), 4096);
    assert.equal(await d.bdev.read(1 << 20, new Uint8Array(4096)), -EIO, "past the end");
    assert.equal(d.backend.calls.length, 0);
    assert.equal(d.dev.queues[0]!.errors, 0);
  });
}

Deno.test("`NullTarget` copy mode: READ returns the stale server buffer unless zeroFill", async () => {
  const w = new Uint8Array(4096).fill(0x77);
  {
    await using d = await nullDevice(new NullTarget({ size: 1 << 20 }), false);
    assert.equal(await d.bdev.write(0, w), 4096);
    const r = new Uint8Array(4096);
    assert.equal(await d.bdev.read(0, r), 4096);
    assert.deepEqual(r, w, "the one tag's server buffer still holds the WRITE's data");
  }
  {
    await using d = await nullDevice(new NullTarget({ size: 1 << 20, zeroFill: true }), false);
    assert.equal(await d.bdev.write(0, w), 4096);
    const r = new Uint8Array(8192).fill(9);
    assert.equal(await d.bdev.read(0, r.subarray(0, 4096)), 4096);
    assert.deepEqual(r.subarray(0, 4096), new Uint8Array(4096), "zero-filled");
    assert.equal(r[4096], 9, "only the request's bytes");
  }
});

Deno.test("`NullTarget` zero copy: READ completes without touching the request pages", async () => {
  await using d = await nullDevice(new NullTarget({ size: 1 << 20, zeroFill: true }), true);
  // Page-aligned, so the block device hands these very pages to the driver (an unaligned buffer
  // would go through the front end's bounce buffer, as a buffered read through the page cache).
  const r = allocIoMemory(4096).fill(9);
  assert.equal(await d.bdev.read(0, r), 4096);
  assert.ok(r.every((b) => b === 9));
});
