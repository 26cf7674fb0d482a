/**
 * Runs a {@linkcode Program} on one kernel through the `Kernel` contract and a {@linkcode Ring}
 * (each SQE is encoded with the uapi codec into the slot `Ring.getSqeOffset` hands out; each
 * batch goes with one `Ring.submit`), and records everything the kernel fixes: submit results,
 * register results, every CQE, the files and the buffers afterwards.
 *
 * @module
 */

import {
  ErrnoError,
  IORING_OP_SEND_ZC,
  IORING_REGISTER_BUFFERS,
  IORING_REGISTER_FILES,
  IOSQE_CQE_SKIP_SUCCESS,
  IOSQE_IO_HARDLINK,
  IOSQE_IO_LINK,
  IoUringCqe,
  IoUringSqe,
  O_CREAT,
  O_RDWR,
  O_TRUNC,
} from "@ublk-ts/uapi";
import { type Kernel, Ring } from "@ublk-ts/ring";
import {
  type AddrRef,
  bufPattern,
  type FdRef,
  filePattern,
  type Program,
  type SqeSpec,
} from "./_program.ts";

/** One kernel under test, plus what the `Kernel` interface does not cover. */
export interface Harness {
  /** "native" or "model". */
  readonly name: string;
  /** The kernel. */
  readonly kernel: Kernel;
  /** A connected AF_UNIX stream socket pair of this kernel's fds. */
  socketpair(): [number, number];
  /** How long to wait for stragglers before calling the CQ quiet (ms). */
  readonly quietMs: number;
}

/** A CQE as compared. */
export interface Cqe {
  /** `user_data`. */
  ud: bigint;
  /** `res`. */
  res: number;
  /** `flags`. */
  flags: number;
}

