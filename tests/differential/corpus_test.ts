// The hand-written corpus on the real kernel and on the model: same CQEs, same contents.
import assert from "node:assert/strict";
import { CORPUS } from "./_corpus.ts";
import { compareOutcomes, formatDifferences } from "./_compare.ts";
import { divergenceFor, DIVERGENCES, FIXED_DIVERGENCES } from "./_divergences.ts";
import { modelHarness, modelNativeHarness, nativeHarness } from "./_harness.ts";
import { SKIP_REASON } from "./_native_available.ts";
import { runProgram, tmpDir } from "./_runner.ts";

const ignore = SKIP_REASON !== undefined;

Deno.test({ name: "differential corpus: model matches the real kernel", ignore }, async (t) => {
  const native = nativeHarness();
  const model = modelHarness();
  const dir = tmpDir();
  const unexpected: string[] = [];
  try {
    for (const program of CORPUS) {
      await t.step(program.name, async () => {
        const a = await runProgram(native, program, dir);
        const b = await runProgram(model, program, dir);
        const diffs = compareOutcomes(program, a, b);
        const known = divergenceFor(program.name);
        if (known) {
          const other = diffs.filter((d) => !known.kinds.includes(d.kind));
          if (diffs.length === 0) console.log(`divergence ${known.id} no longer observed`);
          if (other.length) unexpected.push(`${program.name}\n${formatDifferences(other)}`);
          assert.deepEqual(
            other,
            [],
            `beyond divergence ${known.id}:\n${formatDifferences(other)}`,
          );
          return;
        }
        if (diffs.length) unexpected.push(`${program.name}\n${formatDifferences(diffs)}`);
        assert.deepEqual(diffs, [], `${program.name}:\n${formatDifferences(diffs)}`);
      });
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
  if (unexpected.length) console.error(unexpected.join("\n"));
});

Deno.test(
  { name: "differential corpus: the real kernel is deterministic on it", ignore },
  async () => {
    const native = nativeHarness();
    const dir = tmpDir();
    try {
      for (const program of CORPUS) {
        const a = await runProgram(native, program, dir);
        const b = await runProgram(native, program, dir);
        const diffs = compareOutcomes(program, a, b);
        assert.deepEqual(
          diffs,
          [],
          `${program.name} is not deterministic:\n${formatDifferences(diffs)}`,
        );
      }
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

Deno.test("every divergence names a corpus program", () => {
  const names = new Set(CORPUS.map((p) => p.name));
  for (const d of [...DIVERGENCES, ...FIXED_DIVERGENCES]) {
    for (const p of d.programs) assert.ok(names.has(p), `${d.id}: ${p}`);
  }
  assert.equal(names.size, CORPUS.length, "corpus names are unique");
});

Deno.test({
  name: "differential corpus: the model on the native I/O backend matches the real kernel",
  ignore,
}, async () => {
  const native = nativeHarness();
  const model = modelNativeHarness();
  const dir = tmpDir();
  const bad: string[] = [];
  try {
    for (const program of CORPUS) {
      const a = await runProgram(native, program, dir);
      const b = await runProgram(model, program, dir);
      const known = divergenceFor(program.name);
      const diffs = compareOutcomes(program, a, b).filter((d) => !known?.kinds.includes(d.kind));
      if (diffs.length) bad.push(`${program.name}\n${formatDifferences(diffs)}`);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
  assert.deepEqual(bad, [], bad.join("\n"));
});
