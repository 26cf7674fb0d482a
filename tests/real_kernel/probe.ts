/**
 * Runs INSIDE the VM of `scripts/real_kernel.sh` (kernel 6.12 with `ublk_drv` loaded), as a
 * `deno bundle` of this file. Two parts:
 *
 * 1. Differential control check: the same control-command scenario
 *    ({@linkcode runCtrlScenario}) on the real driver (through `@ublk-ts/native`) and on the
 *    model driver (`installUblk` on a `ModelKernel`), ioctl-encoded and legacy opcodes; every
 *    difference must be listed in `_known_differences.ts`.
 * 2. A real device: `/dev/ublkb0` served by a RAM disk through the project's server library on
 *    native rings (copy mode, FETCH_REQ/COMMIT_AND_FETCH_REQ); busybox `dd` writes and reads
 *    it; the bytes are compared with the target's memory; STOP_DEV and DEL_DEV end it.
 *
 * Exit code 0 when everything matched; the script turns it into `REAL_KERNEL: PASS`.
 *
 * @module
 */

import { ModelKernel } from "@ublk-ts/ring";
import { UBLK_F_NEED_GET_DATA, UBLK_S_DEV_LIVE } from "@ublk-ts/uapi";
import { createDevice, installUblk, type UblkCtrl } from "@ublk-ts/ublk";
import { RamDiskTarget } from "@ublk-ts/ublk/test-targets";
import { NativeKernel } from "@ublk-ts/native";
import { runCtrlScenario, type StepResult } from "./_ctrl_scenario.ts";
import { compareRuns, featureBits } from "./_compare.ts";
import { KNOWN_DIFFERENCES } from "./_known_differences.ts";
import { NativeDevice, type NativeDeviceOptions } from "./_native_device.ts";
import { pattern } from "./_pattern.ts";

let failures = 0;
let stage = "start";

function say(line: string): void {
  console.log(`PROBE: ${line}`);
}

function fail(line: string): void {
  failures++;
  console.log(`PROBE: FAIL ${line}`);
}

const watchdog = setTimeout(() => {
  console.log(`PROBE: FAIL timeout in stage "${stage}"`);
  Deno.exit(3);
}, 150_000);

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
    const diffs = compareRuns(real, modeled, KNOWN_DIFFERENCES);
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

/** One served-device configuration. */
interface DeviceCase {
  name: string;
  options: NativeDeviceOptions;
  /** Also check that a target error reaches dd as an I/O error. */
  errorPath: boolean;
}

