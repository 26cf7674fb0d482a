/**
 * The composite targets on the command line: `-t stripe`, `-t mirror` and `-t fault_inject`
 * (also spelled `fault-inject`), their options (`--leg`, `--chunk`, the fault rules), how they
 * are built from legs (files, `nbd://` / `nbd+unix://` exports, `null:SIZE`), how their state is
 * shown (`ublk list -v`, `--json`), and `ublk mirror-add` (re-add a mirror leg and resync it).
 *
 * @module
 */

import type { Kernel } from "@ublk-ts/ring";
import type { Target } from "@ublk-ts/ublk";
import type { FaultOp, FaultRules, Leg, MirrorStatus } from "@ublk-ts/targets";
import { errnoNumber } from "@ublk-ts/uapi/errno";
import { parseSize } from "./units.ts";
import { type RawValues, UsageError } from "./device_options.ts";
import { type CliIo, err, out } from "./io.ts";

/** The composite target types. */
export const LEG_TARGET_TYPES = ["stripe", "mirror", "fault_inject"] as const;

/** A composite target type. */
export type LegTargetType = typeof LEG_TARGET_TYPES[number];

/**
 * The composite type `-t` names, or undefined (`fault-inject` is `fault_inject`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { legTargetType } from "./legs.ts";
 * assert.equal(legTargetType("fault-inject"), "fault_inject");
 * assert.equal(legTargetType("loop"), undefined);
 * ```
 */
export function legTargetType(type: string): LegTargetType | undefined {
  const t = type.replaceAll("-", "_");
  return (LEG_TARGET_TYPES as readonly string[]).includes(t) ? t as LegTargetType : undefined;
}

/** Checked options of a composite target. */
export interface LegOptions {
  /** The `--leg` arguments, in order. */
  legs: string[];
  /** Stripe chunk size in bytes. */
  chunk: number;
  /** fault_inject rules. */
  fault: FaultRules;
}

/** The errno names the usage text suggests (any name of uapi's errno table is taken). */
const ERRNO_HINTS = ["EIO", "ENOSPC", "ENODATA", "ETIMEDOUT", "EAGAIN", "ENOMEM", "EROFS"];

const FAULT_OPTIONS = [
  "delay-us",
  "delay-rate",
  "error-rate",
  "error-range",
  "errno",
  "fault-ops",
  "fault-seed",
];

function rate(v: RawValues, key: string, command: string): number | undefined {
  const raw = v[key];
  if (raw === undefined) return undefined;
  const n = /^\d*(\.\d+)?$/.test(String(raw)) ? Number(raw) : NaN;
  if (!(n >= 0 && n <= 1)) {
    throw new UsageError(`${command}: --${key} must be a number in [0, 1], got '${raw}'`);
  }
  return n;
}

function whole(v: RawValues, key: string, command: string, max: number): number | undefined {
  const raw = v[key];
  if (raw === undefined) return undefined;
  const n = /^\d+$/.test(String(raw)) ? Number(raw) : NaN;
  if (!(n >= 0 && n <= max)) {
    throw new UsageError(
      `${command}: --${key} must be a whole number in [0, ${max}], got '${raw}'`,
    );
  }
  return n;
}

function errnoOf(text: string, command: string): number {
  const named = errnoNumber(text.toUpperCase());
  if (named !== undefined) return named;
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n > 0 && n < 4096)) {
    throw new UsageError(
      `${command}: --errno must be a positive errno or an errno name (${
        ERRNO_HINTS.join(", ")
      }, …), got '${text}'`,
    );
  }
  return n;
}

/**
 * The first composite-only option given, for "is for stripe, mirror…" errors.
 *
 * @param v The parsed values.
 * @returns `--leg`, `--chunk`, a fault option, or undefined.
 */
export function legOptionGiven(v: RawValues): string | undefined {
  for (const k of ["leg", "chunk", ...FAULT_OPTIONS]) if (v[k] !== undefined) return `--${k}`;
  return undefined;
}

/**
 * Checks the options of a composite target.
 *
 * @param v The parsed values.
 * @param type The target type.
 * @param command The command, for messages.
 * @returns The checked options.
 * @throws {UsageError} on any problem.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkLegOptions } from "./legs.ts";
 * const o = checkLegOptions({ leg: ["a.img", "b.img"], chunk: "128k" }, "stripe", "add");
 * assert.equal(o.chunk, 131072);
 * assert.throws(() => checkLegOptions({ leg: ["a.img"] }, "mirror", "add"), /at least 2 --leg/);
 * ```
 */
