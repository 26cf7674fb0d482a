/**
 * Parsing and checking of the device options shared by `ublk run`, `ublk bench` and `ublk add`
 * (`-t`, `-q`, `-d`, `-z`, `--native`, loop and nbd options). Every problem is a
 * {@linkcode UsageError}: one line, exit status 2.
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";
import { parseSize } from "./units.ts";
import type { DataMode } from "@ublk-ts/ublk";
import {
  checkLegOptions,
  legOptionGiven,
  type LegOptions,
  type LegTargetType,
  legTargetType,
} from "./legs.ts";

/** A command-line mistake: printed as one line, exit status 2. */
export class UsageError extends Error {
  /**
   * @param message One line, sentence case, no final period.
   */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** A data mode as the command line asks for it: a library mode, or the best zero copy. */
export type DataModeChoice = DataMode | "best";

/** `--zc-mode` values and what they mean. */
const ZC_MODES: Record<string, { mode: DataMode; fallback: boolean | "always" }> = {
  fused: { mode: "fused", fallback: false },
  register: { mode: "register", fallback: false },
  auto: { mode: "auto", fallback: false },
  "auto-fallback": { mode: "auto", fallback: true },
  "auto-forced-fallback": { mode: "auto", fallback: "always" },
};

/** The targets the CLI can run. */
export type TargetType = "null" | "loop" | "nbd" | LegTargetType;

/** Checked device options. */
export interface DeviceOptions {
  /** Target. */
  type: TargetType;
  /** Hardware queues. */
  queues: number;
  /** Tags per queue. */
  depth: number;
  /**
   * The data mode asked for: copy (default), user copy (`-u`), or zero copy — `best` (`-z`:
   * what the kernel has, AUTO_BUF_REG > SUPPORT_ZERO_COPY > the model's fused command),
   * `auto` (`--auto-zc`, `--auto-zc-fallback`), `register`, `fused` (`--zc-mode`).
   */
  dataMode: DataModeChoice;
  /** With auto: UBLK_AUTO_BUF_REG_FALLBACK (`true`), and on every request (`"always"`). */
  autoFallback: boolean | "always";
  /** A zero-copy mode was asked for (`dataMode` is best, auto, register or fused). */
  zeroCopy: boolean;
  /** Native io_uring data backend. */
  native: boolean;
  /** Null target size. */
  size: number | undefined;
  /** Loop backing file. */
  file: string | undefined;
  /** Loop: page cache instead of O_DIRECT. */
  bufferedIo: boolean;
  /** NBD host. */
  host: string | undefined;
  /** NBD port. */
  port: number;
  /** NBD Unix socket. */
  unix: string | undefined;
  /** NBD export name. */
  exportName: string;
  /** NBD: SEND_ZC for WRITE payloads with zero copy. */
  sendZc: boolean;
  /** NBD: I/O timeout in seconds (0 = none), when given. */
  timeout: number | undefined;
  /** NBD (copy mode and -z): reconnect attempts after the connection died (0 = none). */
  reconnect: number;
  /** Read-only device (loop opens its file O_RDONLY; writes fail -EROFS). */
  readOnly: boolean;
  /** Write workloads may overwrite a non-empty backing file. */
  force: boolean;
  /** `add`: the device id (-1 = the lowest free one). */
  devId: number;
  /** `add -g`: UBLK_F_NEED_GET_DATA. */
  needGetData: boolean;
  /** `add -r 1`: UBLK_F_USER_RECOVERY. */
  userRecovery: boolean;
  /** `add -e 1`: UBLK_F_USER_RECOVERY_FAIL_IO. */
  recoveryFailIo: boolean;
  /** `add -i 1`: UBLK_F_USER_RECOVERY_REISSUE. */
  recoveryReissue: boolean;
  /** stripe, mirror, fault_inject: legs, chunk, fault rules (apps/ublk/legs.ts). */
  legs?: LegOptions;
}

/** parseArgs option table of the device options. */
export const DEVICE_ARG_OPTIONS: NonNullable<ParseArgsConfig["options"]> = {
  type: { type: "string", short: "t" },
  queues: { type: "string", short: "q" },
  depth: { type: "string", short: "d" },
  "zero-copy": { type: "boolean", short: "z" },
  "user-copy": { type: "boolean", short: "u" },
  "auto-zc": { type: "boolean" },
  "auto-zc-fallback": { type: "boolean" },
  "zc-mode": { type: "string" },
  native: { type: "boolean" },
  size: { type: "string" },
  file: { type: "string", short: "f" },
  "buffered-io": { type: "boolean" },
  host: { type: "string" },
  port: { type: "string" },
  unix: { type: "string" },
  "export-name": { type: "string" },
  "send-zc": { type: "boolean" },
  timeout: { type: "string" },
  reconnect: { type: "string" },
  "read-only": { type: "boolean" },
  force: { type: "boolean" },
  // stripe, mirror, fault_inject (checked in legs.ts)
  leg: { type: "string", multiple: true },
  chunk: { type: "string" },
  "delay-us": { type: "string" },
  "delay-rate": { type: "string" },
  "error-rate": { type: "string" },
  "error-range": { type: "string", multiple: true },
  errno: { type: "string" },
  "fault-ops": { type: "string" },
  "fault-seed": { type: "string" },
  help: { type: "boolean", short: "h" },
};

/** parseArgs option table of `ublk add` (the device options plus ublksrv's add flags). */
export const ADD_ARG_OPTIONS: NonNullable<ParseArgsConfig["options"]> = {
  ...DEVICE_ARG_OPTIONS,
  number: { type: "string", short: "n" },
  "need-get-data": { type: "boolean", short: "g" },
  recovery: { type: "string", short: "r" },
  "recovery-fail-io": { type: "string", short: "e" },
  "recovery-reissue": { type: "string", short: "i" },
  foreground: { type: "boolean" },
  export: { type: "string" },
  model: { type: "boolean" },
  json: { type: "boolean" },
};

/** The raw values parseArgs returns. */
export type RawValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/**
 * Runs `parseArgs` strictly and turns its errors into one-line {@linkcode UsageError}s.
 *
 * @param args The arguments after the command.
 * @param options The option table.
 * @param command The command name, for messages.
 * @returns The values.
 * @throws {UsageError} on an unknown option, a missing value or a positional argument.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEVICE_ARG_OPTIONS, parseStrict } from "./device_options.ts";
 * assert.equal(parseStrict(["-t", "null"], DEVICE_ARG_OPTIONS, "run").type, "null");
 * assert.throws(() => parseStrict(["--nope"], DEVICE_ARG_OPTIONS, "run"), /unknown option '--nope'/);
 * ```
 */
export function parseStrict(
  args: string[],
  options: NonNullable<ParseArgsConfig["options"]>,
  command: string,
): RawValues {
  args = normalizeArgs(args, options);
  let parsed;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: true, tokens: true });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const unknown = /Unknown option '([^']+)'/.exec(msg);
    if (unknown) throw new UsageError(`${command}: unknown option '${unknown[1]}'`);
    const needs = /Option '([^']+)' argument missing/.exec(msg);
    if (needs) {
      throw new UsageError(`${command}: option '${needs[1]!.split(",")[0]}' needs a value`);
    }
    const noValue = /Option '([^']+)' does not take an argument/.exec(msg);
    if (noValue) {
      throw new UsageError(`${command}: option '${noValue[1]!.split(",")[0]}' takes no value`);
    }
    throw new UsageError(`${command}: ${msg.split("\n")[0]!.replace(/\.$/, "")}`);
  }
  if (parsed.positionals.length > 0) {
    throw new UsageError(`${command}: unexpected argument '${parsed.positionals[0]}'`);
  }
  const seen = new Set<string>();
  for (const t of parsed.tokens ?? []) {
    if (t.kind !== "option" || options[t.name]?.type !== "string" || options[t.name]?.multiple) {
      continue;
    }
    if (seen.has(t.name)) {
      throw new UsageError(`${command}: option '--${t.name}' given twice`);
    }
    seen.add(t.name);
  }
  return parsed.values as RawValues;
}

