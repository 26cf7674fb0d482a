/**
 * The `ublk` command line: `run`, `bench`, `add`, `list`, `del`, `features`, `--help`,
 * `--version`. Usage errors print one line on stderr and exit 2; runtime failures print one
 * line and exit 1; Ctrl-C during `run`/`add`/`bench` deletes the device and exits 130.
 *
 * @module
 */

import { ENODEV, ErrnoError } from "@ublk-ts/uapi";
import {
  checkDeviceOptions,
  describeDeviceOptions,
  DEVICE_ARG_OPTIONS,
  type DeviceOptions,
  parseStrict,
  UsageError,
} from "./device_options.ts";
import { featureNames, probeRealUblk } from "./features.ts";
import { formatProgress, ProgressLine } from "./progress.ts";
import { openStack, type RunningDevice, type Stack } from "./stack.ts";
import { formatSize } from "./units.ts";
import {
  ADD_HELP,
  BENCH_HELP,
  DEL_HELP,
  FEATURES_HELP,
  LIST_HELP,
  MAIN_HELP,
  RUN_HELP,
  VERSION,
} from "./usage.ts";
import {
  formatWorkloadResult,
  formatWorkloadSpec,
  parseWorkloadSpec,
  runWorkload,
  type WorkloadResult,
  type WorkloadSpec,
} from "./workload.ts";

/** Exit status of a usage error. */
export const EXIT_USAGE = 2;
/** Exit status after Ctrl-C. */
export const EXIT_INTERRUPTED = 130;

const enc = new TextEncoder();

/** Where the CLI writes: stdout, stderr (progress and messages). */
export interface CliIo {
  /** Result output. */
  stdout: { writeSync(p: Uint8Array): number };
  /** Messages and progress. */
  stderr: { writeSync(p: Uint8Array): number; isTerminal(): boolean };
}

const defaultIo: CliIo = { stdout: Deno.stdout, stderr: Deno.stderr };

function out(io: CliIo, text: string): void {
  io.stdout.writeSync(enc.encode(text.endsWith("\n") ? text : `${text}\n`));
}

function err(io: CliIo, text: string): void {
  io.stderr.writeSync(enc.encode(`${text}\n`));
}

/** Turns any thrown value into one line without a final period. */
function oneLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split("\n")[0]!.replace(/\.$/, "");
}

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
        err(io, "ublk: missing command (run, bench, add, list, del, features); see ublk --help");
        return EXIT_USAGE;
      case "-h":
      case "--help":
      case "help":
        out(io, MAIN_HELP);
        return 0;
      case "-V":
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
        return cmdList(rest, io);
      case "del":
        return cmdDel(rest, io);
      case "features":
        return await cmdFeatures(rest, io);
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

const DEFAULT_RUN_SPEC = "rw=randread,bs=4k,qd=32,n=50000";
const DEFAULT_BENCH_SPEC = "rw=read,bs=512k,qd=16,time=3s";

function parseSpec(text: string, command: string): WorkloadSpec {
  try {
    return parseWorkloadSpec(text);
  } catch (e) {
    throw new UsageError(`${command}: --bench: ${oneLine(e)}`);
  }
}

