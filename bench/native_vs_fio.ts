/**
 * Native ring vs fio: 4 KiB random reads of a /dev/shm file at QD 32 on one thread, the `Ring`
 * of `@ublk-ts/ring` on a `NativeKernel` (zero-allocation `getSqeOffset` + `prepRwAt`,
 * `forEachCqe` + `cqAdvance`) against `fio --ioengine=io_uring` run as a subprocess in the same
 * run (its JSON IOPS parsed); then NOP batches of 32, native vs model, through the same `Ring`.
 * Both sides: buffered reads (no O_DIRECT), offsets aligned to the block size, page-aligned
 * buffers (ours from `allocIoMemory`, fio's `--mem=mmap`), the same queue depth.
 *
 * Five native sides, alternated with fio round by round (medians): the loop and setup flags
 * of the first version ("before": no flags, `submit()` then a blocking `enter(0, 1,
 * GETEVENTS)` or the async `wait(1)` when nothing completed), and the current ones ("after":
 * fio's setup flags COOP_TASKRUN | SINGLE_ISSUER | DEFER_TASKRUN; blocking: one
 * `enter(flushSq(), 1, GETEVENTS)` per round; async: `submit()` + `wait(1)`, which polls the
 * ring's eventfd on a worker thread), plus the async loop on fio's flags with the first
 * version's wait of such a ring (a 1 ms timer; forced by holding the ring's eventfd slot). A separate short pass per side counts FFI calls and
 * `Deno.UnsafePointer.of` calls per read with counting wrappers. See bench/PROFILE.md.
 *
 * Usage: deno run -A bench/native_vs_fio.ts [--seconds 5] [--rounds 3] [--size-mib 1024] [--qd 32]
 * [--keep] [--json] (with --json the report goes to stderr and one JSON line to stdout)
 *
 * @module
 */

import { benchArgs, positiveArg, wholeArg } from "./_cli.ts";
import {
  IORING_ENTER_GETEVENTS,
  IORING_OP_NOP,
  IORING_OP_READ,
  IORING_REGISTER_EVENTFD,
  IORING_SETUP_COOP_TASKRUN,
  IORING_SETUP_DEFER_TASKRUN,
  IORING_SETUP_SINGLE_ISSUER,
} from "@ublk-ts/uapi";
import { ModelKernel } from "@ublk-ts/model";
import { type Cqe, type Kernel, prepRwAt, Ring, sqeSetUserData32 } from "@ublk-ts/ring";
import { NativeKernel, type NativeLibrary } from "@ublk-ts/native";
import { allocIoMemory } from "@ublk-ts/rsrc";

const USAGE = {
  name: "bench/native_vs_fio.ts",
  usage: `Usage: deno run -A bench/native_vs_fio.ts [options]   (deno task bench:native)

Random reads of a /dev/shm file on one thread: the native Ring against fio --ioengine=io_uring,
both buffered, page-aligned buffers (fio --mem=mmap), the same queue depth and block size;
alternated rounds, medians; then NOP batches of 32, native vs model.

Options:
  --seconds N      seconds per side per round (default 5)
  --rounds N       rounds (default 3)
  --size-mib N     file size in MiB (default 1024)
  --qd N           queue depth (default 32)
  --bs N           block size in bytes (default 4096)
  --file PATH      the file (default /dev/shm/ublk-ts-native-vs-fio.img)
  --keep           keep the file afterwards
  --json           the report on stderr and one JSON line on stdout
  -h, --help       this text`,
};

const values = benchArgs(USAGE, Deno.args, {
  seconds: { type: "string", default: "5" },
  "size-mib": { type: "string", default: "1024" },
  qd: { type: "string", default: "32" },
  bs: { type: "string", default: "4096" },
  keep: { type: "boolean", default: false },
  file: { type: "string", default: "/dev/shm/ublk-ts-native-vs-fio.img" },
  rounds: { type: "string", default: "3" },
  json: { type: "boolean", default: false },
});
/** Report lines: stdout, or stderr when stdout carries the JSON. */
const log = (line: string): void => (values.json ? console.error(line) : console.log(line));

