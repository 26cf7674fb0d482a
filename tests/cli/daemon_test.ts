/**
 * `ublk add/list/del/recover` with daemons, each test in its own run directory (UBLK_RUN_DIR,
 * a temp dir): a device outlives the `add` that made it, other processes see it, real NBD
 * clients (nbdcopy, qemu-img, nbdinfo, fio --ioengine=nbd) use its export with checksums
 * against the backing file, `del` removes it, a daemon killed with SIGKILL shows as dead.
 */
import assert from "node:assert/strict";
import { have, lines, readRest, readUntil, spawnUblk, ublkIn } from "./_cli.ts";

interface Listed {
  dev_id: number;
  state: string;
  target: { type: string; file?: string; read_only?: boolean };
  queues: number;
  depth: number;
  size: number;
  flags: string[];
  kernel: string;
  pid: number;
  nbd?: string;
  alive: boolean;
}

/** A run directory and the `ublk` runs in it; `del -a` and removal at the end. */
async function withRunDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ublk_run_" });
  try {
    await body(dir);
  } finally {
    await ublkIn(dir, "del", "-a");
    await Deno.remove(dir, { recursive: true });
  }
}

async function list(dir: string): Promise<Listed[]> {
  const r = await ublkIn(dir, "list", "--json");
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Listed[];
}

async function randomFile(size: number): Promise<string> {
  const dir = Deno.statSync("/dev/shm").isDirectory ? "/dev/shm" : undefined;
  const path = await Deno.makeTempFile({ dir, prefix: "ublk_daemon_", suffix: ".img" });
  const data = new Uint8Array(size);
  for (let off = 0; off < size; off += 65536) {
    crypto.getRandomValues(data.subarray(off, off + 65536));
  }
  await Deno.writeFile(path, data);
  return path;
}

async function sha256(path: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function run(cmd: string, ...args: string[]): Promise<{ ok: boolean; out: string }> {
  const o = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", stdin: "null" })
    .output();
  const dec = new TextDecoder();
  return { ok: o.success, out: dec.decode(o.stdout) + dec.decode(o.stderr) };
}

function alive(pid: number): boolean {
  try {
    const s = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/\) [ZX] /.test(s);
  } catch {
    return false;
  }
}

const clients = have("nbdcopy") && have("qemu-img") && have("fio") && have("nbdinfo");

for (const z of [false, true]) {
  Deno.test({
    name: `\`ublk add -t loop${
      z ? " -z" : ""
    }\` returns with the device live; another process lists it; nbdcopy, qemu-img, nbdinfo and fio use its NBD export; del removes it`,
    ignore: !clients,
    async fn(): Promise<void> {
      const img = await randomFile(16 << 20);
      const tmp = await Deno.makeTempDir();
      try {
        await withRunDir(async (dir) => {
          const t0 = performance.now();
          const add = await ublkIn(dir, "add", "-t", "loop", "-f", img, ...(z ? ["-z"] : []));
          assert.equal(add.code, 0, add.stderr);
          assert.match(add.stdout, /^ublkb0 {2}\/dev\/ublkb0: 16m, loop /m);
          assert.match(add.stdout, /state LIVE/);
          assert.ok(performance.now() - t0 < 60_000);
          // The daemon serves on after `add` returned.
          const [d] = await list(dir);
          assert.ok(d, "list shows the device");
          assert.equal(d.dev_id, 0);
          assert.equal(d.state, "LIVE");
          assert.equal(d.kernel, "model");
          assert.equal(d.target.type, "loop");
          assert.equal(d.target.file, img);
          assert.equal(d.size, 16 << 20);
          assert.equal(d.queues, 1);
          assert.equal(d.depth, 128);
          assert.equal(d.flags.includes("UBLK_F_AUTO_BUF_REG"), z); // -z on the model: its best zero copy
          assert.ok(alive(d.pid), "the daemon runs");
          assert.ok(d.pid !== 0);
          const uri = d.nbd!;
          assert.equal(uri, `nbd+unix:///?socket=${dir}/ublkb0.nbd.sock`);
          // nbdcopy out: byte for byte the backing file.
          const copy = `${tmp}/copy.img`;
          const c = await run("nbdcopy", uri, copy);
          assert.ok(c.ok, c.out);
          assert.equal(await sha256(copy), await sha256(img));
          // qemu-img.
          const info = await run("qemu-img", "info", "--output=json", uri);
          assert.ok(info.ok, info.out);
          assert.equal(JSON.parse(info.out)["virtual-size"], 16 << 20);
          const cmp = await run("qemu-img", "compare", uri, img);
          assert.ok(cmp.ok, cmp.out);
          assert.match(cmp.out, /Images are identical/);
          // nbdinfo.
          const ni = await run("nbdinfo", "--json", uri);
          assert.ok(ni.ok, ni.out);
          assert.equal(JSON.parse(ni.out).exports[0]["export-size"], 16 << 20);
          // nbdcopy in, then the backing file holds what was copied in.
          const src = await randomFile(16 << 20);
          try {
            const w = await run("nbdcopy", src, uri);
            assert.ok(w.ok, w.out);
            assert.equal(await sha256(img), await sha256(src));
          } finally {
            await Deno.remove(src);
          }
          // fio's nbd engine: a verify job.
          const fio = await run(
            "fio",
            "--name=verify",
            "--ioengine=nbd",
            `--uri=${uri}`,
            "--rw=randwrite",
            "--bs=64k",
            "--size=8M",
            "--iodepth=8",
            "--verify=crc32c",
            "--verify_state_save=0", // no state file in the cwd
            "--do_verify=1",
            "--output-format=json",
          );
          assert.ok(fio.ok, fio.out);
          const job = JSON.parse(fio.out.slice(fio.out.indexOf("{"))).jobs[0];
          assert.equal(job.error, 0);
          assert.ok(job.write.io_bytes >= 8 << 20);
          assert.ok(job.read.io_bytes >= 8 << 20, "fio read everything back to verify");
          // del: the daemon stops and the record goes.
          const del = await ublkIn(dir, "del", "-n", "0");
          assert.equal(del.code, 0, del.stderr);
          assert.match(del.stderr, /deleted \/dev\/ublkb0/);
          assert.equal(alive(d.pid), false, "the daemon exited");
          assert.deepEqual(await list(dir), []);
          const plain = await ublkIn(dir, "list");
          assert.match(plain.stdout, /^no devices/);
          const left = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) =>
            !n.endsWith(".log") && n !== ".lock"
          );
          assert.deepEqual(left, [], "no record or socket left");
        });
      } finally {
        await Deno.remove(img);
        await Deno.remove(tmp, { recursive: true });
      }
    },
  });
}

