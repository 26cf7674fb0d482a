import assert from "node:assert/strict";
import { ModelKernel } from "@ublk-ts/model";
import { installUblk } from "@ublk-ts/ublk-drv";
import type { StepResult } from "./_ctrl_scenario.ts";
import { compareZcRuns, modelBlockIo, runZcScenario, ZC_CASES } from "./_zc_scenario.ts";
import { ZC_KNOWN, zcKnownDifferencesFor } from "./_zc_known_differences.ts";

/**
 * What `tests/real_kernel/probe.ts` recorded of the zero-copy io-command probes on a real
 * `ublk_drv` (its ZC-JSON line, saved by `scripts/real_kernel.sh` as
 * `.cache/real_kernel/ZC-recording-<kernel>.json`, checked in as `testdata/zc_<kernel>.json`).
 */
interface Recording {
  kernel: string;
  runs: Record<string, StepResult[]>;
}

const dir = new URL("./testdata/", import.meta.url);
const recordings: Recording[] = [];
for (const e of Deno.readDirSync(dir)) {
  if (/^zc_.*\.json$/.test(e.name)) {
    recordings.push(JSON.parse(Deno.readTextFileSync(new URL(e.name, dir))));
  }
}
recordings.sort((a, b) => a.kernel.localeCompare(b.kernel));

async function modelRun(): Promise<Record<string, StepResult[]>> {
  const kernel = new ModelKernel();
  installUblk(kernel, { nrCpuIds: 2 });
  const tmp = Deno.makeTempDirSync({ prefix: "zc-model-" });
  try {
    return await runZcScenario(kernel, { dir: tmp, blockIo: modelBlockIo });
  } finally {
    Deno.removeSync(tmp, { recursive: true });
  }
}

const ran = (r: Record<string, StepResult[]>) =>
  Object.keys(r).filter((k) => r[k]![0]?.step !== "refused");

Deno.test("zero-copy recordings of 6.12 and of a kernel newer than 7.0 are checked in", () => {
  const r612 = recordings.find((r) => /^6\.12\./.test(r.kernel));
  const r7 = recordings.find((r) => Number(r.kernel.split(".")[0]) >= 7);
  assert.ok(r612 !== undefined, "a 6.12 recording");
  assert.ok(r7 !== undefined, "a 7.x recording");
  // 6.12 has copy and user copy only; the newest kernel every upstream mode.
  assert.deepEqual(ran(r612.runs), ["copy", "user-copy"]);
  assert.deepEqual(ran(r7.runs), ZC_CASES.map((c) => c.name));
  for (const r of [r612, r7]) {
    for (const name of ran(r.runs)) {
      const steps = r.runs[name]!;
      assert.equal(steps.find((s) => s.step === "block WRITE")?.res, 8192, `${r.kernel} ${name}`);
      assert.equal(steps.find((s) => s.step === "block READ")?.fields["matches"], 1);
    }
  }
});

Deno.test("the model runs every zero-copy case and its own block I/O is right", async () => {
  const m = await modelRun();
  assert.deepEqual(ran(m), ZC_CASES.map((c) => c.name));
  for (const name of ran(m)) {
    const steps = m[name]!;
    assert.equal(steps.find((s) => s.step === "block WRITE")?.fields["backingMatches"], 1, name);
    assert.equal(steps.find((s) => s.step === "block READ")?.fields["matches"], 1, name);
  }
  assert.equal(
    m["auto-forced-fallback"]!.find((s) => s.step === "W: the request")?.fields["needRegBuf"],
    1,
  );
  assert.equal(m["auto"]!.find((s) => s.step === "W: the request")?.fields["needRegBuf"], 0);
});

for (const rec of recordings) {
  Deno.test(`runZcScenario() on the model matches the ${rec.kernel} recording`, async () => {
    const model = await modelRun();
    const known = zcKnownDifferencesFor(rec.kernel);
    const diffs = compareZcRuns(rec.runs, model, known);
    const unexpected = diffs.filter((d) => d.known === undefined);
    assert.deepEqual(unexpected, [], "every model/real difference is explained");
    // An explained difference that no longer happens must be removed from the table.
    const used = new Set(diffs.map((d) => d.known));
    for (const k of known) {
      assert.ok(
        used.has(k),
        `known difference still observed on ${rec.kernel}: ${k.step} ${k.field}`,
      );
    }
  });
}

Deno.test("every known zero-copy difference names a kernel range that a recording covers", () => {
  for (const k of ZC_KNOWN) {
    assert.ok(
      recordings.some((r) => zcKnownDifferencesFor(r.kernel).includes(k)),
      `${k.step} ${k.field} applies to no recorded kernel`,
    );
  }
});
