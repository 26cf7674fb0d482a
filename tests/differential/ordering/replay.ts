/**
 * Replays the checked-in ordering corpora (corpus_ext4.json, corpus_tmpfs.json) through the
 * model and prints, per file system, programs, runs, stable, matched, and the stable programs
 * the model gets wrong grouped by pattern (see `classify` in _replay.ts).
 *
 * ```sh
 * deno run -A tests/differential/ordering/replay.ts [--examples N]
 * ```
 *
 * Exits 1 when a stable program mismatches (replay_test.ts asserts the same).
 *
 * @module
 */

import { formatCounts, formatMismatches, replayAll } from "./_replay.ts";

const i = Deno.args.indexOf("--examples");
const examples = i >= 0 ? Number(Deno.args[i + 1]) : 3;
const t0 = performance.now();
const all = replayAll();
for (const c of all) {
  console.log(formatCounts(c));
  for (const l of formatMismatches(c, examples)) console.log(l);
}
console.log(`(${((performance.now() - t0) / 1000).toFixed(2)} s)`);
if (all.some((c) => c.mismatches.length > 0)) Deno.exit(1);
