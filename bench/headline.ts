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
 * - the loop target in each data mode (copy, fused = RFC zero copy), sequential, QD 16, through
 *   the block device's O_DIRECT handle with page-aligned buffers (the workload's default): MB/s,
 *   CPU seconds per GB (getrusage of the process: user + system), p50/p99 latency, the ratio to
 *   copy and to the ceiling;
 * - plus loop 4 KiB random reads QD 32 vs plain `pread` QD 1, null 4 KiB random reads QD 128,
 *   and native ring vs fio (`bench/native_vs_fio.ts`, both sides aligned: fio `--mem=mmap`).
 *
 * Every pair alternates which side runs first, `--rounds` times, and keeps medians.
 * Output: a table on stdout, and `bench/results/headline.{md,json,svg}` (ratio vs block size,
 * one line per mode, the ceiling dashed).
 *
 * Usage: `deno run -A bench/headline.ts [--time 1s] [--rounds 3] [--size 256m] [--dir /dev/shm]
 * [--native] [--no-fio] [--out bench/results]`
 *
 * @module
 */

import { parseArgs } from "node:util";
import process from "node:process";
import { allocIoMemory, ioMemoryInfo } from "@ublk-ts/rsrc";
import { checkDeviceOptions } from "../apps/ublk/device_options.ts";
import { openStack } from "../apps/ublk/stack.ts";
import { formatSize, parseDuration, parseSize } from "../apps/ublk/units.ts";
import {
  parseWorkloadSpec,
  runWorkload,
  type WorkloadDevice,
  type WorkloadResult,
} from "../apps/ublk/workload.ts";

