// Test helpers of the composite targets (stripe, mirror, fault-inject): a model kernel with the
// ublk driver and the fused command, patterned leg files on tmpfs, and a verify workload that
// keeps a reference copy of the device and compares every read with it.
import assert from "node:assert/strict";
import { installFusedCmd } from "@ublk-ts/fused-cmd";
import { ModelKernel } from "@ublk-ts/model";
import {
  createDevice,
  type CreateDeviceOptions,
  type Target,
  type TargetIoCtx,
  type UblkDevice,
} from "@ublk-ts/ublk";
import type { Leg } from "./stripe.ts";
import { installUblk, type UblkBlockDevice, UblkDriver } from "@ublk-ts/ublk-drv";
import { allocIoMemory } from "@ublk-ts/rsrc";

/** One data mode the target tests run in: its name, and what `createDevice` gets for it. */
export interface ModeCase {
  readonly name: string;
  /** The target sees an empty buffer and moves data with `ctx.fused`. */
  readonly zeroCopy: boolean;
  /** The `createDevice` options of the mode. */
  readonly options: Pick<CreateDeviceOptions, "dataMode" | "autoFallback">;
}

/**
 * Every data mode of the model driver: copy, user copy, the RFC's fused command, register-buf
 * zero copy, auto-buf-reg zero copy, and auto with every request taking the fallback.
 */
export const MODES: readonly ModeCase[] = [
  { name: "copy", zeroCopy: false, options: { dataMode: "copy" } },
  { name: "user copy", zeroCopy: false, options: { dataMode: "user-copy" } },
  { name: "fused zero copy", zeroCopy: true, options: { dataMode: "fused" } },
  { name: "register zero copy", zeroCopy: true, options: { dataMode: "register" } },
  { name: "auto zero copy", zeroCopy: true, options: { dataMode: "auto" } },
  {
    name: "auto zero copy (fallback on every request)",
    zeroCopy: true,
    options: { dataMode: "auto", autoFallback: "always" },
  },
];

/** A deterministic xorshift32 generator. */
export class Rng {
  #x: number;
  constructor(seed: number) {
    this.#x = seed >>> 0 || 1;
  }
  /** The next u32. */
  next(): number {
    let x = this.#x;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#x = x >>> 0;
    return this.#x;
  }
  /** An integer in [0, n). */
  below(n: number): number {
    return this.next() % n;
  }
}

/** Fills `b` with a pattern of `seed`. */
export function fillPattern(b: Uint8Array, seed: number): Uint8Array {
  const r = new Rng(seed);
  for (let i = 0; i < b.length; i++) b[i] = r.next() & 0xff;
  return b;
}

/** A model kernel with fused-cmd and the ublk driver. */
export function modelKernel(): ModelKernel {
  const kernel = new ModelKernel();
  installFusedCmd(kernel);
  installUblk(kernel, { nrCpuIds: 4 });
  return kernel;
}

/** Temporary leg files on tmpfs, removed at dispose. */
export async function legFiles(
  count: number,
  size: number,
  seed = 0,
): Promise<{ paths: string[] } & AsyncDisposable> {
  const paths: string[] = [];
  for (let i = 0; i < count; i++) {
    const p = await Deno.makeTempFile({ dir: "/dev/shm", prefix: "raid_test_" });
    paths.push(p);
    if (seed === 0) await Deno.truncate(p, size);
    else await Deno.writeFile(p, fillPattern(new Uint8Array(size), seed + i));
  }
  return {
    paths,
    async [Symbol.asyncDispose](): Promise<void> {
      for (const p of paths) await Deno.remove(p).catch(() => {});
    },
  };
}

/** A running device of `target` on `kernel`. */
export async function device(
  kernel: ModelKernel,
  target: Target,
  mode: boolean | ModeCase,
  maxIoBufBytes = 64 << 10,
): Promise<{ dev: UblkDevice; bdev: UblkBlockDevice } & AsyncDisposable> {
  const m = typeof mode === "boolean" ? { zeroCopy: mode } : mode.options;
  const dev = await createDevice(kernel, target, { queues: 2, depth: 16, ...m, maxIoBufBytes });
  const bdev = UblkDriver.of(kernel)!.blockDevice(dev.id)!;
  return {
    dev,
    bdev,
    async [Symbol.asyncDispose](): Promise<void> {
      await dev.stop();
    },
  };
}

/** What {@linkcode verifyWorkload} found. */
export interface VerifyResult {
  writes: number;
  reads: number;
  bytes: number;
  mismatches: number;
  errors: number[];
}

/**
 * Writes the whole device in random-length pieces (512-aligned, up to `maxIo`, so requests
 * start and end anywhere against chunk boundaries), `qd` at a time without overlap, then reads
 * random ranges back `qd` at a time and compares each with the reference. Returns the
 * reference too, so a test can check where the bytes landed on the legs.
 */
