// Real NBD clients from Debian (qemu-img, nbdinfo, nbdcopy, fio's nbd engine, nbdfuse) against
// `serveNbd` exporting a MODEL ublk device: ModelKernel + the fused command + the model ublk
// driver, `createDevice` with a loop target over a file in /dev/shm (tmpfs) and in /tmp (ext4
// here), in copy mode and with RFC fused zero copy. Every check compares checksums or bytes
// with the backing file; the clients run as child processes while this process serves them.
import assert from "node:assert/strict";
import { installFusedCmd } from "@ublk-ts/fused-cmd";
import { ModelKernel } from "@ublk-ts/model";
import { type NbdServer, serveNbd } from "@ublk-ts/nbd";
import { LoopTarget } from "@ublk-ts/targets";
import { createDevice, type UblkDevice } from "@ublk-ts/ublk";
import { installUblk } from "@ublk-ts/ublk-drv";
import { have } from "./_peers.ts";

const MiB = 1 << 20;
const SIZE = 32 * MiB;
const TOOLS = ["qemu-img", "nbdinfo", "nbdcopy", "fio"];
const missing = TOOLS.filter((t) => !have(t));
if (missing.length > 0) {
  console.warn(
    `export_test: skipped, missing ${
      missing.join(", ")
    } (apt-get install qemu-utils libnbd-bin fio)`,
  );
}
const ignore = missing.length > 0;
const DIRS = ["/dev/shm", "/tmp"] as const;
const MODES = [{ name: "copy", zeroCopy: false }, { name: "zero copy", zeroCopy: true }] as const;

interface Exported extends AsyncDisposable {
  readonly dir: string;
  readonly file: string;
  readonly dev: UblkDevice;
  readonly server: NbdServer;
  readonly uri: string;
}

/** A file of `size` random bytes. */
async function randomFile(path: string, size: number): Promise<void> {
  const f = await Deno.open(path, { create: true, write: true, truncate: true });
  try {
    const chunk = new Uint8Array(MiB);
    for (let off = 0; off < size; off += chunk.length) {
      for (let i = 0; i < chunk.length; i += 65536) {
        crypto.getRandomValues(chunk.subarray(i, i + 65536));
      }
      let done = 0;
      while (done < chunk.length) done += await f.write(chunk.subarray(done));
    }
  } finally {
    f.close();
  }
}

async function sha256(path: string): Promise<string> {
  const bytes = await Deno.readFile(path);
  const h = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(h, (b) => b.toString(16).padStart(2, "0")).join("");
}

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a client (asynchronously: this process must keep serving it). */
async function run(cmd: string, args: string[]): Promise<Ran> {
  const r = await new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" })
    .output();
  const td = new TextDecoder();
  return { code: r.code, stdout: td.decode(r.stdout), stderr: td.decode(r.stderr) };
}