Deno.test("a daemon killed with SIGKILL shows as DEAD, `del` cleans it, ids are per run directory", async () => {
  await withRunDir(async (dir) => {
    const a = await ublkIn(dir, "add", "-t", "null", "--size", "1m");
    const b = await ublkIn(dir, "add", "-t", "null", "--size", "2m");
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    let devs = await list(dir);
    assert.deepEqual(devs.map((d) => d.dev_id), [0, 1]);
    const taken = await ublkIn(dir, "add", "-t", "null", "-n", "1");
    assert.equal(taken.code, 1);
    assert.equal(lines(taken.stderr).length, 1, taken.stderr);
    assert.match(taken.stderr, /device 1 exists/);
    Deno.kill(devs[1]!.pid, "SIGKILL");
    for (let i = 0; i < 200 && alive(devs[1]!.pid); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    devs = await list(dir);
    assert.equal(devs[1]!.state, "DEAD");
    assert.equal(devs[1]!.alive, false);
    assert.equal(devs[0]!.state, "LIVE");
    const text = await ublkIn(dir, "list");
    assert.match(text.stdout, /^ublkb1 {2}DEAD .*\(dead\)/m);
    const rec = await ublkIn(dir, "recover", "-n", "1");
    assert.equal(rec.code, 1);
    assert.match(rec.stderr, /died with its daemon/);
    const del = await ublkIn(dir, "del", "-n", "1");
    assert.equal(del.code, 0, del.stderr);
    assert.match(del.stderr, /was dead: record removed/);
    assert.deepEqual((await list(dir)).map((d) => d.dev_id), [0]);
    const again = await ublkIn(dir, "del", "-n", "1");
    assert.equal(again.code, 1);
    assert.match(again.stderr, /no device 1 \(ENODEV\)/);
    const all = await ublkIn(dir, "del", "-a");
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(await list(dir), []);
  });
});

Deno.test("`ublk add` returns non-zero with the daemon's own error, and leaves nothing behind", async () => {
  await withRunDir(async (dir) => {
    const r = await ublkIn(dir, "add", "-t", "loop", "-f", "/nonexistent/disk.img");
    assert.equal(r.code, 1);
    assert.equal(lines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /^ublk: add: .*ENOENT/);
    assert.equal(r.stdout, "");
    assert.deepEqual(await list(dir), []);
    const nbd = await ublkIn(dir, "add", "-t", "nbd", "--unix", `${dir}/none.sock`);
    assert.equal(nbd.code, 1);
    assert.match(nbd.stderr, /ENOENT/);
  });
});

Deno.test("the run directory is made with mode 0700 and records are whole JSON files", async () => {
  const parent = await Deno.makeTempDir();
  const dir = `${parent}/run`;
  try {
    const r = await ublkIn(dir, "add", "-t", "null", "--size", "1m", "--json");
    assert.equal(r.code, 0, r.stderr);
    const printed = JSON.parse(r.stdout);
    assert.equal(printed.dev_id, 0);
    assert.equal(Deno.statSync(dir).mode! & 0o777, 0o700);
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(names.filter((n) => n.endsWith(".tmp")), [], "no temp file left");
    assert.ok(names.includes("ublkb0.json") && names.includes("ublkb0.sock"));
    const rec = JSON.parse(await Deno.readTextFile(`${dir}/ublkb0.json`));
    assert.equal(rec.pid, printed.pid);
    assert.equal(rec.state, "LIVE");
  } finally {
    await ublkIn(dir, "del", "-a");
    await Deno.remove(parent, { recursive: true });
  }
});

Deno.test({
  name:
    "`ublk add --export tcp:127.0.0.1:0` exports over TCP (nbd://) and `list -v` asks the daemon",
  ignore: !have("nbdinfo"),
  async fn(): Promise<void> {
    await withRunDir(async (dir) => {
      const r = await ublkIn(
        dir,
        "add",
        "-t",
        "null",
        "--size",
        "4m",
        "-q",
        "2",
        "-d",
        "16",
        "--export",
        "tcp:127.0.0.1:0",
      );
      assert.equal(r.code, 0, r.stderr);
      const [d] = await list(dir);
      assert.match(d!.nbd!, /^nbd:\/\/127\.0\.0\.1:\d+$/);
      assert.notEqual(d!.nbd, "nbd://127.0.0.1:0");
      const ni = await run("nbdinfo", "--size", d!.nbd!);
      assert.ok(ni.ok, ni.out);
      assert.equal(ni.out.trim(), String(4 << 20));
      const v = await ublkIn(dir, "list", "-v", "-n", "0");
      assert.match(v.stdout, /^ {4}dev_id 0 {2}state LIVE$/m);
      assert.match(v.stdout, /queue_depth 16/);
      assert.match(v.stdout, /flags UBLK_F_/);
      const bad = await ublkIn(dir, "add", "-t", "null", "--export", "udp:1");
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--export 'udp:1'/);
    });
  },
});

