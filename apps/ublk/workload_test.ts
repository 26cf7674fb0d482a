import assert from "node:assert/strict";
import {
  formatWorkloadResult,
  formatWorkloadSpec,
  parseWorkloadSpec,
  runWorkload,
  type WorkloadDevice,
} from "./workload.ts";

function memDevice(size: number): WorkloadDevice & { mem: Uint8Array; offsets: number[] } {
  const mem = new Uint8Array(size);
  const offsets: number[] = [];
  return {
    size,
    mem,
    offsets,
    read(off: number, buf: Uint8Array): Promise<number> {
      offsets.push(off);
      buf.set(mem.subarray(off, off + buf.length));
      return Promise.resolve(buf.length);
    },
    write(off: number, data: Uint8Array): Promise<number> {
      offsets.push(off);
      mem.set(data, off);
      return Promise.resolve(data.length);
    },
  };
}

Deno.test("`parseWorkloadSpec()` reads every key", () => {
  const s = parseWorkloadSpec("rw=randrw,bs=64k,qd=8,n=1k,size=1m,rwmixread=70,seed=9");
  assert.deepEqual(s, {
    rw: "randrw",
    bs: 65536,
    qd: 8,
    n: 1000,
    timeMs: 0,
    rwmixread: 70,
    size: 1 << 20,
    seed: 9,
  });
});

Deno.test("`parseWorkloadSpec()` gives verify its own default count", () => {
  assert.equal(parseWorkloadSpec("rw=verify").n, 2000);
  assert.equal(parseWorkloadSpec("rw=verify,n=10").n, 10);
  assert.equal(parseWorkloadSpec("rw=read").n, 50_000);
});

Deno.test("`parseWorkloadSpec()` makes a time-only spec unbounded in count", () => {
  const s = parseWorkloadSpec("rw=read,time=2s");
  assert.equal(s.n, 0);
  assert.equal(s.timeMs, 2000);
  const both = parseWorkloadSpec("n=10,time=250ms");
  assert.equal(both.n, 10);
  assert.equal(both.timeMs, 250);
});

Deno.test("`parseWorkloadSpec()` rejects bad input with a clear message", () => {
  assert.throws(() => parseWorkloadSpec("rw=sideways"), /Cannot use rw "sideways"/);
  assert.throws(() => parseWorkloadSpec("bs=100"), /multiple of 512/);
  assert.throws(() => parseWorkloadSpec("qd=0"), /qd "0"/);
  assert.throws(() => parseWorkloadSpec("colour=blue"), /workload key "colour"/);
  assert.throws(() => parseWorkloadSpec("bs"), /key=value/);
  assert.throws(() => parseWorkloadSpec("time=soon"), /duration/);
});

Deno.test("`formatWorkloadSpec()` round-trips", () => {
  const text = "rw=randread,bs=4k,qd=128,n=200000";
  assert.equal(formatWorkloadSpec(parseWorkloadSpec(text)), text);
});

Deno.test("`runWorkload()` issues exactly n I/Os of bs bytes", async () => {
  const dev = memDevice(1 << 20);
  const r = await runWorkload(dev, parseWorkloadSpec("rw=randread,bs=4k,qd=16,n=1000"));
  assert.equal(r.ops, 1000);
  assert.equal(r.reads, 1000);
  assert.equal(r.writes, 0);
  assert.equal(r.bytes, 1000 * 4096);
  assert.equal(r.errors, 0);
  assert.ok(dev.offsets.every((o) => o % 4096 === 0 && o + 4096 <= dev.size));
  assert.ok(new Set(dev.offsets).size > 50, "random offsets spread over the device");
});

Deno.test("`runWorkload()` walks sequentially and wraps", async () => {
  const dev = memDevice(8 * 4096);
  const r = await runWorkload(dev, parseWorkloadSpec("rw=write,bs=4k,qd=1,n=10"));
  assert.equal(r.writes, 10);
  assert.deepEqual(dev.offsets, [0, 1, 2, 3, 4, 5, 6, 7, 0, 1].map((b) => b * 4096));
  assert.ok(dev.mem.some((b) => b !== 0), "writes carried data");
});

Deno.test("`runWorkload()` verify finds no mismatch on a good device", async () => {
  const dev = memDevice(64 * 4096);
  const r = await runWorkload(dev, parseWorkloadSpec("rw=verify,bs=4k,qd=8,n=300"));
  assert.ok(r.writes > 50);
  assert.ok(r.reads > 50);
  assert.equal(r.errors, 0);
  assert.equal(r.mismatches, 0);
});

Deno.test("`runWorkload()` verify catches a device that drops writes", async () => {
  const dev = memDevice(64 * 4096);
  const lossy: WorkloadDevice = {
    size: dev.size,
    read: dev.read,
    // Drops every write that covers byte 7 * 4096.
    write: (off, data) =>
      off <= 4096 * 7 && off + data.length > 4096 * 7
        ? Promise.resolve(data.length)
        : dev.write(off, data),
  };
  const r = await runWorkload(lossy, parseWorkloadSpec("rw=verify,bs=4k,qd=4,n=400"));
  assert.ok(r.mismatches >= 1);
  assert.match(formatWorkloadResult(r), /[1-9]\d* mismatches/);
});

Deno.test("`runWorkload()` counts a failed I/O and stops", async () => {
  let calls = 0;
  const dev: WorkloadDevice = {
    size: 1 << 20,
    read: (_o, b) => Promise.resolve(++calls === 5 ? -5 : b.length),
    write: (_o, b) => Promise.resolve(b.length),
  };
  const r = await runWorkload(dev, parseWorkloadSpec("rw=read,bs=4k,qd=1,n=100"));
  assert.equal(r.errors, 1);
  assert.equal(r.firstError, -5);
  assert.equal(r.ops, 5);
  assert.match(formatWorkloadResult(r), /1 errors \(first -5\)/);
});

Deno.test("`runWorkload()` stops on abort and says so", async () => {
  const ac = new AbortController();
  const dev: WorkloadDevice = {
    size: 1 << 20,
    read: (_o, b) => new Promise((r) => setTimeout(() => r(b.length), 1)),
    write: (_o, b) => Promise.resolve(b.length),
  };
  setTimeout(() => ac.abort(), 30);
  const r = await runWorkload(dev, parseWorkloadSpec("rw=read,bs=4k,qd=2,time=10s"), {
    signal: ac.signal,
  });
  assert.equal(r.interrupted, true);
  assert.ok(r.seconds < 5);
});

Deno.test("`runWorkload()` reports progress", async () => {
  const seen: number[] = [];
  const dev = memDevice(1 << 20);
  await runWorkload(dev, parseWorkloadSpec("rw=randread,bs=4k,qd=4,n=2000"), {
    progressIntervalMs: 0,
    onProgress: (p) => seen.push(p.fraction),
  });
  assert.ok(seen.length > 1);
  assert.equal(seen.at(-1), 1);
});

Deno.test("`runWorkload()` rejects a block larger than the device", async () => {
  await assert.rejects(
    () => runWorkload(memDevice(4096), parseWorkloadSpec("bs=8k,n=1")),
    RangeError,
  );
});