async function ok(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args);
  assert.equal(r.code, 0, `${cmd} ${args.join(" ")} failed (${r.code}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** A model loop device over a fresh random file in `base`, exported over NBD. */
async function exportLoop(
  base: string,
  zeroCopy: boolean,
  options: { tcp?: boolean; readOnly?: boolean } = {},
): Promise<Exported> {
  const dir = await Deno.makeTempDir({ dir: base, prefix: "nbd_export_" });
  const file = `${dir}/disk.img`;
  await randomFile(file, SIZE);
  const kernel = new ModelKernel();
  installFusedCmd(kernel);
  installUblk(kernel);
  let dev: UblkDevice | null = null;
  try {
    const target = new LoopTarget(kernel, file, { readOnly: options.readOnly ?? false });
    dev = await createDevice(kernel, target, { queues: 2, depth: 64, zeroCopy });
    const listener = options.tcp
      ? Deno.listen({ hostname: "127.0.0.1", port: 0 })
      : Deno.listen({ transport: "unix", path: `${dir}/nbd.sock` });
    const server = serveNbd(dev.bdev, listener, { description: `loop over ${file}` });
    const d = dev;
    return {
      dir,
      file,
      dev: d,
      server,
      uri: server.uri,
      async [Symbol.asyncDispose](): Promise<void> {
        try {
          await server.close();
          await d.stop();
        } finally {
          await Deno.remove(dir, { recursive: true });
        }
      },
    };
  } catch (e) {
    await dev?.stop();
    await Deno.remove(dir, { recursive: true });
    throw e;
  }
}

for (const base of DIRS) {
  for (const mode of MODES) {
    Deno.test({
      name:
        `qemu-img, nbdinfo, nbdcopy and fio on a model ublk loop device over ${base} (${mode.name}) match the backing file`,
      ignore,
      async fn(t): Promise<void> {
        await using x = await exportLoop(base, mode.zeroCopy);
        assert.match(x.uri, /^nbd\+unix:\/\/\/\?socket=\/.*nbd\.sock$/);
        const original = await sha256(x.file);

        await t.step("qemu-img info reports the size", async () => {
          const info = JSON.parse(await ok("qemu-img", ["info", "--output=json", x.uri]));
          assert.equal(info["virtual-size"], SIZE);
          assert.equal(info.format, "raw");
        });

        await t.step("nbdinfo --json reports size, block sizes and features", async () => {
          const info = JSON.parse(await ok("nbdinfo", ["--json", x.uri]));
          assert.equal(info.protocol, "newstyle-fixed");
          assert.equal(info.structured, true);
          const e = info.exports[0];
          assert.equal(e["export-size"], SIZE);
          assert.equal(e.block_size_minimum, 512);
          assert.equal(e.block_size_preferred, 4096);
          assert.equal(e.block_size_maximum, x.dev.bdev.maxRequestBytes);
          assert.equal(e.is_read_only, false);
          for (const k of ["can_trim", "can_zero", "can_flush", "can_fua", "can_multi_conn"]) {
            assert.equal(e[k], true, k);
          }
          assert.deepEqual(e.contexts, ["base:allocation"]);
        });

        await t.step(
          "qemu-img compare says identical, and sees a one-byte difference",
          async () => {
            assert.match(
              await ok("qemu-img", ["compare", "-f", "raw", "-F", "raw", x.uri, x.file]),
              /identical/,
            );
            const other = `${x.dir}/other.img`;
            const bytes = await Deno.readFile(x.file);
            bytes[SIZE - 4096 + 17]! ^= 0xff;
            await Deno.writeFile(other, bytes);
            const r = await run("qemu-img", ["compare", "-f", "raw", "-F", "raw", x.uri, other]);
            assert.equal(r.code, 1, r.stderr + r.stdout);
            // qemu-img names the sector holding the changed byte.
            assert.match(r.stdout, /Content mismatch at offset 33550336!/);
            await Deno.remove(other);
          },
        );

        await t.step("qemu-img convert copies it byte for byte", async () => {
          const out = `${x.dir}/convert.raw`;
          await ok("qemu-img", ["convert", "-f", "raw", "-O", "raw", x.uri, out]);
          assert.equal(await sha256(out), original);
          await Deno.remove(out);
        });

        await t.step("nbdcopy out (multi-conn) equals the backing file", async () => {
          const before = x.server.stats.accepted;
          const out = `${x.dir}/copy.raw`;
          await ok("nbdcopy", [x.uri, out]);
          assert.equal(await sha256(out), original);
          assert.ok(
            x.server.stats.accepted - before >= 2,
            `nbdcopy used ${x.server.stats.accepted - before} connection(s)`,
          );
          await Deno.remove(out);
        });

        await t.step("nbdcopy in writes the backing file", async () => {
          const src = `${x.dir}/new.raw`;
          await randomFile(src, SIZE);
          const want = await sha256(src);
          assert.notEqual(want, original);
          await ok("nbdcopy", ["--flush", src, x.uri]);
          assert.equal(await sha256(x.file), want);
          assert.match(
            await ok("qemu-img", ["compare", "-f", "raw", "-F", "raw", x.uri, src]),
            /identical/,
          );
          await Deno.remove(src);
        });

        await t.step("fio --ioengine=nbd runs a verify job", async () => {
          const r = await run("fio", [
            "--name=nbd-verify",
            "--ioengine=nbd",
            `--uri=${x.uri}`,
            "--rw=randwrite",
            "--bssplit=4k/50:64k/30:256k/20",
            "--iodepth=16",
            "--offset=4m",
            "--size=8m",
            "--verify=crc32c",
            "--verify_state_save=0", // no state file in the cwd
            "--do_verify=1",
            "--verify_fatal=1",
            "--output-format=json",
          ]);
          assert.equal(r.code, 0, `fio failed: ${r.stderr}${r.stdout}`);
          const json = JSON.parse(r.stdout.slice(r.stdout.indexOf("{")));
          const job = json.jobs[0];
          assert.equal(job.error, 0);
          assert.equal(job.write.io_bytes, 8 * MiB);
          assert.equal(job.read.io_bytes, 8 * MiB, "fio read everything back to verify it");
          // What fio wrote went to the backing file: the export and the file still agree.
          assert.match(
            await ok("qemu-img", ["compare", "-f", "raw", "-F", "raw", x.uri, x.file]),
            /identical/,
          );
        });

        assert.equal(x.server.stats.protocolErrors, 0);
      },
    });
  }
}

Deno.test({
  name: "qemu-img and nbdinfo reach a model ublk device exported on 127.0.0.1 TCP",
  ignore,
  async fn(): Promise<void> {
    await using x = await exportLoop("/tmp", true, { tcp: true });
    const port = (x.server.addr as Deno.NetAddr).port;
    assert.equal(x.uri, `nbd://127.0.0.1:${port}`);
    const info = JSON.parse(await ok("nbdinfo", ["--json", x.uri]));
    assert.equal(info.exports[0]["export-size"], SIZE);
    assert.match(
      await ok("qemu-img", ["compare", "-f", "raw", "-F", "raw", x.uri, x.file]),
      /identical/,
    );
    const out = `${x.dir}/copy.raw`;
    await ok("nbdcopy", [x.uri, out]);
    assert.equal(await sha256(out), await sha256(x.file));
  },
});

