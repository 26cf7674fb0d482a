/**
 * What the benches share: one workload on a fresh device of the `ublk` tool's stack (the same
 * options, the same page-aligned workload buffers for every side), with the process's CPU time,
 * and the machine's load average to print beside the figures.
 *
 * @module
 */
import process from "node:process";
import { checkDeviceOptions } from "../apps/ublk/device_options.ts";
import { openStack } from "../apps/ublk/stack.ts";
import { parseWorkloadSpec, runWorkload, type WorkloadResult } from "../apps/ublk/workload.ts";

/** One workload run: its result and the CPU seconds (user + system) of the whole process. */
export interface DeviceRun {
  r: WorkloadResult;
  cpuSec: number;
}

/**
 * Adds a device with the CLI's options `raw`, runs `spec` on it, deletes it.
 *
 * @throws {Error} When the workload saw an I/O error.
 */
export async function onDevice(
  raw: Record<string, string | boolean | string[]>,
  native: boolean,
  spec: string,
): Promise<DeviceRun> {
  const o = checkDeviceOptions({ ...raw, force: true }, "bench");
  o.native = native;
  const stack = openStack({ native });
  try {
    const dev = await stack.addDevice(o);
    try {
      const c0 = process.cpuUsage();
      const r = await runWorkload(dev.bdev, parseWorkloadSpec(spec));
      const c = process.cpuUsage(c0);
      if (r.errors > 0) {
        throw new Error(`${JSON.stringify(raw)} ${spec}: ${r.errors} errors (${r.firstError})`);
      }
      return { r, cpuSec: (c.user + c.system) / 1e6 };
    } finally {
      await dev.delete();
    }
  } finally {
    await stack.close();
  }
}

/** The 1, 5 and 15 minute load averages, or "?". */
export function loadAvg(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  } catch {
    return "?";
  }
}