/** Ctrl-C → abort; a second Ctrl-C exits at once. */
class Interrupt implements Disposable {
  readonly controller: AbortController = new AbortController();
  readonly #handler = (): void => {
    if (this.controller.signal.aborted) Deno.exit(EXIT_INTERRUPTED);
    this.controller.abort();
  };
  constructor() {
    Deno.addSignalListener("SIGINT", this.#handler);
  }
  get signal(): AbortSignal {
    return this.controller.signal;
  }
  [Symbol.dispose](): void {
    Deno.removeSignalListener("SIGINT", this.#handler);
  }
}

function describeDevice(dev: RunningDevice, o: DeviceOptions): string {
  return `/dev/ublkb${dev.devId}: ${formatSize(dev.size)}, ${
    describeDeviceOptions(o)
  } (${dev.note})`;
}

/** Creates the device, runs `body`, deletes the device whatever happens. */
async function withDevice<T>(
  o: DeviceOptions,
  io: CliIo,
  body: (dev: RunningDevice, stack: Stack) => Promise<T>,
): Promise<T> {
  const stack = openStack({ native: o.native });
  let dev: RunningDevice | undefined;
  try {
    dev = await stack.addDevice(o);
    err(io, `ublk: added ${describeDevice(dev, o)}`);
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

function resultJson(r: WorkloadResult, o: DeviceOptions): Record<string, unknown> {
  return {
    target: o.type,
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
  const spec = parseSpec(v.bench === undefined ? DEFAULT_RUN_SPEC : String(v.bench), "run");
  using intr = new Interrupt();
  const result = await withDevice(o, io, (dev) => runOne(dev, spec, io, intr.signal, ""));
  if (v.json) out(io, JSON.stringify(resultJson(result, o)));
  else out(io, formatWorkloadResult(result));
  if (result.errors > 0) {
    err(io, `ublk: ${result.errors} I/O errors, first ${errName(result.firstError)}`);
  }
  if (result.mismatches > 0) err(io, `ublk: verify found ${result.mismatches} mismatching blocks`);
  return statusOf(result);
}

function errName(res: number): string {
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
  if (v["zero-copy"]) throw new UsageError("bench: -z is implied (bench runs copy and -z)");
  const base = checkDeviceOptions(v, "bench");
  const spec = parseSpec(v.bench === undefined ? DEFAULT_BENCH_SPEC : String(v.bench), "bench");
  const roundsText = v.rounds === undefined ? "1" : String(v.rounds);
  const rounds = /^\d+$/.test(roundsText) ? Number(roundsText) : NaN;
  if (!(rounds >= 1 && rounds <= 100)) {
    throw new UsageError(`bench: --rounds must be a whole number in [1, 100], got '${roundsText}'`);
  }
  using intr = new Interrupt();
  // Interleave copy and zero copy; keep the best run of each (noisy neighbours hit both).
  const best: (WorkloadResult | undefined)[] = [undefined, undefined];
  for (let round = 0; round < rounds; round++) {
    for (const zeroCopy of [false, true]) {
      const o = { ...base, zeroCopy };
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
        copy: resultJson(copy, { ...base, zeroCopy: false }),
        zeroCopy: resultJson(zc, { ...base, zeroCopy: true }),
        ratio,
      }),
    );
  } else {
    out(io, `ratio zero copy / copy: ${ratio.toFixed(2)}x`);
  }
  return 0;
}

async function cmdAdd(args: string[], io: CliIo): Promise<number> {
  const v = parseStrict(args, { ...DEVICE_ARG_OPTIONS, "no-wait": { type: "boolean" } }, "add");
  if (v.help) {
    out(io, ADD_HELP);
    return 0;
  }
  const o = checkDeviceOptions(v, "add");
  using intr = new Interrupt();
  return await withDevice(o, io, async (dev) => {
    out(io, `ublkb${dev.devId}  ${describeDevice(dev, o)}`);
    out(io, dev.describe());
    if (v["no-wait"]) return 0;
    err(io, "ublk: serving until Ctrl-C (the device lives in this process)");
    await new Promise<void>((resolve) => {
      if (intr.signal.aborted) resolve();
      intr.signal.addEventListener("abort", () => resolve(), { once: true });
    });
    return EXIT_INTERRUPTED;
  });
}

function cmdList(args: string[], io: CliIo): number {
  const v = parseStrict(
    args,
    {
      number: { type: "string", short: "n" },
      verbose: { type: "boolean", short: "v" },
      help: { type: "boolean", short: "h" },
    },
    "list",
  );
  if (v.help) {
    out(io, LIST_HELP);
    return 0;
  }
  if (v.number !== undefined && !/^\d+$/.test(String(v.number))) {
    throw new UsageError(`list: -n needs a device id, got '${v.number}'`);
  }
  out(io, "model: no devices (model devices live inside the ublk process that created them)");
  const real = probeRealUblk();
  out(io, `kernel: ${real.note}`);
  return 0;
}

function cmdDel(args: string[], io: CliIo): number {
  const v = parseStrict(
    args,
    {
      number: { type: "string", short: "n" },
      all: { type: "boolean", short: "a" },
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
  if (v.all) {
    out(io, "model: no devices to delete in this process");
    return 0;
  }
  const id = String(v.number);
  if (!/^\d+$/.test(id)) throw new UsageError(`del: -n needs a device id, got '${id}'`);
  err(
    io,
    `ublk: del: no device ${id} (${
      new ErrnoError(ENODEV).code
    }): model devices belong to the process that created them`,
  );
  return 1;
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
  const stack = openStack({ native: false });
  let model: bigint;
  try {
    model = await stack.features();
  } finally {
    await stack.close();
  }
  const real = probeRealUblk();
  if (v.json) {
    out(
      io,
      JSON.stringify({
        model: { mask: `0x${model.toString(16)}`, flags: featureNames(model) },
        kernel: { present: real.present, note: real.note },
      }),
    );
    return 0;
  }
  out(io, `model ublk driver: 0x${model.toString(16).padStart(16, "0")}`);
  for (const name of featureNames(model)) out(io, `  ${name}`);
  out(io, `kernel ublk driver: ${real.note}`);
  return 0;
}
