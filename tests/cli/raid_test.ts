/**
 * The composite targets through the `ublk` CLI: `run -t stripe` verify workloads over 2 and 3
 * file legs (copy and -z, requests that cross the chunks anywhere), `run -t fault_inject` error
 * paths, and a `ublk add -t mirror` daemon over two nbdkit memory servers with one killed while
 * a client writes and reads through the device's NBD export: 0 mismatches, the device stays
 * LIVE, `list -v` and `list --json` show the failed leg; `mirror-add` resyncs a third server in.
 */
import assert from "node:assert/strict";
import { NbdClient } from "@ublk-ts/nbd";
import { have, ublk, ublkIn } from "./_cli.ts";

async function legFiles(n: number, size: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const p = await Deno.makeTempFile({ dir: "/dev/shm", prefix: "raid_cli_" });
    await Deno.truncate(p, size);
    out.push(p);
  }
  return out;
}

async function removeAll(paths: string[]): Promise<void> {
  for (const p of paths) await Deno.remove(p).catch(() => {});
}

for (const z of [false, true]) {
  for (const [n, chunk, bs] of [[2, "4k", "10k"], [3, "8k", "20k"]] as const) {
    Deno.test(`\`ublk run -t stripe\` over ${n} legs, chunk ${chunk}, bs ${bs}${z ? ", -z" : ""}: verify finds 0 mismatches`, async () => {
      const files = await legFiles(n, 4 << 20);
      try {
        const r = await ublk(
          "run",
          "-t",
          "stripe",
          ...files.flatMap((f) => ["--leg", f]),
          "--chunk",
          chunk,
          ...(z ? ["-z"] : []),
          "-d",
          "16",
          "--bench",
          `rw=verify,bs=${bs},qd=8,n=1500`,
          "--json",
        );
        assert.equal(r.code, 0, r.stderr);
        const j = JSON.parse(r.stdout);
        assert.equal(j.target, "stripe");
        assert.equal(j.zeroCopy, z);
        assert.equal(j.mismatches, 0);
        assert.equal(j.errors, 0);
        assert.ok(j.ios >= 1500);
        assert.match(r.stderr, new RegExp(`${4 * n}m, stripe .* \\(chunk ${chunk}\\)`));
        // Every leg got data.
        for (const f of files) {
          const b = await Deno.readFile(f);
          assert.ok(b.some((x) => x !== 0), `${f} holds data`);
        }
      } finally {
        await removeAll(files);
      }
    });
  }
}

Deno.test("`ublk run -t fault_inject --error-range`: reads of the range fail with EIO, others pass", async () => {
  const files = await legFiles(1, 4 << 20);
  try {
    const hit = await ublk(
      "run",
      "-t",
      "fault_inject",
      "--leg",
      files[0]!,
      "--error-range",
      "1m-1028k",
      "--bench",
      "rw=read,bs=4k,qd=1,size=2m,n=1000",
      "--json",
    );
    assert.equal(hit.code, 1, hit.stderr);
    const j = JSON.parse(hit.stdout);
    assert.ok(j.errors >= 1);
    assert.equal(j.firstError, -5);
    assert.match(hit.stderr, /first -5 \(EIO\)/);
    const miss = await ublk(
      "run",
      "-t",
      "fault-inject",
      "--leg",
      files[0]!,
      "--error-range",
      "2m-3m",
      "--bench",
      "rw=read,bs=4k,qd=4,size=2m,n=1000",
      "--json",
    );
    assert.equal(miss.code, 0, miss.stderr);
    assert.equal(JSON.parse(miss.stdout).errors, 0);
  } finally {
    await removeAll(files);
  }
});

Deno.test("composite target usage errors are one line, exit 2; `ublk help -t stripe|mirror|fault_inject`", async () => {
  const cases: [string[], RegExp][] = [
    [["run", "-t", "mirror", "--leg", "/tmp/a"], /needs at least 2 --leg/],
    [
      ["run", "-t", "stripe", "--leg", "a", "--leg", "b", "--chunk", "6k"],
      /--chunk must be a power of two/,
    ],
    [
      ["run", "-t", "mirror", "--leg", "a", "--leg", "b", "--chunk", "8k"],
      /--chunk is for the stripe target/,
    ],
    [
      ["run", "-t", "loop", "-f", "x", "--leg", "a"],
      /--leg is for the stripe, mirror and fault_inject/,
    ],
    [
      ["run", "-t", "stripe", "--leg", "a", "--leg", "b", "--error-rate", "0.1"],
      /--error-rate is for the fault_inject/,
    ],
    [
      ["run", "-t", "fault_inject", "--leg", "a", "--error-rate", "2"],
      /--error-rate must be a number in \[0, 1\]/,
    ],
  ];
  for (const [args, re] of cases) {
    const r = await ublk(...args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split("\n").length, 1);
  }
  for (
    const [t, re] of [["stripe", /--chunk SIZE/], ["mirror", /mirror-add/], [
      "fault-inject",
      /--error-range/,
    ]] as const
  ) {
    const r = await ublk("help", "-t", t);
    assert.equal(r.code, 0);
    assert.match(r.stdout, re);
    assert.match(r.stdout, /--leg LEG/);
  }
});

