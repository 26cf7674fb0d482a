/**
 * The `ublk` command line: `run`, `bench`, `add`, `list`, `del`, `features`, `--help`,
 * `--version`. Usage errors print one line on stderr and exit 2; runtime failures print one
 * line and exit 1; Ctrl-C during `run`/`add`/`bench` deletes the device and exits 130.
 *
 * @module
 */

import {
  ADD_ARG_OPTIONS,
  checkDeviceOptions,
  DEVICE_ARG_OPTIONS,
  type DeviceOptions,
  parseStrict,
  UsageError,
} from "./device_options.ts";
import {
  ADD_HELP,
  BENCH_HELP,
  DEL_HELP,
  FEATURES_HELP,
  LIST_HELP,
  MAIN_HELP,
  RECOVER_HELP,
  RUN_HELP,
  targetHelp,
  VERSION,
} from "./usage.ts";
// Everything that loads the kernels, the targets or the workload engine is imported when a
// command needs it, so `ublk --help` starts fast.
import type { RunningDevice, Stack } from "./stack.ts";
import type { WorkloadResult, WorkloadSpec } from "./workload.ts";

import { type CliIo, defaultIo, err, EXIT_INTERRUPTED, EXIT_USAGE, oneLine, out } from "./io.ts";

export { type CliIo, EXIT_INTERRUPTED, EXIT_USAGE };

/**
 * Runs the CLI.
 *
 * @param args The arguments (without the program name).
 * @param io Where to write (default stdout/stderr).
 * @returns The exit status.
 *
 * @example Version
 * ```ts
 * import assert from "node:assert/strict";
 * import { main } from "./cli.ts";
 * const lines: string[] = [];
 * const sink = {
 *   writeSync: (b: Uint8Array) => (lines.push(new TextDecoder().decode(b)), b.length),
 *   isTerminal: () => false,
 * };
 * assert.equal(await main(["--version"], { stdout: sink, stderr: sink }), 0);
 * assert.match(lines[0]!, /^ublk 0\./);
 * ```
 */
export async function main(args: string[], io: CliIo = defaultIo): Promise<number> {
  const [command, ...rest] = args;
  try {
    switch (command) {
      case undefined:
        err(
          io,
          "ublk: missing command (add, list, del, recover, features, run, bench); see ublk --help",
        );
        return EXIT_USAGE;
      case "-h":
      case "--help":
        out(io, MAIN_HELP);
        return 0;
      case "help":
        return cmdHelp(rest, io);
      case "-V":
      case "-v":
      case "--version":
      case "version":
        out(io, `ublk ${VERSION}`);
        return 0;
      case "run":
        return await cmdRun(rest, io);
      case "bench":
        return await cmdBench(rest, io);
      case "add":
        return await cmdAdd(rest, io);
      case "list":
        return await cmdList(rest, io);
      case "del":
        return await cmdDel(rest, io);
      case "recover":
        return await cmdRecover(rest, io);
      case "features":
        return await cmdFeatures(rest, io);
      case "mirror-add":
        return await (await import("./legs.ts")).cmdMirrorAdd(rest, io);
      case DAEMON_COMMAND:
        return await cmdDaemon(rest);
      default:
        if (command.startsWith("-")) {
          err(io, `ublk: unknown option '${command}'; see ublk --help`);
        } else {
          err(io, `ublk: unknown command '${command}'; see ublk --help`);
        }
        return EXIT_USAGE;
    }
  } catch (e) {
    if (e instanceof UsageError) {
      err(io, `ublk ${e.message}`);
      return EXIT_USAGE;
    }
    err(io, `ublk: ${oneLine(e)}`);
    return 1;
  }
}

/** The hidden command `ublk add` re-spawns itself with. */
export const DAEMON_COMMAND = "__daemon";