export function checkLegOptions(v: RawValues, type: LegTargetType, command: string): LegOptions {
  const legs = ((v.leg as string[] | undefined) ?? []).map(String);
  // kublk's fault_inject serves no data (a null device): so does this one without a --leg.
  if (type === "fault_inject" && legs.length === 0) legs.push("null:250g");
  if (type === "fault_inject" && legs.length !== 1) {
    throw new UsageError(
      `${command}: the fault_inject target takes one --leg (FILE, nbd://…, or null:SIZE; default null:250g)`,
    );
  }
  if (type !== "fault_inject" && legs.length < 2) {
    throw new UsageError(
      `${command}: the ${type} target needs at least 2 --leg (FILE, nbd://HOST[:PORT]/EXPORT or nbd+unix:///EXPORT?socket=PATH)`,
    );
  }
  for (const l of legs) {
    if (l === "") throw new UsageError(`${command}: --leg needs a value`);
  }
  let chunk = 64 * 1024;
  if (v.chunk !== undefined) {
    if (type !== "stripe") throw new UsageError(`${command}: --chunk is for the stripe target`);
    try {
      chunk = parseSize(String(v.chunk), "--chunk");
    } catch (e) {
      throw new UsageError(`${command}: ${(e as Error).message}`);
    }
    if (chunk < 4096 || (chunk & (chunk - 1)) !== 0 || chunk > 1 << 30) {
      throw new UsageError(
        `${command}: --chunk must be a power of two from 4k to 1g, got '${v.chunk}'`,
      );
    }
  }
  const fault: FaultRules = {};
  const given = FAULT_OPTIONS.find((k) => v[k] !== undefined);
  if (given !== undefined && type !== "fault_inject") {
    throw new UsageError(`${command}: --${given} is for the fault_inject target`);
  }
  const delayUs = whole(v, "delay-us", command, 60_000_000);
  if (delayUs !== undefined) fault.delayUs = delayUs;
  const delayRate = rate(v, "delay-rate", command);
  if (delayRate !== undefined) fault.delayRate = delayRate;
  const errorRate = rate(v, "error-rate", command);
  if (errorRate !== undefined) fault.errorRate = errorRate;
  const seed = whole(v, "fault-seed", command, 0xffffffff);
  if (seed !== undefined) fault.seed = seed;
  if (v.errno !== undefined) fault.errno = errnoOf(String(v.errno), command);
  if (v["fault-ops"] !== undefined) {
    const ops = String(v["fault-ops"]).split(",");
    const known = ["read", "write", "flush", "discard", "write-zeroes"];
    for (const op of ops) {
      if (!known.includes(op)) {
        throw new UsageError(
          `${command}: --fault-ops takes ${known.join(",")} (comma separated), got '${op}'`,
        );
      }
    }
    fault.ops = ops as FaultOp[];
  }
  const ranges = (v["error-range"] as string[] | undefined) ?? [];
  fault.ranges = ranges.map((r) => {
    const m = /^([^-]+)-([^-]+)$/.exec(String(r));
    let start = NaN, end = NaN;
    try {
      if (m) [start, end] = [parseSize(m[1]!, "--error-range"), parseSize(m[2]!, "--error-range")];
    } catch { /* reported below */ }
    if (!(start < end)) {
      throw new UsageError(
        `${command}: --error-range takes START-END in bytes (units allowed, START < END), got '${r}'`,
      );
    }
    return {
      start,
      end,
      ...(fault.errno !== undefined ? { errno: fault.errno } : {}),
      ...(fault.ops !== undefined ? { ops: fault.ops } : {}),
    };
  });
  return { legs, chunk, fault };
}

/** What {@linkcode makeLegTarget} needs of the device options. */
export interface LegTargetOptions {
  /** The target type. */
  type: LegTargetType;
  /** The leg options. */
  legs: LegOptions;
  /** Fused zero copy. */
  zeroCopy: boolean;
  /** File legs: the page cache instead of O_DIRECT. */
  bufferedIo: boolean;
}

/**
 * Opens one `--leg`: a file, an NBD export, or `null:SIZE` (a null target, for fault_inject).
 *
 * @param kernel The device's kernel.
 * @param spec The argument.
 * @param o Zero copy, buffered I/O.
 * @returns The leg.
 */
