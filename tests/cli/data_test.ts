/**
 * Byte-for-byte data tests of the targets behind the model ublk driver, through the same stack
 * the CLI uses: writes (crossing the 512 KiB request limit so they split), FUA, discard,
 * write-zeroes and flush go through `/dev/ublkbN`; afterwards the backing file (loop) or the
 * NBD export read with `nbdcopy` (nbd) must equal the expected image exactly.
 */
import assert from "node:assert/strict";
import { checkDeviceOptions } from "../../apps/ublk/device_options.ts";
import { openStack } from "../../apps/ublk/stack.ts";
import { NativeBackend } from "@ublk-ts/native";
import { have } from "./_cli.ts";

/** A deterministic PRNG for offsets and data. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

function randomBytes(n: number, next: () => number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i += 4) {
    const v = Math.floor(next() * 0x1_0000_0000);
    b[i] = v & 0xff;
    b[i + 1] = (v >>> 8) & 0xff;
    b[i + 2] = (v >>> 16) & 0xff;
    b[i + 3] = v >>> 24;
  }
  return b;
}

/** Runs a mixed workload on the block device, mirroring it in `expected`; checks reads. */
async function exercise(
  bdev: {
    read(o: number, b: Uint8Array): Promise<number>;
    write(o: number, d: Uint8Array, opts?: { fua?: boolean }): Promise<number>;
    flush(): Promise<number>;
    discard(o: number, n: number): Promise<number>;
    writeZeroes(o: number, n: number): Promise<number>;
  },
  expected: Uint8Array,
  seed: number,
  discardZeroes: boolean,
): Promise<void> {
  const next = rng(seed);
  const size = expected.length;
  const sectors = size / 512;
  // Concurrent writes to disjoint ranges: sizes from 512 B to 1.5 MiB (split at 512 KiB).
  const writes: Promise<void>[] = [];
  const stripe = size / 8;
  for (let w = 0; w < 8; w++) {
    const len = 512 * (1 + Math.floor(next() * Math.min(3072, stripe / 512 - 1)));
    const off = w * stripe + 512 * Math.floor(next() * ((stripe - len) / 512 + 1));
    const data = randomBytes(len, next);
    expected.set(data, off);
    writes.push(
      bdev.write(off, data, { fua: w % 3 === 0 }).then((r) =>
        assert.equal(r, len, `write ${off}+${len}`)
      ),
    );
  }
  await Promise.all(writes);
  // Sequential overlapping writes.
  for (let i = 0; i < 20; i++) {
    const len = 512 * (1 + Math.floor(next() * 256));
    const off = 512 * Math.floor(next() * (sectors - len / 512));
    const data = randomBytes(len, next);
    expected.set(data, off);
    assert.equal(await bdev.write(off, data), len);
  }
  assert.equal(await bdev.flush(), 0);
  // Discard and write-zeroes (both read back as zeroes on these backends).
  const zOff = 4096 * Math.floor(next() * (size / 4096 - 64));
  assert.equal(await bdev.writeZeroes(zOff, 65536), 0);
  expected.fill(0, zOff, zOff + 65536);
  if (discardZeroes) {
    const dOff = 4096 * Math.floor(next() * (size / 4096 - 64));
    assert.equal(await bdev.discard(dOff, 131072), 0);
    expected.fill(0, dOff, dOff + 131072);
  }
  // Read everything back through the device in 768 KiB pieces.
  const buf = new Uint8Array(768 * 1024);
  for (let off = 0; off < size; off += buf.length) {
    const n = Math.min(buf.length, size - off);
    const view = buf.subarray(0, n);
    assert.equal(await bdev.read(off, view), n);
    assert.ok(
      view.every((b, i) => b === expected[off + i]),
      `read-back differs in [${off}, ${off + n})`,
    );
  }
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

function nativeWorks(): boolean {
  try {
    new NativeBackend().close();
    return true;
  } catch {
    return false;
  }
}

for (const native of [false, true]) {
  for (const zeroCopy of [false, true]) {
    const label = `loop${zeroCopy ? " -z" : ""}${native ? " --native" : ""}`;
    Deno.test({
      name: `${label}: the backing file equals the expected image byte for byte`,
      ignore: native && !nativeWorks(),
      async fn(): Promise<void> {
        const size = 8 << 20;
        const dir = Deno.statSync("/dev/shm").isDirectory ? "/dev/shm" : undefined;
        const path = await Deno.makeTempFile({ dir, prefix: "ublk_data_", suffix: ".img" });
        try {
          const initial = randomBytes(size, rng(99));
          await Deno.writeFile(path, initial);
          const expected = initial.slice();
          const o = checkDeviceOptions(
            { type: "loop", file: path, queues: "2", depth: "16", "zero-copy": zeroCopy },
            "test",
          );
          const stack = openStack({ native });
          try {
            const dev = await stack.addDevice(o);
            assert.equal(dev.size, size);
            if (native) assert.match(dev.note, /native backend, O_DIRECT/);
            await exercise(dev.device.bdev, expected, zeroCopy ? 7 : 8, true);
            await dev.delete();
          } finally {
            await stack.close();
          }
          const got = await Deno.readFile(path);
          assert.equal(got.length, size);
          assert.equal(firstDifference(got, expected), -1);
        } finally {
          await Deno.remove(path);
        }
      },
    });
  }
}

async function startNbdkit(dir: string, size: number): Promise<[Deno.ChildProcess, string]> {
  const sock = `${dir}/nbd.sock`;
  const srv = new Deno.Command("nbdkit", {
    args: ["-f", "-U", sock, "memory", `size=${size}`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (let i = 0; i < 200; i++) {
    try {
      await Deno.stat(sock);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  return [srv, sock];
}

for (const zeroCopy of [false, true]) {
  Deno.test({
    name: `nbd${
      zeroCopy ? " -z" : ""
    }: the nbdkit export equals the expected image byte for byte (nbdcopy)`,
    ignore: !have("nbdkit") || !have("nbdcopy"),
    async fn(): Promise<void> {
      const size = 8 << 20;
      const dir = await Deno.makeTempDir();
      const [srv, sock] = await startNbdkit(dir, size);
      try {
        const expected = new Uint8Array(size);
        const o = checkDeviceOptions(
          { type: "nbd", unix: sock, depth: "32", queues: "2", "zero-copy": zeroCopy },
          "test",
        );
        const stack = openStack({ native: false });
        try {
          const dev = await stack.addDevice(o);
          assert.equal(dev.size, size);
          await exercise(dev.device.bdev, expected, zeroCopy ? 15 : 5, true);
          await dev.delete();
        } finally {
          await stack.close();
        }
        const out = `${dir}/out.img`;
        const copy = await new Deno.Command("nbdcopy", {
          args: [`nbd+unix:///?socket=${sock}`, out],
          stdout: "null",
          stderr: "piped",
        }).output();
        assert.ok(copy.success, new TextDecoder().decode(copy.stderr));
        const got = await Deno.readFile(out);
        assert.equal(firstDifference(got, expected), -1);
      } finally {
        srv.kill("SIGTERM");
        await srv.status;
        await Deno.remove(dir, { recursive: true });
      }
    },
  });

  Deno.test({
    name: `nbd${
      zeroCopy ? " -z" : ""
    }: when the server dies, I/O fails with an error and the device can be deleted`,
    ignore: !have("nbdkit"),
    async fn(): Promise<void> {
      const dir = await Deno.makeTempDir();
      const [srv, sock] = await startNbdkit(dir, 4 << 20);
      let killed = false;
      try {
        const o = checkDeviceOptions(
          { type: "nbd", unix: sock, depth: "8", "zero-copy": zeroCopy },
          "test",
        );
        const stack = openStack({ native: false });
        try {
          const dev = await stack.addDevice(o);
          const buf = new Uint8Array(65536);
          assert.equal(await dev.bdev.read(0, buf), 65536);
          // In flight while the server dies: must not hang.
          const inflight = Array.from(
            { length: 8 },
            (_, i) => dev.bdev.read(i * 65536, new Uint8Array(65536)),
          );
          srv.kill("SIGKILL");
          killed = true;
          await srv.status;
          const results = await Promise.all(inflight);
          const later = await dev.bdev.read(0, buf);
          assert.ok(later < 0, `a read after the server died returned ${later}`);
          assert.ok(results.every((r) => r === 65536 || r < 0), String(results));
          await dev.delete();
        } finally {
          await stack.close();
        }
      } finally {
        if (!killed) {
          srv.kill("SIGKILL");
          await srv.status;
        }
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
