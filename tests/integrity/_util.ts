// Shared pieces of the integrity matrix: the in-process stack (model kernel with FUSED_CMD and
// the ublk driver, on the sync or the native data backend, optionally behind a fault-injecting
// backend), real NBD servers on unix sockets or loopback TCP, temp files in /dev/shm, and
// byte-for-byte comparison helpers.

import assert from "node:assert/strict";
import type { BackendFile, IoBackend, IoResult } from "@ublk-ts/ring";
import {
  defaultOps,
  ModelKernel,
  type OpDef,
  OpTable,
  type Request,
  SyncBackend,
} from "@ublk-ts/model";
import { installFusedCmd } from "@ublk-ts/fused-cmd";
import { installUblk, UblkDriver } from "@ublk-ts/ublk-drv";
import { NativeBackend } from "@ublk-ts/native";
import type { VerifyReport } from "../../apps/ublk/verify.ts";

/** Linux EIO. */
export const EIO = 5;
/** Linux EPERM. */
export const EPERM = 1;

/** Whether a program is on PATH. */
export function have(prog: string): boolean {
  try {
    return new Deno.Command("sh", { args: ["-c", `command -v ${prog}`], stdout: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

/** Whether `@ublk-ts/native` can set up a real io_uring here. */
export function nativeAvailable(): boolean {
  try {
    new NativeBackend().close();
    return true;
  } catch {
    return false;
  }
}

/** A temp directory, in /dev/shm when it exists. */
export async function tempDir(): Promise<string> {
  let dir: string | undefined;
  try {
    if (Deno.statSync("/dev/shm").isDirectory) dir = "/dev/shm";
  } catch { /* no /dev/shm */ }
  return await Deno.makeTempDir({ dir, prefix: "ublk_integrity_" });
}

/** A zero-filled file of `size` bytes at `path`. */
export async function zeroFile(path: string, size: number): Promise<void> {
  const f = await Deno.open(path, { create: true, write: true, truncate: true });
  try {
    await f.truncate(size);
  } finally {
    f.close();
  }
}

/**
 * A backend wrapper that fails READ/WRITE overlapping `bad` with -EIO (a bad sector on the
 * backing device), flips the lowest bit of file byte `flip` in every read that covers it (a
 * silently corrupting device, to prove the checks can fail), and passes everything else
 * through.
 */
export class FaultyBackend implements IoBackend {
  readonly name: string;
  readonly inner: IoBackend;
  /** The failing byte range, or null. */
  bad: { offset: number; length: number } | null = null;
  /** The file byte whose reads come back with bit 0 flipped, or null. */
  flip: number | null = null;
  /** Calls failed or corrupted so far. */
  injected = 0;
  /**
   * When > 0, READ/WRITE results arrive this many ms later (the data moves at once, as a
   * device that acknowledges late), so requests stay in flight on the sync backend too.
   */
  latencyMs = 0;

  constructor(inner: IoBackend) {
    this.inner = inner;
    this.name = inner.name;
  }

  #fails(off: number, len: number): boolean {
    const b = this.bad;
    if (b === null || off + len <= b.offset || off >= b.offset + b.length) return false;
    this.injected++;
    return true;
  }

  open(path: string, flags: number, mode: number): BackendFile | number {
    return this.inner.open(path, flags, mode);
  }
  close(file: BackendFile): void {
    this.inner.close(file);
  }
  #hold: { captured: () => void; released: Promise<void> } | null = null;

  /**
   * Holds the result of the next READ/WRITE (the data moves at once) until `release`: once
   * `held` resolves, that request is in flight and stays so — a condition to act on (kill the
   * server with I/O in flight) that no scheduling can make false.
   *
   * @returns `held` (a request was caught) and `release`.
   */
  holdNext(): { held: Promise<void>; release: () => void } {
    let captured = (): void => {};
    let release = (): void => {};
    const held = new Promise<void>((r) => captured = r);
    const released = new Promise<void>((r) => release = r);
    this.#hold = { captured, released };
    return { held, release };
  }

  #late(res: IoResult): IoResult {
    const hold = this.#hold;
    if (hold !== null) {
      this.#hold = null;
      hold.captured();
      return Promise.resolve(res).then(async (n) => (await hold.released, n));
    }
    const ms = this.latencyMs;
    if (ms <= 0) return res;
    return new Promise((resolve) => setTimeout(() => resolve(res), ms));
  }
  #corrupt(res: IoResult, bufs: readonly Uint8Array[], off: number): IoResult {
    const flip = this.flip;
    if (flip === null) return res;
    const apply = (n: number): number => {
      if (n <= flip - off || flip < off) return n;
      let at = flip - off;
      for (const b of bufs) {
        if (at < b.length) {
          b[at]! ^= 1;
          this.injected++;
          break;
        }
        at -= b.length;
      }
      return n;
    };
    return typeof res === "number" ? apply(res) : res.then(apply);
  }
  readv(file: BackendFile, bufs: readonly Uint8Array[], off: number): IoResult {
    const len = bufs.reduce((n, b) => n + b.length, 0);
    if (this.#fails(off, len)) return -EIO;
    return this.#late(this.#corrupt(this.inner.readv(file, bufs, off), bufs, off));
  }
  read(file: BackendFile, buf: Uint8Array, off: number): IoResult {
    if (this.#fails(off, buf.length)) return -EIO;
    return this.#late(this.#corrupt(this.inner.read(file, buf, off), [buf], off));
  }
  writev(file: BackendFile, bufs: readonly Uint8Array[], off: number): IoResult {
    const len = bufs.reduce((n, b) => n + b.length, 0);
    return this.#fails(off, len) ? -EIO : this.#late(this.inner.writev(file, bufs, off));
  }
  write(file: BackendFile, buf: Uint8Array, off: number): IoResult {
    return this.#fails(off, buf.length) ? -EIO : this.#late(this.inner.write(file, buf, off));
  }
  fsync(file: BackendFile, datasync: boolean): IoResult {
    return this.inner.fsync(file, datasync);
  }
  fallocate(file: BackendFile, mode: number, off: number, len: number): IoResult {
    return this.inner.fallocate(file, mode, off, len);
  }
  size(file: BackendFile): number {
    return this.inner.size(file);
  }
}

/** A model kernel with FUSED_CMD and the ublk driver installed. */
export interface TestKernel {
  readonly kernel: ModelKernel;
  /** The fault injector in front of the data backend. */
  readonly faults: FaultyBackend;
  /** Requests issued, by op name ("READ", "FUSED_CMD", …). */
  readonly issued: Map<string, number>;
  /** Requests issued on a lent buffer (fused slaves), by op name. */
  readonly lent: Map<string, number>;
  /** Closes the kernel and the native ring. Safe twice. */
  close(): void;
}

/** Builds the stack as `apps/ublk/stack.ts` does, with a fault injector on the data backend. */
export function openKernel(native: boolean): TestKernel {
  const ring = native ? new NativeBackend() : null;
  const inner: IoBackend = ring ?? new SyncBackend();
  const faults = new FaultyBackend(inner);
  const ops = new OpTable(defaultOps);
  const kernel = new ModelKernel({ backend: faults, ops });
  installFusedCmd(kernel);
  installUblk(kernel); // fused hand-off: provideFusedBuffer of @ublk-ts/fused-cmd
  // Count what the kernel issues, so a cell can show its data path was the one it names.
  const issued = new Map<string, number>();
  const lent = new Map<string, number>();
  for (let op = 0; op < 256; op++) {
    const def = ops.get(op);
    if (def === undefined) continue;
    const counted: OpDef = Object.assign(Object.create(def) as OpDef, {
      issue(req: Request, flags: number): number {
        issued.set(def.name, (issued.get(def.name) ?? 0) + 1);
        if (req.kbuf !== null) lent.set(def.name, (lent.get(def.name) ?? 0) + 1);
        return def.issue(req, flags);
      },
    });
    ops.set(op, counted);
  }
  let closed = false;
  return {
    kernel,
    faults,
    issued,
    lent,
    close(): void {
      if (closed) return;
      closed = true;
      kernel.close();
      ring?.close();
    },
  };
}

/** The ids of the devices the kernel's ublk driver still has. */
export function deviceIds(kernel: ModelKernel): number[] {
  return UblkDriver.of(kernel)?.deviceIds ?? [];
}

/** The index of the first differing byte, or -1. */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/** Asserts that `got` equals the verify run's expected image of `[0, got.length)`. */
export function assertImage(
  report: VerifyReport,
  got: Uint8Array,
  size: number,
  what: string,
): void {
  assert.equal(got.length, size, `${what}: size`);
  const want = report.shadow.expectedImage(0, size);
  const at = firstDifference(got, want);
  assert.equal(
    at,
    -1,
    `${what} differs from the expected image at byte ${at} (sector ${
      Math.floor(at / 512) * 512
    }, generation ${report.shadow.generation(Math.floor(at / 512) * 512)}, seed ${report.seed})`,
  );
}

/** Asserts a verify run had no error and no mismatch, naming the seed. */
export function assertClean(report: VerifyReport, what: string): void {
  const tag = `${what} (seed ${report.seed})`;
  assert.deepEqual(report.errors.slice(0, 5), [], `${tag}: I/O errors`);
  assert.equal(
    report.mismatchCount,
    0,
    `${tag}: mismatches ${JSON.stringify(report.mismatches.slice(0, 5))}`,
  );
  assert.ok(report.bytesWritten > 0 && report.blocksChecked > 0, `${tag}: did nothing`);
}

/** What {@linkcode measured} saw of a verify run. */
export interface IoStats {
  /** Device calls (reads and writes). */
  calls: number;
  /** Most device calls outstanding at once. */
  peakCalls: number;
  /** Most requests bound to tags at once (sampled at every call's start and end). */
  peakTags: number;
  /** Calls longer than the split size (several requests). */
  multiRequest: number;
  /** Calls that straddle a multiple of the split size. */
  straddling: number;
}

/** The block device calls `runVerify` makes. */
export interface MeasurableDevice {
  readonly size: number;
  readonly inflight: number;
  read(offset: number, buf: Uint8Array): Promise<number>;
  write(offset: number, data: Uint8Array): Promise<number>;
}

/** Wraps a block device to count its calls, queue depth and split-crossing sizes. */
export function measured(
  dev: MeasurableDevice,
  split: number,
): { device: MeasurableDevice; stats: IoStats } {
  const stats: IoStats = { calls: 0, peakCalls: 0, peakTags: 0, multiRequest: 0, straddling: 0 };
  let outstanding = 0;
  const sample = (): void => {
    if (dev.inflight > stats.peakTags) stats.peakTags = dev.inflight;
  };
  const call = async (offset: number, len: number, p: () => Promise<number>): Promise<number> => {
    stats.calls++;
    if (len > split) stats.multiRequest++;
    if (Math.floor(offset / split) !== Math.floor((offset + len - 1) / split)) stats.straddling++;
    if (++outstanding > stats.peakCalls) stats.peakCalls = outstanding;
    const r = p();
    sample();
    try {
      return await r;
    } finally {
      sample();
      outstanding--;
    }
  };
  return {
    stats,
    device: {
      get size(): number {
        return dev.size;
      },
      get inflight(): number {
        return dev.inflight;
      },
      read: (o, b) => call(o, b.length, () => dev.read(o, b)),
      write: (o, d) => call(o, d.length, () => dev.write(o, d)),
    },
  };
}

/** A running NBD server. */
export interface Server {
  /** Unix socket path, when on one. */
  readonly path?: string;
  /** Loopback TCP port, when on one. */
  readonly port?: number;
  /** The URI for libnbd tools. */
  readonly uri: string;
  /** What the server printed on stderr (after stop). */
  stderr(): Promise<string>;
  /**
   * How many client connections the server process has open now (its socket fds beyond the
   * listening ones, from /proc): 0 once it has finished with every connection.
   */
  connections(): number;
  /**
   * SIGTERM and wait for the exit; SIGKILL after 5 s (nbdkit 1.32 waits on SIGTERM for
   * clients that keep their connection open). Safe twice.
   */
  stop(): Promise<void>;
}

/** A free loopback TCP port (bound and released). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function waitListening(
  child: Deno.ChildProcess,
  where: { path: string } | { port: number },
  err: Promise<string>,
): Promise<void> {
  const exited = child.status.then(() => "exited" as const);
  for (let i = 0; i < 400; i++) {
    try {
      const c = "path" in where
        ? await Deno.connect({ transport: "unix", path: where.path })
        : await Deno.connect({ hostname: "127.0.0.1", port: where.port });
      c.close();
      return;
    } catch { /* not yet */ }
    const r = await Promise.race([exited, new Promise((r) => setTimeout(() => r("wait"), 25))]);
    if (r === "exited") throw new Error(`Server exited before it listened: ${await err}`);
  }
  throw new Error("Server did not listen within 10 s");
}

