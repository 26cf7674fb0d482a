import assert from "node:assert/strict";
import { compareRuns, featureBits, type KnownDifference } from "./_compare.ts";
import type { StepResult } from "./_ctrl_scenario.ts";
import { pattern } from "./_pattern.ts";

const run = (res: number, fields: Record<string, number | string> = {}): StepResult[] => [
  { step: "A", res: 0, fields: { x: 1 } },
  { step: "B", res, fields },
];

Deno.test("compareRuns() finds nothing in equal runs", () => {
  assert.deepEqual(compareRuns(run(-22), run(-22), []), []);
});

Deno.test("compareRuns() reports a result and a field difference", () => {
  const d = compareRuns(run(-22, { f: "0x1" }), run(-19, { f: "0x2" }), []);
  assert.deepEqual(d, [
    { step: "B", field: "res", real: -22, model: -19 },
    { step: "B", field: "f", real: "0x1", model: "0x2" },
  ]);
});

Deno.test("compareRuns() attaches the known difference that explains it", () => {
  const k: KnownDifference = { step: "B", field: "res", kind: "model", why: "test" };
  const d = compareRuns(run(-22), run(-19), [k]);
  assert.equal(d.length, 1);
  assert.equal(d[0]!.known, k);
});

Deno.test("compareRuns() splits features into one difference per bit", () => {
  const d = compareRuns(run(0, { features: "0x6" }), run(0, { features: "0x3" }), []);
  assert.deepEqual(d.map((x) => [x.field, x.real, x.model]), [
    ["features bit 2", 1, 0],
    ["features bit 0", 0, 1],
  ]);
});

Deno.test("compareRuns() throws RangeError when the steps differ", () => {
  assert.throws(() => compareRuns(run(0), run(0).slice(0, 1), []), RangeError);
  const other = run(0);
  other[1] = { step: "C", res: 0, fields: {} };
  assert.throws(() => compareRuns(run(0), other, []), RangeError);
});

Deno.test("featureBits() names the bits only one side has", () => {
  assert.deepEqual(featureBits(0x1fen, 0x27fn), { onlyReal: [7, 8], onlyModel: [0, 9] });
  assert.deepEqual(featureBits(1n << 40n, 0n), { onlyReal: [40], onlyModel: [] });
});

Deno.test("pattern() is deterministic and differs per seed and per block", () => {
  assert.deepEqual(pattern(8192, 1), pattern(8192, 1));
  assert.notDeepEqual(pattern(4096, 1), pattern(4096, 2));
  const p = pattern(8192, 1);
  assert.notDeepEqual(p.subarray(0, 4096), p.subarray(4096));
});
