/**
 * `deno bench` view of the headline: one block-device READ per iteration (QD 1), copy mode as
 * the baseline of each group and zero copy as the contender — null 512 KiB, loop 64 KiB and
 * loop 512 KiB over a /dev/shm file. `bench/headline.ts` measures the same paths at depth
 * with throughput and ratios; this file gives per-I/O times with Deno's statistics.
 *
 * @module
 */

import { checkDeviceOptions } from "../apps/ublk/device_options.ts";
import { openStack, type RunningDevice, type Stack } from "../apps/ublk/stack.ts";

const dir = (() => {
  try {
    return Deno.statSync("/dev/shm").isDirectory ? "/dev/shm" : undefined;
  } catch {
    return undefined;
  }
})();
const path = Deno.makeTempFileSync({ dir, prefix: "ublk-headline-bench-", suffix: ".img" });
{
  const f = Deno.openSync(path, { write: true });
  const chunk = new Uint8Array(1 << 20).fill(0x5a);
  for (let i = 0; i < 64; i++) f.writeSync(chunk);
  f.close();
}

const stacks: Stack[] = [];
async function device(args: Record<string, string | boolean>): Promise<RunningDevice> {
  const stack = openStack({ native: false });
  stacks.push(stack);
  return await stack.addDevice(checkDeviceOptions(args, "bench"));
}

const devs = {
  nullCopy: await device({ type: "null", depth: "16" }),
  nullZc: await device({ type: "null", depth: "16", "zero-copy": true }),
  loopCopy: await device({ type: "loop", file: path, depth: "16" }),
  loopZc: await device({ type: "loop", file: path, depth: "16", "zero-copy": true }),
};

globalThis.addEventListener("unload", () => {
  for (const s of stacks) s.kernel.close();
  try {
    Deno.removeSync(path);
  } catch { /* gone */ }
});

const buf512 = new Uint8Array(512 * 1024);
const buf64 = new Uint8Array(64 * 1024);
let off64 = 0;
let off512 = 0;
const SPAN = 64 << 20;

async function read(dev: RunningDevice, buf: Uint8Array, off: number): Promise<void> {
  const r = await dev.bdev.read(off, buf);
  if (r !== buf.length) throw new Error(`Read returned ${r}`);
}

Deno.bench("null read 512k, copy", { group: "null 512k", baseline: true }, async () => {
  await read(devs.nullCopy, buf512, 0);
});
Deno.bench("null read 512k, zero copy", { group: "null 512k" }, async () => {
  await read(devs.nullZc, buf512, 0);
});
Deno.bench("loop read 64k, copy", { group: "loop 64k", baseline: true }, async () => {
  off64 = (off64 + buf64.length) % SPAN;
  await read(devs.loopCopy, buf64, off64);
});
Deno.bench("loop read 64k, zero copy", { group: "loop 64k" }, async () => {
  off64 = (off64 + buf64.length) % SPAN;
  await read(devs.loopZc, buf64, off64);
});
Deno.bench("loop read 512k, copy", { group: "loop 512k", baseline: true }, async () => {
  off512 = (off512 + buf512.length) % SPAN;
  await read(devs.loopCopy, buf512, off512);
});
Deno.bench("loop read 512k, zero copy", { group: "loop 512k" }, async () => {
  off512 = (off512 + buf512.length) % SPAN;
  await read(devs.loopZc, buf512, off512);
});
