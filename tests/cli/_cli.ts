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

/**
 * Runs `ublk <args>` to completion.
 *
 * @param args The arguments.
 * @returns Status and output.
 */
export async function ublk(...args: string[]): Promise<CliRun> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
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