Deno.test({
  name:
    "a read-only model ublk device is exported read-only: nbdcopy in fails, the file is untouched",
  ignore,
  async fn(): Promise<void> {
    await using x = await exportLoop("/dev/shm", true, { readOnly: true });
    const original = await sha256(x.file);
    const e = JSON.parse(await ok("nbdinfo", ["--json", x.uri])).exports[0];
    assert.equal(e.is_read_only, true);
    assert.equal(e.can_trim, false);
    assert.equal(e.can_zero, false);
    const src = `${x.dir}/new.raw`;
    await randomFile(src, SIZE);
    const r = await run("nbdcopy", [src, x.uri]);
    assert.notEqual(r.code, 0, "nbdcopy into a read-only export must fail");
    assert.equal(await sha256(x.file), original);
    assert.match(
      await ok("qemu-img", ["compare", "-f", "raw", "-F", "raw", x.uri, x.file]),
      /identical/,
    );
  },
});

function fuseUsable(): string | null {
  if (!have("nbdfuse")) return "nbdfuse is not installed (apt-get install nbdfuse)";
  if (Deno.uid() !== 0) return "nbdfuse needs root here (no fusermount3)";
  try {
    Deno.statSync("/dev/fuse");
  } catch {
    return "/dev/fuse is missing";
  }
  if (!have("umount")) return "umount is missing";
  return null;
}
const noFuse = fuseUsable();
if (noFuse !== null && !ignore) console.warn(`export_test: nbdfuse test skipped: ${noFuse}`);

Deno.test({
  name: "nbdfuse mounts a model ublk device (zero copy): reads match the file, writes reach it",
  ignore: ignore || noFuse !== null,
  async fn(): Promise<void> {
    await using x = await exportLoop("/dev/shm", true);
    const mnt = `${x.dir}/mnt`;
    await Deno.mkdir(mnt);
    const child = new Deno.Command("nbdfuse", {
      args: [`${mnt}/disk`, x.uri],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    try {
      let st: Deno.FileInfo | null = null;
      for (let i = 0; i < 400 && st === null; i++) {
        try {
          st = await Deno.stat(`${mnt}/disk`);
        } catch {
          await new Promise((r) => setTimeout(r, 25));
        }
      }
      assert.ok(st !== null, "nbdfuse did not mount within 10 s");
      assert.equal(st.size, SIZE);
      assert.equal(await sha256(`${mnt}/disk`), await sha256(x.file));
      const data = new Uint8Array(64 * 1024);
      crypto.getRandomValues(data);
      const f = await Deno.open(`${mnt}/disk`, { write: true });
      await f.seek(MiB, Deno.SeekMode.Start);
      let done = 0;
      while (done < data.length) done += await f.write(data.subarray(done));
      await f.sync();
      f.close();
      const back = await Deno.readFile(x.file);
      assert.deepEqual(back.subarray(MiB, MiB + data.length), data);
    } finally {
      await run("umount", [mnt]);
      try {
        child.kill("SIGTERM");
      } catch { /* exited after the unmount */ }
      await child.status;
      await stderr;
    }
  },
});