/** The inodes of the listening sockets on the machine (unix and TCP), from /proc/net. */
function listeningInodes(): Set<string> {
  const out = new Set<string>();
  const table = (path: string): string[] => {
    try {
      return Deno.readTextFileSync(path).split("\n").slice(1);
    } catch {
      return [];
    }
  };
  // /proc/net/unix: Num RefCount Protocol Flags Type St Inode Path; Flags 00010000 = listening
  for (const line of table("/proc/net/unix")) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 7 && (parseInt(f[3]!, 16) & 0x10000) !== 0) out.add(f[6]!);
  }
  // /proc/net/tcp{,6}: … st (0A = LISTEN) … inode (field 9)
  for (const line of [...table("/proc/net/tcp"), ...table("/proc/net/tcp6")]) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 10 && f[3] === "0A") out.add(f[9]!);
  }
  return out;
}

async function spawnServer(
  cmd: string,
  args: string[],
  where: { path: string } | { port: number },
): Promise<Server> {
  const child = new Deno.Command(cmd, { args, stdin: "null", stdout: "null", stderr: "piped" })
    .spawn();
  const err = new Response(child.stderr).text();
  let stopped: Promise<void> | null = null;
  const connections = (): number => {
    const listening = listeningInodes();
    let n = 0;
    try {
      for (const e of Deno.readDirSync(`/proc/${child.pid}/fd`)) {
        try {
          const m = /^socket:\[(\d+)\]$/.exec(Deno.readLinkSync(`/proc/${child.pid}/fd/${e.name}`));
          if (m !== null && !listening.has(m[1]!)) n++;
        } catch { /* closed meanwhile */ }
      }
    } catch { /* exited */ }
    return n;
  };
  const server: Server = {
    ...("path" in where
      ? { path: where.path, uri: `nbd+unix:///?socket=${where.path}` }
      : { port: where.port, uri: `nbd://127.0.0.1:${where.port}/` }),
    stderr: () => err,
    connections,
    stop(): Promise<void> {
      stopped ??= (async () => {
        const kill = (signal: Deno.Signal): void => {
          try {
            child.kill(signal);
          } catch { /* gone */ }
        };
        kill("SIGTERM");
        const timer = setTimeout(() => kill("SIGKILL"), 5000);
        try {
          await child.status;
        } finally {
          clearTimeout(timer);
        }
        await err;
      })();
      return stopped;
    },
  };
  try {
    await waitListening(child, where, err);
  } catch (e) {
    await server.stop();
    throw e;
  }
  return server;
}

