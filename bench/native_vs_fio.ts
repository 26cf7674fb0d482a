/**
 * Native ring vs fio: 4 KiB random reads of a 1 GiB /dev/shm file at QD 32 on one thread,
 * `NativeKernel` + raw SQEs against `fio --ioengine=io_uring` run as a subprocess in the same
 * run (its JSON IOPS parsed); then NOP batches of 32, native vs model. Prints the ratios.
 * The native loop is measured two ways: one blocking `NativeRing.enter(toSubmit, 1,
 * GETEVENTS)` per round (what fio does), and the event-loop way (`submit()`, then the async
 * `wait()` only when nothing completed inline).
 *
 * Usage: deno run -A bench/native_vs_fio.ts [--seconds 5] [--rounds 3] [--size-mib 1024] [--qd 32]
 * [--keep]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { IORING_ENTER_GETEVENTS, IORING_OP_NOP, IORING_OP_READ } from "@ublk-ts/uapi";
import { ModelKernel } from "@ublk-ts/model";
import type { KernelRing } from "@ublk-ts/ring";
import { NativeKernel } from "@ublk-ts/native";

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

interface RingView {
  kr: KernelRing;
  sq: DataView;
  cq: DataView;
  sqes: DataView;
  sqMask: number;
  cqMask: number;
}

function view(kr: KernelRing): RingView {
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
  };
}

/** Native random reads at QD; returns IOPS. */
async function nativeRandRead(
  kernel: NativeKernel,
  fd: number,
  seconds: number,
  blocking: boolean,
): Promise<number> {
  const kr = kernel.setup(QD, {});
  const r = view(kr);
  const blocks = Math.floor(SIZE / BS);
  const bufs = Array.from({ length: QD }, () => new Uint8Array(BS));
  // Addresses as u32 halves, computed once per buffer.
  const addrLo = new Uint32Array(QD), addrHi = new Uint32Array(QD);
  bufs.forEach((b, i) => {
    const a = kernel.addressOf(b);
    addrLo[i] = Number(a & 0xffffffffn);
    addrHi[i] = Number(a >> 32n);
  });
  const so = kr.sqOff, co = kr.cqOff;
  // Little-endian u32 views: the SQEs are prefilled once (opcode, fd, len, zeros); per I/O only
  // off, addr and user_data are stored. No allocation in the loop.
  const sqe = new Uint32Array(kr.sqes);
  const cq32 = new Uint32Array(kr.cqRing);
  const cqi32 = new Int32Array(kr.cqRing);
  const sq32 = new Uint32Array(kr.sqRing);
  const sqTailW = so.tail >> 2,
    cqHeadW = co.head >> 2,
    cqTailW = co.tail >> 2,
    cqesW = co.cqes >> 2;
  sqe.fill(0);
  for (let i = 0; i < kr.sqEntries; i++) {
    sqe[i * 16] = IORING_OP_READ; // opcode, flags, ioprio
    sqe[i * 16 + 1] = fd;
    sqe[i * 16 + 6] = BS;
  }
  let tail = sq32[sqTailW]!;
  let pending = 0;
  const sqMask = r.sqMask, cqMask = r.cqMask;
  const queue = (slot: number): void => {
    const w = (tail & sqMask) << 4;
    const off = (rand() % blocks) * BS;
    sqe[w + 2] = off;
    sqe[w + 3] = off / 4294967296;
    sqe[w + 4] = addrLo[slot]!;
    sqe[w + 5] = addrHi[slot]!;
    sqe[w + 8] = slot;
    tail = (tail + 1) >>> 0;
    pending++;
  };
  for (let i = 0; i < QD; i++) queue(i);
  let done = 0;
  let errors = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let iter = 0;
  for (;;) {
    sq32[sqTailW] = tail;
    // blocking: one io_uring_enter(to_submit, min_complete 1, GETEVENTS) per round, as fio;
    // else submit() and, only when nothing completed inline, the async wait().
    const n = blocking ? kr.enter(pending, 1, IORING_ENTER_GETEVENTS) : kr.submit(pending);
    if (n < 0) throw new Error(`submit failed ${n}`);
    pending -= n;
    let head = cq32[cqHeadW]!;
    let ctail = cq32[cqTailW]!;
    if (head === ctail) {
      await kr.wait(1);
      ctail = cq32[cqTailW]!;
    }
    while (head !== ctail) {
      const w = cqesW + ((head & cqMask) << 2);
      if (cqi32[w + 2] !== BS) errors++;
      queue(cq32[w]!);
      head = (head + 1) >>> 0;
      done++;
    }
    cq32[cqHeadW] = head;
    if ((++iter & 63) === 0 && performance.now() > end) break;
  }
  const dt = (performance.now() - t0) / 1000;
  // Drain what is still in flight before the buffers may be collected (Safety: the kernel
  // writes into them until their CQE), and check the data: byte 0 of every 4 KiB block is 1.
  r.sq.setUint32(so.tail, (tail - pending) >>> 0, true);
  let inflight = QD - pending;
  while (inflight > 0) {
    let head = r.cq.getUint32(co.head, true);
    const ctail = r.cq.getUint32(co.tail, true);
    if (head === ctail) await kr.wait(1);
    for (; head !== r.cq.getUint32(co.tail, true); head = (head + 1) >>> 0) inflight--;
    r.cq.setUint32(co.head, head, true);
  }
  kr.close();
  if (errors) throw new Error(`${errors} reads were short or failed`);
  if (!bufs.every((b) => b[0] === 1)) throw new Error("Read data does not match the file");
  return done / dt;
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

/** NOP batches of 32 on a kernel; returns NOPs per second. */
async function nopBatches(kr: KernelRing, seconds: number): Promise<number> {
  const r = view(kr);
  const so = kr.sqOff, co = kr.cqOff;
  let tail = r.sq.getUint32(so.tail, true);
  let done = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let iter = 0;
  for (;;) {
    for (let i = 0; i < 32; i++) {
      const o = (tail & r.sqMask) * 64;
      r.sqes.setUint32(o, IORING_OP_NOP, true);
      r.sqes.setUint32(o + 28, 0, true);
      r.sqes.setUint32(o + 32, i, true);
      tail = (tail + 1) >>> 0;
    }
    r.sq.setUint32(so.tail, tail, true);
    kr.submit(32);
    if (((r.cq.getUint32(co.tail, true) - r.cq.getUint32(co.head, true)) >>> 0) < 32) {
      await kr.wait(32);
    }
    const ctail = r.cq.getUint32(co.tail, true);
    done += (ctail - r.cq.getUint32(co.head, true)) >>> 0;
    r.cq.setUint32(co.head, ctail, true);
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
  `4 KiB random reads, ${
    SIZE >> 20
  } MiB /dev/shm file, QD ${QD}, one thread, ${ROUNDS} rounds of ${SECONDS} s`,
);
await nativeRandRead(kernel, fd, 0.5, true); // warm up (JIT, page cache)
// Alternate the three so background load hits all alike; report medians.
const blocking: number[] = [];
const evented: number[] = [];
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
const nativeIops = median(blocking);
const eventIops = median(evented);
console.log(
  `  native ring, enter(submit + wait 1): ${fmt(nativeIops)} IOPS (rounds: ${
    blocking.map(fmt).join(", ")
  })`,
);
console.log(
  `  native ring, submit() + async wait(): ${fmt(eventIops)} IOPS (rounds: ${
    evented.map(fmt).join(", ")
  })`,
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

console.log(`NOP batches of 32, ${SECONDS} s each`);
const nkr = kernel.setup(64);
await nopBatches(nkr, 0.3);
const nativeNop = await nopBatches(nkr, SECONDS);
nkr.close();
const model = new ModelKernel();
const mkr = model.setup(64);
await nopBatches(mkr, 0.3);
const modelNop = await nopBatches(mkr, SECONDS);
mkr.close();
console.log(`  native: ${fmt(nativeNop)} NOP/s`);
console.log(`  model : ${fmt(modelNop)} NOP/s`);
console.log(`  ratio native/model: ${(nativeNop / modelNop).toFixed(3)}`);
if (!values.keep) Deno.removeSync(FILE);
