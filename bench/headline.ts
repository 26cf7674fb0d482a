/**
 * The headline, measured against its physical limits in the same run (issue 13).
 *
 * Per block size (4K, 64K, 512K, 1M) and direction (read, write), over one backing file:
 *
 * - the limits, one thread, QD 1, page-aligned memory on every side:
 *   - ceiling: `pread(2)`/`pwrite(2)` of the file into/from aligned memory (what zero copy can
 *     reach: one kernel copy per byte);
 *   - copy floor: the same plus one `TypedArray.set` into/from a 64 MiB aligned working set
 *     (what copy mode must pay: two copies per byte);
 *   - memcpy: `TypedArray.set` alone over that working set (GB/s);
 * - the loop target in each data mode of {@linkcode MODES} (copy, user copy, the RFC's fused
 *   zero copy, register-buf and auto-buf-reg zero copy; a new mode is one entry), sequential, QD 16, through the block device's O_DIRECT handle with
 *   page-aligned buffers (the workload's default): MB/s, CPU seconds per GB (user + system of
 *   the whole process: workload, model kernel and server share it), p50/p99 latency, the ratio
 *   to copy and to the ceiling;
 * - plus loop 4 KiB random reads QD 32 vs plain `pread` QD 1, null 4 KiB random reads QD 128,
 *   and native ring vs fio (`bench/native_vs_fio.ts --json`, both sides aligned: fio
 *   `--mem=mmap`, the same setup flags and QD).
 *
 * Every group alternates which side runs first, `--rounds` times, and keeps medians. The
 * machine's load average is recorded at start and end: on a shared machine only the ratios of
 * one run mean something.
 * Output: a table on stdout, and `bench/results/headline.{md,json,svg}` (ratio to copy vs block
 * size, one line per mode, the ceiling dashed).
 *
 * Usage: `deno run -A bench/headline.ts [--quick] [--time 1s] [--rounds 3] [--size 256m]
 * [--dir /dev/shm] [--native] [--no-fio] [--out bench/results]` (`--quick`: a few seconds,
 * 0.2 s × 1 round, 64 MiB, short fio, written to a temporary directory unless `--out`; the
 * default is the full run, written to `bench/results/`).
 *
 * @module
 */

import { benchArgs, unitArg, wholeArg } from "./_cli.ts";
import { allocIoMemory, ioMemoryInfo, isIoAligned } from "@ublk-ts/rsrc";
import { type DeviceRun, loadAvg, onDevice } from "./_device_run.ts";
import { formatSize, parseDuration, parseSize } from "../apps/ublk/units.ts";
import { parseWorkloadSpec, runWorkload, type WorkloadDevice } from "../apps/ublk/workload.ts";

