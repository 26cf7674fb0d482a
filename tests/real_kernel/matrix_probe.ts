/**
 * A kublk-style matrix on the real `ublk_drv`, inside the VM of `scripts/real_kernel.sh`
 * (bundled to `/test/matrix.js`, after `probe.ts` and `cli_probe.ts`). Every step is the `ublk`
 * CLI (`/test/ublk.js`) or a real client (busybox `dd`, `fio`) in a process of its own.
 *
 * For every data mode both the kernel (its `GET_FEATURES`, through `ublk features --json`) and
 * the server library have (see {@linkcode MODES}: copy, copy with NEED_GET_DATA, user copy, register-buf and
 * auto-buf-reg zero copy, auto with fallback):
 *
 * - null and loop (backing file on the guest's tmpfs), two queues: `dd` write + read + compare
 *   (loop), `dd` read (null), `fio --verify=crc32c` with O_DIRECT and io_uring (loop), a fio
 *   random-read job (null);
 * - the server killed (SIGKILL) under fio: fio sees I/O errors and ends, nothing hangs, the
 *   device can be deleted;
 * - user recovery with REISSUE (`-r 1 -i 1`): the server killed under a fio verify job, `ublk
 *   recover -n`, fio ends with its data verified;
 * - a device deleted under I/O: STOP_DEV removes the node, openers read EOF, `ublk del` waits for them;
 * - stripe (64 KiB chunks) and mirror over two leg files: fio verify; the mirror's legs equal;
 * - every mode the kernel lacks, and the model-only RFC fused mode, refused by `ublk add` with
 *   one line naming the missing feature (on 6.12: "zero copy needs UBLK_F_SUPPORT_ZERO_COPY:
 *   this kernel (6.12) has USER_COPY; use -u");
 * - an nbd target against an NBD server inside the guest: the project's own `serveNbd` (from
 *   `@ublk-ts/nbd`, in this process) over a RAM disk on a Unix socket; `dd` and fio verify through
 *   `/dev/ublkbN` → the daemon → NBD → the RAM disk, compared byte for byte.
 *
 * Prints `MATRIX: …` lines, `MATRIX: FAIL …` per failed check, a
 * `MATRIX-JSON {…}` summary (cases, bytes verified, kills survived), and exits 0 when all passed.
 *
 * @module
 */

import type { BlockDevice } from "@ublk-ts/ring";
import { serveNbd } from "@ublk-ts/nbd";
import {
  alive,
  exists,
  firstDiff,
  guestCli,
  type Listed,
  type Out,
  run as runIn,
  spawn,
  waitFor,
  within,
} from "./_guest.ts";
import { pattern } from "./_pattern.ts";

const UBLK = Deno.env.get("CLI_UBLK") ?? "/test/ublk.js";
const RUN_DIR = "/tmp/ublk-matrix";
const { ublk, list } = guestCli(UBLK, RUN_DIR);
const run = (cmd: string, args: string[]): Promise<Out> => runIn(cmd, args, RUN_DIR);
const FIO = "/bin/fio";
const t0 = performance.now();
let failures = 0;
let stage = "start";
const counts = {
  cases: 0,
  passed: 0,
  bytesVerified: 0,
  killsSurvived: 0,
  refusals: 0,
  knownBugs: 0,
};

function say(line: string): void {
  console.log(`MATRIX: ${line} [${((performance.now() - t0) / 1000).toFixed(1)}s]`);
}

const fail = (line: string): void => {
  failures++;
  console.log(`MATRIX: FAIL ${line} [${((performance.now() - t0) / 1000).toFixed(1)}s]`);
};

function check(ok: boolean, what: string): boolean {
  if (ok) say(`ok ${what}`);
  else fail(what);
  return ok;
}

const watchdog = setTimeout(() => {
  console.log(`MATRIX: FAIL timeout in stage "${stage}"`);
  Deno.exit(3);
}, 1_200_000);

const SIZE = 32 << 20;
const IMG = "/tmp/matrix.img";

