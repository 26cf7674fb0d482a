import assert from "node:assert/strict";
import { formatProgress, ProgressLine } from "./progress.ts";

function sink(
  tty: boolean,
): { writes: string[]; writeSync(b: Uint8Array): number; isTerminal(): boolean } {
  const writes: string[] = [];
  return {
    writes,
    writeSync(b: Uint8Array): number {
      writes.push(new TextDecoder().decode(b));
      return b.length;
    },
    isTerminal: () => tty,
  };
}

Deno.test("`ProgressLine` rewrites one line in place on a terminal", () => {
  const s = sink(true);
  const p = new ProgressLine(s);
  assert.equal(p.inPlace, true);
  p.update("a");
  p.update("b");
  p.done();
  assert.deepEqual(s.writes, ["\r\x1b[Ka", "\r\x1b[Kb", "\r\x1b[K"]);
});

Deno.test("`ProgressLine` prints plain lines at most once per interval otherwise", () => {
  const s = sink(false);
  const p = new ProgressLine(s, { plainIntervalMs: 60_000 });
  assert.equal(p.inPlace, false);
  p.update("first");
  p.update("second");
  p.done();
  assert.deepEqual(s.writes, ["first\n"]);
});

Deno.test("`ProgressLine.done()` writes nothing when nothing was shown", () => {
  const s = sink(true);
  new ProgressLine(s).done();
  assert.deepEqual(s.writes, []);
});

Deno.test("`formatProgress()` shows percent, time, IOPS, bandwidth and count", () => {
  assert.equal(
    formatProgress(
      { ops: 5000, bytes: 0, elapsed: 2.25, fraction: 0.999, recentIops: 250_000 },
      65536,
    ),
    "[ 99%] 2.3 s  250.0k IOPS  16384.0 MB/s  5000 ios",
  );
});
