// The NBD client and the verify workload against real nbdkit servers (Debian's nbdkit).
import assert from "node:assert/strict";
import { NbdClient } from "@ublk-ts/nbd";
import { runVerify, type VerifyReport } from "../../apps/ublk/verify.ts";
import { have, nbdcopyTo, type Peer, startNbdkit } from "./_peers.ts";

const ignore = !have("nbdkit") || !have("nbdcopy");
const MiB = 1 << 20;

async function withNbdkit(
  args: string[],
  options: { tcp?: boolean; readonly?: boolean },
  fn: (peer: Peer, dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "nbd-peers-" });
  let peer: Peer | null = null;
  try {
    peer = await startNbdkit(dir, args, options);
    await fn(peer, dir);
  } finally {
    await peer?.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

function connect(peer: Peer, structuredReplies: boolean): Promise<NbdClient> {
  return peer.socket !== undefined
    ? NbdClient.connect({ path: peer.socket, structuredReplies })
    : NbdClient.connect({ port: peer.port!, structuredReplies });
}

function assertClean(r: VerifyReport): void {
  assert.deepEqual(r.errors, [], `I/O errors (seed ${r.seed})`);
  assert.equal(r.mismatchCount, 0, `mismatches (seed ${r.seed}): ${JSON.stringify(r.mismatches)}`);
}

for (const structured of [true, false]) {
  for (const tcp of [false, true]) {
    const how = `${structured ? "structured" : "simple"} replies, ${tcp ? "TCP" : "unix socket"}`;
    Deno.test({
      name: `verify at QD 128 through \`NbdClient\` on nbdkit memory (${how}) matches nbdcopy`,
      ignore,
      async fn(): Promise<void> {
        await withNbdkit(["memory", "64M"], { tcp }, async (peer, dir) => {
          const c = await connect(peer, structured);
          assert.equal(c.info.structuredReplies, structured);
          assert.equal(c.size, 64 * MiB);
          const r = await runVerify(c, {
            seed: 0x5eed + (structured ? 1 : 0) + (tcp ? 2 : 0),
            ops: 4000,
            queueDepth: 128,
            maxBytes: 256 * 1024,
            splitBytes: 128 * 1024,
            initial: "zero",
          });
          assertClean(r);
          assert.ok(r.bytesWritten > 100 * MiB / 10);
          await c.disconnect();
          const out = `${dir}/out.raw`;
          await nbdcopyTo(peer.uri, out);
          const image = await Deno.readFile(out);
          assert.equal(image.length, 64 * MiB);
          assert.deepEqual(r.shadow.compare(0, image), []);
        });
      },
    });
  }
}

Deno.test({
  name: "verify with split requests through `NbdClient` on nbdkit file matches the backing file",
  ignore,
  async fn(): Promise<void> {
    const dir = await Deno.makeTempDir({ prefix: "nbd-file-" });
    const img = `${dir}/disk.img`;
    try {
      await Deno.writeFile(img, new Uint8Array(0));
      await Deno.truncate(img, 32 * MiB);
      await withNbdkit(["file", img], {}, async (peer) => {
        // Requests above 128 KiB are split into several NBD requests (cookie parts).
        const c = await NbdClient.connect({ path: peer.socket!, maxRequestBytes: 128 * 1024 });
        assert.equal(c.maxRequestBytes, 128 * 1024);
        const r = await runVerify(c, {
          seed: 77,
          ops: 3000,
          queueDepth: 64,
          maxBytes: 1 * MiB,
          splitBytes: 512 * 1024,
          initial: "zero",
        });
        assertClean(r);
        assert.equal(await c.flush(), 0);
        await c.disconnect();
        const image = await Deno.readFile(img);
        assert.deepEqual(r.shadow.compare(0, image), []);
        assert.deepEqual(image, r.shadow.expectedImage(0, 32 * MiB));
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "`NbdClient` against nbdkit -r: writes are -EPERM, reads work",
  ignore,
  async fn(): Promise<void> {
    await withNbdkit(["pattern", "1M"], { readonly: true }, async (peer) => {
      const c = await connect(peer, true);
      try {
        assert.ok(c.info.transmissionFlags & 2, "READ_ONLY flag");
        assert.equal(await c.write(0, new Uint8Array(512)), -1);
        assert.equal(await c.writeZeroes(0, 512), -1);
        const b = new Uint8Array(16);
        assert.equal(await c.read(8, b), 16);
        // The pattern plugin stores each 8-byte offset big-endian.
        assert.equal(new DataView(b.buffer).getBigUint64(0), 8n);
        assert.equal(new DataView(b.buffer).getBigUint64(8), 16n);
      } finally {
        await c.disconnect();
      }
    });
  },
});

for (const structured of [true, false]) {
  Deno.test({
    name: `\`NbdClient\` maps nbdkit error filter errors to errno (${
      structured ? "structured" : "simple"
    })`,
    ignore,
    async fn(): Promise<void> {
      const dir = await Deno.makeTempDir({ prefix: "nbd-err-" });
      const trigger = `${dir}/fail`;
      try {
        await withNbdkit(
          [
            "--filter=error",
            "memory",
            "8M",
            "error-pwrite=ENOSPC",
            "error-pwrite-rate=100%",
            `error-pwrite-file=${trigger}`,
            "error-pread=EIO",
            "error-pread-rate=100%",
            `error-pread-file=${trigger}`,
            "error-trim=EPERM",
            "error-trim-rate=100%",
            `error-trim-file=${trigger}`,
          ],
          {},
          async (peer) => {
            const c = await connect(peer, structured);
            try {
              const data = new Uint8Array(4096).fill(9);
              assert.equal(await c.write(0, data), 4096);
              await Deno.writeFile(trigger, new Uint8Array(0));
              assert.equal(await c.write(0, data), -28);
              assert.equal(await c.read(0, new Uint8Array(4096)), -5);
              assert.equal(await c.trim(0, 4096), -1);
              const many = await Promise.all(
                Array.from({ length: 32 }, (_, i) => c.read(i * 4096, new Uint8Array(4096))),
              );
              assert.deepEqual(many, new Array(32).fill(-5));
              assert.equal(c.alive, true);
              await Deno.remove(trigger);
              const back = new Uint8Array(4096);
              assert.equal(await c.read(0, back), 4096);
              assert.deepEqual(back, data);
            } finally {
              await c.disconnect();
            }
          },
        );
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

Deno.test({
  name: "`NbdClient` fails every in-flight request with -EIO when nbdkit is SIGKILLed",
  ignore,
  async fn(): Promise<void> {
    await withNbdkit(["--filter=delay", "memory", "16M", "rdelay=10"], {}, async (peer) => {
      const c = await connect(peer, true);
      const t0 = performance.now();
      const reads = Array.from({ length: 64 }, (_, i) => c.read(i * 65536, new Uint8Array(65536)));
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(c.inFlight, 64);
      await peer.stop("SIGKILL");
      const res = await Promise.all(reads);
      assert.deepEqual(res, new Array(64).fill(-5));
      assert.ok(performance.now() - t0 < 8000, "failed before the 10 s server delay");
      assert.equal(c.alive, false);
      assert.equal(await c.read(0, new Uint8Array(512)), -5);
      assert.equal(await c.write(0, new Uint8Array(512)), -5);
      await c.close();
    });
  },
});

Deno.test({
  name: "`NbdClient.connect()` refuses an unknown nbdkit export name only when nbdkit does",
  ignore,
  async fn(): Promise<void> {
    await withNbdkit(["memory", "1M"], {}, async (peer) => {
      // nbdkit serves any export name by default; the handshake must still succeed via GO.
      const c = await NbdClient.connect({ path: peer.socket!, exportName: "anything" });
      assert.equal(c.info.usedGo, true);
      assert.equal(c.size, MiB);
      await c.disconnect();
    });
  },
});

Deno.test({
  name: "`NbdClient` honours block sizes advertised by nbdkit's blocksize-policy filter",
  ignore,
  async fn(): Promise<void> {
    await withNbdkit(
      [
        "--filter=blocksize-policy",
        "memory",
        "16M",
        "blocksize-minimum=4096",
        "blocksize-preferred=65536",
        "blocksize-maximum=256K",
        "blocksize-error-policy=error",
      ],
      {},
      async (peer) => {
        const c = await connect(peer, true);
        try {
          assert.equal(c.info.minBlock, 4096);
          assert.equal(c.info.preferredBlock, 65536);
          assert.equal(c.info.maxPayload, 256 * 1024);
          assert.equal(c.maxRequestBytes, 256 * 1024);
          // Refused locally, never sent (the server would answer EINVAL and may drop us).
          assert.equal(await c.read(512, new Uint8Array(4096)), -22);
          assert.equal(await c.write(0, new Uint8Array(1024)), -22);
          // 1 MiB requests are split into 256 KiB ones the server accepts.
          const r = await runVerify(c, {
            seed: 4096,
            ops: 1500,
            queueDepth: 64,
            blockSize: 4096,
            maxBytes: MiB,
            splitBytes: 256 * 1024,
            initial: "zero",
          });
          assertClean(r);
          assert.equal(c.alive, true);
        } finally {
          await c.disconnect();
        }
      },
    );
  },
});

Deno.test({
  name: "`NbdClient` fails queued and half-sent writes with -EIO when nbdkit is SIGKILLed",
  ignore,
  async fn(): Promise<void> {
    await withNbdkit(["--filter=delay", "memory", "128M", "delay-write=10"], {}, async (peer) => {
      const c = await connect(peer, true);
      const t0 = performance.now();
      // 96 MiB of writes: far more than the socket buffers hold, so the sender is blocked.
      const data = new Uint8Array(MiB).fill(1);
      const writes = Array.from({ length: 96 }, (_, i) => c.write(i * MiB, data));
      const flush = c.flush();
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(c.inFlight, 97);
      await peer.stop("SIGKILL");
      const res = await Promise.all([...writes, flush]);
      assert.deepEqual(res, new Array(97).fill(-5));
      assert.ok(performance.now() - t0 < 8000, "failed before the 10 s server delay");
      assert.equal(c.alive, false);
      await c.close();
    });
  },
});

Deno.test({
  name:
    "`NbdClient` falls back to EXPORT_NAME on nbdkit --mask-handshake=0 and simple replies on --no-sr",
  ignore,
  async fn(): Promise<void> {
    await withNbdkit(["--mask-handshake=0", "memory", "8M"], {}, async (peer) => {
      const c = await connect(peer, true);
      assert.equal(c.info.usedGo, false);
      assert.equal(c.info.structuredReplies, false);
      assertClean(await runVerify(c, { seed: 10, ops: 500, queueDepth: 16, initial: "zero" }));
      await c.disconnect();
    });
    await withNbdkit(["--no-sr", "memory", "8M"], {}, async (peer) => {
      const c = await connect(peer, true);
      assert.equal(c.info.usedGo, true);
      assert.equal(c.info.structuredReplies, false);
      assertClean(await runVerify(c, { seed: 11, ops: 500, queueDepth: 16, initial: "zero" }));
      await c.disconnect();
    });
  },
});

Deno.test({
  name: "`NbdClient` FUA writes, trim and writeZeroes reach nbdkit file's backing file",
  ignore,
  async fn(): Promise<void> {
    const dir = await Deno.makeTempDir({ prefix: "nbd-fua-" });
    const img = `${dir}/disk.img`;
    try {
      await Deno.writeFile(img, new Uint8Array(MiB).fill(0xee));
      await withNbdkit(["file", img], {}, async (peer) => {
        const c = await connect(peer, true);
        try {
          const flags = c.info.transmissionFlags;
          assert.ok(flags & (1 << 3), "SEND_FUA");
          assert.ok(flags & (1 << 5), "SEND_TRIM");
          assert.ok(flags & (1 << 6), "SEND_WRITE_ZEROES");
          const data = new Uint8Array(8192).fill(0x11);
          assert.equal(await c.write(4096, data, { fua: true }), 8192);
          assert.equal(await c.writeZeroes(65536, 65536, { fua: true }), 0);
          assert.equal(await c.writeZeroes(131072, 4096, { noHole: true }), 0);
          assert.equal(await c.trim(262144, 65536), 0);
          assert.equal(await c.flush(), 0);
        } finally {
          await c.disconnect();
        }
      });
      const f = await Deno.readFile(img);
      assert.ok(f.subarray(0, 4096).every((x) => x === 0xee));
      assert.ok(f.subarray(4096, 12288).every((x) => x === 0x11));
      assert.ok(f.subarray(12288, 65536).every((x) => x === 0xee));
      assert.ok(f.subarray(65536, 131072 + 4096).every((x) => x === 0));
      assert.ok(f.subarray(131072 + 4096, 262144).every((x) => x === 0xee));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