/** What a program did on one kernel. */
export interface Outcome {
  /** `setup()` error (errno name), if it threw. */
  setupError?: string;
  /** Results of the register calls (buffers, then files). */
  registers: number[];
  /** `submit()` results, one per batch. */
  submits: number[];
  /** CQEs in arrival order. */
  cqes: Cqe[];
  /** File contents afterwards. */
  files: Uint8Array[];
  /** Buffer contents afterwards. */
  bufs: Uint8Array[];
  /** SQEs never consumed. */
  sqLeft: number;
  /** The run gave up waiting for CQEs. */
  timedOut: boolean;
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

let runCounter = 0;

/**
 * Memory of recent runs, kept referenced: a run may end (at its certain CQE count) while a
 * request that could post nothing is still in flight in the kernel and writing into it.
 */
const graveyard: unknown[] = [];

/** Options of {@linkcode runProgram}. */
export interface RunOptions {
  /** Overrides the harness' quiet period (ms). */
  quietMs?: number;
}

/** Runs `program` on `h` in files under `dir`. */
export async function runProgram(
  h: Harness,
  program: Program,
  dir: string,
  options: RunOptions = {},
): Promise<Outcome> {
  const quietMs = options.quietMs ?? h.quietMs;
  const kernel = h.kernel;
  const out: Outcome = {
    registers: [],
    submits: [],
    cqes: [],
    files: [],
    bufs: [],
    sqLeft: 0,
    timedOut: false,
  };
  const run = runCounter++;
  const paths: string[] = [];
  const dirPaths: string[] = [];
  const fds: number[] = [];
  const sockFds: number[] = [];
  const bufs = (program.bufs ?? []).map((size, b) => {
    const u = new Uint8Array(size);
    for (let i = 0; i < size; i++) u[i] = bufPattern(b, i);
    return u;
  });
  const keep: Uint8Array[] = []; // iovec arrays and timespecs stay alive until the end
  let ring: Ring | undefined;
  const openDirs: number[] = [];
  try {
    (program.files ?? []).forEach((spec, f) => {
      const size = typeof spec === "number" ? spec : spec.size;
      const flags = typeof spec === "number" ? O_RDWR : spec.flags;
      const path = `${dir}/${h.name}-${run}-f${f}`;
      const data = new Uint8Array(size);
      for (let i = 0; i < size; i++) data[i] = filePattern(f, i);
      Deno.writeFileSync(path, data);
      paths.push(path);
      const fd = kernel.open(path, flags, 0o644);
      if (fd < 0) throw new Error(`${h.name}: open ${path} failed ${fd}`);
      fds.push(fd);
    });
    const dirFds: number[] = [];
    for (let i = 0; i < (program.dirs ?? 0); i++) {
      const d = `${dir}/${h.name}-${run}-d${i}`;
      Deno.mkdirSync(d);
      dirPaths.push(d);
      const fd = kernel.open(d, 0, 0);
      if (fd < 0) throw new Error(`${h.name}: open ${d} failed ${fd}`);
      dirFds.push(fd);
      openDirs.push(fd);
    }
    const pairs: [number, number][] = [];
    for (let i = 0; i < (program.sockets ?? 0); i++) {
      const p = h.socketpair();
      pairs.push(p);
      sockFds.push(...p);
    }
    try {
      // kernel.setup, not Ring.create: the program's setup flags go to the kernel as written
      // (Ring.create would add IORING_SETUP_CQSIZE for cqEntries).
      ring = new Ring(
        kernel,
        kernel.setup(program.entries ?? 16, {
          ...(program.setupFlags !== undefined ? { flags: program.setupFlags } : {}),
          ...(program.cqEntries !== undefined ? { cqEntries: program.cqEntries } : {}),
        }),
      );
    } catch (e) {
      out.setupError = (e as { code?: string }).code ?? String(e);
      return out;
    }
    if (program.fixedBufs) {
      out.registers.push(ring.kernelRing.register(IORING_REGISTER_BUFFERS, {
        buffers: program.fixedBufs.map((b) => (b === null ? null : bufs[b]!)),
      }));
    }
    if (program.fixedFiles) {
      out.registers.push(ring.kernelRing.register(IORING_REGISTER_FILES, {
        fds: program.fixedFiles.map((f) => (f < 0 ? -1 : fds[f]!)),
      }));
    }
    const r = ring;

    const fdOf = (ref: FdRef | undefined): number => {
      if (ref === undefined) return 0;
      if (typeof ref === "number") return ref;
      if ("file" in ref) return fds[ref.file]!;
      if ("dir" in ref) return dirFds[ref.dir]!;
      return pairs[ref.sock]![ref.end];
    };
    const addrOf = (ref: AddrRef | undefined): bigint => {
      if (ref === undefined) return 0n;
      if (typeof ref === "bigint") return ref;
      if ("buf" in ref) return kernel.addressOf(bufs[ref.buf]!) + BigInt(ref.at ?? 0);
      if ("iov" in ref) {
        const iov = new Uint8Array(Math.max(1, ref.iov.length) * 16);
        const v = new DataView(iov.buffer);
        ref.iov.forEach((e, i) => {
          v.setBigUint64(i * 16, kernel.addressOf(bufs[e.buf]!) + BigInt(e.at ?? 0), true);
          v.setBigUint64(i * 16 + 8, BigInt(e.len), true);
        });
        keep.push(iov);
        return kernel.addressOf(iov);
      }
      const ts = new Uint8Array(16);
      const v = new DataView(ts.buffer);
      v.setBigInt64(0, BigInt(ref.ts[0]), true);
      v.setBigInt64(8, BigInt(ref.ts[1]), true);
      keep.push(ts);
      return kernel.addressOf(ts);
    };

    let consumed = 0;
    let maxCqes = 0;
    let minCqes = 0;
    const pushed: SqeSpec[] = [];
    const push = (s: SqeSpec): void => {
      const o = r.getSqeOffset(); // zeroed
      if (o < 0) throw new Error(`${program.name}: more SQEs than the SQ holds`);
      IoUringSqe.encode(r.sqes, o, {
        opcode: s.op,
        flags: s.flags ?? 0,
        ioprio: s.ioprio ?? 0,
        fd: fdOf(s.fd),
        off: BigInt.asUintN(64, BigInt(s.off ?? 0)),
        addr: addrOf(s.addr),
        len: s.len ?? 0,
        opFlags: s.opFlags ?? 0,
        userData: BigInt(s.ud),
        bufIndex: s.bufIndex ?? 0,
        personality: s.personality ?? 0,
        spliceFdIn: s.spliceFdIn ?? 0,
        addr3: s.addr3 ?? 0n,
        pad2: s.pad2 ?? 0n,
      });
      pushed.push(s);
    };
    // Reaps what the CQ holds; overflowed CQEs come only through the explicit getEvents.
    const drain = (): number => {
      const cq = r.cqView;
      const n = r.cqReady();
      for (let i = 0; i < n; i++) {
        const o = r.cqeOffset(i);
        out.cqes.push({
          ud: IoUringCqe.userData(cq, o),
          res: IoUringCqe.res(cq, o),
          flags: IoUringCqe.flags(cq, o),
        });
      }
      r.cqAdvance(n);
      return n;
    };
    const getEvents = (): void => {
      r.kernelRing.getEvents?.();
    };
    // One io_uring_enter for everything queued (tail - head: the SQEs of this batch plus what
    // an earlier enter left unconsumed), its result recorded as is (a negative errno too).
    const submit = (): number => {
      try {
        return r.submit();
      } catch (e) {
        if (e instanceof ErrnoError) return -e.errno;
        throw e;
      }
    };
    const collect = async (final: boolean): Promise<void> => {
      const deadline = Date.now() + 3000;
      for (;;) {
        getEvents();
        drain();
        getEvents();
        drain();
        if (out.cqes.length >= maxCqes) return;
        if (!final) {
          // Between batches: take what completes promptly, leave the rest in flight.
          const before = out.cqes.length;
          await delay(quietMs);
          getEvents();
          drain();
          if (out.cqes.length === before) return;
          continue;
        }
        if (out.cqes.length >= minCqes) {
          // Between the certain and the possible count: wait until quiet.
          const before = out.cqes.length;
          await delay(quietMs);
          getEvents();
          drain();
          if (out.cqes.length === before) return;
          continue;
        }
        if (Date.now() > deadline) {
          out.timedOut = true;
          return;
        }
        await Promise.race([r.wait(1), delay(Math.max(1, Math.min(200, deadline - Date.now())))]);
      }
    };

    for (const batch of program.batches) {
      for (const s of batch.sqes) push(s);
      const n = submit();
      out.submits.push(n);
      if (n > 0) {
        // A request after a CQE_SKIP_SUCCESS member of its chain may post nothing: when that
        // member fails, the kernel skips the -ECANCELED CQEs of the rest (REQ_F_SKIP_LINK_CQES).
        let chainSkip = false;
        for (let i = consumed; i < consumed + n; i++) {
          const s = pushed[i]!;
          const f = s.flags ?? 0;
          maxCqes += s.op === IORING_OP_SEND_ZC ? 2 : 1; // SEND_ZC may add a notification
          if (!(f & IOSQE_CQE_SKIP_SUCCESS) && !chainSkip) minCqes++;
          if (f & IOSQE_CQE_SKIP_SUCCESS) chainSkip = true;
          if (!(f & (IOSQE_IO_LINK | IOSQE_IO_HARDLINK))) chainSkip = false;
        }
        consumed += n;
      }
      if (batch.sleepMs) await delay(batch.sleepMs);
      if (batch.reap !== false) await collect(false);
    }
    await collect(true);
    out.sqLeft = r.sqReady();
  } finally {
    ring?.close();
    for (const fd of [...fds, ...sockFds, ...openDirs]) kernel.closeFd(fd);
    for (const d of dirPaths) Deno.removeSync(d, { recursive: true });
    for (const p of paths) {
      try {
        out.files.push(Deno.readFileSync(p));
        Deno.removeSync(p);
      } catch {
        out.files.push(new Uint8Array(0));
      }
    }
    out.bufs = bufs.map((b) => b.slice());
    graveyard.push(bufs, keep);
    if (graveyard.length > 512) graveyard.splice(0, graveyard.length - 512);
  }
  return out;
}

/** A fresh directory on tmpfs for the files of a run. */
export function tmpDir(): string {
  return Deno.makeTempDirSync({ dir: "/dev/shm", prefix: "ublk-ts-diff-" });
}

export { O_CREAT, O_RDWR, O_TRUNC };