/** One data mode: its CLI flags and the feature bits it needs. */
interface Mode {
  readonly name: string;
  readonly flags: readonly string[];
  readonly needs: readonly number[];
}

/**
 * The data modes the server library serves on a real kernel, each with the feature bits it
 * needs (`ublk_cmd.h`): 2 UBLK_F_NEED_GET_DATA (5.20: copy mode where a WRITE's data is asked
 * for with NEED_GET_DATA after the server has seen the request), 7 UBLK_F_USER_COPY (6.5), 0 UBLK_F_SUPPORT_ZERO_COPY (6.15),
 * 11 UBLK_F_AUTO_BUF_REG (6.16); the fallback registers by hand, so it needs bit 0 too. (The
 * RFC fused mode is model-only and is refused here.)
 */
const MODES: readonly Mode[] = [
  { name: "copy", flags: [], needs: [] },
  { name: "copy with NEED_GET_DATA", flags: ["-g"], needs: [2] },
  { name: "user copy", flags: ["-u"], needs: [7] },
  { name: "register zero copy", flags: ["--zc-mode", "register"], needs: [0] },
  { name: "auto zero copy", flags: ["--auto-zc"], needs: [11] },
  { name: "auto zero copy with fallback", flags: ["--auto-zc-fallback"], needs: [0, 11] },
];

function has(mask: bigint, m: Mode): boolean {
  return m.needs.every((b) => (mask & (1n << BigInt(b))) !== 0n);
}

async function addDevice(args: string[]): Promise<Listed | undefined> {
  const add = await ublk("add", ...args);
  if (!check(add.code === 0, `ublk add ${args.join(" ")} (exit ${add.code}) ${add.err}`)) {
    return undefined;
  }
  const all = await list();
  const d = all.at(-1);
  check(d !== undefined && d.state === "LIVE" && d.alive, `listed LIVE: ${JSON.stringify(d)}`);
  return d;
}

async function delDevice(d: Listed, what: string): Promise<void> {
  const del = await within(ublk("del", "-n", String(d.dev_id)), 30_000);
  check(
    del !== undefined && del.code === 0,
    `${what}: ublk del -n ${d.dev_id} ${del?.err ?? "hung"}`,
  );
  check(await waitFor(() => !exists(d.path), 10_000), `${what}: ${d.path} is gone`);
}

function fioArgs(dev: string, extra: string[]): string[] {
  return [
    "--name=m",
    `--filename=${dev}`,
    "--ioengine=io_uring",
    "--direct=1",
    "--iodepth=16",
    ...extra,
  ];
}

/** fio's result within `ms`, or `undefined` (then fio is killed and a hang reported). */
async function fioEnd(
  fio: { done: Promise<Out>; pid: number },
  ms: number,
  hang: string,
): Promise<Out | undefined> {
  const res = await within(fio.done, ms);
  if (res === undefined) {
    fail(hang);
    try {
      Deno.kill(fio.pid, "SIGKILL");
    } catch { /* gone */ }
  }
  return res;
}

/** Whether a fio run ended cleanly with its data verified. */
function verified(res: Out): boolean {
  return res.code === 0 && !/verify: bad|error=/.test(res.out + res.err);
}

/** A 16 MiB fio random-write job with crc32c verify on `dev`; counts the bytes when it passed. */
async function fioVerify(dev: string, what: string): Promise<void> {
  const fio = await run(
    FIO,
    fioArgs(dev, [
      "--rw=randwrite",
      "--bs=4k-128k",
      "--size=16M",
      "--verify=crc32c",
      "--do_verify=1",
    ]),
  );
  if (check(verified(fio), `${what} (exit ${fio.code})`)) counts.bytesVerified += 16 << 20;
}

