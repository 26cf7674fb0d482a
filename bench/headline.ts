/**
 * The headline comparison, measured side by side in one run:
 *
 * 1. loop over a /dev/shm file: 64 KiB and 512 KiB sequential reads and writes through the
 *    ublk block device, zero copy (`-z`, fused commands) vs copy (goals ≥ 1.3x at 64 KiB,
 *    ≥ 1.5x at 512 KiB);
 * 2. loop 4 KiB random reads at QD 32 vs plain positional reads (`pread(2)`) of the same file
 *    (goal ≥ 0.4);
 * 3. null 512 KiB reads, zero copy vs copy.
 *
 * Each pair runs interleaved `--rounds` times (default 3) after a warm-up, alternating which side
 * goes first; the median of each side is kept, so background load on a small VM skews both
 * sides alike.
 *
 * Usage: `deno run -A bench/headline.ts [--time 2s] [--rounds 3] [--size 256m] [--native] [--json]`
 *
 * @module
 */

import { parseArgs } from "node:util";
import { checkDeviceOptions } from "../apps/ublk/device_options.ts";
import { openStack } from "../apps/ublk/stack.ts";
import { formatSize, parseDuration, parseSize } from "../apps/ublk/units.ts";
import {
  parseWorkloadSpec,
  runWorkload,
  type WorkloadDevice,
  type WorkloadResult,
} from "../apps/ublk/workload.ts";

/** One row of the table. */
export interface HeadlineRow {
  /** What was measured. */
  name: string;
  /** The baseline's MB/s or IOPS. */
  base: number;
  /** The contender's MB/s or IOPS. */
  contender: number;
  /** contender / base. */
  ratio: number;
  /** The goal for the ratio. */
  goal: number;
  /** "MB/s" or "IOPS". */
  unit: string;
  /** Baseline label. */
  baseLabel: string;
  /** Contender label. */
  contenderLabel: string;
}

