// The mirror target on the model kernel, in copy mode and RFC fused zero copy: writes land on
// every leg (in zero copy N slaves on the same lent pages), reads are balanced, a dying leg
// (fault-injected, or an nbdkit server killed mid-verify) is marked failed and the device goes
// on degraded with 0 mismatches, a read error is retried on the other leg, and a re-added leg
// is resynced in the background while writes continue.
import assert from "node:assert/strict";
import { allocIoMemory } from "@ublk-ts/rsrc";
import { EIO, ENOSPC, UBLK_IO_OP_READ, UBLK_IO_OP_WRITE } from "@ublk-ts/uapi";
import { fileLeg, nbdLeg } from "./stripe.ts";
import { MirrorTarget } from "./mirror.ts";
import { FaultInjectTarget } from "./fault_inject.ts";
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

const LEG_SIZE = 1 << 20;

for (const mode of MODES) {
  Deno.test(`mirror over 2 files, ${mode.name}: writes on both legs, reads balanced`, async () => {
    const kernel = modelKernel();
    try {
      await using files = await legFiles(2, LEG_SIZE);
      const seen: PieceSeen[] = [];
      const target = new MirrorTarget(
        files.paths.map((p, i) => spyLeg(fileLeg(kernel, p, { direct: false }), i, seen)),
      );
      await using d = await device(kernel, target, mode);
      assert.equal(d.bdev.size, LEG_SIZE);
      const r = await verifyWorkload(d.bdev, { seed: 21, maxIo: 64 << 10, qd: 8 });
      assert.deepEqual(r.errors, []);
      assert.equal(r.mismatches, 0);
      for (const p of files.paths) assertBytesEqual(Deno.readFileSync(p), r.reference, p);
      const reads = [0, 1].map((l) =>
        seen.filter((s) => s.leg === l && s.op === UBLK_IO_OP_READ).length
      );
      assert.ok(reads[0]! > r.reads / 4 && reads[1]! > r.reads / 4, `reads per leg ${reads}`);
      const writes = [0, 1].map((l) =>
        seen.filter((s) => s.leg === l && s.op === UBLK_IO_OP_WRITE).length
      );
      assert.deepEqual(writes, [r.writes, r.writes]);
      assert.ok(seen.every((s) => mode.zeroCopy ? s.bufLen === 0 : s.bufLen === s.len));
      const st = target.status();
      assert.equal(st.degraded, false);
      assert.deepEqual(st.legs.map((l) => l.state), ["active", "active"]);
    } finally {
      kernel.close();
    }
  });

  Deno.test(`mirror, ${mode.name}: a leg that dies mid-verify is failed, the device goes on degraded`, async () => {
    const kernel = modelKernel();
    try {
      await using files = await legFiles(2, LEG_SIZE);
      const events: string[] = [];
      const dying = new FaultInjectTarget(
        fileLeg(kernel, files.paths[1]!, { direct: false }).target,
      );
      const target = new MirrorTarget([
        fileLeg(kernel, files.paths[0]!, { direct: false }),
        { uri: "dying", target: dying },
      ], { onEvent: (m) => events.push(m) });
      await using d = await device(kernel, target, mode);
      const r = await verifyWorkload(d.bdev, {
        seed: 22,
        maxIo: 64 << 10,
        afterWrites: { count: 10, fn: () => dying.failAll() },
      });
      assert.deepEqual(r.errors, []);
      assert.equal(r.mismatches, 0);
      assertBytesEqual(Deno.readFileSync(files.paths[0]!), r.reference, "the surviving leg");
      const st = target.status();
      assert.equal(st.degraded, true);
      assert.equal(st.legs[0]!.state, "active");
      assert.equal(st.legs[1]!.state, "failed");
      assert.equal(st.legs[1]!.errno, EIO);
      assert.match(st.legs[1]!.reason, /write at \d+: EIO/);
      assert.equal(events.length, 1);
      assert.match(events[0]!, /leg 1 \(dying\) failed .* 1 active leg left/);
      // Still live: more writes and reads.
      const b = fillPattern(allocIoMemory(8192), 9);
      assert.equal(await d.bdev.write(4096, b), 8192);
      const back = allocIoMemory(8192);
      assert.equal(await d.bdev.read(4096, back), 8192);
      assertBytesEqual(back, b, "after degradation");
      assert.equal(await d.bdev.flush(), 0);
    } finally {
      kernel.close();
    }
  });

  Deno.test(`mirror, ${mode.name}: a read error is retried on the other leg`, async () => {
    const kernel = modelKernel();
    try {
      await using files = await legFiles(2, LEG_SIZE, 31);
      // Both legs hold the same data: leg 1 a copy of leg 0.
      Deno.writeFileSync(files.paths[1]!, Deno.readFileSync(files.paths[0]!));
      const bad = new FaultInjectTarget(
        fileLeg(kernel, files.paths[0]!, { direct: false }).target,
        {
          ranges: [{ start: 0, end: 4096, ops: ["read"] }],
        },
      );
      const other = new FaultInjectTarget(
        fileLeg(kernel, files.paths[1]!, { direct: false }).target,
      );
      const target = new MirrorTarget([{ uri: "bad", target: bad }, {
        uri: "other",
        target: other,
      }]);
      await using d = await device(kernel, target, mode);
      const want = Deno.readFileSync(files.paths[1]!);
      const buf = allocIoMemory(8192);
      // Reads alternate: whichever leg the first lands on, both reads succeed.
      for (let k = 0; k < 2; k++) {
        assert.equal(await d.bdev.read(0, buf), 8192);
        assertBytesEqual(buf, want.subarray(0, 8192), `read ${k}`);
      }
      assert.equal(bad.stats.errors, 1);
      assert.deepEqual(target.status().legs.map((l) => l.state), ["failed", "active"]);
      // The last leg failing too fails the request.
      other.failAll(ENOSPC);
      assert.equal(await d.bdev.read(0, buf), -ENOSPC);
      assert.equal(target.status().legs[1]!.state, "failed");
      assert.equal(await d.bdev.write(0, buf), -EIO); // no leg left
    } finally {
      kernel.close();
    }
  });

  Deno.test({
    name: `mirror over two nbdkit memory servers, ${mode.name}: one killed mid-verify`,
    ignore: !haveNbdkit(),
    async fn(): Promise<void> {
      const kernel = modelKernel();
      const dir = await Deno.makeTempDir();
      const servers = [
        await startMemoryServer(dir, 2 << 20),
        await startMemoryServer(dir, 2 << 20),
      ];
      try {
        const legs = await Promise.all(servers.map((s) =>
          nbdLeg(
            {
              path: s.socket,
              ...(mode.zeroCopy ? { zeroCopy: true, kernel } : {}),
              timeout: 0,
            },
          )
        ));
        const events: string[] = [];
        const target = new MirrorTarget(legs, { onEvent: (m) => events.push(m) });
        await using d = await device(kernel, target, mode);
        assert.equal(d.bdev.size, 2 << 20);
        const r = await verifyWorkload(d.bdev, {
          seed: 23,
          maxIo: 64 << 10,
          afterWrites: { count: 12, fn: () => servers[1]!.kill() },
        });
        assert.deepEqual(r.errors, []);
        assert.equal(r.mismatches, 0);
        // The device stays live (and a write now surely finds the server gone).
        await servers[1]!.kill();
        const b = fillPattern(allocIoMemory(65536), 4);
        assert.equal(await d.bdev.write(0, b), 65536);
        const back = allocIoMemory(65536);
        assert.equal(await d.bdev.read(0, back), 65536);
        assertBytesEqual(back, b, "after the kill");
        const st = target.status();
        assert.equal(st.degraded, true);
        assert.deepEqual(st.legs.map((l) => l.state), ["active", "failed"]);
        assert.ok(st.legs[1]!.errno > 0);
        assert.match(events.join("\n"), /leg 1 .* failed/);
      } finally {
        for (const s of servers) await s.kill();
        kernel.close();
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

for (const mode of MODES) {
  Deno.test({
    name:
      `mirror over two nbdkit memory servers, ${mode.name}: one killed before the read-back, reads retried on the other`,
    ignore: !haveNbdkit(),
    async fn(): Promise<void> {
      const kernel = modelKernel();
      const dir = await Deno.makeTempDir();
      const servers = [
        await startMemoryServer(dir, 1 << 20),
        await startMemoryServer(dir, 1 << 20),
      ];
      try {
        const legs = await Promise.all(
          servers.map((s) =>
            nbdLeg({ path: s.socket, ...(mode.zeroCopy ? { zeroCopy: true, kernel } : {}) })
          ),
        );
        const target = new MirrorTarget(legs);
        await using d = await device(kernel, target, mode);
        const r = await verifyWorkload(d.bdev, { seed: 31, maxIo: 48 << 10, reads: 0 });
        assert.deepEqual(r.errors, []);
        assert.equal(target.status().degraded, false);
        // Server b dies with both legs up to date; the read-back alternates between the legs,
        // so reads reach the dead one, fail there and are served by leg 0.
        await servers[1]!.kill();
        const BS = 40 << 10, size = d.bdev.size;
        const bufs = Array.from({ length: 4 }, () => allocIoMemory(BS));
        let next = 0, mismatches = 0;
        const errors: number[] = [];
        await Promise.all(bufs.map(async (b) => {
          while (next < size) {
            const off = next, len = Math.min(BS, size - off);
            next += len;
            const view = b.subarray(0, len);
            view.fill(0x5a);
            const got = await d.bdev.read(off, view);
            if (got !== len) errors.push(got);
            else if (view.some((x, k) => x !== r.reference[off + k])) mismatches++;
          }
        }));
        assert.deepEqual(errors, []);
        assert.equal(mismatches, 0);
        const st = target.status();
        assert.equal(st.degraded, true);
        assert.deepEqual(st.legs.map((l) => l.state), ["active", "failed"]);
        assert.match(st.legs[1]!.reason, /^read at \d+: E[A-Z]+$/);
        assert.ok(st.legs[0]!.reads >= Math.ceil(size / BS) - st.legs[1]!.reads);
      } finally {
        for (const s of servers) await s.kill();
        kernel.close();
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

Deno.test("mirror, copy: a failed leg is replaced and resynced in the background while writes go on", async () => {
  const kernel = modelKernel();
  try {
    await using files = await legFiles(3, LEG_SIZE);
    const dying = new FaultInjectTarget(fileLeg(kernel, files.paths[1]!, { direct: false }).target);
    const events: string[] = [];
    const target = new MirrorTarget([
      fileLeg(kernel, files.paths[0]!, { direct: false }),
      { uri: files.paths[1]!, target: dying },
    ], { onEvent: (m) => events.push(m), resyncWindow: 64 << 10 });
    await using d = await device(kernel, target, false);
    dying.failAll();
    const first = await verifyWorkload(d.bdev, { seed: 40, maxIo: 32 << 10, reads: 8 });
    assert.deepEqual(first.errors, []);
    assert.equal(target.status().legs[1]!.state, "failed");
    // Replace leg 1 with a fresh file (all zeroes): it is a file leg, so once the queues run
    // it is served through its side channel.
    const index = await target.addLeg(fileLeg(kernel, files.paths[2]!, { direct: false }));
    assert.equal(index, 1);
    const during = target.status();
    assert.equal(during.legs[1]!.state, "resyncing");
    assert.equal(during.resync!.state, "running");
    assert.equal(during.resync!.total, LEG_SIZE);
    // A second verify pass runs while the resync copies: every write reaches both legs.
    const second = await verifyWorkload(d.bdev, { seed: 41, maxIo: 32 << 10, reads: 32 });
    assert.deepEqual(second.errors, []);
    assert.equal(second.mismatches, 0);
    await target.resyncFinished();
    const st = target.status();
    assert.equal(st.resync!.state, "done", st.resync!.reason);
    assert.equal(st.resync!.done, LEG_SIZE);
    assert.equal(st.degraded, false);
    assert.deepEqual(st.legs.map((l) => [l.uri, l.state]), [
      [files.paths[0], "active"],
      [files.paths[2], "active"],
    ]);
    assertBytesEqual(Deno.readFileSync(files.paths[2]!), second.reference, "the resynced leg");
    assertBytesEqual(Deno.readFileSync(files.paths[0]!), second.reference, "the source leg");
    assert.match(events.join("\n"), /leg 1 .* resynced/);
    // Reads now use the new leg too.
    const third = await verifyWorkload(d.bdev, { seed: 42, maxIo: 32 << 10, reads: 64 });
    assert.equal(third.mismatches, 0);
    assert.ok(target.status().legs[1]!.reads > 0);
  } finally {
    kernel.close();
  }
});

Deno.test("mirror, zero copy: adding a leg that needs fixed files is refused (-EOPNOTSUPP)", async () => {
  const kernel = modelKernel();
  try {
    await using files = await legFiles(3, LEG_SIZE);
    const target = new MirrorTarget(
      files.paths.slice(0, 2).map((p) => fileLeg(kernel, p, { direct: false })),
    );
    await using _d = await device(kernel, target, true);
    await assert.rejects(
      () => target.addLeg(fileLeg(kernel, files.paths[2]!, { direct: false })),
      (e: Error) => e.message.includes("zero-copy") && e.message.includes("EOPNOTSUPP"),
    );
    assert.equal(target.legs.length, 2);
  } finally {
    kernel.close();
  }
});