/** dd + fio on one device in one mode; two queues. */
async function basicCase(target: "null" | "loop", mode: Mode): Promise<void> {
  const what = `${target} ${mode.name}`;
  stage = what;
  counts.cases++;
  const before = failures;
  const args = target === "loop"
    ? ["-t", "loop", "-f", IMG, "-q", "2", "-d", "32", ...mode.flags]
    : ["-t", "null", "--size", "64m", "-q", "2", "-d", "32", ...mode.flags];
  const d = await addDevice(args);
  if (d === undefined) return;
  try {
    if (target === "loop") {
      const block = pattern(1 << 20, counts.cases);
      Deno.writeFileSync("/tmp/m.block", block);
      const w = await run("dd", [
        "if=/tmp/m.block",
        `of=${d.path}`,
        "bs=64k",
        "seek=80",
        "conv=fsync",
      ]);
      check(w.code === 0, `${what}: dd write 1 MiB (exit ${w.code})`);
      const file = Deno.readFileSync(IMG);
      check(
        firstDiff(file.subarray(80 << 16, (80 << 16) + block.length), block) === -1,
        `${what}: the backing file holds what dd wrote`,
      );
      const r = await run("dd", [`if=${d.path}`, "of=/tmp/m.read", "bs=1M", `count=${SIZE >> 20}`]);
      const at = r.code === 0 ? firstDiff(Deno.readFileSync("/tmp/m.read"), file) : -2;
      if (check(at === -1, `${what}: dd read of the whole device equals the file (diff ${at})`)) {
        counts.bytesVerified += SIZE + block.length;
      }
      await fioVerify(d.path, `${what}: fio --verify=crc32c, O_DIRECT, io_uring`);
    } else {
      const r = await run("dd", [`if=${d.path}`, "of=/dev/null", "bs=1M", "count=64"]);
      check(r.code === 0, `${what}: dd read of 64 MiB (exit ${r.code})`);
      const fio = await run(FIO, fioArgs(d.path, ["--rw=randrw", "--bs=4k", "--size=16M"]));
      check(fio.code === 0, `${what}: fio randrw 4k (exit ${fio.code})`);
    }
  } finally {
    await delDevice(d, what);
  }
  if (failures === before) counts.passed++;
}

/** The server killed with SIGKILL under fio: fio must end with errors and the device go. */
async function killCase(mode: Mode): Promise<void> {
  const what = `kill under fio, loop ${mode.name}`;
  stage = what;
  counts.cases++;
  const before = failures;
  const d = await addDevice(["-t", "loop", "-f", IMG, "-q", "2", ...mode.flags]);
  if (d === undefined) return;
  const fio = spawn(
    FIO,
    fioArgs(d.path, [
      "--rw=randrw",
      "--bs=4k-64k",
      "--time_based",
      "--runtime=60",
    ]),
  );
  await new Promise((r) => setTimeout(r, 1500));
  Deno.kill(d.pid, "SIGKILL");
  check(await waitFor(() => !alive(d.pid), 10_000), `${what}: daemon ${d.pid} killed`);
  const res = await fioEnd(fio, 30_000, `${what}: fio still running 30 s after the kill (hang)`);
  if (res !== undefined) {
    check(
      res.code !== 0 || /error/i.test(res.out + res.err),
      `${what}: fio saw I/O errors (exit ${res.code})`,
    );
  }
  await delDevice(d, what);
  if (failures === before) {
    counts.passed++;
    counts.killsSurvived++;
  }
}

