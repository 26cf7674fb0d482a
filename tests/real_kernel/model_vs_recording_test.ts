import assert from "node:assert/strict";
import { ModelKernel } from "@ublk-ts/model";
import { installUblk } from "@ublk-ts/ublk-drv";
import { runCtrlScenario, type StepResult } from "./_ctrl_scenario.ts";
import { compareRuns } from "./_compare.ts";
import { KNOWN_DIFFERENCES } from "./_known_differences.ts";

/** What `tests/real_kernel/probe.ts` recorded on the real 6.12 `ublk_drv` (PROBE-JSON line). */
interface Recording {
  kernel: string;
  runs: Record<string, StepResult[]>;
}

const recording: Recording = JSON.parse(
  await Deno.readTextFile(new URL("./testdata/ctrl_6.12.json", import.meta.url)),
);

async function modelRun(legacyOpcodes: boolean): Promise<StepResult[]> {
  const kernel = new ModelKernel();
  // The recording's VM had 2 CPUs (GET_QUEUE_AFFINITY, nr_hw_queues clamping).
  installUblk(kernel, { nrCpuIds: 2 });
  return await runCtrlScenario(kernel, { legacyOpcodes });
}

for (const flavour of ["ioctl", "legacy"] as const) {
  Deno.test(`runCtrlScenario() on the model matches the 6.12 recording (${flavour} opcodes)`, async () => {
    const real = recording.runs[flavour];
    assert.ok(real !== undefined, `recording has a ${flavour} run`);
    const model = await modelRun(flavour === "legacy");
    const diffs = compareRuns(real, model, KNOWN_DIFFERENCES);
    const unexpected = diffs.filter((d) => d.known === undefined);
    assert.deepEqual(unexpected, [], "every model/real difference is explained");
    // Every explained difference still happens: a model fix must remove its entry.
    const used = new Set(diffs.map((d) => d.known));
    for (const k of KNOWN_DIFFERENCES) {
      assert.ok(used.has(k), `known difference still observed: ${k.step} ${k.field}`);
    }
  });
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

Deno.test("recording was made on the 6.12 kernel with features 0x1fe", () => {
  assert.match(recording.kernel, /^6\.12\./);
  assert.equal(recording.runs["ioctl"]?.[0]?.fields["features"], "0x1fe");
});