const libc = Deno.dlopen("libc.so.6", {
  pread: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
  pwrite: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
  open: { parameters: ["buffer", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
});
const O_RDWR = 2;

/** The block sizes of the table. */
export const BLOCK_SIZES: readonly number[] = [4096, 65536, 512 * 1024, 1 << 20];
/** One data mode of the loop target: the device options that select it. */
export interface ModeSpec {
  /** Short name (table column, chart legend, JSON key). */
  name: string;
  /** What it is. */
  label: string;
  /** Options merged into the device's (`checkDeviceOptions` spellings). */
  options: Record<string, string | boolean>;
}

/**
 * The data modes, copy first (the baseline of every ratio). The upstream modes (user copy,
 * register-buf, auto-buf-reg) join as one entry each once `packages/ublk` takes them.
 */
export const MODES: readonly ModeSpec[] = [
  { name: "copy", label: "copy (server buffer, two copies per byte)", options: {} },
  {
    name: "user-copy",
    label: "user copy (pread/pwrite on /dev/ublkcN, -u)",
    options: { "user-copy": true },
  },
  {
    name: "fused",
    label: "fused zero copy (the RFC, --zc-mode fused)",
    options: { "zc-mode": "fused" },
  },
  {
    name: "register",
    label: "register-buf zero copy (REGISTER_IO_BUF, --zc-mode register)",
    options: { "zc-mode": "register" },
  },
  {
    name: "auto",
    label: "auto-buf-reg zero copy (AUTO_BUF_REG, --auto-zc)",
    options: { "auto-zc": true },
  },
];

/** The chart's colour per mode (by position; grey for copy). */
const MODE_COLORS = ["#888", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];
/** The working set of the memcpy and copy-floor measurements. */
const COPY_SET = 64 << 20;

/** One side of the limits for a block size and direction. */
export interface Limits {
  /** pread/pwrite into/from aligned memory, MB/s (the zero-copy ceiling). */
  ceilingMBps: number;
  /** The same plus one copy, MB/s (the copy floor). */
  floorMBps: number;
  /** TypedArray.set alone, GB/s. */
  memcpyGBps: number;
  /** ceiling / floor: what zero copy / copy can be at most. */
  ceilingRatio: number;
}

/** The loop target in one mode. */
export interface ModeFigures {
  /** MB/s (10^6). */
  mbps: number;
  /** CPU seconds (user + system) of this process per GB moved. */
  cpuSecPerGB: number;
  /** Median latency, µs. */
  p50Us: number;
  /** 99th percentile latency, µs. */
  p99Us: number;
  /** MB/s / copy MB/s. */
  ratioToCopy: number;
  /** MB/s / ceiling MB/s. */
  ratioToCeiling: number;
}

/** One row: a block size and a direction. */
export interface HeadlineRow {
  /** Block size in bytes. */
  bs: number;
  /** "read" or "write". */
  rw: "read" | "write";
  /** The limits. */
  limits: Limits;
  /** Per mode. */
  modes: Record<string, ModeFigures>;
}

/** What each side of a comparison ran with. */
export interface Sides {
  /** The limits (ceiling, floor, memcpy). */
  limits: string;
  /** The loop target's runs. */
  loop: string;
  /** The plain pread of the 4K comparison. */
  pread4k: string;
}

/** Everything one run measured. */
export interface HeadlineReport {
  /** Where and when, and how loaded (load average at start and end). */
  machine: {
    cpu: string;
    cores: number;
    kernel: string;
    deno: string;
    date: string;
    loadStart: string;
    loadEnd: string;
  };
  /** The options of the run. */
  options: {
    quick: boolean;
    timeMs: number;
    rounds: number;
    size: number;
    dir: string;
    native: boolean;
  };
  /** Alignment, backend and queue depth of each side. */
  sides: Sides;
  /** The modes measured, in order. */
  modes: ModeSpec[];
  /** The allocator's state (provider, whether real addresses are known). */
  ioMemory: { provider: string; addressesKnown: boolean };
  /** The table. */
  rows: HeadlineRow[];
  /** Extra comparisons with their goals. */
  extras: { name: string; value: number; unit: string; goal: string }[];
  /** `bench/native_vs_fio.ts --json` (null when skipped), and its error if it failed. */
  nativeVsFio: NativeVsFio | null;
  /** Why native vs fio is missing. */
  nativeVsFioError?: string;
}

/** The JSON of `bench/native_vs_fio.ts --json` (the fields used here). */
export interface NativeVsFio {
  bs: number;
  qd: number;
  sides: { native: string; fio: string };
  fio: { iops: number; rounds: number[]; error?: string };
  native: Record<
    string,
    { label: string; flags: number; iops: number; ratioToFio: number; ffiCallsPerIo: number }
  >;
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Runs the sides interleaved `rounds` times, rotating who goes first; medians of each. */
async function alternate<T>(rounds: number, sides: (() => Promise<T>)[]): Promise<T[][]> {
  const out: T[][] = sides.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < sides.length; k++) {
      const i = (k + r) % sides.length;
      out[i]!.push(await sides[i]!());
    }
  }
  return out;
}

/** QD 1 pread/pwrite over the file for `ms`, optionally with one copy per I/O; MB/s. */
function positional(
  fd: number,
  size: number,
  bs: number,
  write: boolean,
  withCopy: boolean,
  ms: number,
  io: Uint8Array,
  set: Uint8Array,
): number {
  const blocks = Math.floor(size / bs);
  const slots = Math.floor(set.length / bs);
  const b = io.subarray(0, bs);
  let n = 0;
  let bytes = 0;
  const t0 = performance.now();
  const end = t0 + ms;
  let now = t0;
  while (now < end) {
    for (let k = 0; k < 16; k++, n++) {
      const off = BigInt((n % blocks) * bs);
      const d = set.subarray((n % slots) * bs, (n % slots) * bs + bs);
      if (write) {
        if (withCopy) b.set(d);
        bytes += Number(libc.symbols.pwrite(fd, b, BigInt(bs), off));
      } else {
        bytes += Number(libc.symbols.pread(fd, b, BigInt(bs), off));
        if (withCopy) d.set(b);
      }
    }
    now = performance.now();
  }
  return bytes / ((now - t0) / 1000) / 1e6;
}

/** TypedArray.set of `bs` blocks over the working set for `ms`; GB/s. */
function memcpy(bs: number, ms: number, src: Uint8Array, set: Uint8Array): number {
  const slots = Math.floor(set.length / bs);
  const s = src.subarray(0, bs);
  let n = 0;
  const t0 = performance.now();
  const end = t0 + ms;
  let now = t0;
  while (now < end) {
    for (let k = 0; k < 16; k++, n++) set.set(s, (n % slots) * bs);
    now = performance.now();
  }
  return (n * bs) / ((now - t0) / 1000) / 1e9;
}

type Run = DeviceRun;

function machine(): HeadlineReport["machine"] {
  let cpu = "unknown";
  try {
    cpu = /model name\s*:\s*(.*)/.exec(Deno.readTextFileSync("/proc/cpuinfo"))?.[1] ?? cpu;
  } catch { /* not Linux */ }
  return {
    cpu,
    cores: navigator.hardwareConcurrency,
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    date: new Date().toISOString(),
    loadStart: loadAvg(),
    loadEnd: "",
  };
}

/** Options of {@linkcode runHeadline}. */
export interface HeadlineOptions {
  /** The short run (recorded in the report). */
  quick: boolean;
  /** Time per side per round, ms. */
  timeMs: number;
  /** Alternating rounds. */
  rounds: number;
  /** Backing file size. */
  size: number;
  /** Where the backing file lives. */
  dir: string;
  /** The native io_uring data backend (else the sync one). */
  native: boolean;
  /** Run `bench/native_vs_fio.ts` too. */
  fio: boolean;
  /** Seconds per side of native vs fio. */
  fioSeconds: number;
  /** Rounds of native vs fio. */
  fioRounds: number;
  /** Progress output. */
  log: (line: string) => void;
}

/**
 * Runs the whole harness.
 *
 * @param options Time per run, rounds, file size and place, backend, fio, progress output.
 * @returns The report.
 */
export async function runHeadline(options: HeadlineOptions): Promise<HeadlineReport> {
  const { timeMs, rounds, size, native, log } = options;
  const t = `time=${timeMs / 1000}s`;
  const path = Deno.makeTempFileSync({
    dir: options.dir,
    prefix: "ublk-headline-",
    suffix: ".img",
  });
  const io = allocIoMemory(1 << 20);
  const set = allocIoMemory(COPY_SET);
  const aligned = (b: Uint8Array): string =>
    isIoAligned(b) ? "page-aligned" : isIoAligned(b, 64) ? "64 B-aligned" : "NOT aligned";
  const backend = native ? "native io_uring data backend" : "sync data backend";
  const report: HeadlineReport = {
    machine: machine(),
    options: { quick: options.quick, timeMs, rounds, size, dir: options.dir, native },
    sides: {
      limits: `one thread, QD 1, libc pread/pwrite via FFI into ${aligned(io)} memory ` +
        `(allocIoMemory); copy floor adds one TypedArray.set from/to a ${aligned(set)} 64 MiB set`,
      loop: `loop target, ${backend}, one queue, queue depth 16, sequential, workload through ` +
        "the block device's O_DIRECT handle with page-aligned buffers (allocIoMemory); server " +
        "buffers from the queue's page-aligned arena",
      pread4k: `plain pread QD 1 into page-aligned memory vs loop fused QD 32 (${backend})`,
    },
    modes: [...MODES],
    ioMemory: ioMemoryInfo(),
    rows: [],
    extras: [],
    nativeVsFio: null,
  };
  try {
    log(`headline: backing file ${path} (${formatSize(size)}), ${rounds} rounds of ${t}`);
    log(`  limits: ${report.sides.limits}`);
    log(`  loop  : ${report.sides.loop}`);
    {
      const f = Deno.openSync(path, { write: true });
      const chunk = new Uint8Array(1 << 20);
      for (let off = 0; off < size; off += chunk.length) {
        crypto.getRandomValues(chunk.subarray(0, 65536));
        f.writeSync(chunk.subarray(0, Math.min(chunk.length, size - off)));
      }
      f.close();
    }
    const fd = libc.symbols.open(new TextEncoder().encode(`${path}\0`), O_RDWR);
    if (fd < 0) throw new Error(`Cannot open "${path}"`);
    set.fill(0x5a);
    const loop = {
      type: "loop",
      file: path,
      depth: "16",
      ...(native ? {} : { "buffered-io": true }),
    };
    // Warm the JIT on every path so the first measured group is not penalised.
    positional(fd, size, 65536, false, true, 200, io, set);
    memcpy(65536, 100, io, set);
    for (const m of MODES) {
      await onDevice({ ...loop, ...m.options }, native, "rw=randrw,bs=64k,qd=16,time=0.3s");
    }
    for (const bs of BLOCK_SIZES) {
      for (const rw of ["read", "write"] as const) {
        const w = rw === "write";
        const half = Math.max(100, timeMs / 2);
        const [ceil, floor, mc] = await alternate(rounds, [
          () => Promise.resolve(positional(fd, size, bs, w, false, half, io, set)),
          () => Promise.resolve(positional(fd, size, bs, w, true, half, io, set)),
          () => Promise.resolve(memcpy(bs, half / 2, io, set)),
        ]);
        const limits: Limits = {
          ceilingMBps: median(ceil!),
          floorMBps: median(floor!),
          memcpyGBps: median(mc!),
          ceilingRatio: median(ceil!) / median(floor!),
        };
        const spec = `rw=${rw},bs=${formatSize(bs)},qd=16,${t}`;
        const runs = await alternate(
          rounds,
          MODES.map((m) => () => onDevice({ ...loop, ...m.options }, native, spec)),
        );
        const modes: Record<string, ModeFigures> = {};
        const copyMBps = median(runs[0]!.map((x) => x.r.mbps));
        MODES.forEach((m, i) => {
          const rs = runs[i]!;
          const mbps = median(rs.map((x) => x.r.mbps));
          modes[m.name] = {
            mbps,
            cpuSecPerGB: median(rs.map((x) => x.cpuSec / (x.r.bytes / 1e9))),
            p50Us: median(rs.map((x) => x.r.latP50Ns / 1000)),
            p99Us: median(rs.map((x) => x.r.latP99Ns / 1000)),
            ratioToCopy: mbps / copyMBps,
            ratioToCeiling: mbps / limits.ceilingMBps,
          };
        });
        const row: HeadlineRow = { bs, rw, limits, modes };
        report.rows.push(row);
        log(rowLine(row));
      }
    }
    {
      const plain: WorkloadDevice = {
        size,
        read: (off, b) =>
          Promise.resolve(Number(libc.symbols.pread(fd, b, BigInt(b.length), BigInt(off)))),
        write: () => Promise.resolve(-95),
      };
      const [pr, lp] = await alternate(rounds, [
        async () => ({
          r: await runWorkload(plain, parseWorkloadSpec(`rw=randread,bs=4k,qd=1,${t}`)),
          cpuSec: 0,
        }),
        () => onDevice({ ...loop, "zero-copy": true }, native, `rw=randread,bs=4k,qd=32,${t}`),
      ]);
      const ratio = median(lp!.map((x) => x.r.iops)) / median(pr!.map((x) => x.r.iops));
      report.extras.push({
        name: "loop fused 4k randread QD32 / pread QD1 (IOPS)",
        value: ratio,
        unit: "x",
        goal: ">= 0.6",
      });
      const [nl] = await alternate(rounds, [
        () => onDevice({ type: "null", depth: "128" }, native, `rw=randread,bs=4k,qd=128,${t}`),
      ]);
      report.extras.push({
        name: "null 4k randread QD128, one queue",
        value: median(nl!.map((x) => x.r.iops)),
        unit: "IOPS",
        goal: ">= 750000",
      });
      for (const e of report.extras) log(`${e.name}: ${fmt(e.value)} ${e.unit} (goal ${e.goal})`);
    }
    libc.symbols.close(fd);
  } finally {
    Deno.removeSync(path);
  }
  if (options.fio) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("./native_vs_fio.ts", import.meta.url).pathname,
        "--json",
        "--seconds",
        String(options.fioSeconds),
        "--rounds",
        String(options.fioRounds),
        "--size-mib",
        String(Math.max(64, Math.min(1024, size >> 20))),
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stderr);
    for (const l of text.split("\n").filter((l) => l.trim() !== "")) log(`native_vs_fio: ${l}`);
    try {
      if (!out.success) throw new Error(text.trim().split("\n").at(-1) ?? "failed");
      report.nativeVsFio = JSON.parse(new TextDecoder().decode(out.stdout)) as NativeVsFio;
    } catch (e) {
      report.nativeVsFioError = (e as Error).message;
    }
  }
  report.machine.loadEnd = loadAvg();
  return report;
}