Deno.test({
  name: "`ublk recover -n N` gives a live model device (-r 1) a new server; the data stays",
  ignore: !have("qemu-img"),
  async fn(): Promise<void> {
    const img = await randomFile(4 << 20);
    try {
      await withRunDir(async (dir) => {
        const r = await ublkIn(dir, "add", "-t", "loop", "-f", img, "-z", "-r", "1");
        assert.equal(r.code, 0, r.stderr);
        const rec = await ublkIn(dir, "recover", "-n", "0");
        assert.equal(rec.code, 0, rec.stderr);
        assert.match(rec.stdout, /ublkb0 {2}LIVE {2}recovered by a new server/);
        const [d] = await list(dir);
        assert.ok(d!.flags.includes("UBLK_F_USER_RECOVERY"));
        const cmp = await run("qemu-img", "compare", d!.nbd!, img);
        assert.ok(cmp.ok, cmp.out);
        const plain = await ublkIn(dir, "add", "-t", "null");
        assert.equal(plain.code, 0, plain.stderr);
        const no = await ublkIn(dir, "recover", "-n", "1");
        assert.equal(no.code, 1);
        assert.match(no.stderr, /added without -r 1/);
        const bad = await ublkIn(dir, "add", "-t", "null", "-e", "1");
        assert.equal(bad.code, 2);
        assert.match(bad.stderr, /-e and -i need -r 1/);
      });
    } finally {
      await Deno.remove(img);
    }
  },
});

Deno.test("`ublk add --foreground` serves in the terminal; `del` from another process ends it (exit 0)", async () => {
  await withRunDir(async (dir) => {
    const child = spawnUblk(dir, "add", "-t", "null", "--size", "1m", "--foreground");
    const reader = child.stderr.getReader();
    let stderr = await readUntil(reader, "serving /dev/ublkb0");
    const [d] = await list(dir);
    assert.equal(d!.state, "LIVE");
    const del = await ublkIn(dir, "del", "-n", "0");
    assert.equal(del.code, 0, del.stderr);
    const [status, stdout] = await Promise.all([child.status, new Response(child.stdout).text()]);
    stderr = await readRest(reader, stderr);
    assert.equal(status.code, 0, stderr);
    assert.match(stdout, /state LIVE/);
    assert.match(stderr, /deleted \/dev\/ublkb0/);
    assert.deepEqual(await list(dir), []);
  });
});

Deno.test("`ublk del --async` returns at once and the device goes", async () => {
  await withRunDir(async (dir) => {
    assert.equal((await ublkIn(dir, "add", "-t", "null", "--size", "1m")).code, 0);
    const [d] = await list(dir);
    const del = await ublkIn(dir, "del", "-n", "0", "--async");
    assert.equal(del.code, 0, del.stderr);
    for (let i = 0; i < 500 && alive(d!.pid); i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(alive(d!.pid), false);
    assert.deepEqual(await list(dir), []);
  });
});
