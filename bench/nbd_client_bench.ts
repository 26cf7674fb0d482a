// NbdClient throughput against a real nbdkit memory server on a unix socket:
// a batch of concurrent requests per iteration, simple vs structured replies side by side.
//   deno bench -A bench/nbd_client_bench.ts
import { NbdClient } from "@ublk-ts/nbd";

const dir = Deno.makeTempDirSync({ prefix: "nbd-bench-" });
const socket = `${dir}/nbdkit.sock`;
const child = new Deno.Command("nbdkit", {
  args: ["-f", "-U", socket, "memory", "256M"],
  stdout: "null",
  stderr: "null",
}).spawn();
globalThis.addEventListener("unload", () => {
  try {
    child.kill("SIGTERM");
  } catch { /* gone */ }
  Deno.removeSync(dir, { recursive: true });
});
for (let i = 0; i < 200; i++) {
  try {
    (await Deno.connect({ transport: "unix", path: socket })).close();
    break;
  } catch {
    await new Promise((r) => setTimeout(r, 25));
  }
}

const simple = await NbdClient.connect({ path: socket, structuredReplies: false });
const structured = await NbdClient.connect({ path: socket, structuredReplies: true });
// Populate the export so that reads return data, not holes.
const fill = new Uint8Array(1 << 20).fill(0x5a);
for (let off = 0; off < 256 << 20; off += fill.length) await simple.write(off, fill);

function batch(c: NbdClient, bs: number, qd: number, write: boolean): () => Promise<void> {
  const bufs = Array.from({ length: qd }, () => new Uint8Array(bs));
  const span = Math.floor((256 << 20) / bs);
  let seq = 0;
  return async () => {
    const ps: Promise<number>[] = [];
    for (let t = 0; t < qd; t++) {
      const off = ((seq++ * 2654435761) % span) * bs;
      ps.push(write ? c.write(off, bufs[t]!, { tag: t }) : c.read(off, bufs[t]!, t));
    }
    for (const r of await Promise.all(ps)) if (r !== bs) throw new Error(`Result ${r}`);
  };
}

for (const [bs, qd] of [[4096, 128], [65536, 32], [1 << 20, 8]] as const) {
  const group = `nbd read ${bs / 1024}K x${qd}`;
  Deno.bench({
    name: `simple replies, ${group}`,
    group,
    baseline: true,
    fn: batch(simple, bs, qd, false),
  });
  Deno.bench({ name: `structured replies, ${group}`, group, fn: batch(structured, bs, qd, false) });
  const wgroup = `nbd write ${bs / 1024}K x${qd}`;
  Deno.bench({
    name: `simple replies, ${wgroup}`,
    group: wgroup,
    baseline: true,
    fn: batch(simple, bs, qd, true),
  });
  Deno.bench({
    name: `structured replies, ${wgroup}`,
    group: wgroup,
    fn: batch(structured, bs, qd, true),
  });
}
