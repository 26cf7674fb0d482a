import assert from "node:assert/strict";
import { ModelKernel } from "@ublk-ts/ring";
import { createDevice } from "./device.ts";
import { installUblk } from "./driver.ts";
import { RamDiskTarget } from "./test_targets.ts";

function rand(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

Deno.test("`createDevice()` serves a write then a read through a RAM disk", async () => {
  const kernel = new ModelKernel();
  installUblk(kernel, { nrCpuIds: 4 });
  const target = new RamDiskTarget(1 << 20);
  await using dev = await createDevice(kernel, target, { depth: 16 });
  const data = rand(8192, 7);
  assert.equal(await dev.bdev.write(4096, data), 8192);
  assert.deepEqual(target.mem.subarray(4096, 4096 + 8192), data);
  const back = new Uint8Array(8192);
  assert.equal(await dev.bdev.read(4096, back), 8192);
  assert.deepEqual(back, data);
});