/** User recovery with REISSUE: killed under a verify job, recovered, the job verifies. */
async function recoveryCase(mode: Mode): Promise<void> {
  const what = `recovery (reissue), loop ${mode.name}`;
  stage = what;
  counts.cases++;
  const before = failures;
  const d = await addDevice(["-t", "loop", "-f", IMG, "-r", "1", "-i", "1", ...mode.flags]);
  if (d === undefined) return;
  try {
    const fio = spawn(
      FIO,
      fioArgs(d.path, [
        "--rw=randwrite",
        "--bs=4k-64k",
        "--size=24M",
        "--verify=crc32c",
        "--do_verify=1",
      ]),
    );
    await new Promise((r) => setTimeout(r, 1000));
    Deno.kill(d.pid, "SIGKILL");
    check(await waitFor(() => !alive(d.pid), 10_000), `${what}: daemon ${d.pid} killed`);
    const quiesced = await waitFor(async () => (await list())[0]?.state === "QUIESCED", 10_000);
    check(quiesced, `${what}: the device is QUIESCED with its daemon dead`);
    const rec = await ublk("recover", "-n", String(d.dev_id));
    check(rec.code === 0, `${what}: ublk recover -n ${d.dev_id} (exit ${rec.code}) ${rec.err}`);
    const res = await fioEnd(fio, 120_000, `${what}: fio did not end within 120 s of the recovery`);
    if (
      res !== undefined &&
      check(
        verified(res),
        `${what}: fio's verify passed across the kill (exit ${res.code})`,
      )
    ) counts.bytesVerified += 24 << 20;
  } finally {
    const [now] = await list();
    if (now !== undefined) await delDevice(now, what);
  }
  if (failures === before) {
    counts.passed++;
    counts.killsSurvived++;
  }
}

/**
 * `ublk del` while fio runs, and while this process holds the device open too. What the
 * kernel does (6.12.117 and 7.3.4; first seen as a "del hangs, fio sees no error" report in this
 * matrix, then read from the kernel stacks and fio's figures): STOP_DEV removes /dev/ublkbN at
 * once and sets the disk's capacity to 0, so an opener's reads return end of file — no I/O
 * error — and fio's random reads stop moving bytes; DEL_DEV (`ublk_ctrl_del_dev`) then waits
 * until the device is freed, i.e. until the last opener has closed it. So `ublk del` returns
 * only after fio ended and the held fd was closed, and says every 5 s why it waits.
 */
async function deleteUnderIo(mode: Mode): Promise<void> {
  const what = `delete under I/O, loop ${mode.name}`;
  stage = what;
  counts.cases++;
  const before = failures;
  await deleteUnderIoChecks(what, mode);
  if (failures === before) counts.passed++;
}

async function deleteUnderIoChecks(what: string, mode: Mode): Promise<void> {
  const d = await addDevice(["-t", "loop", "-f", IMG, ...mode.flags]);
  if (d === undefined) return;
  const held = await Deno.open(d.path, { read: true });
  const runtime = 20;
  const fio = spawn(
    FIO,
    fioArgs(d.path, ["--rw=randread", "--bs=4k", "--time_based", `--runtime=${runtime}`]),
  );
  const fioStart = Date.now();
  await new Promise((r) => setTimeout(r, 3000));
  const del = ublk("del", "-n", String(d.dev_id));
  check(await waitFor(() => !exists(d.path), 15_000), `${what}: STOP_DEV removed ${d.path}`);
  // The opener's view: end of file (capacity 0), not an error.
  const buf = new Uint8Array(4096);
  let got: string;
  try {
    const n = await held.read(buf);
    got = n === null ? "EOF" : `${n} bytes`;
  } catch (e) {
    got = `error ${e instanceof Error ? e.message : e}`;
  }
  check(
    got === "EOF",
    `${what}: a read of the stopped device by an opener gives end of file (${got})`,
  );
  check(
    (await within(del, 2_000)) === undefined,
    `${what}: ublk del waits while the device is open (DEL_DEV waits for the last opener)`,
  );
  held.close();
  const res = await fioEnd(
    fio,
    (runtime + 30) * 1000,
    `${what}: fio still running long after its runtime`,
  );
  if (res !== undefined) {
    const lines = (res.out + "\n" + res.err).split("\n").filter((l) => /err=|READ:/.test(l));
    say(
      `${what}: fio after ${((Date.now() - fioStart) / 1000).toFixed(1)} s: ${
        lines.map((l) => l.trim()).join(" | ")
      }`,
    );
    check(
      res.code === 0 && /err= 0/.test(res.out),
      `${what}: fio ran its time without an I/O error (exit ${res.code}): reads of the stopped disk end at EOF`,
    );
  }
  const back = await within(del, 15_000);
  check(
    back !== undefined && back.code === 0,
    `${what}: ublk del returned once fio closed the device (exit ${back?.code ?? "none"}) ${
      back?.err ?? ""
    }`,
  );
  check(
    /DEL_DEV waits until its last opener closes it/.test(back?.err ?? ""),
    `${what}: ublk del said why it waited`,
  );
  check((await list()).length === 0, `${what}: no device left`);
  for (const left of await list()) await ublk("del", "-n", String(left.dev_id));
}

