/**
 * Runs INSIDE the VM of `scripts/real_kernel.sh` (kernel 6.12 with `ublk_drv` loaded), as a
 * `deno bundle` of this file. Two parts:
 *
 * 1. Differential control check: the same control-command scenario
 *    ({@linkcode runCtrlScenario}) on the real driver (through `@ublk-ts/native`) and on the
 *    model driver (`installUblk` on a `ModelKernel`), ioctl-encoded and legacy opcodes; every
 *    difference must be listed in `_known_differences.ts`.
 * 2. A real device: `/dev/ublkb0` served by a RAM disk or the loop target through the project's
 *    server library on native rings (copy mode, FETCH_REQ/COMMIT_AND_FETCH_REQ); busybox `dd`
 *    writes and reads it; the bytes are compared with the backing store; a target -EIO reaches
 *    `dd`; the started device's info and params match the model's; STOP_DEV and DEL_DEV end it.
 *
 * Exit code 0 when everything matched; the script turns it into `REAL_KERNEL: PASS`.
 *
 * @module
 */

import { ModelKernel } from "@ublk-ts/model";
import {
  UBLK_F_NEED_GET_DATA,
  UBLK_S_DEV_LIVE,
  UBLK_S_DEV_QUIESCED,
  UBLK_U_CMD_START_USER_RECOVERY,
} from "@ublk-ts/uapi";
import {
  createDevice,
  type CreateDeviceOptions,
  type Kernel,
  type Target,
  type UblkCtrl,
} from "@ublk-ts/ublk";
import { installUblk } from "@ublk-ts/ublk-drv";
import { LoopTarget } from "@ublk-ts/targets";
import { RamDiskTarget } from "@ublk-ts/testing";
import { NativeKernel } from "@ublk-ts/native";
import { runCtrlScenario, type StepResult } from "./_ctrl_scenario.ts";
import { compareZcRuns, ddBlockIo, modelBlockIo, runZcScenario } from "./_zc_scenario.ts";
import { zcKnownDifferencesFor } from "./_zc_known_differences.ts";
import { compareRuns, featureBits } from "./_compare.ts";
import { knownDifferencesFor } from "./_known_differences.ts";
import { pattern } from "./_pattern.ts";

let failures = 0;
let stage = "start";

const t0 = performance.now();

function say(line: string): void {
  console.log(`PROBE: ${line} [${((performance.now() - t0) / 1000).toFixed(1)}s]`);
}

function fail(line: string): void {
  failures++;
  console.log(`PROBE: FAIL ${line} [${((performance.now() - t0) / 1000).toFixed(1)}s]`);
}

const watchdog = setTimeout(() => {
  console.log(`PROBE: FAIL timeout in stage "${stage}"`);
  Deno.exit(3);
}, 240_000);

async function ctrlDifferential(native: NativeKernel): Promise<void> {
  const recorded: Record<string, StepResult[]> = {};
  for (const legacyOpcodes of [false, true]) {
    const flavour = legacyOpcodes ? "legacy" : "ioctl";
    stage = `ctrl ${flavour}`;
    const model = new ModelKernel();
    installUblk(model, { nrCpuIds: navigator.hardwareConcurrency });
    const real = await runCtrlScenario(native, { legacyOpcodes });
    const modeled = await runCtrlScenario(model, { legacyOpcodes });
    recorded[flavour] = real;
    for (const s of real) say(`real ${flavour} ${s.step} res=${s.res} ${JSON.stringify(s.fields)}`);
    const diffs = compareRuns(real, modeled, knownDifferencesFor(Deno.osRelease()));
    let unexpected = 0;
    for (const d of diffs) {
      const what = `${flavour} ${d.step} ${d.field}: real=${d.real} model=${d.model}`;
      if (d.known === undefined) {
        unexpected++;
        fail(`unexpected difference ${what}`);
      } else say(`known (${d.known.kind}) ${what}: ${d.known.why}`);
    }
    const rf = real[0]!.fields["features"], mf = modeled[0]!.fields["features"];
    if (typeof rf === "string" && typeof mf === "string") {
      const b = featureBits(BigInt(rf), BigInt(mf));
      say(
        `features real=${rf} model=${mf} only-real bits [${b.onlyReal}] only-model bits [${b.onlyModel}]`,
      );
    }
    say(
      `ctrl ${flavour}: ${real.length} steps, ${diffs.length} differences, ${unexpected} unexpected`,
    );
  }
  // One line the host can keep as a recording (tests/real_kernel/testdata/).
  console.log(`PROBE-JSON ${JSON.stringify({ kernel: Deno.osRelease(), runs: recorded })}`);
}

