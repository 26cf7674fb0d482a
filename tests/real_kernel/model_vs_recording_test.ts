import assert from "node:assert/strict";
import { ModelKernel } from "@ublk-ts/model";
import { installUblk } from "@ublk-ts/ublk-drv";
import { runCtrlScenario, type StepResult } from "./_ctrl_scenario.ts";
import { compareRuns } from "./_compare.ts";
import { knownDifferencesFor } from "./_known_differences.ts";

/**
 * What `tests/real_kernel/probe.ts` recorded on a real `ublk_drv` (its PROBE-JSON line, saved by
 * `scripts/real_kernel.sh` as `.cache/real_kernel/PROBE-recording-<kernel>.json`): one file per
 * kernel the CI boots, Debian's 6.12 and the newest Debian kernel.
 */
interface Recording {
  kernel: string;
  runs: Record<string, StepResult[]>;
}

const dir = new URL("./testdata/", import.meta.url);
const recordings: Recording[] = [];
for (const e of Deno.readDirSync(dir)) {
  if (/^ctrl_.*\.json$/.test(e.name)) {
    recordings.push(JSON.parse(Deno.readTextFileSync(new URL(e.name, dir))));
  }
}
recordings.sort((a, b) => a.kernel.localeCompare(b.kernel));

async function modelRun(legacyOpcodes: boolean): Promise<StepResult[]> {
  const kernel = new ModelKernel();
  // The recording's VM had 2 CPUs (GET_QUEUE_AFFINITY, nr_hw_queues clamping).
  installUblk(kernel, { nrCpuIds: 2 });
  return await runCtrlScenario(kernel, { legacyOpcodes });
}

Deno.test("recordings of 6.12 and of a kernel newer than 7.0 are checked in", () => {
  assert.ok(recordings.some((r) => /^6\.12\./.test(r.kernel)), "a 6.12 recording");
  assert.ok(recordings.some((r) => Number(r.kernel.split(".")[0]) >= 7), "a 7.x recording");
  const r612 = recordings.find((r) => /^6\.12\./.test(r.kernel))!;
  assert.equal(r612.runs["ioctl"]?.[0]?.fields["features"], "0x1fe");
});

for (const rec of recordings) {
  for (const flavour of ["ioctl", "legacy"] as const) {
    Deno.test(`runCtrlScenario() on the model matches the ${rec.kernel} recording (${flavour} opcodes)`, async () => {
      const real = rec.runs[flavour];
      assert.ok(real !== undefined, `recording has a ${flavour} run`);
      const model = await modelRun(flavour === "legacy");
      const known = knownDifferencesFor(rec.kernel);
      const diffs = compareRuns(real, model, known);
      const unexpected = diffs.filter((d) => d.known === undefined);
      assert.deepEqual(unexpected, [], "every model/real difference is explained");
      // Every feature the model is said to lack is still lacking: a model fix must remove its entry.
      const used = new Set(diffs.map((d) => d.known));
      for (const k of known) {
        if (k.kind !== "model" || !k.field.startsWith("features bit")) continue;
        assert.ok(used.has(k), `known difference still observed: ${k.field} (${k.why})`);
      }
    });
  }
}

Deno.test("runCtrlScenario() records the same steps with both opcode flavours", async () => {
  const a = await modelRun(false);
  const b = await modelRun(true);
  assert.deepEqual(a.map((s) => s.step), b.map((s) => s.step));
  assert.equal(a.find((s) => s.step === "ADD_DEV")?.res, 0);
  assert.equal(a.find((s) => s.step === "ADD_DEV again")?.res, -17);
  assert.equal(a.find((s) => s.step === "GET_DEV_INFO after DEL_DEV")?.res, -19);
  assert.equal(a.find((s) => s.step === "GET_PARAMS")?.fields["devSectors"], "0x4000");
});