function fmt(n: number): string {
  return n >= 1000 ? Math.round(n).toLocaleString("en-US") : n.toFixed(2);
}

function rowLine(r: HeadlineRow): string {
  const parts = MODES.map((m) => {
    const f = r.modes[m.name]!;
    return `${m.name} ${fmt(f.mbps)} (${f.ratioToCopy.toFixed(2)}x copy, ${
      f.ratioToCeiling.toFixed(2)
    } of ceiling)`;
  });
  return `${formatSize(r.bs).padStart(5)} ${r.rw.padEnd(5)} ceiling ${
    fmt(r.limits.ceilingMBps)
  } MB/s, floor ${fmt(r.limits.floorMBps)} (max ratio ${r.limits.ceilingRatio.toFixed(2)}x); ${
    parts.join(", ")
  }`;
}

/**
 * The report as a markdown document.
 *
 * @param rep The report.
 * @returns Markdown.
 */
export function toMarkdown(rep: HeadlineReport): string {
  const m = rep.machine;
  const o = rep.options;
  const lines = [
    "# Headline: loop target against its limits",
    "",
    `Made ${m.date} on ${m.cpu} (${m.cores} cores), Linux ${m.kernel}, Deno ${m.deno}; load ` +
    `average ${m.loadStart} at start, ${m.loadEnd} at end. ${o.quick ? "Quick run. " : ""}` +
    `Backing file in ${o.dir} (${formatSize(o.size)}), ${o.rounds} alternating rounds of ` +
    `${o.timeMs / 1000} s per side, medians. I/O memory: ${rep.ioMemory.provider}${
      rep.ioMemory.addressesKnown ? ", real addresses known" : ""
    }.`,
    "",
    `- Limits: ${rep.sides.limits}.`,
    `- Loop: ${rep.sides.loop}.`,
    `- 4K: ${rep.sides.pread4k}.`,
    "",
    "Limits (ceiling = pread/pwrite, floor = the same plus one copy; max ratio = ceiling / floor):",
    "",
    "| bs | rw | ceiling MB/s | floor MB/s | memcpy GB/s | max ratio |",
    "| -: | -- | -: | -: | -: | -: |",
  ];
  for (const r of rep.rows) {
    lines.push(
      `| ${formatSize(r.bs)} | ${r.rw} | ${fmt(r.limits.ceilingMBps)} | ${
        fmt(r.limits.floorMBps)
      } | ${r.limits.memcpyGBps.toFixed(1)} | ${r.limits.ceilingRatio.toFixed(2)}x |`,
    );
  }
  lines.push(
    "",
    "Loop target per data mode (CPU: user + system seconds of the process per GB moved):",
    "",
    "| bs | rw | mode | MB/s | / copy | / ceiling | CPU s/GB | p50 µs | p99 µs |",
    "| -: | -- | -- | -: | -: | -: | -: | -: | -: |",
  );
  for (const r of rep.rows) {
    for (const mode of rep.modes) {
      const f = r.modes[mode.name];
      if (f === undefined) continue;
      lines.push(
        `| ${formatSize(r.bs)} | ${r.rw} | ${mode.name} | ${fmt(f.mbps)} | ${
          f.ratioToCopy.toFixed(2)
        }x | ${f.ratioToCeiling.toFixed(2)} | ${f.cpuSecPerGB.toFixed(2)} | ${
          f.p50Us.toFixed(0)
        } | ${f.p99Us.toFixed(0)} |`,
      );
    }
  }
  lines.push("", ...goalLines(rep));
  lines.push("", "| extra | value | goal |", "| -- | -: | -: |");
  for (const e of rep.extras) lines.push(`| ${e.name} | ${fmt(e.value)} ${e.unit} | ${e.goal} |`);
  const n = rep.nativeVsFio;
  if (n !== null) {
    lines.push(
      "",
      `Native ring vs fio, ${n.bs} B random reads, QD ${n.qd} (\`bench/native_vs_fio.ts\`, ` +
        "same run, sides alternated):",
      "",
      `- native: ${n.sides.native}.`,
      `- fio: ${n.sides.fio}.`,
      "",
      "| side | loop and setup flags | IOPS | / fio | FFI calls per read | goal |",
      "| -- | -- | -: | -: | -: | -: |",
    );
    const goals: Record<string, string> = { enter: ">= 0.95x", async: ">= 0.8x" };
    for (const [k, v] of Object.entries(n.native)) {
      lines.push(
        `| ${k} | ${v.label} | ${fmt(v.iops)} | ${v.ratioToFio.toFixed(2)}x | ${
          v.ffiCallsPerIo.toFixed(2)
        } | ${goals[k] ?? ""} |`,
      );
    }
    lines.push(`| fio | io_uring engine | ${fmt(n.fio.iops)} | 1.00x | | |`);
  } else if (rep.nativeVsFioError !== undefined) {
    lines.push("", `Native ring vs fio: not measured (${rep.nativeVsFioError}).`);
  }
  lines.push("", "![ratio to copy vs block size](headline.svg)", "");
  return lines.join("\n");
}

