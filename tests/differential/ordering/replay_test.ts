// Issue #14: the recorded io-wq ordering corpora (real 6.18 kernel, ext4 and tmpfs, see
// gen_corpus.ts) replayed through the model. Every program the kernel gave one outcome in all
// recorded runs ("stable") must replay to exactly that outcome: CQE order and results, what
// each read saw, and the file's final contents. Racy programs are not asserted (the model picks
// one legal outcome, io_wq.ts); their count of model outcomes the kernel also gave is printed.
// Runs in well under a second and needs no io_uring.
import assert from "node:assert/strict";
import { formatCounts, formatMismatches, replayAll } from "./_replay.ts";
import { loadCorpus } from "./_ordering.ts";

Deno.test("ordering corpus: the model replays every stable program to the kernel's outcome", () => {
  const all = replayAll();
  for (const c of all) {
    console.log(formatCounts(c));
    const corpus = loadCorpus(c.fs);
    assert.equal(c.programs, corpus.programs.length);
    assert.equal(c.runs, corpus.programs.length * corpus.passes, `${c.fs}: runs per program`);
    assert.ok(c.programs >= 1000, `${c.fs}: the issue asks for at least 1,000 programs`);
    assert.ok(corpus.passes >= 24, `${c.fs}: the issue asks for at least 24 runs per program`);
    assert.ok(c.stable > c.programs / 4, `${c.fs}: only ${c.stable} stable programs`);
  }
  const bad = all.flatMap((c) => c.mismatches.length ? [c.fs, ...formatMismatches(c, 5)] : []);
  assert.deepEqual(
    all.map((c) => [c.fs, c.stable - c.matched]),
    [["ext4", 0], ["tmpfs", 0]],
    `stable programs the model gets wrong:\n${bad.join("\n")}`,
  );
});