export async function openCliLeg(
  kernel: Kernel,
  spec: string,
  o: { zeroCopy: boolean; bufferedIo: boolean },
): Promise<Leg> {
  const { NullTarget, openLeg } = await import("@ublk-ts/targets");
  if (spec.startsWith("null:")) {
    let size: number;
    try {
      size = parseSize(spec.slice(5), "--leg null:SIZE");
    } catch (e) {
      throw new UsageError(`--leg ${spec}: ${(e as Error).message}`);
    }
    return { uri: spec, target: new NullTarget({ size }) };
  }
  return await openLeg(kernel as unknown as Parameters<typeof openLeg>[0], spec, {
    zeroCopy: o.zeroCopy,
    direct: !o.bufferedIo,
  });
}

/**
 * Builds a composite target from its legs (each checked or connected before any device).
 *
 * @param kernel The device's kernel.
 * @param o The options.
 * @param onEvent Told a line when a mirror leg fails or resyncs.
 * @returns The target.
 */
export async function makeLegTarget(
  kernel: Kernel,
  o: LegTargetOptions,
  onEvent?: (message: string) => void,
): Promise<Target> {
  const { FaultInjectTarget, MirrorTarget, StripeTarget } = await import("@ublk-ts/targets");
  const legs: Leg[] = [];
  try {
    for (const spec of o.legs.legs) legs.push(await openCliLeg(kernel, spec, o));
    switch (o.type) {
      case "stripe":
        return new StripeTarget(legs, { chunkSize: o.legs.chunk });
      case "mirror":
        return new MirrorTarget(legs, onEvent ? { onEvent } : {});
      case "fault_inject":
        return new FaultInjectTarget(legs[0]!.target, o.legs.fault);
    }
  } catch (e) {
    for (const l of legs) await l.target.close?.();
    throw e;
  }
}

/** The structured state of a composite target (for `list --json` and the control socket). */
export interface LegTargetStatus {
  /** The type. */
  type: string;
  /** Stripe: the chunk size. */
  chunk?: number;
  /** The legs and their states. */
  legs: {
    index: number;
    uri: string;
    state: string;
    reason?: string;
    reads?: number;
    writes?: number;
  }[];
  /** Mirror: a leg is not active. */
  degraded?: boolean;
  /** Mirror: the resync. */
  resync?: MirrorStatus["resync"];
  /** fault_inject: what was injected. */
  injected?: { requests: number; errors: number; delayed: number };
}

/**
 * The state of a composite target, or undefined for other targets.
 *
 * @param target The target.
 * @returns The state.
 */
export function legTargetStatus(target: Target): LegTargetStatus | undefined {
  const t = target as unknown as Record<string, unknown>;
  if (target.name === "mirror" && typeof t.status === "function") {
    const s = (t.status as () => MirrorStatus)();
    return {
      type: "mirror",
      legs: s.legs.map((l) => ({
        index: l.index,
        uri: l.uri,
        state: l.state,
        ...(l.reason !== "" ? { reason: l.reason } : {}),
        reads: l.reads,
        writes: l.writes,
      })),
      degraded: s.degraded,
      resync: s.resync,
    };
  }
  if (target.name === "stripe" && Array.isArray(t.legs)) {
    return {
      type: "stripe",
      chunk: t.chunkSize as number,
      legs: (t.legs as Leg[]).map((l, index) => ({ index, uri: l.uri, state: "active" })),
    };
  }
  if (target.name === "fault_inject" && typeof t.stats === "object") {
    const inner = t.inner as Target;
    return {
      type: "fault_inject",
      legs: [{ index: 0, uri: inner.name, state: "active" }],
      injected: { ...(t.stats as { requests: number; errors: number; delayed: number }) },
    };
  }
  return undefined;
}

/**
 * Lines describing a composite target's legs (for `ublk list -v`), none for other targets.
 *
 * @param target The target.
 * @returns The lines.
 */