interface Server {
  socket: string;
  child: Deno.ChildProcess;
}

async function startServer(dir: string, name: string): Promise<Server> {
  const socket = `${dir}/${name}.sock`;
  const child = new Deno.Command("nbdkit", {
    args: ["-f", "-U", socket, "memory", "size=8M"],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (let i = 0; i < 1000; i++) {
    try {
      (await Deno.connect({ transport: "unix", path: socket })).close();
      return { socket, child };
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  child.kill("SIGKILL");
  throw new Error("nbdkit did not listen");
}

async function stop(s: Server): Promise<void> {
  try {
    s.child.kill("SIGKILL");
  } catch { /* gone */ }
  await s.child.status;
}

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

interface ListedLegs {
  state: string;
  legs?: {
    degraded: boolean;
    legs: { index: number; uri: string; state: string; reason?: string }[];
    resync: { state: string; done: number; total: number } | null;
  };
}

for (const z of [false, true]) {
  Deno.test({
    name: `\`ublk add -t mirror${
      z ? " -z" : ""
    }\` over two nbdkit servers: one killed mid-verify, 0 mismatches, LIVE and degraded${
      z ? "" : "; mirror-add resyncs a third"
    }`,
    ignore: !have("nbdkit"),
    async fn(): Promise<void> {
      const dir = await Deno.makeTempDir({ prefix: "ublk_run_" });
      const servers = [await startServer(dir, "a"), await startServer(dir, "b")];
      const uri = (s: Server) => `nbd+unix:///?socket=${s.socket}`;
      try {
        const add = await ublkIn(
          dir,
          "add",
          "-t",
          "mirror",
          "--leg",
          uri(servers[0]!),
          "--leg",
          uri(servers[1]!),
          ...(z ? ["-z"] : []),
        );
        assert.equal(add.code, 0, add.stderr);
        assert.match(add.stdout, /mirror healthy, 2 legs/);
        const client = await NbdClient.connect({ path: `${dir}/ublkb0.nbd.sock` });
        const BS = 36 * 1024, N = 200; // 36 KiB blocks, 7.2 MB of the 8 MiB
        const expect = new Map<number, Uint8Array>();
        // Writes, 8 at a time; server b is killed after the first 40.
        for (let i = 0; i < N; i += 8) {
          if (i === 40) await stop(servers[1]!);
          await Promise.all(Array.from({ length: 8 }, async (_, k) => {
            const blk = i + k, data = pattern(BS, blk + 1);
            expect.set(blk, data);
            assert.equal(await client.write(blk * BS, data), BS, `write ${blk}`);
          }));
        }
        let mismatches = 0;
        const back = new Uint8Array(BS);
        for (const [blk, data] of expect) {
          assert.equal(await client.read(blk * BS, back), BS, `read ${blk}`);
          if (back.some((b, j) => b !== data[j])) mismatches++;
        }
        assert.equal(mismatches, 0);
        const lv = await ublkIn(dir, "list", "-v");
        assert.equal(lv.code, 0, lv.stderr);
        assert.match(lv.stdout, /ublkb0 {2}LIVE {2}mirror /);
        assert.match(lv.stdout, /mirror DEGRADED, 2 legs/);
        assert.match(lv.stdout, /leg 0 ACTIVE /);
        assert.match(lv.stdout, /leg 1 FAILED .*b\.sock \((write|read|flush) at \d+: E[A-Z]+\)/);
        const [j] = JSON.parse((await ublkIn(dir, "list", "--json")).stdout) as ListedLegs[];
        assert.equal(j!.state, "LIVE");
        assert.equal(j!.legs!.degraded, true);
        assert.deepEqual(j!.legs!.legs.map((l) => l.state), ["active", "failed"]);
        if (!z) {
          servers.push(await startServer(dir, "c"));
          const ma = await ublkIn(
            dir,
            "mirror-add",
            "-n",
            "0",
            "--leg",
            uri(servers[2]!),
            "--wait",
          );
          assert.equal(ma.code, 0, ma.stderr);
          assert.match(ma.stdout, /leg 1 .*c\.sock added, resyncing/);
          assert.match(ma.stdout, /resync of leg 1 done/);
          const [h] = JSON.parse((await ublkIn(dir, "list", "--json")).stdout) as ListedLegs[];
          assert.equal(h!.legs!.degraded, false);
          assert.deepEqual(h!.legs!.legs.map((l) => l.state), ["active", "active"]);
          assert.equal(h!.legs!.resync!.done, h!.legs!.resync!.total);
          // The third server holds what was written.
          const direct = await NbdClient.connect({ path: servers[2]!.socket });
          for (const [blk, data] of expect) {
            assert.equal(await direct.read(blk * BS, back), BS);
            assert.ok(back.every((b, k) => b === data[k]), `block ${blk} on the resynced leg`);
          }
          await direct.disconnect();
        } else {
          const ma = await ublkIn(dir, "mirror-add", "-n", "0", "--leg", uri(servers[0]!));
          assert.equal(ma.code, 1);
          assert.match(ma.stderr, /fixed files/);
        }
        await client.disconnect();
      } finally {
        await ublkIn(dir, "del", "-a");
        for (const s of servers) await stop(s);
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
