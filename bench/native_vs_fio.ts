/**
 * Native ring vs fio: 4 KiB random reads of a 1 GiB /dev/shm file at QD 32 on one thread, the
 * `Ring` of `@ublk-ts/ring` on a `NativeKernel` (zero-allocation `getSqeOffset` + `prepRwAt`,
 * `forEachCqe` + `cqAdvance`) against `fio --ioengine=io_uring` run as a subprocess in the same
 * run (its JSON IOPS parsed); then NOP batches of 32, native vs model, through the same `Ring`.
 * Prints the ratios. Both sides: buffered reads (no O_DIRECT), offsets aligned to the block
 * size, page-aligned buffers (ours from `allocIoMemory`, fio's `--mem=mmap`), the same queue depth. The native loop waits two ways when a
 * submit completed nothing inline: a blocking `NativeRing.enter(0, 1, GETEVENTS)` (what fio
 * does), or the event-loop way (the async `Ring.wait(1)`).
 *
 * Usage: deno run -A bench/native_vs_fio.ts [--seconds 5] [--rounds 3] [--size-mib 1024] [--qd 32]
 * [--keep]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { IORING_ENTER_GETEVENTS, IORING_OP_NOP, IORING_OP_READ } from "@ublk-ts/uapi";
import { ModelKernel } from "@ublk-ts/model";
import { type Cqe, type Kernel, prepRwAt, Ring, sqeSetUserData32 } from "@ublk-ts/ring";
import { NativeKernel } from "@ublk-ts/native";
import { allocIoMemory } from "@ublk-ts/rsrc";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "5" },
    "size-mib": { type: "string", default: "1024" },
    qd: { type: "string", default: "32" },
    bs: { type: "string", default: "4096" },
    keep: { type: "boolean", default: false },
    file: { type: "string", default: "/dev/shm/ublk-ts-native-vs-fio.img" },
    rounds: { type: "string", default: "3" },
  },
});
const SECONDS = Number(values.seconds);
const SIZE = Number(values["size-mib"]) * 1024 * 1024;
const QD = Number(values.qd);
const BS = Number(values.bs);
const FILE = values.file!;
const ROUNDS = Number(values.rounds);

/** A file of `size` bytes with nonzero pages (so reads copy real data). */
function ensureFile(path: string, size: number): void {
  try {
    if (Deno.statSync(path).size === size) return;
  } catch {
    // create below
  }
  const f = Deno.openSync(path, { write: true, create: true, truncate: true });
  const chunk = new Uint8Array(1 << 20).map((_, i) => (i * 7 + 1) & 0xff);
  for (let off = 0; off < size; off += chunk.length) {
    f.writeSync(chunk.subarray(0, Math.min(chunk.length, size - off)));
  }
  f.close();
}

/** xorshift32, no allocation. */
let rng = 0x9e3779b9;
function rand(): number {
  rng ^= rng << 13;
  rng ^= rng >>> 17;
  rng ^= rng << 5;
  return rng >>> 0;
}

const PAGE = 4096;

/** Results of one random-read run. */
interface RandRead {
  iops: number;
  /** Rounds in which the submit completed nothing inline, so the loop had to wait. */
  waits: number;
  rounds: number;
}

/** Native random reads at QD through `Ring`; returns IOPS. */
async function nativeRandRead(
  kernel: NativeKernel,
  fd: number,
  seconds: number,
  blocking: boolean,
): Promise<RandRead> {
  const kr = kernel.setup(QD);
  const ring = new Ring(kernel, kr);
  const blocks = Math.floor(SIZE / BS);
  // Page-aligned buffers, as fio's (one pool, referenced until every read is reaped).
  const pool = allocIoMemory(QD * BS);
  const bufs = Array.from({ length: QD }, (_, i) => pool.subarray(i * BS, (i + 1) * BS));
  // Addresses as numbers (exact below 2^53), computed once per buffer: no bigint per I/O.
  const addrs = new Float64Array(QD);
  bufs.forEach((b, i) => (addrs[i] = Number(kernel.addressOf(b))));
  const v = ring.sqes;
  const queue = (slot: number): void => {
    const o = ring.getSqeOffset();
    prepRwAt(v, o, IORING_OP_READ, fd, addrs[slot]!, BS, (rand() % blocks) * BS);
    sqeSetUserData32(v, o, slot, 0);
  };
  let done = 0;
  let errors = 0;
  // One closure for the run: counts the completion and queues the slot's next read.
  const onCqe = (c: Cqe): void => {
    if (c.res !== BS) errors++;
    queue(c.view.getUint32(c.offset, true));
  };
  for (let i = 0; i < QD; i++) queue(i);
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let iter = 0;
  let waits = 0;
  for (;;) {
    ring.submit();
    if (ring.cqReady() === 0) {
      waits++;
      // blocking: io_uring_enter(0, min_complete 1, GETEVENTS), as fio; else the async wait.
      if (blocking) {
        const r = kr.enter(0, 1, IORING_ENTER_GETEVENTS);
        if (r < 0) throw new Error(`enter failed ${r}`);
      } else {
        await ring.wait(1);
      }
    }
    const n = ring.forEachCqe(onCqe);
    ring.cqAdvance(n);
    done += n;
    if ((++iter & 63) === 0 && performance.now() > end) break;
  }
  const dt = (performance.now() - t0) / 1000;
  // Drain: QD reads are always outstanding (queued or in flight); the kernel writes into the
  // buffers until their CQE (Safety), so reap them all before the pool may be collected.
  ring.submit();
  for (let left = QD; left > 0;) {
    if (ring.cqReady() === 0) await ring.wait(1);
    const n = ring.forEachCqe((c) => {
      if (c.res !== BS) errors++;
    });
    ring.cqAdvance(n);
    left -= n;
  }
  ring.close();
  if (errors) throw new Error(`${errors} reads were short or failed`);
  // Byte 0 of every 4 KiB block of the file is 1.
  if (!bufs.every((b) => b[0] === 1)) throw new Error("Read data does not match the file");
  return { iops: done / dt, waits, rounds: iter };
}