const DEVICE_CASES: readonly DeviceCase[] = [
  { name: "copy, 1 queue, depth 16, ioctl opcodes", options: { depth: 16 }, errorPath: true },
  {
    name: "copy, 2 queues, depth 32, NEED_GET_DATA, legacy opcodes",
    options: { queues: 2, depth: 32, flags: UBLK_F_NEED_GET_DATA, legacyOpcodes: true },
    errorPath: false,
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
async function modelLiveFields(
  options: NativeDeviceOptions,
): Promise<Record<string, number | string>> {
  const kernel = new ModelKernel();
  installUblk(kernel, { nrCpuIds: navigator.hardwareConcurrency });
  const dev = await createDevice(kernel, new RamDiskTarget(8 << 20), {
    depth: options.depth ?? 16,
    queues: options.queues ?? 1,
    flags: options.flags ?? 0n,
    legacyOpcodes: options.legacyOpcodes === true,
  });
  try {
    return await liveFields(dev.ctrl);
  } finally {
    await dev.stop();
  }
}

async function realDevice(native: NativeKernel, dc: DeviceCase): Promise<void> {
  stage = `device create (${dc.name})`;
  say(`device case: ${dc.name}`);
  const size = 8 << 20;
  const target = new RamDiskTarget(size);
  const dev = await NativeDevice.create(native, target, dc.options);
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
    const model = await modelLiveFields(dc.options);
    say(`live real ${JSON.stringify(real)}`);
    for (const k of Object.keys(real)) {
      if (real[k] === model[k]) continue;
      const known = LIVE_KNOWN[k];
      if (known === undefined) {
        fail(`unexpected live difference ${k}: real=${real[k]} model=${model[k]}`);
      } else say(`known live difference ${k}: real=${real[k]} model=${model[k]}: ${known}`);
    }
    if (real["state"] !== UBLK_S_DEV_LIVE) fail(`state ${real["state"]} is not LIVE`);
    if (real["ublksrvPidIsSelf"] !== 1) fail("ublksrv_pid is not this process");
    // WRITE: dd from a file to 1 MiB..+256 KiB, fsync; the RAM disk must hold the bytes.
    stage = "device write";
    const len = 256 * 1024;
    const a = pattern(len, 1);
    await Deno.writeFile("/tmp/a", a);
    const w = await run("dd", ["if=/tmp/a", `of=${bdev}`, "bs=4096", "seek=256", "conv=fsync"]);
    if (w.code !== 0) fail(`dd write exited ${w.code}: ${w.out}`);
    const wAt = equalBytes(target.mem.subarray(1 << 20, (1 << 20) + len), a);
    if (wAt >= 0) fail(`written bytes differ from the RAM disk at ${wAt}`);
    else say(`dd write of ${len} bytes at 1 MiB reached the RAM disk intact`);

    // READ: the RAM disk is filled at 4 MiB behind the kernel's back (never cached), then read.
    stage = "device read";
    const b = pattern(len, 2);
    target.mem.set(b, 4 << 20);
    await Deno.writeFile("/tmp/bexp", b);
    const r = await run("dd", [`if=${bdev}`, "of=/tmp/b", "bs=4096", "skip=1024", "count=64"]);
    if (r.code !== 0) fail(`dd read exited ${r.code}: ${r.out}`);
    const got = await Deno.readFile("/tmp/b");
    const rAt = equalBytes(got, b);
    if (rAt >= 0) fail(`read bytes differ from the RAM disk at ${rAt} (got ${got.length} bytes)`);
    else say(`dd read of ${len} bytes at 4 MiB matches the RAM disk`);
    const c = await run("cmp", ["/tmp/b", "/tmp/bexp"]);
    if (c.code !== 0) fail(`cmp: ${c.out}`);
    const md5 = await run("md5sum", ["/tmp/b", "/tmp/bexp"]);
    say(`md5sum: ${md5.out.replaceAll("\n", "; ")}`);

    // A target error (-EIO) on an uncached region reaches dd as a failed read.
    if (dc.errorPath) {
      stage = "device error path";
      target.failWith = -5;
      const e = await run("dd", [`if=${bdev}`, "of=/tmp/e", "bs=4096", "skip=1792", "count=1"]);
      target.failWith = 0;
      if (e.code === 0) fail("dd read succeeded although the target failed it with -EIO");
      else say(`target -EIO reached dd: exit ${e.code} (${e.out.split("\n")[0]})`);
    }

    // Whole-device read back, two readers at once (both halves): equal to the RAM disk.
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
    const allAt = equalBytes(all, target.mem);
    if (allAt >= 0) fail(`device read back differs from the RAM disk at ${allAt}`);
    else say(`whole device (${size} bytes) reads back equal to the RAM disk`);
    say(`target ops [read, write, flush, discard, write_zeroes, zone] = [${target.ops}]`);
    const served = dev.queues.map((q) => q.served);
    const errors = dev.queues.reduce((n, q) => n + q.errors, 0);
    say(`queues served [${served}] requests, ${errors} refused commands`);
    if (errors !== 0) fail(`${errors} io commands refused by the driver`);
  } finally {
    stage = "device stop";
    const s = await dev.stop();
    say(`STOP_DEV res=${s.stop} DEL_DEV res=${s.del}`);
    if (s.stop !== 0 || s.del !== 0) fail("STOP_DEV/DEL_DEV did not both return 0");
    if (!(await waitForPath(bdev, false, 5000))) fail(`${bdev} still there after DEL_DEV`);
    if (!target.closed) await target.close();
  }
}

try {
  say(`kernel ${Deno.osRelease()}, deno ${Deno.version.deno}`);
  const native = new NativeKernel();
  say(`liburing ${native.library.path}`);
  await ctrlDifferential(native);
  if (Deno.env.get("PROBE_NO_DEVICE") !== "1") {
    for (const dc of DEVICE_CASES) await realDevice(native, dc);
  }
} catch (e) {
  fail(`stage "${stage}" threw: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
}
clearTimeout(watchdog);
say(failures === 0 ? "all checks passed" : `${failures} failures`);
Deno.exit(failures === 0 ? 0 : 1);