const libc = Deno.dlopen("libc.so.6", {
  pread: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
  open: { parameters: ["buffer", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
});

/** Plain `pread(2)` on the file, through FFI, as the reference for the loop target. */
function plainFile(path: string, size: number): WorkloadDevice & { close(): void } {
  const fd = libc.symbols.open(new TextEncoder().encode(`${path}\0`), 0);
  if (fd < 0) throw new Error(`Cannot open "${path}"`);
  return {
    size,
    read(offset: number, buf: Uint8Array): Promise<number> {
      return Promise.resolve(
        Number(libc.symbols.pread(fd, buf, BigInt(buf.length), BigInt(offset))),
      );
    },
    write(): Promise<number> {
      return Promise.resolve(-95);
    },
    close(): void {
      libc.symbols.close(fd);
    },
  };
}

async function onDevice(
  args: string[],
  native: boolean,
  spec: string,
): Promise<WorkloadResult> {
  const o = checkDeviceOptions(parseArgsLike(args), "bench");
  o.native = native;
  const stack = openStack({ native });
  try {
    const dev = await stack.addDevice(o);
    try {
      return await runWorkload(dev.bdev, parseWorkloadSpec(spec));
    } finally {
      await dev.delete();
    }
  } finally {
    await stack.close();
  }
}

/** The figures a row needs from one side of a pair. */
interface Side {
  /** Median MB/s over the rounds. */
  mbps: number;
  /** Median IOPS over the rounds. */
  iops: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Runs `a` and `b` interleaved `rounds` times, alternating which goes first (a b, b a, a b, …)
 * so neither side always runs right after the other, and keeps the median of each side: a
 * noisy neighbour on a small VM hurts both sides alike, and one lucky or unlucky run moves
 * neither figure much.
 */
async function medianOf(
  rounds: number,
  a: () => Promise<WorkloadResult>,
  b: () => Promise<WorkloadResult>,
  what: string,
): Promise<[Side, Side]> {
  const ra: WorkloadResult[] = [];
  const rb: WorkloadResult[] = [];
  const runA = async (): Promise<void> => {
    const r = await a();
    check(r, `${what} (baseline)`);
    ra.push(r);
  };
  const runB = async (): Promise<void> => {
    const r = await b();
    check(r, `${what} (contender)`);
    rb.push(r);
  };
  for (let i = 0; i < rounds; i++) {
    if (i % 2 === 0) {
      await runA();
      await runB();
    } else {
      await runB();
      await runA();
    }
  }
  const side = (rs: WorkloadResult[]): Side => ({
    mbps: median(rs.map((r) => r.mbps)),
    iops: median(rs.map((r) => r.iops)),
  });
  return [side(ra), side(rb)];
}

function parseArgsLike(args: string[]): Record<string, string | boolean | undefined> {
  const v: Record<string, string | boolean | undefined> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "-z") v["zero-copy"] = true;
    else if (a === "--buffered-io") v["buffered-io"] = true;
    else if (a.startsWith("--")) v[a.slice(2)] = args[++i];
    else if (a === "-t") v.type = args[++i];
    else if (a === "-f") v.file = args[++i];
  }
  return v;
}

function check(r: WorkloadResult, what: string): void {
  if (r.errors > 0) throw new Error(`${what}: ${r.errors} I/O errors (first ${r.firstError})`);
}

/**
 * Runs every comparison and returns the rows.
 *
 * @param options Time per run, file size, native backend, progress output.
 * @returns The rows.
 */
export async function runHeadline(options: {
  timeMs: number;
  size: number;
  native: boolean;
  rounds?: number;
  log?: (line: string) => void;
}): Promise<HeadlineRow[]> {
  const log = options.log ?? ((l: string) => console.error(l));
  const t = `time=${options.timeMs / 1000}s`;
  const dir = (() => {
    try {
      Deno.statSync("/dev/shm");
      return "/dev/shm";
    } catch {
      return Deno.env.get("TMPDIR") ?? "/tmp";
    }
  })();
  const path = Deno.makeTempFileSync({ dir, prefix: "ublk-headline-", suffix: ".img" });
  const rows: HeadlineRow[] = [];
  try {
    log(`headline: backing file ${path} (${formatSize(options.size)})`);
    const f = Deno.openSync(path, { write: true });
    const chunk = new Uint8Array(1 << 20);
    for (let off = 0; off < options.size; off += chunk.length) {
      crypto.getRandomValues(chunk.subarray(0, 65536));
      f.writeSync(chunk.subarray(0, Math.min(chunk.length, options.size - off)));
    }
    f.close();
    const loopArgs = ["-t", "loop", "-f", path, ...(options.native ? [] : ["--buffered-io"])];
    const rounds = options.rounds ?? 3;
    // Warm the JIT on both paths so the first measured pair is not penalised.
    await onDevice(loopArgs, options.native, "rw=randrw,bs=64k,qd=16,time=0.5s");
    await onDevice([...loopArgs, "-z"], options.native, "rw=randrw,bs=64k,qd=16,time=0.5s");
    for (const bs of ["64k", "512k"]) {
      for (const rw of ["read", "write"]) {
        const spec = `rw=${rw},bs=${bs},qd=16,${t}`;
        const [copy, zc] = await medianOf(
          rounds,
          () => onDevice(loopArgs, options.native, spec),
          () => onDevice([...loopArgs, "-z"], options.native, spec),
          `loop ${spec}`,
        );
        const row: HeadlineRow = {
          name: `loop seq ${rw} ${bs}`,
          base: copy.mbps,
          contender: zc.mbps,
          ratio: zc.mbps / copy.mbps,
          goal: bs === "512k" ? 1.5 : 1.3,
          unit: "MB/s",
          baseLabel: "copy",
          contenderLabel: "zero copy",
        };
        log(fmtRow(row));
        rows.push(row);
      }
    }
    {
      const spec = `rw=randread,bs=4k,qd=32,${t}`;
      const plain = plainFile(path, options.size);
      let pr: Side;
      let loop: Side;
      try {
        [pr, loop] = await medianOf(
          rounds,
          () => runWorkload(plain, parseWorkloadSpec(`rw=randread,bs=4k,qd=1,${t}`)),
          () => onDevice([...loopArgs, "-z"], options.native, spec),
          `loop ${spec} vs pread`,
        );
      } finally {
        plain.close();
      }
      const row: HeadlineRow = {
        name: "loop -z randread 4k qd32 vs pread",
        base: pr.iops,
        contender: loop.iops,
        ratio: loop.iops / pr.iops,
        goal: 0.4,
        unit: "IOPS",
        baseLabel: "pread",
        contenderLabel: "ublk loop",
      };
      log(fmtRow(row));
      rows.push(row);
    }
    {
      const spec = `rw=read,bs=512k,qd=16,${t}`;
      const [copy, zc] = await medianOf(
        rounds,
        () => onDevice(["-t", "null"], options.native, spec),
        () => onDevice(["-t", "null", "-z"], options.native, spec),
        "null",
      );
      const row: HeadlineRow = {
        name: "null read 512k",
        base: copy.iops,
        contender: zc.iops,
        ratio: zc.iops / copy.iops,
        goal: 1.5,
        unit: "IOPS",
        baseLabel: "copy",
        contenderLabel: "zero copy",
      };
      log(fmtRow(row));
      rows.push(row);
    }
  } finally {
    Deno.removeSync(path);
  }
  return rows;
}

function fmtNum(n: number): string {
  return n >= 1000 ? n.toFixed(0) : n.toFixed(1);
}

function fmtRow(r: HeadlineRow): string {
  return `${r.name.padEnd(36)} ${r.baseLabel.padStart(9)} ${fmtNum(r.base).padStart(9)} ${
    r.contenderLabel.padStart(9)
  } ${fmtNum(r.contender).padStart(9)} ${r.unit.padEnd(4)}  ${
    r.ratio.toFixed(2)
  }x (goal ${r.goal}x) ${r.ratio >= r.goal ? "ok" : "MISSED"}`;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      time: { type: "string", default: "2s" },
      rounds: { type: "string", default: "3" },
      size: { type: "string", default: "256m" },
      native: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
    strict: true,
  });
  const rows = await runHeadline({
    timeMs: parseDuration(values.time!, "--time"),
    size: parseSize(values.size!, "--size"),
    native: values.native!,
    rounds: Number(values.rounds),
    log: values.json ? () => {} : undefined,
  });
  if (values.json) console.log(JSON.stringify(rows, null, 2));
  else {
    console.log(`\n${"case".padEnd(36)} ${"baseline".padStart(19)} ${"contender".padStart(19)}`);
    for (const r of rows) console.log(fmtRow(r));
  }
}