/**
 * The zero-copy differential: the io-command probes of `_zc_scenario.ts` in every data mode
 * on the real driver (block side: dd with O_DIRECT) and on the model (in process), compared
 * step by step; the real run is printed as a ZC-JSON line (testdata/zc_<kernel>.json).
 */
async function zcDifferential(native: NativeKernel): Promise<void> {
  stage = "zc differential";
  const dir = Deno.makeTempDirSync({ prefix: "zc-" });
  const real = await runZcScenario(native, { dir, blockIo: ddBlockIo(dir), log: say });
  const model = new ModelKernel();
  installUblk(model, { nrCpuIds: navigator.hardwareConcurrency });
  const modeled = await runZcScenario(model, { dir, blockIo: modelBlockIo });
  Deno.removeSync(dir, { recursive: true });
  const known = zcKnownDifferencesFor(Deno.osRelease());
  let unexpected = 0, steps = 0;
  for (const [name, r] of Object.entries(real)) {
    for (const st of r) {
      say(`zc real ${name} ${st.step} res=${st.res} ${JSON.stringify(st.fields)}`);
    }
    if (r[0]?.step !== "refused") steps += r.length;
  }
  for (const d of compareZcRuns(real, modeled, known)) {
    const what = `zc ${d.step} ${d.field}: real=${d.real} model=${d.model}`;
    if (d.known === undefined) {
      unexpected++;
      fail(`unexpected difference ${what}`);
    } else say(`known (${d.known.kind}) ${what}: ${d.known.why}`);
  }
  say(
    `zc: ${Object.keys(real).length} cases, ${steps} steps, ${unexpected} unexpected differences`,
  );
  console.log(`ZC-JSON ${JSON.stringify({ kernel: Deno.osRelease(), runs: real })}`);
}

async function run(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  const o = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const out = new TextDecoder().decode(o.stdout) + new TextDecoder().decode(o.stderr);
  return { code: o.code, out: out.trim() };
}