export function describeLegTarget(target: Target): string[] {
  const s = legTargetStatus(target);
  if (s === undefined) return [];
  const lines: string[] = [];
  if (s.type === "mirror") {
    lines.push(`mirror ${s.degraded ? "DEGRADED" : "healthy"}, ${s.legs.length} legs`);
  } else if (s.type === "stripe") {
    lines.push(
      `stripe chunk ${s.chunk! >= 1024 ? `${s.chunk! / 1024}k` : s.chunk}, ${s.legs.length} legs`,
    );
  } else {
    const i = s.injected!;
    lines.push(`fault_inject: ${i.errors} errors, ${i.delayed} delays in ${i.requests} requests`);
  }
  for (const l of s.legs) {
    lines.push(
      `leg ${l.index} ${l.state.toUpperCase()} ${l.uri}${l.reason ? ` (${l.reason})` : ""}${
        l.reads !== undefined ? `  reads ${l.reads} writes ${l.writes}` : ""
      }`,
    );
  }
  const r = s.resync;
  if (r) {
    const pct = r.total > 0 ? Math.floor((r.done / r.total) * 100) : 100;
    lines.push(
      `resync leg ${r.leg} from leg ${r.source}: ${r.state} ${pct}% (${r.done}/${r.total} bytes)${
        r.reason ? ` ${r.reason}` : ""
      }`,
    );
  }
  return lines;
}

/**
 * Serves `{"cmd":"mirror-add","leg":SPEC,"replace":I}` in a daemon: opens the leg and adds it
 * to the mirror, which resyncs it in the background.
 *
 * @param target The device's target.
 * @param kernel The device's kernel.
 * @param req The request.
 * @param o The device's zero-copy and buffered-I/O options.
 * @returns The reply.
 */
export async function mirrorAddRequest(
  target: Target,
  kernel: Kernel,
  req: Record<string, unknown>,
  o: { zeroCopy: boolean; bufferedIo: boolean },
): Promise<{ ok: boolean; error?: string; leg?: number }> {
  const t = target as unknown as {
    addLeg?: (leg: Leg, options: { replace?: number }) => Promise<number>;
  };
  if (target.name !== "mirror" || typeof t.addLeg !== "function") {
    return { ok: false, error: `the device's target is ${target.name}, not mirror` };
  }
  const leg = await openCliLeg(kernel, String(req.leg ?? ""), o);
  const index = await t.addLeg(
    leg,
    typeof req.replace === "number" ? { replace: req.replace } : {},
  );
  return { ok: true, leg: index };
}

/** `ublk mirror-add --help`. */
export const MIRROR_ADD_HELP: string = `Usage: ublk mirror-add -n N --leg LEG [--replace I] [--wait]

Adds a leg to the running mirror device N (in place of a failed leg, the first one
unless --replace I names it, or as a new leg) and resyncs it in the background from
an active leg; writes reach it at once, reads once the resync is done. Progress
shows in 'ublk list -v -n N'. Copy-mode devices only for file legs (they are served
through the host file once the queues run); a zero-copy device refuses new legs.

  -n, --number N    the device
      --leg LEG     FILE, nbd://HOST[:PORT]/EXPORT or nbd+unix:///EXPORT?socket=PATH
      --replace I   the failed leg to replace
      --wait        wait for the resync, printing its progress
`;

/**
 * `ublk mirror-add -n N --leg LEG [--replace I] [--wait]`.
 *
 * @param args The arguments after the command.
 * @param io Where to write.
 * @returns The exit status.
 */
export async function cmdMirrorAdd(args: string[], io: CliIo): Promise<number> {
  const { parseStrict } = await import("./device_options.ts");
  const v = parseStrict(args, {
    number: { type: "string", short: "n" },
    leg: { type: "string" },
    replace: { type: "string" },
    wait: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  }, "mirror-add");
  if (v.help) {
    out(io, MIRROR_ADD_HELP);
    return 0;
  }
  const id = whole(v, "number", "mirror-add", 1 << 20);
  if (id === undefined) throw new UsageError("mirror-add: missing -n N (the mirror device)");
  if (v.leg === undefined || v.leg === "") throw new UsageError("mirror-add: missing --leg LEG");
  const replace = whole(v, "replace", "mirror-add", 1 << 16);
  const { readRecord, runDir, daemonAlive } = await import("./run_dir.ts");
  const { controlRequest } = await import("./control.ts");
  const rec = readRecord(runDir(), id);
  if (rec === undefined || !daemonAlive(rec)) {
    err(io, `ublk: mirror-add: no running device ${id} (ENODEV) in ${runDir()}`);
    return 1;
  }
  const r = await controlRequest(rec.control, {
    cmd: "mirror-add",
    leg: String(v.leg),
    ...(replace !== undefined ? { replace } : {}),
  });
  if (!r.ok) {
    err(io, `ublk: mirror-add: ${r.error ?? "failed"}`);
    return 1;
  }
  out(io, `ublkb${id}: leg ${r.leg} ${v.leg} added, resyncing`);
  if (!v.wait) return 0;
  for (;;) {
    const info = await controlRequest(rec.control, { cmd: "info" });
    const s = info.legs as LegTargetStatus | undefined;
    const rs = s?.resync;
    if (rs === undefined || rs === null) break;
    if (rs.state !== "running") {
      out(
        io,
        `ublkb${id}: resync of leg ${rs.leg} ${rs.state}${rs.reason ? `: ${rs.reason}` : ""}`,
      );
      return rs.state === "done" ? 0 : 1;
    }
    err(io, `ublkb${id}: resync leg ${rs.leg} ${Math.floor((rs.done / rs.total) * 100)}%`);
    await new Promise((res) => setTimeout(res, 200));
  }
  return 0;
}