/** `fio --version`, or "?". */
function fioVersion(): string {
  try {
    const o = new Deno.Command("fio", { args: ["--version"], stdout: "piped" }).outputSync();
    return new TextDecoder().decode(o.stdout).trim().replace(/^fio-/, "");
  } catch {
    return "?";
  }
}
const SECONDS = positiveArg(USAGE, "--seconds", values.seconds, 5);
const SIZE = wholeArg(USAGE, "--size-mib", values["size-mib"], 1024) * 1024 * 1024;
const QD = wholeArg(USAGE, "--qd", values.qd, 32);
const BS = wholeArg(USAGE, "--bs", values.bs, 4096);
const FILE = values.file!;
const ROUNDS = wholeArg(USAGE, "--rounds", values.rounds, 3);

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

/** Results of one random-read run. */
interface RandRead {
  iops: number;
  /** Rounds in which the submit completed nothing inline, so the loop had to wait. */
  waits: number;
  rounds: number;
  /** Reads completed. */
  done: number;
}

/** fio 3.33's io_uring engine sets these where the kernel has them (seen with strace). */
const FIO_FLAGS = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER |
  IORING_SETUP_DEFER_TASKRUN;

/** How the native loop submits and waits. */
type Loop = "submit+enter" | "enter" | "async";

/** One native side. */
interface Variant {
  key: string;
  label: string;
  flags: number;
  loop: Loop;
  /** Hold the ring's eventfd slot, so `wait()` falls back to the first version's 1 ms timer. */
  timerWait?: boolean;
}

/** The native sides, "before" (the loop and flags of the first version) and "after". */
const VARIANTS: readonly Variant[] = [
  {
    key: "enter_before",
    label: "first version: no setup flags; submit(), then enter(0, 1, GETEVENTS) when idle",
    flags: 0,
    loop: "submit+enter",
  },
  {
    key: "enter",
    label: "fio's setup flags; one enter(flushSq(), 1, GETEVENTS) per round",
    flags: FIO_FLAGS,
    loop: "enter",
  },
  {
    key: "async_before",
    label: "first version: no setup flags; submit(), then await wait(1) (enter on a worker)",
    flags: 0,
    loop: "async",
  },
  {
    key: "async_timer_before",
    label: "fio's setup flags, first version's wait: submit(), then await wait(1) (1 ms timer)",
    flags: FIO_FLAGS,
    loop: "async",
    timerWait: true,
  },
  {
    key: "async",
    label: "fio's setup flags; submit(), then await wait(1) (eventfd polled on a worker)",
    flags: FIO_FLAGS,
    loop: "async",
  },
];