export async function verifyWorkload(
  bdev: UblkBlockDevice,
  options: {
    seed: number;
    maxIo: number;
    qd?: number;
    reads?: number;
    /** Called (not awaited) once, when this many writes have completed. */
    afterWrites?: { count: number; fn: () => unknown };
    /** Called between the write and the read phase. */
    between?: () => void;
  },
): Promise<VerifyResult & { reference: Uint8Array }> {
  const size = bdev.size;
  const qd = options.qd ?? 8;
  const rng = new Rng(options.seed);
  const reference = new Uint8Array(size);
  const res: VerifyResult = { writes: 0, reads: 0, bytes: 0, mismatches: 0, errors: [] };
  const sectors = options.maxIo / 512;
  const pieces: [number, number][] = [];
  for (let off = 0; off < size;) {
    const len = Math.min((1 + rng.below(sectors)) * 512, size - off);
    pieces.push([off, len]);
    off += len;
  }
  // Shuffle so neighbouring pieces are written by different tags at once.
  for (let i = pieces.length - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    [pieces[i], pieces[j]] = [pieces[j]!, pieces[i]!];
  }
  const bufs = Array.from({ length: qd }, () => allocIoMemory(options.maxIo));
  let next = 0;
  const writer = async (b: Uint8Array): Promise<void> => {
    while (next < pieces.length) {
      const [off, len] = pieces[next++]!;
      const data = fillPattern(b.subarray(0, len), rng.next());
      reference.set(data, off);
      const r = await bdev.write(off, data);
      res.writes++;
      if (res.writes === options.afterWrites?.count) options.afterWrites.fn();
      if (r !== len) res.errors.push(r);
      else res.bytes += len;
    }
  };
  await Promise.all(bufs.map(writer));
  options.between?.();
  const nReads = options.reads ?? pieces.length;
  let left = nReads;
  const reader = async (b: Uint8Array): Promise<void> => {
    while (left-- > 0) {
      const len = (1 + rng.below(sectors)) * 512;
      const off = rng.below((size - len) / 512 + 1) * 512;
      const view = b.subarray(0, len);
      view.fill(0xa5);
      const r = await bdev.read(off, view);
      res.reads++;
      if (r !== len) {
        res.errors.push(r);
        continue;
      }
      res.bytes += len;
      const want = reference.subarray(off, off + len);
      for (let i = 0; i < len; i += 512) {
        for (let k = i; k < i + 512; k++) {
          if (view[k] !== want[k]) {
            res.mismatches++;
            break;
          }
        }
      }
    }
  };
  await Promise.all(bufs.map(reader));
  return { ...res, reference };
}

/** Asserts two byte arrays are equal, reporting the first difference (not the whole arrays). */
export function assertBytesEqual(got: Uint8Array, want: Uint8Array, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < got.length; i++) {
    if (got[i] !== want[i]) {
      assert.fail(`${what}: first difference at byte ${i} (${got[i]} != ${want[i]})`);
    }
  }
}

/** What a spied leg saw: one entry per piece. */
export interface PieceSeen {
  leg: number;
  op: number;
  off: number;
  len: number;
  /** The piece context's copy buffer length (0 in zero copy). */
  bufLen: number;
  zeroCopy: boolean;
}

/** Wraps a leg so every piece it serves is recorded in `seen`. */
export function spyLeg(leg: Leg, index: number, seen: PieceSeen[]): Leg {
  const inner = leg.target;
  return {
    uri: leg.uri,
    ...(leg.openSideChannel ? { openSideChannel: leg.openSideChannel } : {}),
    target: {
      name: "spy",
      get fixedFds() {
        return inner.fixedFds;
      },
      init: (dev) => inner.init(dev),
      handleIo: (ctx: TargetIoCtx, tag, iod) => {
        seen.push({
          leg: index,
          op: iod.op,
          off: iod.offset,
          len: iod.bytes,
          bufLen: ctx.buf.length,
          zeroCopy: ctx.zeroCopy,
        });
        return inner.handleIo(ctx, tag, iod);
      },
      close: () => inner.close?.(),
    },
  };
}

/** Whether nbdkit is installed. */
export function haveNbdkit(): boolean {
  try {
    return new Deno.Command("nbdkit", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

/** An `nbdkit memory` server on a unix socket in `dir`. */
export interface MemoryServer {
  readonly socket: string;
  /** SIGKILL and wait. Safe twice. */
  kill(): Promise<void>;
}

/** Starts `nbdkit -f -U SOCK memory size=SIZE` and waits until it accepts connections. */
export async function startMemoryServer(dir: string, size: number): Promise<MemoryServer> {
  const socket = `${dir}/nbdkit-${crypto.randomUUID().slice(0, 8)}.sock`;
  const child = new Deno.Command("nbdkit", {
    args: ["-f", "-U", socket, "memory", `size=${size}`],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  let dead: Promise<void> | null = null;
  const kill = (): Promise<void> => {
    dead ??= (async () => {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
      await child.status;
    })();
    return dead;
  };
  const exited = child.status.then(() => "exited" as const);
  for (let i = 0;; i++) {
    try {
      const c = await Deno.connect({ transport: "unix", path: socket });
      c.close();
      return { socket, kill };
    } catch { /* not listening yet */ }
    const r = await Promise.race([exited, new Promise((r) => setTimeout(() => r("wait"), 20))]);
    if (r === "exited" || i > 1500) {
      await kill();
      throw new Error("nbdkit did not start listening");
    }
  }
}
