/**
 * Helpers of the CLI tests: run `apps/ublk/main.ts` as a child process and collect its exit
 * status, stdout and stderr.
 *
 * @module
 */

/** The CLI entry point. */
export const MAIN: string = new URL("../../apps/ublk/main.ts", import.meta.url).pathname;

/** What a CLI run produced. */
export interface CliRun {
  /** Exit status. */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

let defaultRunDir: string | undefined;

/**
 * The run directory the tests' `ublk` runs use unless told otherwise (a temp dir: never
 * `/run/ublk-ts` of this machine).
 *
 * @returns Its path.
 */
export function testRunDir(): string {
  defaultRunDir ??= Deno.makeTempDirSync({ prefix: "ublk_run_" });
  return defaultRunDir;
}

/**
 * Runs `ublk <args>` to completion (UBLK_RUN_DIR = {@linkcode testRunDir}).
 *
 * @param args The arguments.
 * @returns Status and output.
 */
export function ublk(...args: string[]): Promise<CliRun> {
  return ublkIn(testRunDir(), ...args);
}

/**
 * Runs `ublk <args>` with a given run directory.
 *
 * @param runDir UBLK_RUN_DIR.
 * @param args The arguments.
 * @returns Status and output.
 */
export async function ublkIn(runDir: string, ...args: string[]): Promise<CliRun> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    env: { UBLK_RUN_DIR: runDir },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/**
 * Spawns `ublk <args>` with piped output (for signal tests).
 *
 * @param runDir UBLK_RUN_DIR.
 * @param args The arguments.
 * @returns The child.
 */
export function spawnUblk(runDir: string, ...args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    env: { UBLK_RUN_DIR: runDir },
  }).spawn();
}

/**
 * Reads a child's stream until `text` appears (or the stream ends).
 *
 * @param reader The stream's reader.
 * @param text What to wait for.
 * @param sofar Text read so far.
 * @returns Everything read.
 */
export async function readUntil(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  text: string,
  sofar = "",
): Promise<string> {
  const dec = new TextDecoder();
  while (!sofar.includes(text)) {
    const { value, done } = await reader.read();
    if (done) break;
    sofar += dec.decode(value);
  }
  return sofar;
}

/**
 * Reads the rest of a stream.
 *
 * @param reader The stream's reader.
 * @param sofar Text read so far.
 * @returns Everything read.
 */
export async function readRest(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  sofar = "",
): Promise<string> {
  const dec = new TextDecoder();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return sofar;
    sofar += dec.decode(value);
  }
}

/**
 * The non-empty lines of a text.
 *
 * @param text The text.
 * @returns Its lines.
 */
export function lines(text: string): string[] {
  return text.split("\n").filter((l) => l.trim() !== "");
}

/**
 * Whether a program is on PATH and runs.
 *
 * @param cmd The program.
 * @returns True when `cmd --version` succeeds.
 */
export function have(cmd: string): boolean {
  try {
    return new Deno.Command(cmd, { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}