/** fio's IOPS on the same file and shape. */
async function fioRandRead(seconds: number): Promise<number | string> {
  let out;
  try {
    out = await new Deno.Command("fio", {
      args: [
        "--name=randread",
        `--filename=${FILE}`,
        "--ioengine=io_uring",
        "--rw=randread",
        `--bs=${BS}`,
        `--iodepth=${QD}`,
        `--size=${SIZE}`,
        "--numjobs=1",
        "--mem=mmap", // page-aligned buffers, as ours
        "--thread",
        "--time_based",
        `--runtime=${seconds}`,
        "--randrepeat=0",
        "--norandommap",
        "--group_reporting",
        "--output-format=json",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    return `fio not runnable: ${(e as Error).message}`;
  }
  if (!out.success) return `fio failed: ${new TextDecoder().decode(out.stderr).trim()}`;
  const json = JSON.parse(new TextDecoder().decode(out.stdout));
  return json.jobs[0].read.iops as number;
}

/** NOP batches of 32 through `Ring` on a kernel; returns NOPs per second. */
async function nopBatches(kernel: Kernel, seconds: number): Promise<number> {
  using ring = Ring.create(kernel, 64);
  const v = ring.sqes;
  const batch = async (): Promise<number> => {
    for (let i = 0; i < 32; i++) {
      const o = ring.getSqeOffset();
      prepRwAt(v, o, IORING_OP_NOP, -1, 0, 0, 0);
      sqeSetUserData32(v, o, i, 0);
    }
    ring.submit();
    while (ring.cqReady() < 32) await ring.wait(32);
    const n = ring.cqReady();
    ring.cqAdvance(n);
    return n;
  };
  // Warm up (JIT).
  for (const end = performance.now() + 300; performance.now() < end;) await batch();
  let done = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let iter = 0;
  for (;;) {
    done += await batch();
    if ((++iter & 15) === 0 && performance.now() > end) break;
  }
  return done / ((performance.now() - t0) / 1000);
}

const fmt = (n: number): string => Math.round(n).toLocaleString("en-US");

ensureFile(FILE, SIZE);
const kernel = new NativeKernel();
const fd = kernel.open(FILE, 0);
if (fd < 0) throw new Error(`open ${FILE} failed ${fd}`);
console.log(
  `${BS} B random reads, ${
    SIZE >> 20
  } MiB /dev/shm file, QD ${QD}, one thread, ${ROUNDS} rounds of ${SECONDS} s`,
);
console.log(
  `  both sides: buffered, QD ${QD}, offsets ${BS} B-aligned, buffers ${PAGE} B-aligned; ` +
    "native = Ring (@ublk-ts/ring) on NativeKernel, getSqeOffset + prepRwAt",
);
await nativeRandRead(kernel, fd, 0.5, true); // warm up (JIT, page cache)
await nativeRandRead(kernel, fd, 0.5, false);
// Alternate the three so background load hits all alike; report medians.
const blocking: RandRead[] = [];
const evented: RandRead[] = [];
const fios: number[] = [];
let fioError = "";
for (let round = 0; round < ROUNDS; round++) {
  blocking.push(await nativeRandRead(kernel, fd, SECONDS, true));
  const f = await fioRandRead(SECONDS);
  if (typeof f === "number") fios.push(f);
  else fioError = f;
  evented.push(await nativeRandRead(kernel, fd, SECONDS, false));
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const nativeIops = median(blocking.map((r) => r.iops));
const eventIops = median(evented.map((r) => r.iops));
const waited = (rs: RandRead[]): string =>
  (100 * rs.reduce((a, r) => a + r.waits, 0) / rs.reduce((a, r) => a + r.rounds, 0)).toFixed(1);
console.log(
  `  native Ring, submit() + blocking enter(0, 1, GETEVENTS) when idle: ${
    fmt(nativeIops)
  } IOPS (rounds: ${blocking.map((r) => fmt(r.iops)).join(", ")}; waited in ${
    waited(blocking)
  }% of submits)`,
);
console.log(
  `  native Ring, submit() + async wait(1) when idle: ${fmt(eventIops)} IOPS (rounds: ${
    evented.map((r) => fmt(r.iops)).join(", ")
  }; waited in ${waited(evented)}% of submits)`,
);
if (fios.length) {
  const fioIops = median(fios);
  console.log(`  fio io_uring: ${fmt(fioIops)} IOPS (rounds: ${fios.map(fmt).join(", ")})`);
  console.log(
    `  ratio native(enter)/fio (medians): ${(nativeIops / fioIops).toFixed(3)} (goal >= 0.95)`,
  );
  console.log(`  ratio native(async)/fio (medians): ${(eventIops / fioIops).toFixed(3)}`);
} else {
  console.log(`  fio: ${fioError}`);
}
kernel.closeFd(fd);

console.log(`NOP batches of 32 through Ring, ring of 64, ${SECONDS} s each`);
const nativeNop = await nopBatches(kernel, SECONDS);
const modelNop = await nopBatches(new ModelKernel(), SECONDS);
console.log(`  native: ${fmt(nativeNop)} NOP/s`);
console.log(`  model : ${fmt(modelNop)} NOP/s`);
console.log(`  ratio native/model: ${(nativeNop / modelNop).toFixed(3)}`);
if (!values.keep) Deno.removeSync(FILE);
