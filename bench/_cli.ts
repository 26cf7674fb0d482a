/**
 * Command lines of the bench scripts: `--help` prints the usage and exits 0; an unknown option,
 * a missing value or a bad number prints one line (`name: message`, then `try --help`) and exits 2
 * instead of a stack trace.
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";

/** A bench script's name and usage text. */
export interface BenchUsage {
  /** The script's name in error lines, e.g. `bench/stripe.ts`. */
  name: string;
  /** What `--help` prints. */
  usage: string;
}

/** Prints `name: message` and `try --help` on stderr and exits 2. */
export function usageExit(u: BenchUsage, message: string): never {
  console.error(`${u.name}: ${message}`);
  console.error(`${u.name}: try --help`);
  Deno.exit(2);
}

/**
 * Parses `args` strictly with `options` plus `--help`/`-h`.
 *
 * @param u The script's name and usage.
 * @param args The arguments (`Deno.args`).
 * @param options The parseArgs option table (without `help`).
 * @returns The parsed values (`help` never set: `--help` exits).
 */
export function benchArgs<T extends NonNullable<ParseArgsConfig["options"]>>(
  u: BenchUsage,
  args: string[],
  options: T,
): ReturnType<typeof parseArgs<{ options: T; strict: true }>>["values"] {
  let values: Record<string, unknown>;
  try {
    values = parseArgs({
      args,
      options: { ...options, help: { type: "boolean", short: "h" } },
      strict: true,
    }).values as Record<string, unknown>;
  } catch (e) {
    usageExit(u, e instanceof Error ? e.message.split("\n")[0]! : String(e));
  }
  if (values.help === true) {
    console.log(u.usage.trim());
    Deno.exit(0);
  }
  delete values.help;
  return values as ReturnType<typeof parseArgs<{ options: T; strict: true }>>["values"];
}

/**
 * Reads a whole number at least `min` from an option's text.
 *
 * @param u The script's name and usage (for the error line).
 * @param opt The option's name, e.g. `--qd`.
 * @param text The option's text, or undefined for the default.
 * @param dflt The default.
 * @param min The smallest value allowed.
 * @returns The number.
 */
export function wholeArg(
  u: BenchUsage,
  opt: string,
  text: string | undefined,
  dflt: number,
  min = 1,
): number {
  if (text === undefined) return dflt;
  const v = /^\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isSafeInteger(v) || v < min) {
    usageExit(u, `${opt} "${text}": expected a whole number ≥ ${min}`);
  }
  return v;
}

/**
 * Runs a units parser (`parseSize`, `parseDuration`) and turns its RangeError into the one-line
 * usage error.
 *
 * @param u The script's name and usage.
 * @param f The parse to run.
 * @returns What `f` returns.
 */
export function unitArg<R>(u: BenchUsage, f: () => R): R {
  try {
    return f();
  } catch (e) {
    usageExit(u, e instanceof Error ? e.message : String(e));
  }
}

/**
 * Reads a positive number (decimals allowed, e.g. `0.3` seconds) from an option's text.
 *
 * @param u The script's name and usage (for the error line).
 * @param opt The option's name.
 * @param text The option's text, or undefined for the default.
 * @param dflt The default.
 * @returns The number.
 */
export function positiveArg(
  u: BenchUsage,
  opt: string,
  text: string | undefined,
  dflt: number,
): number {
  if (text === undefined) return dflt;
  const v = /^\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : NaN;
  if (!(v > 0)) usageExit(u, `${opt} "${text}": expected a positive number`);
  return v;
}
