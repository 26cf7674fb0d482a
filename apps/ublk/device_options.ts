/**
 * Parsing and checking of the device options shared by `ublk run`, `ublk bench` and `ublk add`
 * (`-t`, `-q`, `-d`, `-z`, `--native`, loop and nbd options). Every problem is a
 * {@linkcode UsageError}: one line, exit status 2.
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";
import { parseSize } from "./units.ts";

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

/** The targets the CLI can run. */
export type TargetType = "null" | "loop" | "nbd";

/** Checked device options. */
export interface DeviceOptions {
  /** Target. */
  type: TargetType;
  /** Hardware queues. */
  queues: number;
  /** Tags per queue. */
  depth: number;
  /** Fused-command zero copy. */
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
}

/** parseArgs option table of the device options. */
export const DEVICE_ARG_OPTIONS: NonNullable<ParseArgsConfig["options"]> = {
  type: { type: "string", short: "t" },
  queues: { type: "string", short: "q" },
  depth: { type: "string", short: "d" },
  "zero-copy": { type: "boolean", short: "z" },
  native: { type: "boolean" },
  size: { type: "string" },
  file: { type: "string", short: "f" },
  "buffered-io": { type: "boolean" },
  host: { type: "string" },
  port: { type: "string" },
  unix: { type: "string" },
  "export-name": { type: "string" },
  "send-zc": { type: "boolean" },
  help: { type: "boolean", short: "h" },
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
  let parsed;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: true });
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
  return parsed.values as RawValues;
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
  if (type === undefined) throw new UsageError(`${command}: missing -t TYPE (null, loop or nbd)`);
  if (type !== "null" && type !== "loop" && type !== "nbd") {
    throw new UsageError(`${command}: unknown target type '${type}' (expected null, loop or nbd)`);
  }
  const opts: DeviceOptions = {
    type,
    queues: intOption(v, "queues", 1, 1, 32),
    depth: intOption(v, "depth", 128, 1, 4096),
    zeroCopy: v["zero-copy"] === true,
    native: v.native === true,
    size: undefined,
    file: str(v, "file"),
    bufferedIo: v["buffered-io"] === true,
    host: str(v, "host"),
    port: intOption(v, "port", 10809, 1, 65535),
    unix: str(v, "unix"),
    exportName: str(v, "export-name") ?? "",
    sendZc: v["send-zc"] === true,
  };
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
      throw new UsageError(`${command}: --send-zc needs -z`);
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
    : "";
  return `${o.type}${where}, ${o.queues} queue${o.queues === 1 ? "" : "s"} x ${o.depth} tags, ${
    o.zeroCopy ? `zero copy${o.sendZc ? " (send_zc)" : ""}` : "copy"
  }${o.native ? ", native io_uring backend" : ""}`;
}