/**
 * ublksrv/kublk spellings and negative numbers: `--buffered_io` is `--buffered-io`, and a
 * value that starts with `-` after an option that takes one (`-q -1`) is that option's value
 * (`--queues=-1`), so the range check reports it instead of parseArgs calling it ambiguous.
 *
 * @param args The arguments.
 * @param options The option table.
 * @returns The arguments to parse.
 */
export function normalizeArgs(
  args: string[],
  options: NonNullable<ParseArgsConfig["options"]>,
): string[] {
  const byShort = new Map<string, string>();
  for (const [name, o] of Object.entries(options)) if (o.short) byShort.set(o.short, name);
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    let a = args[i]!;
    if (a === "--") {
      out.push(...args.slice(i));
      break;
    }
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = (eq < 0 ? a.slice(2) : a.slice(2, eq)).replaceAll("_", "-");
      a = `--${name}${eq < 0 ? "" : a.slice(eq)}`;
      const next = args[i + 1];
      if (eq < 0 && options[name]?.type === "string" && next !== undefined && /^-\d/.test(next)) {
        out.push(`${a}=${next}`);
        i++;
        continue;
      }
      out.push(a);
      continue;
    }
    const long = a.length === 2 && a[0] === "-" ? byShort.get(a[1]!) : undefined;
    const next = args[i + 1];
    if (long && options[long]?.type === "string" && next !== undefined && /^-\d/.test(next)) {
      out.push(`--${long}=${next}`);
      i++;
      continue;
    }
    out.push(a);
  }
  return out;
}

