import assert from "node:assert/strict";
import { have, lines, MAIN, ublk } from "./_cli.ts";

async function tempImage(size: number): Promise<string> {
  const path = await Deno.makeTempFile({ prefix: "ublk_cli_", suffix: ".img" });
  const data = new Uint8Array(size);
  for (let off = 0; off < size; off += 65536) {
    crypto.getRandomValues(data.subarray(off, Math.min(size, off + 65536)));
  }
  await Deno.writeFile(path, data);
  return path;
}

Deno.test("`ublk run -t null` runs a workload end to end and deletes the device", async () => {
  const r = await ublk("run", "-t", "null", "--bench", "rw=randread,bs=4k,qd=8,n=2000");
  assert.equal(r.code, 0, r.stderr);
  const out = lines(r.stdout);
  assert.equal(out.length, 1);
  assert.match(out[0]!, /^randread bs=4k qd=8: 2000 ios in [\d.]+ s, [\d.]+k? IOPS, [\d.]+ MB\/s/);
  assert.match(r.stderr, /ublk: added \/dev\/ublkb0: 250g, null, 1 queue x 128 tags, copy/);
  assert.match(r.stderr, /ublk: deleted \/dev\/ublkb0\n$/);
});

Deno.test("`ublk run --json` prints one JSON object", async () => {
  const r = await ublk(
    "run",
    "-t",
    "null",
    "-z",
    "-q",
    "2",
    "-d",
    "16",
    "--json",
    "--bench",
    "rw=write,bs=64k,n=300",
  );
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.target, "null");
  assert.equal(j.zeroCopy, true);
  assert.equal(j.queues, 2);
  assert.equal(j.depth, 16);
  assert.equal(j.ios, 300);
  assert.equal(j.writes, 300);
  assert.equal(j.bytes, 300 * 65536);
  assert.equal(j.errors, 0);
});

for (const z of [false, true]) {
  Deno.test(`\`ublk run -t loop${z ? " -z" : ""}\` passes the verify workload`, async () => {
    const img = await tempImage(8 << 20);
    try {
      const before = await Deno.readFile(img);
      const r = await ublk(
        "run",
        "-t",
        "loop",
        "-f",
        img,
        ...(z ? ["-z"] : []),
        "--force",
        "--bench",
        "rw=verify,bs=256k,qd=16,n=400,seed=11",
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^verify bs=256k qd=16: \d+ ios .*, 0 mismatches\n$/);
      assert.match(
        r.stderr,
        new RegExp(`added /dev/ublkb0: 8m, loop ${img}, .*${z ? "zero copy" : "copy"}`),
      );
      assert.match(r.stderr, /deleted \/dev\/ublkb0/);
      const after = await Deno.readFile(img);
      assert.equal(after.length, before.length, "the file keeps its size");
      assert.notDeepEqual(after, before, "the workload wrote to the backing file");
    } finally {
      await Deno.remove(img);
    }
  });
}

Deno.test("`ublk run -t loop` reports bad backing files before any device exists", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const odd = `${dir}/odd.img`;
    await Deno.writeFile(odd, new Uint8Array(1000));
    const empty = `${dir}/empty.img`;
    await Deno.writeFile(empty, new Uint8Array(0));
    for (
      const [file, pattern] of [
        [`${dir}/missing.img`, /ENOENT/],
        [dir, /EISDIR/],
        [odd, /size 1000 is not a non-zero multiple of 512/],
        [empty, /size 0 is not a non-zero multiple of 512/],
      ] as const
    ) {
      const r = await ublk("run", "-t", "loop", "-f", file, "--bench", "n=10");
      assert.equal(r.code, 1, `${file}: ${r.stderr}`);
      const errLines = lines(r.stderr);
      assert.equal(errLines.length, 1, r.stderr);
      assert.match(errLines[0]!, /^ublk: /);
      assert.match(errLines[0]!, pattern);
      assert.doesNotMatch(r.stderr, /added/);
      assert.equal(r.stdout, "");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("`ublk run` stops on Ctrl-C, deletes the device and exits 130", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "run", "-t", "null", "--bench", "rw=randread,bs=4k,time=60s"],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const dec = new TextDecoder();
  let stderr = "";
  const reader = child.stderr.getReader();
  const started = performance.now();
  while (!stderr.includes("added /dev/ublkb0")) {
    const { value, done } = await reader.read();
    if (done) break;
    stderr += dec.decode(value);
  }
  // Let it run a little, then interrupt.
  await new Promise((r) => setTimeout(r, 300));
  const sent = performance.now();
  child.kill("SIGINT");
  const readRest = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      stderr += dec.decode(value);
    }
  })();
  const [status, stdout] = await Promise.all([
    child.status,
    new Response(child.stdout).text(),
    readRest,
  ]);
  assert.equal(status.code, 130, stderr);
  assert.ok(performance.now() - sent < 5000, "reacted to Ctrl-C promptly");
  assert.ok(performance.now() - started < 30000);
  assert.match(stdout, /\(interrupted\)\n$/);
  assert.match(stderr, /ublk: deleted \/dev\/ublkb0/);
});

