// ≥ 2,000 generated programs per run on the real kernel and on the model. The seed comes
// from DIFF_SEED (else it is random) and is printed on failure; DIFF_COUNT sets the count.
import assert from "node:assert/strict";
import { compareOutcomes, formatDifferences } from "./_compare.ts";
import { generateProgram } from "./_generator.ts";
import { modelHarness, modelNativeHarness, nativeHarness } from "./_harness.ts";
import { SKIP_REASON } from "./_native_available.ts";
import { runProgram, tmpDir } from "./_runner.ts";

const ignore = SKIP_REASON !== undefined;

function envNumber(name: string): number | undefined {
  try {
    const v = Deno.env.get(name);
    return v === undefined || v === "" ? undefined : Number(v);
  } catch {
    return undefined;
  }
}

const SEED = envNumber("DIFF_SEED") ?? Math.floor(Math.random() * 2 ** 31);
const COUNT = envNumber("DIFF_COUNT") ?? 2000;

Deno.test(
  { name: `differential generated programs (seed ${SEED}, ${COUNT} programs)`, ignore },
  async () => {
    const native = nativeHarness();
    const model = modelHarness();
    const dir = tmpDir();
    const failures: string[] = [];
    try {
      for (let i = 0; i < COUNT && failures.length < 5; i++) {
        const program = generateProgram(SEED, i);
        const a = await runProgram(native, program, dir);
        const b = await runProgram(model, program, dir);
        let diffs = compareOutcomes(program, a, b);
        if (diffs.length) {
          // A request that may post no CQE (CQE_SKIP_SUCCESS) can still be in flight when the
          // quiet period ends on a loaded machine: confirm with a long quiet period first.
          const a2 = await runProgram(native, program, dir, { quietMs: 100 });
          const b2 = await runProgram(modelHarness(), program, dir);
          diffs = compareOutcomes(program, a2, b2);
        }
        if (diffs.length) {
          failures.push(
            `${program.name} (rerun: DIFF_SEED=${SEED})\n${formatDifferences(diffs)}\n` +
              `  program: ${
                JSON.stringify(program, (_, v) => (typeof v === "bigint" ? `${v}n` : v))
              }`,
          );
        }
      }
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
    assert.deepEqual(failures, [], `seed ${SEED}:\n${failures.join("\n")}`);
  },
);

Deno.test({
  name: `differential generated programs, model on the native backend (seed ${SEED})`,
  ignore,
}, async () => {
  const native = nativeHarness();
  const model = modelNativeHarness();
  const dir = tmpDir();
  const failures: string[] = [];
  try {
    for (let i = 0; i < Math.ceil(COUNT / 4) && failures.length < 5; i++) {
      const program = generateProgram(SEED + 1, i);
      let diffs = compareOutcomes(
        program,
        await runProgram(native, program, dir),
        await runProgram(model, program, dir),
      );
      if (diffs.length) {
        diffs = compareOutcomes(
          program,
          await runProgram(native, program, dir, { quietMs: 100 }),
          await runProgram(model, program, dir, { quietMs: 100 }),
        );
      }
      if (diffs.length) failures.push(`${program.name}\n${formatDifferences(diffs)}`);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
  assert.deepEqual(failures, [], `seed ${SEED + 1}:\n${failures.join("\n")}`);
});