function intOption(v: RawValues, key: string, def: number, min: number, max: number): number {
  const raw = v[key];
  if (raw === undefined) return def;
  const s = String(raw);
  const n = /^\d+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(
      `option '--${key}' must be a whole number in [${min}, ${max}], got '${s}'`,
    );
  }
  return n;
}

function flag01(v: RawValues, key: string, command: string): boolean {
  const raw = v[key];
  if (raw === undefined) return false;
  const s = String(raw);
  if (s !== "0" && s !== "1") {
    throw new UsageError(`${command}: option '--${key}' takes 0 or 1, got '${s}'`);
  }
  return s === "1";
}

/**
 * The data mode options: at most one of `-u`, `-z`, `--auto-zc`, `--auto-zc-fallback`,
 * `--zc-mode MODE`.
 */
function dataModeOption(
  v: RawValues,
  command: string,
): { dataMode: DataModeChoice; autoFallback: boolean | "always"; zeroCopy: boolean } {
  const given: string[] = [];
  if (v["user-copy"] === true) given.push("-u");
  if (v["zero-copy"] === true) given.push("-z");
  if (v["auto-zc"] === true) given.push("--auto-zc");
  if (v["auto-zc-fallback"] === true) given.push("--auto-zc-fallback");
  const zc = str(v, "zc-mode");
  if (zc !== undefined) given.push("--zc-mode");
  if (given.length > 1) {
    throw new UsageError(`${command}: give one data mode, not ${given.join(" and ")}`);
  }
  if (zc !== undefined) {
    const m = ZC_MODES[zc];
    if (m === undefined) {
      throw new UsageError(
        `${command}: unknown --zc-mode '${zc}' (expected ${Object.keys(ZC_MODES).join(", ")})`,
      );
    }
    return { dataMode: m.mode, autoFallback: m.fallback, zeroCopy: true };
  }
  if (v["user-copy"] === true) {
    return { dataMode: "user-copy", autoFallback: false, zeroCopy: false };
  }
  if (v["zero-copy"] === true) return { dataMode: "best", autoFallback: false, zeroCopy: true };
  if (v["auto-zc"] === true) return { dataMode: "auto", autoFallback: false, zeroCopy: true };
  if (v["auto-zc-fallback"] === true) {
    return { dataMode: "auto", autoFallback: true, zeroCopy: true };
  }
  return { dataMode: "copy", autoFallback: false, zeroCopy: false };
}

/**
 * The name of a data mode choice for summaries: `copy`, `user copy`, `zero copy (auto-buf-reg)`.
 *
 * @param mode The mode.
 * @param fallback With auto, the fallback.
 * @returns The text.
 */
