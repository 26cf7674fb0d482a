/**
 * ublk data-path benchmarks on the model kernel: a null-like target (returns
 * `nr_sectors << 9`, touches no data), one queue, QD 128.
 *
 * - `4k-randread`: 4 KiB random reads, copy mode (the per-I/O overhead of the driver, the
 *   queue loop and the block front end). IOPS = 16384 / time per iteration.
 * - `512k-randread`: copy vs zero copy (the copy of 512 KiB per request at commit is the
 *   difference). IOPS = 2048 / time per iteration.
 *
 * Run: `deno bench -A packages/ublk/ublk_bench.ts`.
 *
 * @module
 */
import { installFusedCmd } from "@ublk-ts/fused-cmd";
import { ModelKernel } from "@ublk-ts/model";
import { createDevice, type UblkDevice } from "@ublk-ts/ublk";
import { installUblk } from "./driver.ts";
import { BareNullTarget } from "@ublk-ts/testing";

const SIZE = 1 << 30;
const QD = 128;

async function device(zeroCopy: boolean): Promise<UblkDevice> {
  const k = new ModelKernel();
  installFusedCmd(k);
  installUblk(k);
  return await createDevice(k, new BareNullTarget(SIZE), {
    depth: QD,
    zeroCopy,
    maxIoBufBytes: 512 * 1024,
  });
}

/** Runs `n` random reads of `bs` bytes at queue depth QD. */
function randread(dev: UblkDevice, bs: number, n: number, bufs: Uint8Array[]): Promise<void> {
  const blocks = SIZE / bs;
  let issued = 0;
  let done = 0;
  let seed = 12345;
  return new Promise<void>((resolve, reject) => {
    const one = (i: number): void => {
      if (issued >= n) return;
      issued++;
      seed = (seed * 1103515245 + 12345) >>> 0;
      dev.bdev.read((seed % blocks) * bs, bufs[i]!).then((r) => {
        if (r !== bs) return reject(new Error(`Read returned ${r}`));
        if (++done === n) resolve();
        else one(i);
      });
    };
    for (let i = 0; i < QD; i++) one(i);
  });
}

const copyDev = await device(false);
const zcDev = await device(true);
const bufs4k = Array.from({ length: QD }, () => new Uint8Array(4096));
const bufs512k = Array.from({ length: QD }, () => new Uint8Array(512 * 1024));

Deno.bench({
  name: "4k randread qd128 copy (16384 I/Os)",
  group: "4k-randread",
  baseline: true,
  n: 200,
  warmup: 50,
  fn: async () => {
    await randread(copyDev, 4096, 16384, bufs4k);
  },
});

Deno.bench({
  name: "512k randread qd128 copy (2048 I/Os)",
  group: "512k-randread",
  baseline: true,
  n: 30,
  warmup: 5,
  fn: async () => {
    await randread(copyDev, 512 * 1024, 2048, bufs512k);
  },
});

Deno.bench({
  name: "512k randread qd128 zero copy (2048 I/Os)",
  group: "512k-randread",
  n: 30,
  warmup: 5,
  fn: async () => {
    await randread(zcDev, 512 * 1024, 2048, bufs512k);
  },
});

globalThis.addEventListener("unload", () => {
  void copyDev.stop();
  void zcDev.stop();
});