function cmdHelp(args: string[], io: CliIo): number {
  const v = parseStrict(args, { type: { type: "string", short: "t" } }, "help");
  if (v.type === undefined) {
    out(io, MAIN_HELP);
    return 0;
  }
  const text = targetHelp(String(v.type));
  if (text === undefined) {
    throw new UsageError(
      `help: unknown target type '${v.type}' (expected null, loop, nbd, stripe, mirror or fault_inject)`,
    );
  }
  out(io, text);
  return 0;
}

const DEFAULT_RUN_SPEC = "rw=randread,bs=4k,qd=32,n=50000";
const DEFAULT_BENCH_SPEC = "rw=read,bs=512k,qd=16,time=3s";

async function parseSpec(text: string, command: string): Promise<WorkloadSpec> {
  const { parseWorkloadSpec } = await import("./workload.ts");
  try {
    return parseWorkloadSpec(text);
  } catch (e) {
    throw new UsageError(`${command}: --bench: ${oneLine(e)}`);
  }
}

/** Ctrl-C or SIGTERM → abort; a second one exits at once. */
class Interrupt implements Disposable {
  readonly controller: AbortController = new AbortController();
  readonly #handler = (): void => {
    if (this.controller.signal.aborted) Deno.exit(EXIT_INTERRUPTED);
    this.controller.abort();
  };
  constructor() {
    Deno.addSignalListener("SIGINT", this.#handler);
    Deno.addSignalListener("SIGTERM", this.#handler);
  }
  get signal(): AbortSignal {
    return this.controller.signal;
  }
  [Symbol.dispose](): void {
    Deno.removeSignalListener("SIGINT", this.#handler);
    Deno.removeSignalListener("SIGTERM", this.#handler);
  }
}

async function describeDevice(dev: RunningDevice, o: DeviceOptions): Promise<string> {
  const { describeRunning } = await import("./stack.ts");
  return describeRunning(dev, o);
}

/**
 * What `--bench` can be checked against before any device exists: the size the device will
 * have (null: `--size`; loop: the backing file's), and whether writing is allowed.
 */
async function precheckWorkload(o: DeviceOptions, spec: WorkloadSpec): Promise<void> {
  const { checkWorkloadFits, isWriteWorkload } = await import("./workload.ts");
  let size: number | undefined;
  if (o.type === "null") size = o.size ?? 250 * 1024 ** 3;
  if (o.type === "loop") {
    const { checkBackingFile, existingDataBytes } = await import("@ublk-ts/targets");
    size = checkBackingFile(o.file!);
    if (isWriteWorkload(spec)) {
      if (o.readOnly) {
        throw new UsageError(
          `run: --bench rw=${spec.rw} writes, and the device is --read-only (use rw=read or randread)`,
        );
      }
      // A file that holds data (allocated blocks) is a user's; one that is all holes (just
      // made with truncate) has nothing to lose.
      const blocks = Deno.statSync(o.file!).blocks ?? 1;
      if (existingDataBytes(o.file!) > 0 && blocks > 0 && !o.force) {
        throw new UsageError(
          `run: --bench rw=${spec.rw} would overwrite ${o.file} (${size} bytes holding data); give --force to write to it`,
        );
      }
    }
  }
  if (o.legs !== undefined && isWriteWorkload(spec)) {
    (await import("./legs.ts")).precheckLegWrites(o.legs, o.force, `rw=${spec.rw}`);
  }
  if (o.type === "nbd" && o.readOnly && isWriteWorkload(spec)) {
    throw new UsageError(
      `run: --bench rw=${spec.rw} writes, and the device is --read-only (use rw=read or randread)`,
    );
  }
  if (size !== undefined) {
    try {
      checkWorkloadFits(spec, size);
    } catch (e) {
      throw new UsageError(`run: --bench: ${oneLine(e)}`);
    }
  }
}

/** Creates the device, runs `body`, deletes the device whatever happens. */
async function withDevice<T>(
  o: DeviceOptions,
  io: CliIo,
  body: (dev: RunningDevice, stack: Stack) => Promise<T>,
): Promise<T> {
  const { openStack } = await import("./stack.ts");
  const stack = openStack({ native: o.native });
  let dev: RunningDevice | undefined;
  try {
    dev = await stack.addDevice(o);
    err(io, `ublk: added ${await describeDevice(dev, o)}`);
    return await body(dev, stack);
  } finally {
    if (dev) {
      await dev.delete();
      err(io, `ublk: deleted /dev/ublkb${dev.devId}`);
    }
    await stack.close();
  }
}

async function runOne(
  dev: RunningDevice,
  spec: WorkloadSpec,
  io: CliIo,
  signal: AbortSignal,
  label: string,
): Promise<WorkloadResult> {
  const { formatProgress, ProgressLine } = await import("./progress.ts");
  const { checkWorkloadFits, runWorkload } = await import("./workload.ts");
  checkWorkloadFits(spec, dev.size);
  const progress = new ProgressLine(io.stderr);
  try {
    return await runWorkload(dev.bdev, spec, {
      signal,
      onProgress: (p) => progress.update(`${label}${formatProgress(p, spec.bs)}`),
    });
  } finally {
    progress.done();
  }
}

async function resultJson(r: WorkloadResult, o: DeviceOptions): Promise<Record<string, unknown>> {
  const { formatWorkloadSpec } = await import("./workload.ts");
  return {
    target: o.type,
    dataMode: o.dataMode,
    zeroCopy: o.zeroCopy,
    native: o.native,
    queues: o.queues,
    depth: o.depth,
    workload: formatWorkloadSpec(r.spec),
    ios: r.ops,
    reads: r.reads,
    writes: r.writes,
    bytes: r.bytes,
    seconds: r.seconds,
    iops: r.iops,
    mbps: r.mbps,
    latAvgUs: r.latAvgNs / 1000,
    latP50Us: r.latP50Ns / 1000,
    latP99Us: r.latP99Ns / 1000,
    errors: r.errors,
    firstError: r.firstError,
    mismatches: r.mismatches,
    interrupted: r.interrupted,
  };
}

function statusOf(r: WorkloadResult): number {
  if (r.interrupted) return EXIT_INTERRUPTED;
  if (r.errors > 0 || r.mismatches > 0) return 1;
  return 0;
}

async function cmdRun(args: string[], io: CliIo): Promise<number> {
  const v = parseStrict(
    args,
    { ...DEVICE_ARG_OPTIONS, bench: { type: "string" }, json: { type: "boolean" } },
    "run",
  );
  if (v.help) {
    out(io, RUN_HELP);
    return 0;
  }
  const o = checkDeviceOptions(v, "run");
  const spec = await parseSpec(v.bench === undefined ? DEFAULT_RUN_SPEC : String(v.bench), "run");
  await precheckWorkload(o, spec);
  const { formatWorkloadResult } = await import("./workload.ts");
  using intr = new Interrupt();
  const result = await withDevice(o, io, (dev) => runOne(dev, spec, io, intr.signal, ""));
  if (v.json) out(io, JSON.stringify(await resultJson(result, o)));
  else out(io, formatWorkloadResult(result));
  if (result.errors > 0) {
    err(io, `ublk: ${result.errors} I/O errors, first ${await errName(result.firstError)}`);
  }
  if (result.mismatches > 0) err(io, `ublk: verify found ${result.mismatches} mismatching blocks`);
  return statusOf(result);
}

async function errName(res: number): Promise<string> {
  const { ErrnoError } = await import("@ublk-ts/uapi");
  return res < 0 ? `${res} (${new ErrnoError(-res).code})` : String(res);
}

async function cmdBench(args: string[], io: CliIo): Promise<number> {
  const v = parseStrict(
    args,
    {
      ...DEVICE_ARG_OPTIONS,
      bench: { type: "string" },
      json: { type: "boolean" },
      rounds: { type: "string" },
    },
    "bench",
  );
  if (v.help) {
    out(io, BENCH_HELP);
    return 0;
  }
  for (
    const [k, name] of [["zero-copy", "-z"], ["user-copy", "-u"], ["auto-zc", "--auto-zc"], [
      "auto-zc-fallback",
      "--auto-zc-fallback",
    ]] as const
  ) {
    if (v[k]) {
      throw new UsageError(
        `bench: ${name} is not for bench (it runs copy and one zero copy: --zc-mode MODE, default fused)`,
      );
    }
  }
  const base = checkDeviceOptions(v, "bench");
  const copyOptions: DeviceOptions = {
    ...base,
    dataMode: "copy",
    autoFallback: false,
    zeroCopy: false,
  };
  const zcOptions: DeviceOptions = v["zc-mode"] !== undefined
    ? base
    : { ...base, dataMode: "fused", autoFallback: false, zeroCopy: true };
  const spec = await parseSpec(
    v.bench === undefined ? DEFAULT_BENCH_SPEC : String(v.bench),
    "bench",
  );
  const roundsText = v.rounds === undefined ? "1" : String(v.rounds);
  const rounds = /^\d+$/.test(roundsText) ? Number(roundsText) : NaN;
  if (!(rounds >= 1 && rounds <= 100)) {
    throw new UsageError(`bench: --rounds must be a whole number in [1, 100], got '${roundsText}'`);
  }
  await precheckWorkload(base, spec);
  const { formatWorkloadResult } = await import("./workload.ts");
  using intr = new Interrupt();
  // Interleave copy and zero copy; keep the best run of each (noisy neighbours hit both).
  const best: (WorkloadResult | undefined)[] = [undefined, undefined];
  for (let round = 0; round < rounds; round++) {
    for (const zeroCopy of [false, true]) {
      const o = zeroCopy ? zcOptions : copyOptions;
      const label = zeroCopy ? "zero copy " : "copy      ";
      const r = await withDevice(o, io, (dev) => runOne(dev, spec, io, intr.signal, label));
      if (statusOf(r) !== 0) {
        out(io, `${label}${formatWorkloadResult(r)}`);
        return statusOf(r);
      }
      const i = zeroCopy ? 1 : 0;
      if (best[i] === undefined || r.iops > best[i]!.iops) best[i] = r;
      if (rounds > 1) {
        err(io, `ublk: round ${round + 1}: ${label.trim()} ${formatWorkloadResult(r)}`);
      }
    }
  }
  const [copy, zc] = best as [WorkloadResult, WorkloadResult];
  if (!v.json) {
    out(io, `copy      ${formatWorkloadResult(copy)}`);
    out(io, `zero copy ${formatWorkloadResult(zc)}`);
  }
  const ratio = copy.iops > 0 ? zc.iops / copy.iops : 0;
  if (v.json) {
    out(
      io,
      JSON.stringify({
        copy: await resultJson(copy, copyOptions),
        zeroCopy: await resultJson(zc, zcOptions),
        ratio,
      }),
    );
  } else {
    out(io, `ratio zero copy / copy: ${ratio.toFixed(2)}x (${zcModeName(zcOptions)})`);
  }
  return 0;
}

/** The `--zc-mode` spelling of a zero-copy option set. */
function zcModeName(o: DeviceOptions): string {
  if (o.dataMode !== "auto") return String(o.dataMode);
  return o.autoFallback === "always"
    ? "auto-forced-fallback"
    : o.autoFallback
    ? "auto-fallback"
    : "auto";
}

async function cmdAdd(args: string[], io: CliIo): Promise<number> {
  const v = parseStrict(args, ADD_ARG_OPTIONS, "add");
  if (v.help) {
    out(io, ADD_HELP);
    return 0;
  }
  const o = checkDeviceOptions(v, "add");
  const exportSpec = v.export === undefined ? undefined : String(v.export);
  const devices = await import("./devices.ts");
  if (exportSpec !== undefined) devices.checkExportSpec(exportSpec);
  if (v.foreground) {
    return await devices.addForeground(o, args, exportSpec, v.model === true, io);
  }
  return await devices.addDetached(devices.absoluteArgs(args, o), io, v.json === true);
}

async function cmdList(args: string[], io: CliIo): Promise<number> {
  const v = parseStrict(
    args,
    {
      number: { type: "string", short: "n" },
      verbose: { type: "boolean", short: "v" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    "list",
  );
  if (v.help) {
    out(io, LIST_HELP);
    return 0;
  }
  const id = devIdOption(v.number, "list");
  const devices = await import("./devices.ts");
  return await devices.list(id, v.verbose === true, v.json === true, io);
}

function devIdOption(raw: unknown, command: string): number | undefined {
  if (raw === undefined) return undefined;
  const s = String(raw);
  if (!/^\d+$/.test(s)) throw new UsageError(`${command}: -n needs a device id, got '${s}'`);
  return Number(s);
}

async function cmdDel(args: string[], io: CliIo): Promise<number> {
  const v = parseStrict(
    args,
    {
      number: { type: "string", short: "n" },
      all: { type: "boolean", short: "a" },
      async: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    "del",
  );
  if (v.help) {
    out(io, DEL_HELP);
    return 0;
  }
  if (v.number === undefined && !v.all) throw new UsageError("del: give -n ID or -a");
  if (v.number !== undefined && v.all) {
    throw new UsageError("del: give either -n ID or -a, not both");
  }
  const id = devIdOption(v.number, "del");
  const devices = await import("./devices.ts");
  return await devices.del(id, v.async === true, io);
}

async function cmdRecover(args: string[], io: CliIo): Promise<number> {
  const v = parseStrict(
    args,
    { number: { type: "string", short: "n" }, help: { type: "boolean", short: "h" } },
    "recover",
  );
  if (v.help) {
    out(io, RECOVER_HELP);
    return 0;
  }
  const id = devIdOption(v.number, "recover");
  if (id === undefined) throw new UsageError("recover: give -n ID");
  const devices = await import("./devices.ts");
  return await devices.recover(id, io);
}

async function cmdDaemon(args: string[]): Promise<number> {
  const devices = await import("./devices.ts");
  return await devices.daemonMain(args);
}

async function cmdFeatures(args: string[], io: CliIo): Promise<number> {
  const v = parseStrict(
    args,
    { json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
    "features",
  );
  if (v.help) {
    out(io, FEATURES_HELP);
    return 0;
  }
  const { openStack } = await import("./stack.ts");
  const { featureNames, probeRealUblk } = await import("./features.ts");
  const readFeatures = async (real: boolean): Promise<bigint> => {
    const stack = openStack({ native: false, real });
    try {
      return await stack.features();
    } finally {
      await stack.close();
    }
  };
  const model = await readFeatures(false);
  const probe = probeRealUblk();
  let kernelMask: bigint | undefined;
  let note = probe.note;
  if (probe.present) {
    try {
      kernelMask = await readFeatures(true);
      note = `/dev/ublk-control: 0x${kernelMask.toString(16).padStart(16, "0")}`;
    } catch (e) {
      note = `/dev/ublk-control exists, but GET_FEATURES failed: ${oneLine(e)}`;
    }
  }
  if (v.json) {
    out(
      io,
      JSON.stringify({
        model: { mask: `0x${model.toString(16)}`, flags: featureNames(model) },
        kernel: {
          present: probe.present,
          note,
          ...(kernelMask !== undefined
            ? { mask: `0x${kernelMask.toString(16)}`, flags: featureNames(kernelMask) }
            : {}),
        },
      }),
    );
    return 0;
  }
  out(io, `model ublk driver: 0x${model.toString(16).padStart(16, "0")}`);
  for (const name of featureNames(model)) out(io, `  ${name}`);
  out(io, `kernel ublk driver: ${note}`);
  if (kernelMask !== undefined) {
    for (const name of featureNames(kernelMask)) {
      out(io, `  ${name}`);
    }
  }
  return 0;
}