export function dataModeLabel(mode: DataModeChoice, fallback: boolean | "always" = false): string {
  switch (mode) {
    case "copy":
      return "copy";
    case "user-copy":
      return "user copy";
    case "best":
      return "zero copy";
    case "fused":
      return "zero copy (fused)";
    case "register":
      return "zero copy (register-buf)";
    case "auto":
      return `zero copy (auto-buf-reg${
        fallback === "always" ? ", forced fallback" : fallback ? ", fallback" : ""
      })`;
  }
}

function str(v: RawValues, key: string): string | undefined {
  const raw = v[key];
  return raw === undefined ? undefined : String(raw);
}

/**
 * Checks the device options: a known `-t`, queue and depth limits, the options each target
 * needs (`-f` for loop, `--host` or `--unix` for nbd), and no option of another target.
 *
 * @param v The values from {@linkcode parseStrict}.
 * @param command The command name, for messages.
 * @returns The checked options.
 * @throws {UsageError} on any problem.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkDeviceOptions } from "./device_options.ts";
 * assert.equal(checkDeviceOptions({ type: "loop", file: "/tmp/x" }, "run").depth, 128);
 * assert.throws(() => checkDeviceOptions({ type: "loop" }, "run"), /needs -f FILE/);
 * ```
 */
export function checkDeviceOptions(v: RawValues, command: string): DeviceOptions {
  const type = str(v, "type");
  const TYPES = "null, loop, nbd, stripe, mirror or fault_inject";
  if (type === undefined) throw new UsageError(`${command}: missing -t TYPE (${TYPES})`);
  const legType = legTargetType(type);
  if (type !== "null" && type !== "loop" && type !== "nbd" && legType === undefined) {
    throw new UsageError(`${command}: unknown target type '${type}' (expected ${TYPES})`);
  }
  const opts: DeviceOptions = {
    type: legType ?? type as TargetType,
    queues: intOption(v, "queues", 1, 1, 32),
    depth: intOption(v, "depth", 128, 1, 4096),
    ...dataModeOption(v, command),
    native: v.native === true,
    size: undefined,
    file: str(v, "file"),
    bufferedIo: v["buffered-io"] === true,
    host: str(v, "host"),
    port: intOption(v, "port", 10809, 1, 65535),
    unix: str(v, "unix"),
    exportName: str(v, "export-name") ?? "",
    sendZc: v["send-zc"] === true,
    timeout: undefined,
    reconnect: v.reconnect === undefined ? 0 : intOption(v, "reconnect", 0, 0, 1000),
    readOnly: v["read-only"] === true,
    force: v.force === true,
    devId: v.number === undefined ? -1 : intOption(v, "number", -1, 0, 1 << 20),
    needGetData: v["need-get-data"] === true,
    userRecovery: flag01(v, "recovery", command),
    recoveryFailIo: flag01(v, "recovery-fail-io", command),
    recoveryReissue: flag01(v, "recovery-reissue", command),
  };
  if (opts.needGetData && opts.dataMode !== "copy") {
    throw new UsageError(
      `${command}: -g (NEED_GET_DATA) is for copy mode (not with -u, -z, --auto-zc or --zc-mode)`,
    );
  }
  if ((opts.recoveryFailIo || opts.recoveryReissue) && !opts.userRecovery) {
    throw new UsageError(`${command}: -e and -i need -r 1 (user recovery)`);
  }
  if (opts.recoveryFailIo && opts.recoveryReissue) {
    throw new UsageError(`${command}: give either -e 1 or -i 1, not both`);
  }
  if (legType !== undefined) {
    opts.legs = checkLegOptions(v, legType, command);
    if (opts.readOnly) {
      throw new UsageError(`${command}: --read-only is for the loop and nbd targets`);
    }
  } else if (legOptionGiven(v) !== undefined) {
    throw new UsageError(
      `${command}: ${legOptionGiven(v)} is for the stripe, mirror and fault_inject targets`,
    );
  }
  const timeout = str(v, "timeout");
  if (timeout !== undefined) {
    if (type !== "nbd") throw new UsageError(`${command}: --timeout is for the nbd target`);
    const t = /^\d+(\.\d+)?$/.test(timeout) ? Number(timeout) : NaN;
    if (!(t >= 0 && t <= 86400)) {
      throw new UsageError(`${command}: --timeout must be seconds in [0, 86400], got '${timeout}'`);
    }
    opts.timeout = t;
  }
  if (v.reconnect !== undefined && type !== "nbd") {
    throw new UsageError(`${command}: --reconnect is for the nbd target`);
  }
  if (opts.readOnly && type === "null") {
    throw new UsageError(`${command}: --read-only is for the loop and nbd targets`);
  }
  const size = str(v, "size");
  if (size !== undefined) {
    if (type !== "null") {
      throw new UsageError(
        `${command}: --size is for the null target (loop takes its file's size)`,
      );
    }
    try {
      opts.size = parseSize(size, "--size");
    } catch (e) {
      throw new UsageError(`${command}: ${(e as Error).message}`);
    }
    if (opts.size === 0 || opts.size % 512 !== 0) {
      throw new UsageError(`${command}: --size must be a positive multiple of 512, got '${size}'`);
    }
  }
  const loopOnly = opts.file !== undefined ? "-f" : opts.bufferedIo ? "--buffered-io" : undefined;
  if (type !== "loop" && loopOnly) {
    throw new UsageError(`${command}: ${loopOnly} is for the loop target`);
  }
  const nbdOnly = opts.host !== undefined
    ? "--host"
    : v.port !== undefined
    ? "--port"
    : opts.unix !== undefined
    ? "--unix"
    : v["export-name"] !== undefined
    ? "--export-name"
    : opts.sendZc
    ? "--send-zc"
    : undefined;
  if (type !== "nbd" && nbdOnly) {
    throw new UsageError(`${command}: ${nbdOnly} is for the nbd target`);
  }
  if (type === "loop" && (opts.file === undefined || opts.file === "")) {
    throw new UsageError(`${command}: the loop target needs -f FILE`);
  }
  if (type === "nbd") {
    if (opts.host === undefined && opts.unix === undefined) {
      throw new UsageError(
        `${command}: the nbd target needs --host HOST [--port P] or --unix PATH`,
      );
    }
    if (opts.host !== undefined && opts.unix !== undefined) {
      throw new UsageError(`${command}: give either --host or --unix, not both`);
    }
    if (opts.sendZc && !opts.zeroCopy && command !== "bench") {
      throw new UsageError(`${command}: --send-zc needs zero copy (-z, --auto-zc or --zc-mode)`);
    }
    if (opts.sendZc && opts.unix !== undefined) {
      throw new UsageError(`${command}: --send-zc needs a TCP connection (--host), not --unix`);
    }
  }
  return opts;
}

