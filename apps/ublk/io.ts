/**
 * Output helpers and exit statuses of the `ublk` CLI.
 *
 * @module
 */

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

/** The process's stdout and stderr. */
export const defaultIo: CliIo = { stdout: Deno.stdout, stderr: Deno.stderr };

/** Writes a line to stdout. */
export function out(io: CliIo, text: string): void {
  io.stdout.writeSync(enc.encode(text.endsWith("\n") ? text : `${text}\n`));
}

/** Writes a line to stderr. */
export function err(io: CliIo, text: string): void {
  io.stderr.writeSync(enc.encode(`${text}\n`));
}

/** Turns any thrown value into one line without a final period. */
export function oneLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split("\n")[0]!.replace(/\.$/, "");
}