/** Native random reads at QD through `Ring`; returns IOPS. */
async function nativeRandRead(
  kernel: NativeKernel,
  fd: number,
  seconds: number,
  variant: Variant,
): Promise<RandRead> {
  const kr = kernel.setup(QD, { flags: variant.flags });
  const ring = new Ring(kernel, kr);
  let heldEfd = -1;
  if (variant.timerWait) {
    heldEfd = kernel.library.libc.eventfd(0, 0);
    if (heldEfd < 0 || kr.register(IORING_REGISTER_EVENTFD, { fds: [heldEfd] }) < 0) {
      throw new Error("Cannot register an eventfd");
    }
  }
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
  const loop = variant.loop;
  for (;;) {
    if (loop === "enter") {
      // io_uring_submit_and_wait(1): submit and wait in one call, as fio (which also runs the
      // deferred task work of a DEFER_TASKRUN ring).
      const r = kr.enter(ring.flushSq(), 1, IORING_ENTER_GETEVENTS);
      if (r < 0) throw new Error(`enter failed ${r}`);
    } else {
      ring.submit();
      if (ring.cqReady() === 0) {
        waits++;
        if (loop === "submit+enter") {
          const r = kr.enter(0, 1, IORING_ENTER_GETEVENTS);
          if (r < 0) throw new Error(`enter failed ${r}`);
        } else {
          await ring.wait(1);
        }
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
  if (heldEfd >= 0) kernel.closeFd(heldEfd);
  if (errors) throw new Error(`${errors} reads were short or failed`);
  // Byte 0 of every 4 KiB block of the file is 1.
  if (!bufs.every((b) => b[0] === 1)) throw new Error("Read data does not match the file");
  return { iops: done / dt, waits, rounds: iter, done };
}

/**
 * The libraries with every FFI symbol counted (a separate pass: the wrappers cost time).
 *
 * @param lib The libraries.
 * @param counts Receives calls per symbol.
 * @returns The counting libraries.
 */
function countingLibrary(lib: NativeLibrary, counts: Map<string, number>): NativeLibrary {
  const wrap = <T extends object>(syms: T): T => {
    const out: Record<string, unknown> = {};
    for (const [k, f] of Object.entries(syms)) {
      out[k] = typeof f !== "function" ? f : (...a: unknown[]) => {
        counts.set(k, (counts.get(k) ?? 0) + 1);
        return f(...a);
      };
    }
    return out as T;
  };
  return {
    path: lib.path,
    liburing: wrap(lib.liburing),
    libc: wrap(lib.libc),
    errno: () => lib.errno(),
  };
}

/** FFI calls per read of one variant, and `Deno.UnsafePointer.of` calls per read. */
interface CallCount {
  ffiPerIo: number;
  pointerOfPerIo: number;
  bySymbol: Record<string, number>;
}

async function countCalls(variant: Variant, seconds: number): Promise<CallCount> {
  const counts = new Map<string, number>();
  const k = new NativeKernel({ library: countingLibrary(new NativeKernel().library, counts) });
  const f = k.open(FILE, 0);
  let ofCalls = 0;
  const P = Deno.UnsafePointer as unknown as { of: (...a: unknown[]) => unknown };
  const of = P.of;
  let patched = false;
  try {
    P.of = (...a: unknown[]) => {
      ofCalls++;
      return of.apply(Deno.UnsafePointer, a);
    };
    patched = P.of !== of;
  } catch {
    // Not writable: reported as NaN.
  }
  try {
    counts.clear();
    const r = await nativeRandRead(k, f, seconds, variant);
    const bySymbol: Record<string, number> = {};
    let total = 0;
    for (const [s, n] of counts) {
      if (s === "open") continue;
      bySymbol[s] = n / r.done;
      total += n;
    }
    return { ffiPerIo: total / r.done, pointerOfPerIo: patched ? ofCalls / r.done : NaN, bySymbol };
  } finally {
    if (patched) P.of = of;
    k.closeFd(f);
  }
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
// Kernels before 6.1 refuse DEFER_TASKRUN: then the "after" sides run without flags.
let fioFlagsOk = true;
try {
  kernel.setup(QD, { flags: FIO_FLAGS }).close();
} catch {
  fioFlagsOk = false;
}
const variants = VARIANTS.map((v) => fioFlagsOk ? v : { ...v, flags: 0 });
const sides = {
  native:
    `Ring (@ublk-ts/ring) on NativeKernel, getSqeOffset + prepRwAt, buffers from allocIoMemory (page-aligned), buffered reads, QD ${QD}`,
  fio:
    `fio ${fioVersion()} --ioengine=io_uring --mem=mmap (page-aligned) --thread, buffered reads, --iodepth=${QD}; setup flags CQSIZE|COOP_TASKRUN|SINGLE_ISSUER|DEFER_TASKRUN (3.33)`,
};
log(
  `${BS} B random reads, ${
    SIZE >> 20
  } MiB file in ${FILE}, QD ${QD}, one thread, ${ROUNDS} alternating rounds of ${SECONDS} s, medians`,
);
log(`  native: ${sides.native}`);
log(`  fio   : ${sides.fio}`);
for (const v of variants) await nativeRandRead(kernel, fd, 0.3, v); // warm up (JIT, page cache)
// Alternate the sides, rotating who goes first, so background load hits all alike.
const runs = new Map<string, RandRead[]>(variants.map((v) => [v.key, []]));
const fios: number[] = [];
let fioError = "";
const order = [...variants.map((v) => v.key), "fio"];
for (let round = 0; round < ROUNDS; round++) {
  for (let k = 0; k < order.length; k++) {
    const key = order[(k + round) % order.length]!;
    if (key === "fio") {
      const f = await fioRandRead(SECONDS);
      if (typeof f === "number") fios.push(f);
      else fioError = f;
    } else {
      runs.get(key)!.push(
        await nativeRandRead(kernel, fd, SECONDS, variants.find((v) => v.key === key)!),
      );
    }
  }
}
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const calls = new Map<string, CallCount>();
for (const v of variants) calls.set(v.key, await countCalls(v, Math.min(1, SECONDS)));
const fioIops = fios.length ? median(fios) : NaN;
const results: Record<string, unknown> = {};
for (const v of variants) {
  const rs = runs.get(v.key)!;
  const iops = median(rs.map((r) => r.iops));
  const c = calls.get(v.key)!;
  const waited = 100 * rs.reduce((a, r) => a + r.waits, 0) / rs.reduce((a, r) => a + r.rounds, 0);
  results[v.key] = {
    label: v.label,
    flags: v.flags,
    iops,
    rounds: rs.map((r) => r.iops),
    ratioToFio: iops / fioIops,
    ffiCallsPerIo: c.ffiPerIo,
    pointerOfPerIo: c.pointerOfPerIo,
    ffiBySymbolPerIo: c.bySymbol,
    readsPerRound: rs.reduce((a, r) => a + r.done, 0) / rs.reduce((a, r) => a + r.rounds, 0),
  };
  log(
    `  native ${v.key.padEnd(12)} ${fmt(iops).padStart(9)} IOPS  ${
      (iops / fioIops).toFixed(3)
    }x fio  FFI calls/read ${c.ffiPerIo.toFixed(3)}  UnsafePointer.of/read ${
      c.pointerOfPerIo.toFixed(3)
    }  waited in ${waited.toFixed(0)}% of rounds  (rounds: ${
      rs.map((r) => fmt(r.iops)).join(", ")
    })`,
  );
  log(`         ${v.label}`);
}
if (fios.length) {
  log(
    `  fio io_uring        ${fmt(fioIops).padStart(9)} IOPS  (rounds: ${fios.map(fmt).join(", ")})`,
  );
  log(`  goals: native blocking enter >= 0.95x fio; async >= 0.8x fio`);
} else {
  log(`  fio: ${fioError}`);
}
kernel.closeFd(fd);

log(`NOP batches of 32 through Ring, ring of 64, ${SECONDS} s each`);
const nativeNop = await nopBatches(kernel, SECONDS);
const modelNop = await nopBatches(new ModelKernel(), SECONDS);
log(`  native: ${fmt(nativeNop)} NOP/s`);
log(`  model : ${fmt(modelNop)} NOP/s`);
log(`  ratio native/model: ${(nativeNop / modelNop).toFixed(3)}`);
if (!values.keep) Deno.removeSync(FILE);
if (values.json) {
  console.log(JSON.stringify({
    bs: BS,
    qd: QD,
    sizeMiB: SIZE >> 20,
    file: FILE,
    seconds: SECONDS,
    rounds: ROUNDS,
    sides,
    fio: { iops: fioIops, rounds: fios, error: fioError || undefined },
    native: results,
    nop: { native: nativeNop, model: modelNop },
  }));
}