/** The issue's goals for the loop rows (bench goals, never asserted in tests). */
function goalLines(rep: HeadlineReport): string[] {
  const out = ["Goals of issue 13 (measured here, read / write):", ""];
  const line = (what: string, bs: number, pick: "copy" | "ceiling", goal: number): void => {
    const rs = (["read", "write"] as const).map((rw) =>
      rep.rows.find((r) => r.bs === bs && r.rw === rw)
    );
    const vs: number[] = [];
    const ceil: number[] = [];
    for (const r of rs) {
      const f = r?.modes.fused;
      if (r === undefined || f === undefined) return;
      vs.push(pick === "copy" ? f.ratioToCopy : f.ratioToCeiling);
      ceil.push(r.limits.ceilingRatio);
    }
    const note = pick === "copy"
      ? `; the ceiling here ${ceil.map((c) => c.toFixed(2)).join(" / ")}`
      : "";
    out.push(
      `- ${what} at ${formatSize(bs)}: ${vs.map((v) => v.toFixed(2)).join(" / ")} (goal >= ${
        goal.toFixed(2)
      }${note}): ${vs.every((v) => v >= goal) ? "met" : "not met"}`,
    );
  };
  line("fused / copy", 512 * 1024, "copy", 1.6);
  line("fused / copy", 65536, "copy", 1.3);
  line("fused / pread ceiling", 512 * 1024, "ceiling", 0.9);
  return out;
}