/**
 * A short description of a device configuration: `loop /dev/shm/x.img, 1 queue x 128, zero copy`.
 *
 * @param o The options.
 * @returns The text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkDeviceOptions, describeDeviceOptions } from "./device_options.ts";
 * assert.equal(describeDeviceOptions(checkDeviceOptions({ type: "null" }, "run")), "null, 1 queue x 128 tags, copy");
 * ```
 */
export function describeDeviceOptions(o: DeviceOptions): string {
  const where = o.type === "loop"
    ? ` ${o.file}${o.bufferedIo ? " (buffered)" : ""}`
    : o.type === "nbd"
    ? ` ${o.unix !== undefined ? `unix:${o.unix}` : `${o.host}:${o.port}`}`
    : o.legs !== undefined
    ? ` ${o.legs.legs.join(" + ")}${o.type === "stripe" ? ` (chunk ${o.legs.chunk / 1024}k)` : ""}`
    : "";
  return `${o.type}${where}, ${o.queues} queue${o.queues === 1 ? "" : "s"} x ${o.depth} tags, ${
    o.sendZc
      ? dataModeLabel(o.dataMode, o.autoFallback).replace(/\)$/, ", send_zc)")
      : dataModeLabel(o.dataMode, o.autoFallback)
  }${o.readOnly ? ", read-only" : ""}${o.native ? ", native io_uring backend" : ""}`;
}
