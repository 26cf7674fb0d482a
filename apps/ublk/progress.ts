/**
 * The progress line of `ublk run`: on a terminal one line rewritten in place (`\r` + erase);
 * otherwise plain lines at most once per `plainIntervalMs`, so logs stay readable.
 *
 * @module
 */

import type { WorkloadProgress } from "./workload.ts";
import { formatCount } from "./units.ts";

/** Where progress goes: a writer of bytes and whether it is a terminal. */
export interface ProgressSink {
  /** Writes bytes synchronously. */
  writeSync(p: Uint8Array): number;
  /** Whether the sink is a terminal. */
  isTerminal(): boolean;
}

/**
 * A progress line.
 *
 * @example Plain mode
 * ```ts
 * import assert from "node:assert/strict";
 * import { ProgressLine } from "./progress.ts";
 * const out: string[] = [];
 * const sink = {
 *   writeSync: (b: Uint8Array) => (out.push(new TextDecoder().decode(b)), b.length),
 *   isTerminal: () => false,
 * };
 * const p = new ProgressLine(sink, { plainIntervalMs: 0 });
 * p.update("half way");
 * p.done();
 * assert.deepEqual(out, ["half way\n"]);
 * ```
 */
export class ProgressLine {
  readonly #sink: ProgressSink;
  readonly #tty: boolean;
  readonly #plainIntervalMs: number;
  readonly #enc = new TextEncoder();
  #lastPlain = -Infinity;
  #dirty = false;

  /**
   * @param sink Usually `Deno.stderr`.
   * @param options `plainIntervalMs`: the least time between plain lines (default 1000).
   */
  constructor(sink: ProgressSink, options: { plainIntervalMs?: number } = {}) {
    this.#sink = sink;
    this.#tty = sink.isTerminal();
    this.#plainIntervalMs = options.plainIntervalMs ?? 1000;
  }

  /** Whether the line is rewritten in place. */
  get inPlace(): boolean {
    return this.#tty;
  }

  /**
   * Shows `text` as the current progress.
   *
   * @param text One line, no newline.
   */
  update(text: string): void {
    if (this.#tty) {
      this.#sink.writeSync(this.#enc.encode(`\r\x1b[K${text}`));
      this.#dirty = true;
      return;
    }
    const now = performance.now();
    if (now - this.#lastPlain < this.#plainIntervalMs) return;
    this.#lastPlain = now;
    this.#sink.writeSync(this.#enc.encode(`${text}\n`));
  }

  /** Ends the line (on a terminal: erases it) so the next output starts clean. */
  done(): void {
    if (this.#tty && this.#dirty) this.#sink.writeSync(this.#enc.encode("\r\x1b[K"));
    this.#dirty = false;
  }
}

/**
 * The text of one progress update: `[ 42%] 1.2 s  150.3k IOPS  615.6 MB/s`.
 *
 * @param p The progress.
 * @param bs Block size in bytes (for the bandwidth of the recent interval).
 * @returns The line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatProgress } from "./progress.ts";
 * const line = formatProgress({ ops: 10, bytes: 40960, elapsed: 1, fraction: 0.5, recentIops: 1000 }, 4096);
 * assert.equal(line, "[ 50%] 1.0 s  1.0k IOPS  4.1 MB/s  10 ios");
 * ```
 */
export function formatProgress(p: WorkloadProgress, bs: number): string {
  const pct = String(Math.floor(p.fraction * 100)).padStart(3);
  return `[${pct}%] ${p.elapsed.toFixed(1)} s  ${formatCount(p.recentIops)} IOPS  ${
    (p.recentIops * bs / 1e6).toFixed(1)
  } MB/s  ${p.ops} ios`;
}