/**
 * The chart: each mode's MB/s over copy's against block size (log scale), one panel per
 * direction, one line per mode, the ceiling (ceiling / floor) dashed.
 *
 * @param rep The report.
 * @returns SVG text.
 */
export function toSvg(rep: HeadlineReport): string {
  const PW = 340, H = 392, L = 52, R = 16, T = 58, B = 78, GAP = 20;
  const W = 2 * (L + PW + R) + GAP;
  const xs = BLOCK_SIZES;
  const all = rep.rows.flatMap((r) => [
    r.limits.ceilingRatio,
    ...Object.values(r.modes).map((f) => f.ratioToCopy),
  ]);
  const ymax = Math.ceil(Math.max(2, ...all) * 1.1 * 2) / 2;
  const y = (v: number): number => H - B - (v / ymax) * (H - T - B);
  const m = rep.machine;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${L}" y="18" font-size="14">ublk loop target: MB/s of each data mode / copy, vs block size</text>`,
    `<text x="${L}" y="34" font-size="10" fill="#555">${
      esc(
        `${
          m.date.slice(0, 16).replace("T", " ")
        } UTC, ${m.cpu}, ${m.cores} cores, Linux ${m.kernel}, load ${m.loadStart}; ${
          rep.options.native ? "native" : "sync"
        } backend, QD 16, aligned`,
      )
    }</text>`,
  ];
  (["read", "write"] as const).forEach((rw, panel) => {
    const x0 = panel * (L + PW + R + GAP) + L;
    const x = (bs: number): number =>
      x0 + (Math.log2(bs / xs[0]!) / Math.log2(xs.at(-1)! / xs[0]!)) * PW;
    const rows = rep.rows.filter((r) => r.rw === rw);
    out.push(
      `<text x="${x0 + PW / 2}" y="${T - 8}" text-anchor="middle" font-weight="bold">${rw}</text>`,
      `<line x1="${x0}" y1="${H - B}" x2="${x0 + PW}" y2="${H - B}" stroke="black"/>`,
      `<line x1="${x0}" y1="${T}" x2="${x0}" y2="${H - B}" stroke="black"/>`,
    );
    for (let v = 0; v <= ymax + 1e-9; v += 0.5) {
      out.push(`<line x1="${x0 - 4}" y1="${y(v)}" x2="${x0 + PW}" y2="${y(v)}" stroke="#eee"/>`);
      out.push(`<text x="${x0 - 8}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(1)}x</text>`);
    }
    for (const bs of xs) {
      out.push(
        `<text x="${x(bs)}" y="${H - B + 16}" text-anchor="middle">${formatSize(bs)}</text>`,
      );
    }
    const series = rep.modes.map((mode, i) => ({
      name: mode.name,
      color: MODE_COLORS[i % MODE_COLORS.length]!,
      dash: false,
      pts: rows.filter((r) => r.modes[mode.name]).map((r) =>
        [r.bs, r.modes[mode.name]!.ratioToCopy] as [number, number]
      ),
    }));
    series.push({
      name: "ceiling (pread / pread+copy)",
      color: "#d62728",
      dash: true,
      pts: rows.map((r) => [r.bs, r.limits.ceilingRatio] as [number, number]),
    });
    for (const s of series) {
      const d = s.pts.map((p, k) =>
        `${k === 0 ? "M" : "L"}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`
      ).join(" ");
      out.push(
        `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${
          s.dash ? ' stroke-dasharray="6 4"' : ""
        }/>`,
      );
      for (const p of s.pts) {
        out.push(
          `<circle cx="${x(p[0]).toFixed(1)}" cy="${y(p[1]).toFixed(1)}" r="3" fill="${s.color}"/>`,
        );
      }
    }
    if (panel === 0) {
      series.forEach((s, i) => {
        const lx = L + (i % 3) * 210;
        const ly = H - 30 + Math.floor(i / 3) * 16;
        out.push(
          `<line x1="${lx}" y1="${ly}" x2="${
            lx + 24
          }" y2="${ly}" stroke="${s.color}" stroke-width="2"${
            s.dash ? ' stroke-dasharray="6 4"' : ""
          }/>`,
          `<text x="${lx + 30}" y="${ly + 4}">${esc(s.name)}</text>`,
        );
      });
    }
  });
  out.push(
    `<text x="${W / 2}" y="${H - B + 32}" text-anchor="middle">block size</text>`,
    "</svg>",
  );
  return out.join("\n") + "\n";
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

