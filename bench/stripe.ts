/**
 * Stripe vs one file (issue 16): the stripe target over 2 tmpfs files against the loop target
 * over one file of the same total size, each in copy mode and with RFC fused zero copy (`-z`:
 * every piece of a 512 KiB request is a fused slave on its own sub-range of the lent pages).
 *
 * Side by side in one run: the four devices take turns (`--rounds` times, rotating who goes
 * first), each round a fresh device running the same workload — sequential 512 KiB reads and
 * writes at the same queue depth through the block device's O_DIRECT handle with page-aligned
 * buffers (the workload engine's default) — and the table shows medians: MB/s, CPU seconds per
 * GB (the whole process: workload, model kernel and server), p50/p99 latency, and the ratio to
 * the one-file copy-mode figure. On a shared machine only the ratios of one run mean something;
 * the load average is printed at start and end.
 *
 * Usage: `deno run -A bench/stripe.ts [--quick] [--time 1s] [--rounds 3] [--size 64m]
 * [--chunk 64k] [--qd 16] [--bs 512k] [--dir /dev/shm] [--native] [--json]`
 * (`deno task bench:stripe`).
 *
 * @module
 */

import { benchArgs, unitArg, wholeArg } from "./_cli.ts";
import { formatSize, parseDuration, parseSize } from "../apps/ublk/units.ts";
import { loadAvg, onDevice } from "./_device_run.ts";

interface Side {
  name: string;
  raw: (files: Files) => Record<string, string | boolean | string[]>;
}

interface Files {
  one: string;
  legs: string[];
}

interface Figures {
  mbps: number;
  cpuPerGb: number;
  p50Us: number;
  p99Us: number;
}

const SIDES: readonly Side[] = [
  { name: "1 file, copy", raw: (f) => ({ type: "loop", file: f.one }) },
  { name: "1 file, zero copy", raw: (f) => ({ type: "loop", file: f.one, "zero-copy": true }) },
  { name: "stripe 2, copy", raw: (f) => ({ type: "stripe", leg: f.legs }) },
  {
    name: "stripe 2, zero copy",
    raw: (f) => ({ type: "stripe", leg: f.legs, "zero-copy": true }),
  },
];

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function once(
  raw: Record<string, string | boolean | string[]>,
  native: boolean,
  spec: string,
): Promise<Figures> {
  const { r, cpuSec } = await onDevice(raw, native, spec);
  return {
    mbps: r.mbps,
    cpuPerGb: cpuSec / (r.bytes / 1e9),
    p50Us: r.latP50Ns / 1000,
    p99Us: r.latP99Ns / 1000,
  };
}

/** The bench's options. */
export interface StripeBenchOptions {
  time: number;
  rounds: number;
  size: number;
  chunk: number;
  qd: number;
  bs: number;
  dir: string;
  native: boolean;
}

/** One row: a direction and each side's median figures. */
export interface StripeBenchRow {
  rw: "read" | "write";
  sides: { name: string; figures: Figures; rounds: number[] }[];
}

/**
 * Runs the bench.
 *
 * @param o The options.
 * @returns One row per direction.
 */
export async function runStripeBench(o: StripeBenchOptions): Promise<StripeBenchRow[]> {
  const mk = async (size: number): Promise<string> => {
    const p = await Deno.makeTempFile({ dir: o.dir, prefix: "bench_stripe_" });
    // Allocated, not sparse: reads then move real pages.
    const f = await Deno.open(p, { write: true });
    const chunk = new Uint8Array(1 << 20).fill(0x5a);
    for (let done = 0; done < size; done += chunk.length) {
      await f.write(chunk.subarray(0, Math.min(chunk.length, size - done)));
    }
    f.close();
    return p;
  };
  const files: Files = {
    one: await mk(o.size),
    legs: [await mk(o.size / 2), await mk(o.size / 2)],
  };
  const rows: StripeBenchRow[] = [];
  try {
    for (const rw of ["read", "write"] as const) {
      const spec = `rw=${rw},bs=${o.bs},qd=${o.qd},time=${o.time}ms`;
      const per: Figures[][] = SIDES.map(() => []);
      for (let r = 0; r < o.rounds; r++) {
        for (let k = 0; k < SIDES.length; k++) {
          const i = (k + r) % SIDES.length;
          const side = SIDES[i]!;
          const raw = side.raw(files);
          if (raw.type === "stripe") raw.chunk = String(o.chunk);
          per[i]!.push(await once(raw, o.native, spec));
        }
      }
      rows.push({
        rw,
        sides: SIDES.map((s, i) => ({
          name: s.name,
          rounds: per[i]!.map((f) => f.mbps),
          figures: {
            mbps: median(per[i]!.map((f) => f.mbps)),
            cpuPerGb: median(per[i]!.map((f) => f.cpuPerGb)),
            p50Us: median(per[i]!.map((f) => f.p50Us)),
            p99Us: median(per[i]!.map((f) => f.p99Us)),
          },
        })),
      });
    }
  } finally {
    for (const p of [files.one, ...files.legs]) await Deno.remove(p).catch(() => {});
  }
  return rows;
}

