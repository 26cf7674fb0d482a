import assert from "node:assert/strict";
import { compareRuns, featureBits, type KnownDifference } from "./_compare.ts";
import type { StepResult } from "./_ctrl_scenario.ts";
import { pattern } from "./_pattern.ts";
import { compareVersions, knownDifferencesFor, parseVersion } from "./_known_differences.ts";

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

Deno.test("compareRuns() splits flags per bit and matches a known bit by the side that has it", () => {
  const k: KnownDifference = {
    step: "*",
    field: "flags bit 13",
    kind: "model",
    onlyIn: "real",
    why: "test",
  };
  const d = compareRuns(run(0, { flags: "0x2042" }), run(0, { flags: "0x42" }), [k]);
  assert.equal(d.length, 1);
  assert.equal(d[0]!.known, k);
  // The other direction is not explained by an entry for the real side.
  const e = compareRuns(run(0, { flags: "0x42" }), run(0, { flags: "0x2042" }), [k]);
  assert.equal(e[0]!.known, undefined);
});

Deno.test("knownDifferencesFor() follows the kernel version", () => {
  const has = (rel: string, field: string, onlyIn?: string): boolean =>
    knownDifferencesFor(rel).some((k) => k.field === field && k.onlyIn === onlyIn);
  // 6.12 predates bit 0's register zero copy (6.15) and bit 11 (6.16): the model may have them.
  assert.ok(has("6.12.57+deb12-cloud-amd64", "features bit 0", "model"));
  assert.ok(has("6.12.57+deb12-cloud-amd64", "features bit 7", "real") === false);
  assert.ok(!has("7.3.4+deb13-cloud-amd64", "features bit 0", "model"));
  // Bits the model lacks are explained only where the kernel has them.
  assert.ok(!has("6.12.57", "features bit 12", "real"));
  assert.ok(has("6.16.3", "features bit 12", "real"));
  // Driver-added device flags: PER_IO_DAEMON from 6.16, SAFE_STOP_DEV from 7.0.
  assert.ok(has("6.16.3", "flags bit 13", "real"));
  assert.ok(!has("6.16.3", "flags bit 17", "real")); // SAFE_STOP_DEV came in 7.0
  assert.ok(has("7.3.4", "flags bit 17", "real"));
  // The QUIESCED/LIVE recovery difference starts with 6.16.
  assert.ok(!knownDifferencesFor("6.12.1").some((k) => k.field === "stateAfterRingsDie"));
  assert.ok(knownDifferencesFor("7.3.4").some((k) => k.field === "stateAfterRingsDie"));
  assert.ok(compareVersions("6.9", "6.16") < 0 && compareVersions("7.3.4+x", "7.3") > 0);
  assert.throws(() => parseVersion("cloud"), RangeError);
});
