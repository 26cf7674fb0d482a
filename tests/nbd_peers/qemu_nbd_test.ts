// The NBD client and the verify workload against qemu-nbd (structured replies, sparse holes).
import assert from "node:assert/strict";
import { NbdClient, NbdError } from "@ublk-ts/nbd";
import { runVerify } from "../../apps/ublk/verify.ts";
import { have, nbdcopyTo, type Peer, startQemuNbd } from "./_peers.ts";

const ignore = !have("qemu-nbd") || !have("qemu-img") || !have("nbdcopy");
const MiB = 1 << 20;

async function withQemuNbd(
  sizeMiB: number,
  fn: (peer: Peer, image: string, dir: string) => Promise<void>,
  extra: string[] = [],
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "qemu-nbd-" });
  const image = `${dir}/disk.raw`;
  let peer: Peer | null = null;
  try {
    const r = await new Deno.Command("qemu-img", {
      args: ["create", "-q", "-f", "raw", image, `${sizeMiB}M`],
    }).output();
    assert.ok(r.success, "qemu-img create");
    peer = await startQemuNbd(dir, image, extra);
    await fn(peer, image, dir);
  } finally {
    await peer?.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

for (const structured of [true, false]) {
  const how = structured ? "structured" : "simple";
  Deno.test({
    name: `verify at QD 128 through \`NbdClient\` on qemu-nbd (${how} replies) matches the image`,
    ignore,
    async fn(): Promise<void> {
      await withQemuNbd(64, async (peer, image, dir) => {
        const c = await NbdClient.connect({ path: peer.socket!, structuredReplies: structured });
        assert.equal(c.info.structuredReplies, structured);
        assert.equal(c.info.usedGo, true);
        assert.equal(c.size, 64 * MiB);
        const r = await runVerify(c, {
          seed: structured ? 101 : 202,
          ops: 4000,
          queueDepth: 128,
          maxBytes: 512 * 1024,
          splitBytes: 256 * 1024,
          initial: "zero",
        });
        assert.deepEqual(r.errors, [], `seed ${r.seed}`);
        assert.equal(r.mismatchCount, 0, `seed ${r.seed}: ${JSON.stringify(r.mismatches)}`);
        assert.equal(await c.flush(), 0);
        await c.disconnect();
        // An independent client through the same server…
        const out = `${dir}/copy.raw`;
        await nbdcopyTo(peer.uri, out);
        assert.deepEqual(r.shadow.compare(0, await Deno.readFile(out)), []);
        // …and the backing file itself, byte for byte.
        const img = await Deno.readFile(image);
        assert.deepEqual(r.shadow.compare(0, img), []);
        assert.deepEqual(img, r.shadow.expectedImage(0, 64 * MiB));
      });
    },
  });
}

Deno.test({
  name: "`NbdClient` reads qemu-nbd holes as zeroes and honours writeZeroes and trim",
  ignore,
  async fn(): Promise<void> {
    await withQemuNbd(8, async (peer) => {
      const c = await NbdClient.connect({ path: peer.socket! });
      try {
        assert.ok(c.info.structuredReplies);
        const data = new Uint8Array(64 * 1024).fill(0x5a);
        assert.equal(await c.write(MiB, data), data.length);
        // A read spanning a hole, data, and a hole: OFFSET_HOLE and OFFSET_DATA chunks.
        const b = new Uint8Array(3 * MiB).fill(0xff);
        assert.equal(await c.read(0, b), b.length);
        assert.ok(b.subarray(0, MiB).every((x) => x === 0));
        assert.deepEqual(b.subarray(MiB, MiB + data.length), data);
        assert.ok(b.subarray(MiB + data.length).every((x) => x === 0));
        assert.equal(await c.writeZeroes(MiB, 4096), 0);
        assert.equal(await c.writeZeroes(MiB + 4096, 4096, { noHole: true }), 0);
        const z = new Uint8Array(16384).fill(1);
        assert.equal(await c.read(MiB, z), z.length);
        assert.ok(z.subarray(0, 8192).every((x) => x === 0));
        assert.ok(z.subarray(8192).every((x) => x === 0x5a));
        if (c.info.transmissionFlags & (1 << 5)) assert.equal(await c.trim(2 * MiB, 65536), 0);
        assert.equal(await c.flush(), 0);
      } finally {
        await c.disconnect();
      }
    });
  },
});

Deno.test({
  name: "`NbdClient` splits I/O above qemu-nbd's 32 MiB maximum payload",
  ignore,
  async fn(): Promise<void> {
    await withQemuNbd(80, async (peer, image) => {
      const c = await NbdClient.connect({ path: peer.socket! });
      try {
        assert.equal(c.info.maxPayload, 32 * MiB);
        const data = new Uint8Array(40 * MiB);
        for (let i = 0; i < data.length; i += 4096) data[i] = (i / 4096) & 255;
        assert.equal(await c.write(4096, data), data.length);
        const back = new Uint8Array(data.length);
        assert.equal(await c.read(4096, back), back.length);
        assert.ok(back.every((x, i) => x === data[i]));
        assert.equal(await c.flush(), 0);
        const f = await Deno.open(image);
        const fb = new Uint8Array(8192);
        await f.seek(4096 + 36 * MiB, Deno.SeekMode.Start);
        await f.read(fb);
        f.close();
        assert.equal(fb[0], ((36 * MiB) / 4096) & 255);
      } finally {
        await c.disconnect();
      }
    });
  },
});

Deno.test({
  name: "`NbdClient.connect()` gets NBD_REP_ERR_UNKNOWN from qemu-nbd for a wrong export name",
  ignore,
  async fn(): Promise<void> {
    await withQemuNbd(1, async (peer) => {
      await assert.rejects(
        NbdClient.connect({ path: peer.socket!, exportName: "nope" }),
        (e) =>
          e instanceof NbdError && e.replyName === "NBD_REP_ERR_UNKNOWN" &&
          /Export "nope" is unknown/.test(e.message),
      );
      const c = await NbdClient.connect({ path: peer.socket!, exportName: "disk" });
      assert.equal(c.size, MiB);
      await c.disconnect();
    }, ["-x", "disk"]);
  },
});