const libc = Deno.dlopen("libc.so.6", {
  pread: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
  pwrite: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
  open: { parameters: ["buffer", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
});
const O_RDWR = 2;

/** The block sizes of the table. */
export const BLOCK_SIZES: readonly number[] = [4096, 65536, 512 * 1024, 1 << 20];
/** The data modes of the loop target (the upstream ones join once they exist). */
export const MODES: readonly ("copy" | "fused")[] = ["copy", "fused"];
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

/** Everything one run measured. */
export interface HeadlineReport {
  /** Where and when. */
  machine: { cpu: string; cores: number; kernel: string; deno: string; date: string };
  /** The options of the run. */
  options: { timeMs: number; rounds: number; size: number; dir: string; native: boolean };
  /** The allocator's state (provider, whether real addresses are known). */
  ioMemory: { provider: string; addressesKnown: boolean };
  /** The table. */
  rows: HeadlineRow[];
  /** Extra comparisons with their goals. */
  extras: { name: string; value: number; unit: string; goal: string }[];
  /** `bench/native_vs_fio.ts` lines (empty when skipped). */
  nativeVsFio: string[];
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

interface Run {
  r: WorkloadResult;
  cpuSec: number;
}

async function onDevice(
  raw: Record<string, string | boolean>,
  native: boolean,
  spec: string,
): Promise<Run> {
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
  };
}

/**
 * Runs the whole harness.
 *
 * @param options Time per run, rounds, file size and place, backend, fio, progress output.
 * @returns The report.
 */
export async function runHeadline(options: {
  timeMs: number;
  rounds: number;
  size: number;
  dir: string;
  native: boolean;
  fio: boolean;
  log: (line: string) => void;
}): Promise<HeadlineReport> {
  const { timeMs, rounds, size, native, log } = options;
  const t = `time=${timeMs / 1000}s`;
  const path = Deno.makeTempFileSync({
    dir: options.dir,
    prefix: "ublk-headline-",
    suffix: ".img",
  });
  const report: HeadlineReport = {
    machine: machine(),
    options: { timeMs, rounds, size, dir: options.dir, native },
    ioMemory: ioMemoryInfo(),
    rows: [],
    extras: [],
    nativeVsFio: [],
  };
  try {
    log(`headline: backing file ${path} (${formatSize(size)}), ${rounds} rounds of ${t}`);
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
    const io = allocIoMemory(1 << 20);
    const set = allocIoMemory(COPY_SET);
    set.fill(0x5a);
    const loop = {
      type: "loop",
      file: path,
      depth: "16",
      ...(native ? {} : { "buffered-io": true }),
    };
    // Warm the JIT on every path so the first measured pair is not penalised.
    positional(fd, size, 65536, false, true, 200, io, set);
    memcpy(65536, 100, io, set);
    for (const z of [false, true]) {
      await onDevice(
        { ...loop, ...(z ? { "zero-copy": true } : {}) },
        native,
        "rw=randrw,bs=64k,qd=16,time=0.5s",
      );
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
          MODES.map((m) => () =>
            onDevice({ ...loop, ...(m === "fused" ? { "zero-copy": true } : {}) }, native, spec)
          ),
        );
        const modes: Record<string, ModeFigures> = {};
        const copyMBps = median(runs[0]!.map((x) => x.r.mbps));
        MODES.forEach((m, i) => {
          const rs = runs[i]!;
          const mbps = median(rs.map((x) => x.r.mbps));
          modes[m] = {
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
        "--seconds",
        String(Math.max(1, timeMs / 1000)),
        "--rounds",
        String(rounds),
        "--size-mib",
        "256",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.success ? out.stdout : out.stderr);
    report.nativeVsFio = text.split("\n").filter((l) => l.trim() !== "");
    for (const l of report.nativeVsFio) log(`native_vs_fio: ${l}`);
  }
  return report;
}

function fmt(n: number): string {
  return n >= 1000 ? Math.round(n).toLocaleString("en-US") : n.toFixed(2);
}

function rowLine(r: HeadlineRow): string {
  const c = r.modes.copy!;
  const f = r.modes.fused!;
  return `${formatSize(r.bs).padStart(5)} ${r.rw.padEnd(5)} ceiling ${
    fmt(r.limits.ceilingMBps)
  } MB/s, floor ${fmt(r.limits.floorMBps)} (max ratio ${r.limits.ceilingRatio.toFixed(2)}x), copy ${
    fmt(c.mbps)
  }, fused ${fmt(f.mbps)} MB/s: fused/copy ${f.ratioToCopy.toFixed(2)}x, fused/ceiling ${
    f.ratioToCeiling.toFixed(2)
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
    `Made ${m.date} on ${m.cpu} (${m.cores} cores), Linux ${m.kernel}, Deno ${m.deno}; backing file ` +
    `in ${o.dir} (${formatSize(o.size)}), ${o.native ? "native" : "sync"} data backend, ` +
    `${o.rounds} alternating rounds of ${o.timeMs / 1000} s per side, medians. I/O memory: ` +
    `${rep.ioMemory.provider}${
      rep.ioMemory.addressesKnown ? ", page-aligned real addresses" : ""
    }. ` +
    "Loop: sequential, QD 16, one queue, O_DIRECT handle of the block device. Limits: one " +
    "thread, QD 1, pread/pwrite of the same file (ceiling), plus one copy over a 64 MiB set (floor).",
    "",
    "| bs | rw | ceiling MB/s | floor MB/s | memcpy GB/s | max ratio | copy MB/s | fused MB/s | fused/copy | fused/ceiling | copy CPU s/GB | fused CPU s/GB | copy p50/p99 µs | fused p50/p99 µs |",
    "| -: | -- | -: | -: | -: | -: | -: | -: | -: | -: | -: | -: | -: | -: |",
  ];
  for (const r of rep.rows) {
    const c = r.modes.copy!;
    const f = r.modes.fused!;
    lines.push(
      `| ${formatSize(r.bs)} | ${r.rw} | ${fmt(r.limits.ceilingMBps)} | ${
        fmt(r.limits.floorMBps)
      } | ${r.limits.memcpyGBps.toFixed(1)} | ${r.limits.ceilingRatio.toFixed(2)}x | ${
        fmt(c.mbps)
      } | ${fmt(f.mbps)} | ${f.ratioToCopy.toFixed(2)}x | ${f.ratioToCeiling.toFixed(2)} | ${
        c.cpuSecPerGB.toFixed(2)
      } | ${f.cpuSecPerGB.toFixed(2)} | ${c.p50Us.toFixed(0)} / ${c.p99Us.toFixed(0)} | ${
        f.p50Us.toFixed(0)
      } / ${f.p99Us.toFixed(0)} |`,
    );
  }
  lines.push("", "| extra | value | goal |", "| -- | -: | -: |");
  for (const e of rep.extras) lines.push(`| ${e.name} | ${fmt(e.value)} ${e.unit} | ${e.goal} |`);
  if (rep.nativeVsFio.length > 0) {
    lines.push("", "Native ring vs fio (`bench/native_vs_fio.ts`, same run):", "", "```");
    lines.push(...rep.nativeVsFio, "```");
  }
  lines.push("", "![zero copy / copy vs block size](headline.svg)", "");
  return lines.join("\n");
}

/**
 * The chart: fused / copy against block size (log scale), one line per mode and direction,
 * the ceiling (ceiling / floor) dashed.
 *
 * @param rep The report.
 * @returns SVG text.
 */
export function toSvg(rep: HeadlineReport): string {
  const W = 640, H = 360, L = 56, R = 150, T = 36, B = 44;
  const xs = BLOCK_SIZES;
  const x = (bs: number): number =>
    L + (Math.log2(bs / xs[0]!) / Math.log2(xs.at(-1)! / xs[0]!)) * (W - L - R);
  const series: { name: string; color: string; dash: boolean; pts: [number, number][] }[] = [];
  const colors = { read: "#1f77b4", write: "#d62728" };
  for (const rw of ["read", "write"] as const) {
    const rows = rep.rows.filter((r) => r.rw === rw);
    for (const m of MODES) {
      series.push({
        name: `${m} ${rw}`,
        color: m === "copy" ? "#888" : colors[rw],
        dash: false,
        pts: rows.map((r) => [r.bs, r.modes[m]!.ratioToCopy]),
      });
    }
    series.push({
      name: `ceiling ${rw}`,
      color: colors[rw],
      dash: true,
      pts: rows.map((r) => [r.bs, r.limits.ceilingRatio]),
    });
  }
  const ymax = Math.max(2, ...series.flatMap((s) => s.pts.map((p) => p[1]))) * 1.1;
  const y = (v: number): number => H - B - (v / ymax) * (H - T - B);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${L}" y="20" font-size="14">ublk loop: fused zero copy / copy vs block size (${
      rep.machine.date.slice(0, 10)
    })</text>`,
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="black"/>`,
    `<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="black"/>`,
  ];
  for (let v = 0; v <= ymax; v += 0.5) {
    out.push(`<line x1="${L - 4}" y1="${y(v)}" x2="${W - R}" y2="${y(v)}" stroke="#eee"/>`);
    out.push(`<text x="${L - 8}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(1)}x</text>`);
  }
  for (const bs of xs) {
    out.push(`<text x="${x(bs)}" y="${H - B + 16}" text-anchor="middle">${formatSize(bs)}</text>`);
  }
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 8}" text-anchor="middle">block size</text>`);
  series.forEach((s, i) => {
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
    const ly = T + 10 + i * 18;
    out.push(
      `<line x1="${W - R + 10}" y1="${ly}" x2="${
        W - R + 34
      }" y2="${ly}" stroke="${s.color}" stroke-width="2"${
        s.dash ? ' stroke-dasharray="6 4"' : ""
      }/>`,
    );
    out.push(`<text x="${W - R + 40}" y="${ly + 4}">${s.name}</text>`);
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      time: { type: "string", default: "1s" },
      rounds: { type: "string", default: "3" },
      size: { type: "string", default: "256m" },
      dir: { type: "string", default: "/dev/shm" },
      native: { type: "boolean", default: false },
      "no-fio": { type: "boolean", default: false },
      out: { type: "string", default: new URL("./results", import.meta.url).pathname },
    },
    strict: true,
  });
  const rep = await runHeadline({
    timeMs: parseDuration(values.time!, "--time"),
    rounds: Number(values.rounds),
    size: parseSize(values.size!, "--size"),
    dir: values.dir!,
    native: values.native!,
    fio: !values["no-fio"],
    log: (l) => console.error(l),
  });
  const out = values.out!;
  Deno.mkdirSync(out, { recursive: true });
  const md = toMarkdown(rep);
  Deno.writeTextFileSync(`${out}/headline.md`, md);
  Deno.writeTextFileSync(`${out}/headline.json`, JSON.stringify(rep, null, 2) + "\n");
  Deno.writeTextFileSync(`${out}/headline.svg`, toSvg(rep));
  console.log(md);
  console.error(`headline: wrote ${out}/headline.{md,json,svg}`);
}