const USAGE = {
  name: "bench/headline.ts",
  usage: `Usage: deno run -A bench/headline.ts [options]   (deno task bench:headline)

The loop target in each data mode (copy, user copy, RFC fused, register-buf, auto-buf-reg zero
copy) at 4k/64k/512k/1m, read and write, sequential QD 16 through O_DIRECT with page-aligned
buffers on every side, beside pread/pwrite ceilings and the copy floor; medians of alternated
rounds; ratios to copy. Writes headline.{md,json,svg}.

Options:
  --quick          0.2 s x 1 round, 64 MiB, short fio; output to a temporary directory
  --time D         time per side per round (default 1s; --quick 0.2s)
  --rounds N       rounds, alternating who goes first (default 3; --quick 1)
  --size S         backing file size (default 256m; --quick 64m)
  --dir DIR        where the backing file lives (default /dev/shm)
  --native         the loop target's data backend on the real io_uring (default: the sync one)
  --no-fio         skip the native-ring-vs-fio group
  --out DIR        output directory (default bench/results, --quick: a temporary one)
  -h, --help       this text`,
};

if (import.meta.main) {
  const values = benchArgs(USAGE, Deno.args, {
    quick: { type: "boolean", default: false },
    time: { type: "string" },
    rounds: { type: "string" },
    size: { type: "string" },
    dir: { type: "string", default: "/dev/shm" },
    native: { type: "boolean", default: false },
    "no-fio": { type: "boolean", default: false },
    out: { type: "string" },
  });
  const quick = values.quick!;
  const rep = await runHeadline({
    quick,
    timeMs: unitArg(USAGE, () => parseDuration(values.time ?? (quick ? "0.2s" : "1s"), "--time")),
    rounds: wholeArg(USAGE, "--rounds", values.rounds, quick ? 1 : 3),
    size: unitArg(USAGE, () => parseSize(values.size ?? (quick ? "64m" : "256m"), "--size")),
    dir: values.dir!,
    native: values.native!,
    fio: !values["no-fio"],
    fioSeconds: quick ? 0.3 : 2,
    fioRounds: quick ? 1 : 3,
    log: (l) => console.error(l),
  });
  // The quick run never overwrites the published results unless told to.
  const out = values.out ??
    (quick
      ? Deno.makeTempDirSync({ prefix: "ublk-headline-quick-" })
      : new URL("./results", import.meta.url).pathname);
  Deno.mkdirSync(out, { recursive: true });
  const md = toMarkdown(rep);
  Deno.writeTextFileSync(`${out}/headline.md`, md);
  Deno.writeTextFileSync(`${out}/headline.json`, JSON.stringify(rep, null, 2) + "\n");
  Deno.writeTextFileSync(`${out}/headline.svg`, toSvg(rep));
  // Formatted as the repository's `deno fmt --check` wants them (tables aligned, lines wrapped).
  await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", `${out}/headline.md`, `${out}/headline.json`, `${out}/headline.svg`],
  }).output();
  console.log(md);
  console.error(`headline: wrote ${out}/headline.{md,json,svg}`);
}