/** A RAM disk as the {@linkcode BlockDevice} an NBD server serves. */
function ramDevice(mem: Uint8Array): BlockDevice {
  return {
    size: mem.length,
    logicalBlockSize: 512,
    readOnly: false,
    present: true,
    maxRequestBytes: 0,
    inflight: 0,
    read(offset: number, buf: Uint8Array): Promise<number> {
      buf.set(mem.subarray(offset, offset + buf.length));
      return Promise.resolve(buf.length);
    },
    write(offset: number, data: Uint8Array): Promise<number> {
      mem.set(data, offset);
      return Promise.resolve(data.length);
    },
    flush: (): Promise<number> => Promise.resolve(0),
    discard(offset: number, len: number): Promise<number> {
      mem.fill(0, offset, offset + len);
      return Promise.resolve(0);
    },
    writeZeroes(offset: number, len: number): Promise<number> {
      mem.fill(0, offset, offset + len);
      return Promise.resolve(0);
    },
  };
}

/** The nbd target against our own NBD server in this process (Unix socket). */
async function nbdCase(mode: Mode): Promise<void> {
  const what = `nbd ${mode.name}`;
  stage = what;
  counts.cases++;
  const before = failures;
  const mem = pattern(SIZE, 11);
  const sock = "/tmp/matrix-nbd.sock";
  try {
    Deno.removeSync(sock);
  } catch { /* absent */ }
  const listener = Deno.listen({ transport: "unix", path: sock });
  const server = serveNbd(ramDevice(mem), listener);
  try {
    const d = await addDevice(["-t", "nbd", "--unix", sock, "-q", "2", ...mode.flags]);
    if (d === undefined) return;
    try {
      const r = await run("dd", [`if=${d.path}`, "of=/tmp/m.read", "bs=1M", `count=${SIZE >> 20}`]);
      const at = r.code === 0 ? firstDiff(Deno.readFileSync("/tmp/m.read"), mem) : -2;
      if (
        check(at === -1, `${what}: dd read of the device equals the server's disk (diff ${at})`)
      ) {
        counts.bytesVerified += SIZE;
      }
      const block = pattern(1 << 20, 12);
      Deno.writeFileSync("/tmp/m.block", block);
      const w = await run("dd", [
        "if=/tmp/m.block",
        `of=${d.path}`,
        "bs=64k",
        "seek=16",
        "conv=fsync",
      ]);
      check(
        w.code === 0 && firstDiff(mem.subarray(16 << 16, (16 << 16) + block.length), block) === -1,
        `${what}: dd write (exit ${w.code}) lands on the server's disk`,
      );
      await fioVerify(d.path, `${what}: fio --verify=crc32c through NBD`);
    } finally {
      await delDevice(d, what);
    }
  } finally {
    await server.close();
  }
  if (failures === before) counts.passed++;
}

/**
 * stripe (RAID 0, 64 KiB chunks) and mirror (RAID 1) over two leg files on the guest's tmpfs,
 * two queues: fio's crc32c verify through the device; for mirror both legs then hold the same
 * bytes. In zero copy each piece is a fixed-buffer op on its sub-range of the registered pages.
 */