function equalBytes(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function waitForPath(path: string, present: boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    let there = true;
    try {
      Deno.statSync(path);
    } catch {
      there = false;
    }
    if (there === present) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

/** Explained differences of {@linkcode liveFields} (none so far). */
const LIVE_KNOWN: Record<string, string> = {};

/** A target plus direct access to the bytes behind it (to check what the device did). */
interface Backing {
  readonly target: Target;
  /** The backing bytes at `off`. */
  read(off: number, len: number): Uint8Array;
  /** Changes the backing bytes behind the kernel's back. */
  write(off: number, bytes: Uint8Array): void;
  /** Makes every request fail with `errno` (0 = stop failing); absent when unsupported. */
  failWith?(errno: number): void;
  /** One line about what the target saw. */
  describe(): string;
}

const DEV_SIZE = 8 << 20;

function ramDisk(): Backing {
  const t = new RamDiskTarget(DEV_SIZE);
  return {
    target: t,
    read: (off, len) => t.mem.slice(off, off + len),
    write: (off, bytes) => t.mem.set(bytes, off),
    failWith: (errno) => void (t.failWith = errno),
    describe: () => `RAM disk ops [read, write, flush, discard, write_zeroes, zone] = [${t.ops}]`,
  };
}

function loopFile(kernel: Kernel, name: string): Backing {
  const path = `/tmp/${name}.img`;
  Deno.writeFileSync(path, new Uint8Array(DEV_SIZE));
  const t = new LoopTarget(kernel, path);
  return {
    target: t,
    read: (off, len) => {
      using f = Deno.openSync(path);
      f.seekSync(off, Deno.SeekMode.Start);
      const buf = new Uint8Array(len);
      let n = 0;
      while (n < len) {
        const r = f.readSync(buf.subarray(n));
        if (r === null) break;
        n += r;
      }
      return buf.subarray(0, n);
    },
    write: (off, bytes) => {
      using f = Deno.openSync(path, { write: true });
      f.seekSync(off, Deno.SeekMode.Start);
      let n = 0;
      while (n < bytes.length) n += f.writeSync(bytes.subarray(n));
    },
    describe: () => `loop file ${path}, O_DIRECT ${t.direct}`,
  };
}

/** One served-device configuration. */
interface DeviceCase {
  name: string;
  options: CreateDeviceOptions;
  /** A fresh target on `kernel` (`name` tells real and model files apart). */
  make(kernel: Kernel, name: string): Backing;
}

const DEVICE_CASES: readonly DeviceCase[] = [
  {
    name: "RAM disk, copy, 1 queue, depth 16, ioctl opcodes",
    options: { depth: 16 },
    make: ramDisk,
  },
  {
    name: "RAM disk, copy, 2 queues, depth 32, NEED_GET_DATA, legacy opcodes",
    options: { queues: 2, depth: 32, flags: UBLK_F_NEED_GET_DATA, legacyOpcodes: true },
    make: ramDisk,
  },
  {
    name: "loop target (READ/WRITE SQEs on the native queue ring), 1 queue, depth 16",
    options: { depth: 16 },
    make: loopFile,
  },
];

/** Deterministic fields of a started device (GET_DEV_INFO + GET_PARAMS). */
async function liveFields(ctrl: UblkCtrl): Promise<Record<string, number | string>> {
  const info = await ctrl.getInfo();
  const p = await ctrl.getParams();
  return {
    state: info.state,
    ublksrvPidIsSelf: info.ublksrvPid === Deno.pid ? 1 : 0,
    nrHwQueues: info.nrHwQueues,
    queueDepth: info.queueDepth,
    flags: "0x" + info.flags.toString(16),
    types: p.types,
    devtCharMajorSet: p.devt.charMajor !== 0 ? 1 : 0,
    devtCharMinor: p.devt.charMinor,
    devtDiskMajor: p.devt.diskMajor,
    devtDiskMinor: p.devt.diskMinor,
  };
}

/** The same device started on the model driver, for {@linkcode liveFields}. */
async function modelLiveFields(dc: DeviceCase): Promise<Record<string, number | string>> {
  const options = dc.options;
  const kernel = new ModelKernel();
  installUblk(kernel, { nrCpuIds: navigator.hardwareConcurrency });
  const dev = await createDevice(kernel, dc.make(kernel, "model").target, options);
  try {
    return await liveFields(dev.ctrl);
  } finally {
    await dev.stop();
  }
}

async function realDevice(native: NativeKernel, dc: DeviceCase): Promise<void> {
  stage = `device create (${dc.name})`;
  say(`device case: ${dc.name}`);
  const size = DEV_SIZE;
  const backing = dc.make(native, "real");
  const target = backing.target;
  // The same server library call as on the model: createDevice over the Kernel contract.
  const dev = await createDevice(native, target, dc.options);
  const bdev = dev.blockPath;
  const flags = dev.info.flags;
  say(
    `device ${dev.info.devId} started: ${dev.info.nrHwQueues} queues, flags 0x${
      flags.toString(16)
    }, ${bdev}`,
  );
  if ((dc.options.flags ?? 0n) & ~flags) fail(`driver refused flags: asked ${dc.options.flags}`);
  try {
    if (!(await waitForPath(bdev, true, 5000))) {
      fail(`${bdev} did not appear`);
      return;
    }
    // A started device: GET_DEV_INFO/GET_PARAMS against the same device on the model.
    stage = "device live info";
    const real = await liveFields(dev.ctrl);
    const model = await modelLiveFields(dc);
    say(`live real ${JSON.stringify(real)}`);
    for (const k of Object.keys(real)) {
      if (real[k] === model[k]) continue;
      if (k === "flags" && typeof real[k] === "string" && typeof model[k] === "string") {
        // Bit by bit, explained per kernel version as in the control scenario.
        const kd = knownDifferencesFor(Deno.osRelease());
        for (
          const d of compareRuns(
            [{ step: "live", res: 0, fields: { flags: real[k] as string } }],
            [{ step: "live", res: 0, fields: { flags: model[k] as string } }],
            kd,
          )
        ) {
          if (d.known === undefined) fail(`unexpected live difference ${d.field}: real=${d.real}`);
          else say(`known live difference ${d.field}: ${d.known.why}`);
        }
        continue;
      }
      const known = LIVE_KNOWN[k];
      if (known === undefined) {
        fail(`unexpected live difference ${k}: real=${real[k]} model=${model[k]}`);
      } else say(`known live difference ${k}: real=${real[k]} model=${model[k]}: ${known}`);
    }
    if (real["state"] !== UBLK_S_DEV_LIVE) fail(`state ${real["state"]} is not LIVE`);
    if (real["ublksrvPidIsSelf"] !== 1) fail("ublksrv_pid is not this process");
    // WRITE: dd from a file to 1 MiB..+256 KiB, fsync; the backing store must hold them.
    stage = "device write";
    const len = 256 * 1024;
    const a = pattern(len, 1);
    await Deno.writeFile("/tmp/a", a);
    const w = await run("dd", ["if=/tmp/a", `of=${bdev}`, "bs=4096", "seek=256", "conv=fsync"]);
    if (w.code !== 0) fail(`dd write exited ${w.code}: ${w.out}`);
    const wAt = equalBytes(backing.read(1 << 20, len), a);
    if (wAt >= 0) fail(`written bytes differ from the backing store at ${wAt}`);
    else say(`dd write of ${len} bytes at 1 MiB reached the backing store intact`);

    // READ: the backing store is changed at 4 MiB behind the kernel's back (never cached), then read.
    stage = "device read";
    const b = pattern(len, 2);
    backing.write(4 << 20, b);
    await Deno.writeFile("/tmp/bexp", b);
    const r = await run("dd", [`if=${bdev}`, "of=/tmp/b", "bs=4096", "skip=1024", "count=64"]);
    if (r.code !== 0) fail(`dd read exited ${r.code}: ${r.out}`);
    const got = await Deno.readFile("/tmp/b");
    const rAt = equalBytes(got, b);
    if (rAt >= 0) {
      fail(`read bytes differ from the backing store at ${rAt} (got ${got.length} bytes)`);
    } else say(`dd read of ${len} bytes at 4 MiB matches the backing store`);
    const c = await run("cmp", ["/tmp/b", "/tmp/bexp"]);
    if (c.code !== 0) fail(`cmp: ${c.out}`);
    const md5 = await run("md5sum", ["/tmp/b", "/tmp/bexp"]);
    say(`md5sum: ${md5.out.replaceAll("\n", "; ")}`);

    // A target error (-EIO) on an uncached region reaches dd as a failed read.
    if (backing.failWith !== undefined) {
      stage = "device error path";
      backing.failWith(-5);
      const e = await run("dd", [`if=${bdev}`, "of=/tmp/e", "bs=4096", "skip=1792", "count=1"]);
      backing.failWith(0);
      if (e.code === 0) fail("dd read succeeded although the target failed it with -EIO");
      else say(`target -EIO reached dd: exit ${e.code} (${e.out.split("\n")[0]})`);
    }

    // Whole-device read back, two readers at once (both halves): equal to the backing store.
    stage = "device read all";
    const half = size / 2 / 65536;
    const [r0, r1] = await Promise.all([
      run("dd", [`if=${bdev}`, "of=/tmp/all0", "bs=65536", `count=${half}`]),
      run("dd", [`if=${bdev}`, "of=/tmp/all1", "bs=65536", `skip=${half}`]),
    ]);
    if (r0.code !== 0 || r1.code !== 0) fail(`dd read all exited ${r0.code}/${r1.code}`);
    const all = new Uint8Array(size);
    all.set(await Deno.readFile("/tmp/all0"));
    all.set(await Deno.readFile("/tmp/all1"), size / 2);
    const allAt = equalBytes(all, backing.read(0, size));
    if (allAt >= 0) fail(`device read back differs from the backing store at ${allAt}`);
    else say(`whole device (${size} bytes) reads back equal to the backing store`);
    // fio verify (when the script put fio in the guest): O_DIRECT random writes of 4..128 KiB
    // at QD 16 through io_uring, then every block read back and checked (crc32c).
    if (await exists("/bin/fio")) {
      stage = "device fio verify";
      const f = await run("fio", [
        "--name=verify",
        `--filename=${bdev}`,
        "--ioengine=io_uring",
        "--direct=1",
        "--rw=randwrite",
        "--bsrange=4k-128k",
        "--iodepth=16",
        `--size=${size}`,
        "--verify=crc32c",
        "--do_verify=1",
        "--verify_fatal=1",
        "--randrepeat=1",
      ]);
      const summary = f.out.split("\n").filter((l) => /WRITE:|READ:|err=/.test(l))
        .map((l) => l.trim()).join("; ");
      if (f.code !== 0) fail(`fio verify exited ${f.code}: ${f.out.slice(-1500)}`);
      else say(`fio verify passed: ${summary}`);
      const again = await run("dd", [`if=${bdev}`, "of=/tmp/all0", "bs=65536"]);
      const againAt = again.code === 0
        ? equalBytes(await Deno.readFile("/tmp/all0"), backing.read(0, size))
        : 0;
      if (againAt >= 0) fail(`read back after fio differs from the backing store at ${againAt}`);
      else say("whole device reads back equal to the backing store after fio");
    } else say("fio not in the guest: verify job skipped");
    say(backing.describe());
    const served = dev.queues.map((q) => q.served);
    const errors = dev.queues.reduce((n, q) => n + q.errors, 0);
    say(`queues served [${served}] requests, ${errors} refused commands`);
    if (errors !== 0) fail(`${errors} io commands refused by the driver`);
  } finally {
    stage = "device stop";
    try {
      await dev.stop();
      say("STOP_DEV and DEL_DEV returned 0");
    } catch (e) {
      fail(`stop: ${e}`);
    }
    if (!(await waitForPath(bdev, false, 5000))) fail(`${bdev} still there after DEL_DEV`);
    await target.close?.();
  }
}

/** Polls GET_DEV_INFO until `want` (or 5 s); returns the states seen, in order. */
async function statesUntil(ctrl: UblkCtrl, want: number): Promise<number[]> {
  const states: number[] = [];
  const end = Date.now() + 5000;
  while (Date.now() < end) {
    const st = (await ctrl.getInfo()).state;
    if (states.at(-1) !== st) states.push(st);
    if (st === want) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return states;
}

/** What the recovery sequence observed (compared between the real driver and the model). */
interface RecoveryRecord {
  startWhileLive: number;
  /** Final state after the rings died (the real driver gets there asynchronously). */
  stateAfterRingsDie: number;
  startWhileCharOpen: number;
  stateAfterKill: number;
  recover: string;
  stateAfterRecovery: number;
}

/** The recovery sequence on the model driver. */
async function modelRecovery(): Promise<RecoveryRecord> {
  const kernel = new ModelKernel();
  installUblk(kernel, { nrCpuIds: navigator.hardwareConcurrency });
  const dev = await createDevice(kernel, new RamDiskTarget(DEV_SIZE), {
    depth: 16,
    userRecovery: true,
  });
  try {
    const startWhileLive = await dev.ctrl.command(UBLK_U_CMD_START_USER_RECOVERY);
    for (const q of dev.queues) q.kill();
    const afterRings = await statesUntil(dev.ctrl, UBLK_S_DEV_QUIESCED);
    const startWhileCharOpen = await dev.ctrl.command(UBLK_U_CMD_START_USER_RECOVERY);
    dev.kill();
    const afterKill = await statesUntil(dev.ctrl, UBLK_S_DEV_QUIESCED);
    let recover = "0 0";
    await dev.recover().catch((e) => (recover = String(e)));
    return {
      startWhileLive,
      stateAfterRingsDie: afterRings.at(-1) ?? -1,
      startWhileCharOpen,
      stateAfterKill: afterKill.at(-1) ?? -1,
      recover,
      stateAfterRecovery: (await dev.ctrl.getInfo()).state,
    };
  } finally {
    await dev.stop();
  }
}

/** User recovery on the real driver: a served device loses its server and gets a new one. */
async function recoveryCase(native: NativeKernel): Promise<void> {
  stage = "recovery create";
  say("device case: RAM disk with UBLK_F_USER_RECOVERY, server killed and recovered");
  const t = new RamDiskTarget(DEV_SIZE);
  const dev = await createDevice(native, t, { depth: 16, userRecovery: true });
  const bdev = dev.blockPath;
  try {
    if (!(await waitForPath(bdev, true, 5000))) {
      fail(`${bdev} did not appear`);
      return;
    }
    const a = pattern(65536, 3);
    await Deno.writeFile("/tmp/r", a);
    const w = await run("dd", ["if=/tmp/r", `of=${bdev}`, "bs=4096", "seek=512", "conv=fsync"]);
    if (w.code !== 0 || equalBytes(t.mem.subarray(2 << 20, (2 << 20) + a.length), a) >= 0) {
      fail(`write before the kill did not land (dd exit ${w.code})`);
    }
    stage = "recovery kill";
    const startWhileLive = await dev.ctrl.command(UBLK_U_CMD_START_USER_RECOVERY);
    for (const q of dev.queues) q.kill();
    const afterRings = await statesUntil(dev.ctrl, UBLK_S_DEV_QUIESCED);
    const startWhileCharOpen = await dev.ctrl.command(UBLK_U_CMD_START_USER_RECOVERY);
    dev.kill();
    const afterKill = await statesUntil(dev.ctrl, UBLK_S_DEV_QUIESCED);
    stage = "recovery recover";
    let recover = "0 0";
    await dev.recover().catch((e) => (recover = String(e)));
    const real: RecoveryRecord = {
      startWhileLive,
      stateAfterRingsDie: afterRings.at(-1) ?? -1,
      startWhileCharOpen,
      stateAfterKill: afterKill.at(-1) ?? -1,
      recover,
      stateAfterRecovery: (await dev.ctrl.getInfo()).state,
    };
    say(`recovery real ${JSON.stringify(real)} (LIVE 1, QUIESCED 2)`);
    say(`states seen: after the rings died [${afterRings}], after the kill [${afterKill}]`);
    const model = await modelRecovery();
    const known = knownDifferencesFor(Deno.osRelease());
    for (const k of Object.keys(real) as (keyof RecoveryRecord)[]) {
      if (real[k] === model[k]) continue;
      const why = known.find((d) => d.step === "recovery" && d.field === k);
      if (why === undefined) fail(`recovery ${k}: real=${real[k]} model=${model[k]}`);
      else say(`known (${why.kind}) recovery ${k}: real=${real[k]} model=${model[k]}: ${why.why}`);
    }
    if (real.recover !== "0 0") fail("user recovery did not return 0 twice");
    if (real.stateAfterRecovery !== UBLK_S_DEV_LIVE) fail("state after recovery is not LIVE");
    stage = "recovery read";
    const b = pattern(65536, 4);
    t.mem.set(b, 6 << 20);
    const rd = await run("dd", [`if=${bdev}`, "of=/tmp/rb", "bs=4096", "skip=1536", "count=16"]);
    const at = rd.code === 0 ? equalBytes(await Deno.readFile("/tmp/rb"), b) : 0;
    if (at >= 0) fail(`read through the recovered server differs at ${at} (dd exit ${rd.code})`);
    else say("read through the recovered server matches the RAM disk");
  } finally {
    stage = "recovery stop";
    try {
      await dev.stop();
      say("STOP_DEV and DEL_DEV returned 0");
    } catch (e) {
      fail(`stop: ${e}`);
    }
  }
}

try {
  say(`kernel ${Deno.osRelease()}, deno ${Deno.version.deno}`);
  const native = new NativeKernel();
  say(`liburing ${native.library.path}`);
  await ctrlDifferential(native);
  await zcDifferential(native);
  if (Deno.env.get("PROBE_NO_DEVICE") !== "1") {
    for (const dc of DEVICE_CASES) await realDevice(native, dc);
    await recoveryCase(native);
  }
} catch (e) {
  fail(`stage "${stage}" threw: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
}
clearTimeout(watchdog);
say(failures === 0 ? "all checks passed" : `${failures} failures`);
Deno.exit(failures === 0 ? 0 : 1);
