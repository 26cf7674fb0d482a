// deno bench -A packages/native/native_bench.ts
// NOP submit/reap baseline (batches of 32) on the model and on the real kernel, and 4 KiB
// random reads at QD 32 from a /dev/shm file on the real kernel.
import { ModelKernel } from "@ublk-ts/model";
import type { KernelRing } from "@ublk-ts/ring";
import { IORING_OP_NOP, IORING_OP_READ } from "@ublk-ts/uapi";
import { NativeKernel } from "./native_kernel.ts";

interface Driver {
  kr: KernelRing;
  sq: DataView;
  cq: DataView;
  sqes: DataView;
  sqMask: number;
  cqMask: number;
  tail: number;
}

function driver(kr: KernelRing): Driver {
  const sq = new DataView(kr.sqRing);
  const cq = new DataView(kr.cqRing);
  for (let i = 0; i < kr.sqEntries; i++) sq.setUint32(kr.sqOff.array + i * 4, i, true);
  return {
    kr,
    sq,
    cq,
    sqes: new DataView(kr.sqes),
    sqMask: sq.getUint32(kr.sqOff.ringMask, true),
    cqMask: cq.getUint32(kr.cqOff.ringMask, true),
    tail: sq.getUint32(kr.sqOff.tail, true),
  };
}

/** One batch of 32 NOPs: write, submit, reap. */
async function nop32(d: Driver): Promise<void> {
  for (let i = 0; i < 32; i++) {
    const o = (d.tail & d.sqMask) * 64;
    d.sqes.setUint32(o, IORING_OP_NOP, true);
    d.sqes.setUint32(o + 28, 0, true);
    d.sqes.setUint32(o + 32, i, true);
    d.tail = (d.tail + 1) >>> 0;
  }
  d.sq.setUint32(d.kr.sqOff.tail, d.tail, true);
  d.kr.submit(32);
  const co = d.kr.cqOff;
  if (((d.cq.getUint32(co.tail, true) - d.cq.getUint32(co.head, true)) >>> 0) < 32) {
    await d.kr.wait(32);
  }
  d.cq.setUint32(co.head, d.cq.getUint32(co.tail, true), true);
}

const native = new NativeKernel();
const nativeNop = driver(native.setup(64));
const modelNop = driver(new ModelKernel().setup(64));

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
const reads = driver(native.setup(32));
const bufs = Array.from({ length: 32 }, () => new Uint8Array(4096));
const lo = new Uint32Array(32), hi = new Uint32Array(32);
bufs.forEach((b, i) => {
  const a = native.addressOf(b);
  lo[i] = Number(a & 0xffffffffn);
  hi[i] = Number(a >> 32n);
});
let seed = 1;

Deno.bench({ name: "native: 32 random 4 KiB reads (QD 32)", group: "randread" }, async () => {
  const d = reads;
  for (let i = 0; i < 32; i++) {
    const o = (d.tail & d.sqMask) * 64;
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const off = (seed % (SIZE / 4096)) * 4096;
    d.sqes.setUint32(o, IORING_OP_READ, true);
    d.sqes.setInt32(o + 4, fd, true);
    d.sqes.setUint32(o + 8, off, true);
    d.sqes.setUint32(o + 12, 0, true);
    d.sqes.setUint32(o + 16, lo[i]!, true);
    d.sqes.setUint32(o + 20, hi[i]!, true);
    d.sqes.setUint32(o + 24, 4096, true);
    d.sqes.setUint32(o + 28, 0, true);
    d.sqes.setUint32(o + 32, i, true);
    d.tail = (d.tail + 1) >>> 0;
  }
  d.sq.setUint32(d.kr.sqOff.tail, d.tail, true);
  d.kr.submit(32);
  const co = d.kr.cqOff;
  // Every read must be reaped before its buffer is reused (and before the bench ends).
  while (((d.cq.getUint32(co.tail, true) - d.cq.getUint32(co.head, true)) >>> 0) < 32) {
    await d.kr.wait(32);
  }
  d.cq.setUint32(co.head, d.cq.getUint32(co.tail, true), true);
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