async function raidCase(type: "stripe" | "mirror", mode: Mode): Promise<void> {
  const what = `${type} ${mode.name}`;
  stage = what;
  counts.cases++;
  const before = failures;
  const legs = ["/tmp/leg0.img", "/tmp/leg1.img"];
  for (const l of legs) Deno.writeFileSync(l, new Uint8Array(SIZE));
  const chunk = type === "stripe" ? ["--chunk", "64k"] : [];
  const d = await addDevice(
    ["-t", type, ...legs.flatMap((l) => ["--leg", l]), ...chunk, "-q", "2", ...mode.flags],
  );
  if (d === undefined) return;
  try {
    await fioVerify(d.path, `${what}: fio --verify=crc32c, O_DIRECT, io_uring`);
  } finally {
    await delDevice(d, what);
  }
  if (type === "mirror") {
    const at = firstDiff(Deno.readFileSync(legs[0]!), Deno.readFileSync(legs[1]!));
    check(at === -1, `${what}: both legs hold the same bytes (diff ${at})`);
  }
  for (const l of legs) Deno.removeSync(l);
  if (failures === before) counts.passed++;
}

/** `ublk add` of a mode this kernel lacks: exit 1, one line that names what is missing. */
async function refusalCase(flags: string[], want: RegExp, what: string): Promise<void> {
  stage = `refusal ${what}`;
  counts.cases++;
  const before = failures;
  const add = await ublk("add", "-t", "null", "--size", "64m", ...flags);
  const lines = add.err.trim().split("\n");
  check(
    add.code === 1 && lines.length === 1 && want.test(lines[0]!),
    `refused ${what}: ublk add ${
      flags.join(" ")
    } exits 1 with one line (exit ${add.code}) ${add.err.trim()}`,
  );
  check((await list()).length === 0, `refused ${what}: no device was left behind`);
  if (failures === before) {
    counts.passed++;
    counts.refusals++;
  }
}

async function main(): Promise<void> {
  stage = "setup";
  Deno.writeFileSync(IMG, pattern(SIZE, 7));
  const release = Deno.osRelease();
  const f = await ublk("features", "--json");
  const mask = f.code === 0 ? BigInt(JSON.parse(f.out).kernel?.mask ?? "0") : 0n;
  say(`kernel ${release}, features 0x${mask.toString(16)}`);
  if (!exists(FIO)) fail("fio is not in the guest");
  const modes = MODES.filter((m) => has(mask, m));
  say(`modes: ${modes.map((m) => m.name).join(", ")}`);
  for (const m of MODES.filter((m) => !has(mask, m))) {
    await refusalCase([...m.flags], /needs UBLK_F_[A-Z_]+/, m.name);
  }
  if ((mask & 1n) === 0n && (mask & (1n << 7n)) !== 0n) {
    // kublk's -z on a kernel without buffer registration (6.12): the line the issue asks for
    const v = release.split(".").slice(0, 2).join(".");
    await refusalCase(
      ["-z"],
      new RegExp(
        `zero copy needs UBLK_F_SUPPORT_ZERO_COPY: this kernel \\(${
          v.replace(".", "\\.")
        }\\) has USER_COPY; use -u$`,
      ),
      "-z",
    );
  }
  await refusalCase(
    ["--zc-mode", "fused"],
    /IORING_OP_FUSED_CMD is the 2023 RFC, never merged/,
    "the RFC fused mode",
  );
  for (const m of modes) {
    await basicCase("null", m);
    await basicCase("loop", m);
  }
  // The nbd target serves the copy modes on a real kernel (zero copy would need the socket in
  // the queue's ring, and the connection is Deno's).
  for (const m of modes.filter((m) => !m.flags.some((f) => /zc|^-z$/.test(f)))) {
    await nbdCase(m);
  }
  for (const m of modes) {
    await raidCase("stripe", m);
    await raidCase("mirror", m);
  }
  for (const m of modes) await killCase(m);
  for (const m of modes) await recoveryCase(m);
  await deleteUnderIo(modes.at(-1)!);
}

try {
  await main();
} catch (e) {
  fail(`stage "${stage}" threw: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
}
clearTimeout(watchdog);
console.log(`MATRIX-JSON ${JSON.stringify({ kernel: Deno.osRelease(), ...counts, failures })}`);
say(failures === 0 ? "all matrix checks passed" : `${failures} failures`);
Deno.exit(failures === 0 ? 0 : 1);