/** `ublk help -t TYPE` for the composite targets, or undefined. */
export function legTargetHelp(type: string): string | undefined {
  switch (legTargetType(type)) {
    case "stripe":
      return `${LEGS_TEXT}
      --chunk SIZE      stripe chunk: a power of two from 4k (default 64k)

The stripe target (RAID 0): device chunk c lives on leg c mod N at leg chunk
c / N; the device is N x the smallest leg rounded down to a chunk. A request is
split at chunk boundaries into one I/O per leg range, all issued at once (with
-z each is a fused slave on its sub-range of the request pages); a failed or
short piece fails the request with its errno (-EIO when short). FLUSH goes to
every leg, DISCARD and WRITE_ZEROES are split like I/O.

Example:  ublk add -t stripe --leg /dev/shm/a.img --leg /dev/shm/b.img --chunk 64k -z
`;
    case "mirror":
      return `${LEGS_TEXT}

The mirror target (RAID 1): writes go to every leg (with -z N fused slaves on
the same request pages), reads alternate between active legs; a leg that fails
an I/O is marked failed and the device goes on degraded; a read error is retried
on another leg. 'ublk list -v' shows each leg's state; 'ublk mirror-add -n N
--leg LEG' re-adds a leg and resyncs it in the background (copy mode).

Example:  ublk add -t mirror --leg nbd+unix:///?socket=/tmp/a.sock --leg /dev/shm/b.img
`;
    case "fault_inject":
      return `${LEGS_TEXT}
      --delay-us N      delay requests by N microseconds (a timer: rounds up to ~1 ms)
      --delay-rate R    share of requests delayed, 0..1 (default 1)
      --error-rate R    share of requests failed, 0..1 (seeded)
      --error-range A-B fail requests touching bytes [A, B) (units allowed; repeat)
      --errno E         the errno (EIO default, ENOSPC, ENODATA, … or a number)
      --fault-ops OPS   ops the errors apply to: read,write,flush,discard,write-zeroes
                        (default read,write)
      --fault-seed N    seed of the random choices (default 1)

The fault_inject target (also -t fault-inject): one --leg (a FILE, an NBD export
or null:SIZE; without --leg a null device of 250g, as kublk's fault_inject) with
delays and errors injected in front of it. kublk's --delay_us works too.

Examples: ublk add -t fault_inject --delay_us 1000
          ublk run -t fault_inject --leg disk.img --error-range 1m-2m --bench rw=verify
          ublk run -t fault_inject --leg null:1g --error-rate 0.01 --bench rw=randread
`;
    default:
      return undefined;
  }
}

const LEGS_TEXT = `Legs (composite targets: stripe, mirror, fault_inject):
      --leg LEG         a leg, repeated: FILE (served as the loop target serves
                        it: O_DIRECT unless --buffered-io), nbd://HOST[:PORT]/EXPORT,
                        nbd+unix:///EXPORT?socket=PATH, or null:SIZE`;

/**
 * Refuses a write workload over file legs that hold data, unless `--force` (as for loop).
 *
 * @param legs The leg options.
 * @param force `--force` was given.
 * @param what The workload, for the message.
 * @throws {UsageError} when a file leg holds data.
 */
export function precheckLegWrites(legs: LegOptions, force: boolean, what: string): void {
  if (force) return;
  for (const l of legs.legs) {
    if (l.startsWith("nbd://") || l.startsWith("nbd+unix://") || l.startsWith("null:")) continue;
    let st: Deno.FileInfo;
    try {
      st = Deno.statSync(l);
    } catch {
      continue; // opening the leg reports it
    }
    if (st.isFile && st.size > 0 && (st.blocks ?? 1) > 0) {
      throw new UsageError(
        `run: --bench ${what} would overwrite leg ${l} (${st.size} bytes holding data); give --force to write to it`,
      );
    }
  }
}
