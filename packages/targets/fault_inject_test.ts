// The fault-inject target on the model kernel (copy and fused zero copy, over the loop target):
// range errors hit only the requests that touch the range, rate errors follow the seed,
// delays do not change data, rules change while the device runs.
import assert from "node:assert/strict";
import { allocIoMemory } from "@ublk-ts/rsrc";
import { EIO, ENOSPC } from "@ublk-ts/uapi";
import { IoDesc } from "@ublk-ts/ublk";
import { FaultInjectTarget } from "./fault_inject.ts";
import { LoopTarget } from "./loop.ts";
import { NullTarget } from "./null.ts";
import {
  assertBytesEqual,
  device,
  fillPattern,
  legFiles,
  modelKernel,
  MODES,
} from "./_test_util.ts";

const SIZE = 1 << 20;

for (const mode of MODES) {
  Deno.test(`fault_inject over loop, ${mode.name}: -EIO on the affected requests only`, async () => {
    const kernel = modelKernel();
    try {
      await using files = await legFiles(1, SIZE, 77);
      const data = Deno.readFileSync(files.paths[0]!);
      const t = new FaultInjectTarget(new LoopTarget(kernel, files.paths[0]!, { direct: false }), {
        ranges: [
          { start: 65536, end: 65536 + 512 },
          { start: 131072, end: 135168, errno: ENOSPC, ops: ["write"] },
        ],
      });
      await using d = await device(kernel, t, mode);
      const buf = allocIoMemory(8192);
      // Every 4 KiB read of the first 256 KiB: only the one over byte 65536 fails.
      const failed: number[] = [];
      for (let off = 0; off < 262144; off += 4096) {
        const r = await d.bdev.read(off, buf.subarray(0, 4096));
        if (r < 0) {
          assert.equal(r, -EIO);
          failed.push(off);
        } else {
          assertBytesEqual(buf.subarray(0, 4096), data.subarray(off, off + 4096), `read ${off}`);
        }
      }
      assert.deepEqual(failed, [65536]);
      // A request that overlaps the range by one sector fails too.
      assert.equal(await d.bdev.read(65536 - 4096 + 512, buf.subarray(0, 4096)), -EIO);
      // The write-only range: reads pass, writes fail with its errno; the file is untouched.
      assert.equal(await d.bdev.read(131072, buf), 8192);
      fillPattern(buf, 5);
      assert.equal(await d.bdev.write(131072 - 4096, buf), -ENOSPC);
      assertBytesEqual(
        Deno.readFileSync(files.paths[0]!).subarray(126976, 135168),
        data.subarray(126976, 135168),
        "no write reached the file",
      );
      assert.equal(await d.bdev.write(135168, buf), 8192);
      assert.equal(t.stats.errors, 3);
      // Rules change while it runs: all reads fail, then heal.
      t.failAll();
      assert.equal(await d.bdev.read(0, buf), -EIO);
      t.failAll(0);
      t.setFaults({});
      assert.equal(await d.bdev.read(65536, buf), 8192);
    } finally {
      kernel.close();
    }
  });
}

Deno.test("fault_inject: rate errors follow the seed, only on the chosen ops", async () => {
  const run = async (seed: number): Promise<number[]> => {
    const t = new FaultInjectTarget(new NullTarget({ size: SIZE }), {
      errorRate: 0.25,
      seed,
      ops: ["write"],
    });
    const ctx = { buf: new Uint8Array(4096), zeroCopy: false } as unknown as Parameters<
      FaultInjectTarget["handleIo"]
    >[0];
    const iod = new IoDesc();
    iod.nrSectors = 8;
    const out: number[] = [];
    for (let i = 0; i < 400; i++) {
      iod.op = i % 2; // READ, WRITE
      out.push(await t.handleIo(ctx, 0, iod));
    }
    return out;
  };
  const a = await run(7), b = await run(7), c = await run(8);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  const failedReads = a.filter((r, i) => i % 2 === 0 && r < 0).length;
  const failedWrites = a.filter((r, i) => i % 2 === 1 && r < 0).length;
  assert.equal(failedReads, 0);
  assert.ok(failedWrites > 20 && failedWrites < 90, `${failedWrites} of 200 writes failed`);
  assert.ok(a.every((r) => r === 4096 || r === -EIO));
});

for (const mode of MODES) {
  Deno.test(`fault_inject, ${mode.name}: delayed requests keep their data`, async () => {
    const kernel = modelKernel();
    try {
      await using files = await legFiles(1, SIZE);
      const t = new FaultInjectTarget(new LoopTarget(kernel, files.paths[0]!, { direct: false }), {
        delayUs: 200,
        delayRate: 0.5,
      });
      await using d = await device(kernel, t, mode);
      const b = fillPattern(allocIoMemory(65536), 12);
      const writes = [];
      for (let i = 0; i < 8; i++) writes.push(d.bdev.write(i * 65536, b));
      assert.deepEqual(await Promise.all(writes), Array(8).fill(65536));
      const back = allocIoMemory(65536);
      for (let i = 0; i < 8; i++) {
        assert.equal(await d.bdev.read(i * 65536, back), 65536);
        assertBytesEqual(back, b, `block ${i}`);
      }
      assert.ok(t.stats.delayed > 0 && t.stats.delayed < t.stats.requests);
    } finally {
      kernel.close();
    }
  });
}

Deno.test("`new FaultInjectTarget()` refuses bad rules", () => {
  const inner = new NullTarget({ size: SIZE });
  assert.throws(() => new FaultInjectTarget(inner, { errorRate: 2 }), /\[0, 1\]/);
  assert.throws(() => new FaultInjectTarget(inner, { errno: -5 }), /positive errno/);
  assert.throws(
    () => new FaultInjectTarget(inner, { ranges: [{ start: 10, end: 10 }] }),
    /start < end/,
  );
  assert.throws(() => new FaultInjectTarget(inner).failAll(-1), RangeError);
});
