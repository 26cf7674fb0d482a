// The stripe target on the model kernel: verify workloads over 2 and 3 file legs with requests
// that start and end anywhere against the chunks, in copy mode and RFC fused zero copy (one
// slave per piece, several on one request); the leg files hold each chunk where the layout
// says; FLUSH reaches every leg; DISCARD/WRITE_ZEROES are split; a failing or short piece
// fails the request with its errno.
import assert from "node:assert/strict";
import { IoDesc } from "@ublk-ts/ublk";
import { allocIoMemory } from "@ublk-ts/rsrc";
import { EIO, ENOSPC, UBLK_IO_OP_WRITE } from "@ublk-ts/uapi";
import { fileLeg, nbdLeg, parseLegSpec, stripeMap, StripeTarget } from "./stripe.ts";
import { FaultInjectTarget } from "./fault_inject.ts";
import type { Leg } from "./stripe.ts";
import {
  assertBytesEqual,
  device,
  fillPattern,
  haveNbdkit,
  legFiles,
  modelKernel,
  MODES,
  type PieceSeen,
  spyLeg,
  startMemoryServer,
  verifyWorkload,
} from "./_test_util.ts";

const LEG_SIZE = 768 << 10;

for (const mode of MODES) {
  for (const [legs, chunk] of [[2, 4096], [3, 8192], [3, 64 << 10]] as const) {
    Deno.test(`stripe over ${legs} legs, ${chunk / 1024} KiB chunks, ${mode.name}: verify and leg layout`, async () => {
      const kernel = modelKernel();
      try {
        await using files = await legFiles(legs, LEG_SIZE);
        const seen: PieceSeen[] = [];
        const target = new StripeTarget(
          files.paths.map((p, i) => spyLeg(fileLeg(kernel, p, { direct: false }), i, seen)),
          { chunkSize: chunk },
        );
        await using d = await device(kernel, target, mode);
        const perLeg = Math.floor(LEG_SIZE / chunk) * chunk;
        assert.equal(d.bdev.size, perLeg * legs);
        const r = await verifyWorkload(d.bdev, { seed: legs * chunk, maxIo: 64 << 10, qd: 8 });
        assert.deepEqual(r.errors, []);
        assert.equal(r.mismatches, 0);
        assert.ok(r.reads > 10 && r.writes > 10);
        // Requests were split: more pieces than requests, every leg served some, and in zero
        // copy no piece had a copy buffer (its data moved by fused slaves on sub-ranges).
        assert.ok(seen.length > r.reads + r.writes);
        for (let l = 0; l < legs; l++) assert.ok(seen.some((s) => s.leg === l));
        assert.ok(seen.every((s) => s.zeroCopy === mode.zeroCopy));
        assert.ok(seen.every((s) => mode.zeroCopy ? s.bufLen === 0 : s.bufLen === s.len));
        // Each device chunk c sits on leg c % N at leg chunk floor(c / N).
        const fileData = files.paths.map((p) => Deno.readFileSync(p));
        for (let c = 0; c < d.bdev.size / chunk; c++) {
          const leg = c % legs, at = Math.floor(c / legs) * chunk;
          assertBytesEqual(
            fileData[leg]!.subarray(at, at + chunk),
            r.reference.subarray(c * chunk, (c + 1) * chunk),
            `chunk ${c} on leg ${leg}`,
          );
        }
      } finally {
        kernel.close();
      }
    });
  }
}

Deno.test("`stripeMap()` splits at chunk boundaries, in request order", () => {
  // 3 legs, 4 KiB chunks: 10 KiB at 3 KiB touches chunks 0 (1 KiB), 1, 2 (1 KiB).
  assert.deepEqual(stripeMap(3072, 10240, 4096, 3), [
    { leg: 0, legOff: 3072, bufOff: 0, len: 1024 },
    { leg: 1, legOff: 0, bufOff: 1024, len: 4096 },
    { leg: 2, legOff: 0, bufOff: 5120, len: 4096 },
    { leg: 0, legOff: 4096, bufOff: 9216, len: 1024 },
  ]);
  // Within one chunk: one piece.
  assert.deepEqual(stripeMap(8192 * 3 + 512, 512, 8192, 2), [
    { leg: 1, legOff: 8192 + 512, bufOff: 0, len: 512 },
  ]);
});