Deno.test("`ublk features` prints the model driver's flags and the kernel's absence", async () => {
  const r = await ublk("features");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^model ublk driver: 0x[0-9a-f]{16}$/m);
  assert.match(r.stdout, /^ {2}UBLK_F_SUPPORT_ZERO_COPY$/m);
  assert.match(r.stdout, /kernel ublk driver: \/dev\/ublk-control is absent/);
  const j = JSON.parse((await ublk("features", "--json")).stdout);
  assert.ok(j.model.flags.includes("UBLK_F_SUPPORT_ZERO_COPY"));
  assert.equal(j.kernel.present, false);
});

Deno.test("`ublk bench -t null` prints copy, zero copy and their ratio", async () => {
  const r = await ublk(
    "bench",
    "-t",
    "null",
    "--rounds",
    "2",
    "--bench",
    "rw=read,bs=512k,qd=8,n=400",
  );
  assert.equal(r.code, 0, r.stderr);
  const out = lines(r.stdout);
  assert.equal(out.length, 3);
  assert.equal(r.stderr.match(/ublk: round \d: /g)?.length, 4, "2 rounds x (copy, zero copy)");
  assert.equal(r.stderr.match(/ublk: deleted/g)?.length, 4, "each run on a fresh device");
  assert.match(out[0]!, /^copy +read bs=512k/);
  assert.match(out[1]!, /^zero copy +read bs=512k/);
  assert.match(out[2]!, /^ratio zero copy \/ copy: [\d.]+x \(fused\)$/);
});

Deno.test({
  name: "`ublk run -t nbd` (copy and -z) passes the verify workload against nbdkit memory",
  ignore: !have("nbdkit"),
  async fn(): Promise<void> {
    const dir = await Deno.makeTempDir();
    const sock = `${dir}/nbd.sock`;
    const srv = new Deno.Command("nbdkit", {
      args: ["-f", "-U", sock, "memory", "size=16M"],
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      for (let i = 0; i < 200; i++) {
        try {
          await Deno.stat(sock);
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      for (const z of [[], ["-z"]]) {
        const r = await ublk(
          "run",
          "-t",
          "nbd",
          "--unix",
          sock,
          ...z,
          "--bench",
          "rw=verify,bs=128k,qd=16,n=300,seed=3",
        );
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /, 0 mismatches\n$/);
        assert.match(
          r.stderr,
          new RegExp(
            `added /dev/ublkb0: 16m, nbd unix:${sock}, .*${z.length ? "zero copy" : "copy"}`,
          ),
        );
      }
    } finally {
      srv.kill("SIGTERM");
      await srv.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "`ublk run -t nbd --zc-mode fused --send-zc` over TCP passes the verify workload",
  ignore: !have("nbdkit"),
  async fn(): Promise<void> {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const srv = new Deno.Command("nbdkit", {
      args: ["-f", "-p", String(port), "-i", "127.0.0.1", "memory", "size=16M"],
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      for (let i = 0; i < 200; i++) {
        try {
          (await Deno.connect({ hostname: "127.0.0.1", port })).close();
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      const r = await ublk(
        "run",
        "-t",
        "nbd",
        "--host",
        "127.0.0.1",
        "--port",
        String(port),
        "--zc-mode",
        "fused",
        "--send-zc",
        "--bench",
        "rw=verify,bs=128k,qd=16,n=300,seed=4",
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /, 0 mismatches\n$/);
      assert.match(r.stderr, /zero copy \(fused, send_zc\)/);
    } finally {
      srv.kill("SIGTERM");
      await srv.status;
    }
  },
});

Deno.test("`ublk run -t nbd` reports an unreachable server in one line, before any device", async () => {
  for (const z of [[], ["-z"]]) {
    for (
      const [where, pattern] of [
        [["--unix", "/nonexistent/nbd.sock"], /connect \/nonexistent\/nbd\.sock failed: .*ENOENT/],
        [["--host", "127.0.0.1", "--port", "1"], /connect 127\.0\.0\.1:1 failed: .*ECONNREFUSED/],
      ] as const
    ) {
      const r = await ublk("run", "-t", "nbd", ...where, ...z, "--bench", "n=10");
      assert.equal(r.code, 1, r.stderr);
      assert.equal(lines(r.stderr).length, 1, r.stderr);
      assert.match(r.stderr, pattern);
      assert.doesNotMatch(r.stderr, /added/);
    }
  }
});
