// deno bench -A packages/native/native_bench.ts
// NOP submit/reap baseline (batches of 32) on the model and on the real kernel, and 4 KiB
// random reads at QD 32 from a /dev/shm file on the real kernel. Both drive the one `Ring` of
// @ublk-ts/ring through its zero-allocation path (getSqeOffset + prep*At, forEachCqe +
// cqAdvance).
import { ModelKernel } from "@ublk-ts/model";
import { type Cqe, prepRwAt, Ring, sqeSetUserData32 } from "@ublk-ts/ring";
import { IORING_OP_NOP, IORING_OP_READ } from "@ublk-ts/uapi";
import { NativeKernel } from "./native_kernel.ts";

/** One batch of 32 NOPs: prep, submit, reap. */
async function nop32(ring: Ring): Promise<void> {
  const v = ring.sqes;
  for (let i = 0; i < 32; i++) {
    const o = ring.getSqeOffset();
    prepRwAt(v, o, IORING_OP_NOP, -1, 0, 0, 0);
    sqeSetUserData32(v, o, i, 0);
  }
  ring.submit();
  while (ring.cqReady() < 32) await ring.wait(32);
  ring.cqAdvance(32);
}

const native = new NativeKernel();
const nativeNop = Ring.create(native, 64);
const modelNop = Ring.create(new ModelKernel(), 64);

Deno.bench({ name: "model: 32 NOPs submit + reap", group: "nop32", baseline: true }, async () => {
  await nop32(modelNop);
});

Deno.bench({ name: "native: 32 NOPs submit + reap", group: "nop32" }, async () => {
  await nop32(nativeNop);
});

// 4 KiB random reads, QD 32, 64 MiB file on tmpfs.
const FILE = `/dev/shm/ublk-ts-native-bench-${Deno.pid}.img`;
const SIZE = 64 << 20;
Deno.writeFileSync(FILE, new Uint8Array(SIZE).fill(1));
const fd = native.open(FILE, 0);
const reads = Ring.create(native, 32);
const bufs = Array.from({ length: 32 }, () => new Uint8Array(4096));
const addrs = bufs.map((b) => Number(native.addressOf(b)));
let seed = 1;
let shortReads = 0;
const onCqe = (c: Cqe): void => {
  if (c.res !== 4096) shortReads++;
};

Deno.bench({ name: "native: 32 random 4 KiB reads (QD 32)", group: "randread" }, async () => {
  const v = reads.sqes;
  for (let i = 0; i < 32; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const off = (seed % (SIZE / 4096)) * 4096;
    const o = reads.getSqeOffset();
    prepRwAt(v, o, IORING_OP_READ, fd, addrs[i]!, 4096, off);
    sqeSetUserData32(v, o, i, 0);
  }
  reads.submit();
  // Every read must be reaped before its buffer is reused (and before the bench ends).
  while (reads.cqReady() < 32) await reads.wait(32);
  reads.cqAdvance(reads.forEachCqe(onCqe));
  if (shortReads !== 0) throw new Error(`${shortReads} reads were short or failed`);
  if (bufs[0]![0] !== 1) throw new Error("Read data does not match the file");
});

globalThis.addEventListener("unload", () => {
  native.closeFd(fd);
  try {
    Deno.removeSync(FILE);
  } catch {
    // already gone
  }
});