Deno.test("`new StripeTarget()` refuses one leg and bad chunk sizes", () => {
  const leg = {
    uri: "x",
    target: { name: "t", init: () => ({ devSize: 1 << 20 }), handleIo: () => 0 },
  };
  assert.throws(() => new StripeTarget([leg]), /at least 2/);
  assert.throws(
    () => new StripeTarget([leg, leg], { chunkSize: 2048 }),
    /power of two of at least 4096/,
  );
  assert.throws(() => new StripeTarget([leg, leg], { chunkSize: 12288 }), /power of two/);
});

Deno.test("`parseLegSpec()` reads files, nbd:// and nbd+unix:// legs", () => {
  assert.deepEqual(parseLegSpec("/tmp/a.img"), { kind: "file", path: "/tmp/a.img" });
  assert.deepEqual(parseLegSpec("nbd://127.0.0.1/e"), {
    kind: "nbd",
    hostname: "127.0.0.1",
    port: 10809,
    exportName: "e",
  });
  assert.deepEqual(parseLegSpec("nbd+unix:///x?socket=/tmp/s"), {
    kind: "nbd",
    path: "/tmp/s",
    exportName: "x",
  });
  assert.throws(() => parseLegSpec("nbd+unix:///x"), /needs \?socket=PATH/);
  assert.throws(() => parseLegSpec(""), /empty leg/);
});

for (const mode of MODES) {
  Deno.test(`stripe, ${mode.name}: a failing piece fails only the requests that touch it, with its errno`, async () => {
    const kernel = modelKernel();
    try {
      await using files = await legFiles(2, LEG_SIZE, 11);
      const faulty = new FaultInjectTarget(
        fileLeg(kernel, files.paths[1]!, { direct: false }).target,
        // Leg 1's chunk 2 (leg bytes 8192..12288) is device chunk 5 (20480..24576).
        { ranges: [{ start: 8192, end: 12288, errno: ENOSPC, ops: ["write"] }] },
      );
      const legs: Leg[] = [
        fileLeg(kernel, files.paths[0]!, { direct: false }),
        { uri: files.paths[1]!, target: faulty },
      ];
      const target = new StripeTarget(legs, { chunkSize: 4096 });
      await using d = await device(kernel, target, mode);
      const buf = fillPattern(allocIoMemory(16384), 3);
      // 16 KiB at 12 KiB: chunks 3, 4, 5, 6, the third on the failing range.
      assert.equal(await d.bdev.write(12288, buf), -ENOSPC);
      // The neighbours are fine.
      assert.equal(await d.bdev.write(0, buf.subarray(0, 8192)), 8192);
      assert.equal(await d.bdev.write(24576, buf), 16384);
      // Reads of the range pass (the fault is on writes).
      assert.equal(await d.bdev.read(12288, buf), 16384);
      faulty.setFaults({ errorRate: 1, ops: ["read"] });
      assert.equal(await d.bdev.read(4096, buf.subarray(0, 4096)), -EIO); // chunk 1: leg 1
      assert.equal(await d.bdev.read(8192, buf.subarray(0, 4096)), 4096); // chunk 2: leg 0
    } finally {
      kernel.close();
    }
  });
}

Deno.test("stripe: a short piece fails the request with -EIO", async () => {
  const short = {
    name: "short",
    init: () => ({ devSize: 1 << 20 }),
    handleIo: (_c: unknown, _t: number, iod: IoDesc) => iod.bytes - 512,
  };
  const full = {
    name: "full",
    init: () => ({ devSize: 1 << 20 }),
    handleIo: (_c: unknown, _t: number, iod: IoDesc) => iod.bytes,
  };
  const target = new StripeTarget([{ uri: "a", target: full }, { uri: "b", target: short }], {
    chunkSize: 4096,
  });
  await target.init({
    devId: 0,
    nrHwQueues: 1,
    queueDepth: 4,
    maxIoBufBytes: 65536,
    flags: 0n,
    zeroCopy: false,
  });
  const ctx = {
    qid: 0,
    tag: 0,
    buf: new Uint8Array(65536),
    zeroCopy: false,
    dev: {},
    submit: () => Promise.resolve(0),
    fused: () => Promise.resolve(0),
  } as unknown as Parameters<StripeTarget["handleIo"]>[0];
  const iod = new IoDesc();
  iod.op = UBLK_IO_OP_WRITE;
  iod.nrSectors = 8; // chunk 0: leg a only
  assert.equal(await target.handleIo(ctx, 0, iod), 4096);
  iod.nrSectors = 16; // chunks 0 and 1: leg b is short
  assert.equal(await target.handleIo(ctx, 0, iod), -EIO);
});