/** `nbdkit -f` with `args` on a unix socket in `dir`, or on a loopback port with `tcp`. */
export function startNbdkit(dir: string, args: string[], tcp = false): Promise<Server> {
  if (tcp) {
    const port = freePort();
    return spawnServer("nbdkit", ["-f", "-i", "127.0.0.1", "-p", String(port), ...args], {
      port,
    });
  }
  const path = `${dir}/nbdkit-${crypto.randomUUID().slice(0, 8)}.sock`;
  return spawnServer("nbdkit", ["-f", "-U", path, ...args], { path });
}

/** `qemu-nbd -t -f raw IMAGE` on a unix socket in `dir`, or on a loopback port with `tcp`. */
export function startQemuNbd(dir: string, image: string, tcp = false): Promise<Server> {
  const base = ["-t", "--shared=4", "-f", "raw", "--cache=writeback"];
  if (tcp) {
    const port = freePort();
    return spawnServer("qemu-nbd", [...base, "-b", "127.0.0.1", "-p", String(port), image], {
      port,
    });
  }
  const path = `${dir}/qemu-nbd-${crypto.randomUUID().slice(0, 8)}.sock`;
  return spawnServer("qemu-nbd", [...base, "-k", path, image], { path });
}

/** Copies a whole export to `out` with libnbd's `nbdcopy` (an independent client). */
export async function nbdcopy(uri: string, out: string, flags: string[] = []): Promise<void> {
  const r = await new Deno.Command("nbdcopy", {
    args: [...flags, uri, out],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!r.success) throw new Error(`nbdcopy failed: ${new TextDecoder().decode(r.stderr)}`);
}