const USAGE = {
  name: "bench/stripe.ts",
  usage: `Usage: deno run -A bench/stripe.ts [options]   (deno task bench:stripe)

Stripe over 2 files vs loop over 1 file of the same total size, each in copy mode and with RFC
fused zero copy; sequential reads and writes through O_DIRECT with page-aligned buffers, the same
queue depth and block size on every side; medians of rotated rounds, ratios to 1-file copy.

Options:
  --quick          300 ms x 1 round, 32 MiB
  --time D         time per side per round (default 1s)
  --rounds N       rounds (default 3; --quick 1)
  --size S         total size (default 128m; --quick 32m)
  --chunk S        stripe chunk (default 64k)
  --qd N           queue depth (default 16)
  --bs S           block size (default 512k)
  --dir DIR        where the files live (default /dev/shm)
  --native         the data backend on the real io_uring (default: the sync one)
  --json           one JSON document on stdout instead of the table
  -h, --help       this text`,
};

if (import.meta.main) {
  const v = benchArgs(USAGE, Deno.args, {
    quick: { type: "boolean" },
    time: { type: "string" },
    rounds: { type: "string" },
    size: { type: "string" },
    chunk: { type: "string" },
    qd: { type: "string" },
    bs: { type: "string" },
    dir: { type: "string" },
    native: { type: "boolean" },
    json: { type: "boolean" },
  });
  const quick = v.quick === true;
  const o: StripeBenchOptions = {
    time: unitArg(USAGE, () => parseDuration(v.time ?? (quick ? "300ms" : "1s"), "--time")),
    rounds: wholeArg(USAGE, "--rounds", v.rounds, quick ? 1 : 3),
    size: unitArg(USAGE, () => parseSize(v.size ?? (quick ? "32m" : "128m"), "--size")),
    chunk: unitArg(USAGE, () => parseSize(v.chunk ?? "64k", "--chunk")),
    qd: wholeArg(USAGE, "--qd", v.qd, 16),
    bs: unitArg(USAGE, () => parseSize(v.bs ?? "512k", "--bs")),
    dir: v.dir ?? "/dev/shm",
    native: v.native === true,
  };
  const load0 = loadAvg();
  const rows = await runStripeBench(o);
  const load1 = loadAvg();
  if (v.json) {
    console.log(JSON.stringify({ options: o, load: [load0, load1], rows }));
  } else {
    console.log(
      `stripe over 2 files vs 1 file, ${formatSize(o.bs)} sequential, QD ${o.qd}, chunk ${
        formatSize(o.chunk)
      }, ${formatSize(o.size)} in ${o.dir}, ${
        o.native ? "native" : "sync"
      } backend, ${o.rounds} round(s) of ${o.time} ms, medians; load ${load0} -> ${load1}`,
    );
    console.log(
      "rw     side                     MB/s   x 1-file copy   CPU s/GB   p50 us    p99 us",
    );
    for (const row of rows) {
      const base = row.sides[0]!.figures.mbps;
      for (const s of row.sides) {
        const f = s.figures;
        console.log(
          `${row.rw.padEnd(6)} ${s.name.padEnd(22)} ${f.mbps.toFixed(0).padStart(7)} ${
            (f.mbps / base).toFixed(2).padStart(14)
          } ${f.cpuPerGb.toFixed(2).padStart(10)} ${f.p50Us.toFixed(0).padStart(8)} ${
            f.p99Us.toFixed(0).padStart(9)
          }`,
        );
      }
    }
  }
}