for (const mode of MODES) {
  Deno.test(`stripe, ${mode.name}: FLUSH reaches every leg; WRITE_ZEROES and DISCARD are split per leg`, async () => {
    const kernel = modelKernel();
    try {
      await using files = await legFiles(3, LEG_SIZE, 5);
      const seen: PieceSeen[] = [];
      const legs: Leg[] = files.paths.map((p, i) =>
        spyLeg(fileLeg(kernel, p, { direct: false }), i, seen)
      );
      const target = new StripeTarget(legs, { chunkSize: 4096 });
      await using d = await device(kernel, target, mode);
      seen.length = 0;
      assert.equal(await d.bdev.flush(), 0);
      assert.deepEqual(seen.map((s) => s.leg).sort(), [0, 1, 2]);
      seen.length = 0;
      // 20 KiB at 6 KiB: device chunks 1..6 → leg 1: [2K,4K)+[4K,8K) = [2K, 8K); leg 2: [0, 8K);
      // leg 0: chunk 3 [4K, 8K) … chunk 6 is leg 0 row 2 up to 2 KiB: [4K, 10K).
      assert.equal(await d.bdev.writeZeroes(6144, 20480), 0);
      const ranges = seen.map((s) => [s.leg, s.off, s.off + s.len]).sort((a, b) => a[0]! - b[0]!);
      assert.deepEqual(ranges, [[0, 4096, 10240], [1, 2048, 8192], [2, 0, 8192]]);
      const zero = new Uint8Array(20480);
      const back = allocIoMemory(20480);
      assert.equal(await d.bdev.read(6144, back), 20480);
      assertBytesEqual(back, zero, "zeroed range");
      seen.length = 0;
      assert.equal(await d.bdev.discard(0, 4096), 0);
      assert.deepEqual(seen.map((s) => [s.leg, s.off, s.len]), [[0, 0, 4096]]);
    } finally {
      kernel.close();
    }
  });
}

for (const mode of MODES) {
  Deno.test({
    name: `stripe over 2 nbdkit memory servers, 4 KiB chunks, ${mode.name}: verify`,
    ignore: !haveNbdkit(),
    async fn(): Promise<void> {
      const kernel = modelKernel();
      const dir = await Deno.makeTempDir();
      const servers = [
        await startMemoryServer(dir, 1 << 20),
        await startMemoryServer(dir, 1 << 20),
      ];
      try {
        const seen: PieceSeen[] = [];
        const legs = await Promise.all(servers.map(async (s, i) =>
          spyLeg(
            await nbdLeg({
              path: s.socket,
              ...(mode.zeroCopy ? { zeroCopy: true, kernel } : {}),
            }),
            i,
            seen,
          )
        ));
        const target = new StripeTarget(legs, { chunkSize: 4096 });
        await using d = await device(kernel, target, mode);
        assert.equal(d.bdev.size, 2 << 20);
        const r = await verifyWorkload(d.bdev, { seed: 51, maxIo: 64 << 10, qd: 8 });
        assert.deepEqual(r.errors, []);
        assert.equal(r.mismatches, 0);
        assert.ok(seen.some((s) => s.leg === 0) && seen.some((s) => s.leg === 1));
        assert.ok(seen.every((s) => mode.zeroCopy ? s.bufLen === 0 : s.bufLen === s.len));
      } finally {
        for (const s of servers) await s.kill();
        kernel.close();
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
