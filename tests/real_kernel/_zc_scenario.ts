/**
 * The zero-copy differential (issue #11, part 5): one fixed set of io-command probes run by a
 * ublk server on any kernel — the model with `installUblk`, or the real `ublk_drv` through
 * `@ublk-ts/native` — in each data mode the kernel has (copy, user copy, register-buf,
 * auto-buf-reg, auto-buf-reg with the fallback forced). Each device is a loop target over a
 * scratch file; when the block side sends the scenario's WRITE (8 KiB at 1 MiB) or READ
 * (8 KiB at 2 MiB), the probe target first tries, through raw SQEs on the queue's own ring,
 * what a server may and may not do with that request's pages — REGISTER_IO_BUF /
 * UNREGISTER_IO_BUF with bad and good arguments, READ_FIXED / WRITE_FIXED in the wrong
 * direction and past the end, user-copy `pread`/`pwrite` at offsets in and beyond the request,
 * of an idle tag, of a queue that does not exist — and records each result; then the loop
 * target serves the request as usual, and the block side's result and data are recorded too.
 *
 * The recorded steps ({@linkcode StepResult}, as in `_ctrl_scenario.ts`) are compared with
 * `compareRuns`; the real driver's run is checked in as `testdata/zc_<kernel>.json` and
 * `zc_vs_recording_test.ts` replays the model against it.
 *
 * @module
 */

import {
  IORING_OP_READ,
  IORING_OP_READ_FIXED,
  IORING_OP_WRITE,
  IORING_OP_WRITE_FIXED,
  IoUringSqe,
  O_CREAT,
  O_RDWR,
  O_TRUNC,
  UBLK_IO_F_NEED_REG_BUF,
  UBLK_IO_OP_READ,
  UBLK_IO_OP_WRITE,
  UBLK_U_IO_REGISTER_IO_BUF,
  UBLK_U_IO_UNREGISTER_IO_BUF,
  UblksrvIoCmd,
  ublkUserCopyPos,
} from "@ublk-ts/uapi";
import { prepRwAt, prepUringCmdAt, sqeSetBufIndex, sqeSetFlags } from "@ublk-ts/ring";
import { IOSQE_FIXED_FILE } from "@ublk-ts/uapi";
import { allocIoMemory } from "@ublk-ts/rsrc";
import {
  createDevice,
  type CreateDeviceOptions,
  type DataMode,
  type IoDesc,
  type Kernel,
  type Target,
  type TargetDevInfo,
  type TargetIoCtx,
  type TargetParams,
  type UblkDevice,
} from "@ublk-ts/ublk";
import { LoopTarget } from "@ublk-ts/targets";
import type { StepResult } from "./_ctrl_scenario.ts";
import { compareRuns, type Difference, type KnownDifference } from "./_compare.ts";

/** Bytes of the scenario's WRITE and READ. */
export const ZC_IO_BYTES = 8192;
/** Device offset of the scenario's WRITE. */
export const ZC_WRITE_AT = 1 << 20;
/** Device offset of the scenario's READ. */
export const ZC_READ_AT = 2 << 20;
/** Device (and backing file) size. */
export const ZC_DEV_SIZE = 4 << 20;
/** Queue depth of every scenario device (the registered-buffer table has this many slots). */
export const ZC_DEPTH = 4;

/** One device of the scenario: its name and how it is created. */
export interface ZcCase {
  /** Case name (the key of the recording's runs). */
  readonly name: string;
  /** The data mode. */
  readonly dataMode: DataMode;
  /** `autoFallback` of createDevice. */
  readonly autoFallback?: boolean | "always";
}

/** The cases, in order; {@linkcode runZcScenario} runs those the kernel's features allow. */
export const ZC_CASES: readonly ZcCase[] = [
  { name: "copy", dataMode: "copy" },
  { name: "user-copy", dataMode: "user-copy" },
  { name: "register", dataMode: "register" },
  { name: "auto", dataMode: "auto" },
  { name: "auto-forced-fallback", dataMode: "auto", autoFallback: "always" },
];

/**
 * How the scenario reaches the block device: in process on the model (`dev.bdev`), with
 * `dd … oflag=direct` / `iflag=direct` on a real kernel.
 */
export interface ZcBlockIo {
  /** Writes `data` at `offset`; resolves with bytes written or a negative errno. */
  write(dev: UblkDevice, offset: number, data: Uint8Array): Promise<number>;
  /** Reads `len` bytes at `offset`; resolves with the result and the bytes read. */
  read(dev: UblkDevice, offset: number, len: number): Promise<{ res: number; data: Uint8Array }>;
}

/** The model's block side: the in-process client of `/dev/ublkbN`. */
export const modelBlockIo: ZcBlockIo = {
  write: (dev, offset, data) => dev.bdev.write(offset, data),
  async read(dev, offset, len): Promise<{ res: number; data: Uint8Array }> {
    const data = new Uint8Array(len);
    const res = await dev.bdev.read(offset, data);
    return { res, data };
  },
};

/**
 * A real kernel's block side: busybox or coreutils `dd` with O_DIRECT (one request of exactly
 * the size asked, no readahead). A failed dd is reported as -EIO.
 *
 * @param scratch A directory for dd's input and output files.
 */
export function ddBlockIo(scratch: string): ZcBlockIo {
  const dd = async (args: string[]): Promise<number> => {
    const o = await new Deno.Command("dd", { args, stdout: "null", stderr: "null" }).output();
    return o.code;
  };
  return {
    async write(dev, offset, data): Promise<number> {
      const f = `${scratch}/zc-dd-in`;
      Deno.writeFileSync(f, data);
      const code = await dd([
        `if=${f}`,
        `of=${dev.blockPath}`,
        `bs=${data.length}`,
        "count=1",
        `seek=${offset / data.length}`,
        "oflag=direct",
        "conv=notrunc",
      ]);
      return code === 0 ? data.length : -5;
    },
    async read(dev, offset, len): Promise<{ res: number; data: Uint8Array }> {
      const f = `${scratch}/zc-dd-out`;
      const code = await dd([
        `if=${dev.blockPath}`,
        `of=${f}`,
        `bs=${len}`,
        "count=1",
        `skip=${offset / len}`,
        "iflag=direct",
      ]);
      if (code !== 0) return { res: -5, data: new Uint8Array(0) };
      const data = Deno.readFileSync(f);
      return { res: data.length, data };
    },
  };
}

/** The bytes the block side writes: distinct per 512-byte sector. */
export function zcPattern(seed: number, len: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = (seed * 31 + i * 7 + (i >> 9) * 13) & 0xff;
  return b;
}

function same(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return 0;
  return 1;
}

/** The 512-byte aligned offset of `chunk` (512 bytes) in `data`, or -1. */
function startsAt(chunk: Uint8Array, data: Uint8Array): number {
  for (let k = 0; k + chunk.length <= data.length; k += 512) {
    if (same(chunk, data.subarray(k, k + chunk.length)) === 1) return k;
  }
  return -1;
}

/** What bytes a read put past the request's end: "untouched" (0xee), "request" (a copy of it), "zero" or "other". */
function tailKind(tail: Uint8Array, data: Uint8Array): string {
  if (tail.every((x) => x === 0xee)) return "untouched";
  if (tail.every((x) => x === 0)) return "zero";
  if (startsAt(tail.subarray(0, 512), data) >= 0) return "request";
  return "other";
}

/**
 * The probe target: a loop target that runs the probes on the scenario's two requests before
 * serving them.
 */
class ZcProbeTarget implements Target {
  readonly name = "zc-probe";
  readonly fixedFds: readonly number[];
  readonly steps: StepResult[] = [];
  readonly #loop: LoopTarget;
  readonly #kernel: Kernel;
  readonly #scratchFd: number;
  readonly #mem = allocIoMemory(4 * ZC_IO_BYTES);
  readonly #memAddr: bigint;
  readonly #writeData: Uint8Array;
  readonly #readData: Uint8Array;
  #dev: TargetDevInfo | null = null;
  #wDone = false;
  #rDone = false;

  constructor(
    kernel: Kernel,
    backing: string,
    scratch: string,
    wData: Uint8Array,
    rData: Uint8Array,
  ) {
    this.#kernel = kernel;
    this.#loop = new LoopTarget(kernel, backing, { direct: false, lock: false });
    this.fixedFds = this.#loop.fixedFds;
    // The probes' own file (not registered): what READ_FIXED reads from and WRITE_FIXED writes to.
    const fd = kernel.open(scratch, O_RDWR | O_CREAT | O_TRUNC, 0o644);
    if (fd < 0) throw new Error(`open ${scratch}: errno ${-fd}`);
    this.#scratchFd = fd;
    this.#memAddr = kernel.addressOf(this.#mem);
    this.#writeData = wData;
    this.#readData = rData;
  }

  init(dev: TargetDevInfo): TargetParams | Promise<TargetParams> {
    this.#dev = dev;
    return this.#loop.init(dev);
  }

  close(): void {
    this.#kernel.closeFd(this.#scratchFd);
    this.#loop.close();
  }

  #rec(step: string, res: number, fields: Record<string, number | string> = {}): void {
    this.steps.push({ step, res, fields });
  }

  /** A REGISTER_IO_BUF / UNREGISTER_IO_BUF on /dev/ublkcN (fixed file 0). */
  #bufCmd(
    ctx: TargetIoCtx,
    reg: boolean,
    qid: number,
    tag: number,
    index: number,
  ): Promise<number> {
    return ctx.submit((v, o) => {
      prepUringCmdAt(v, o, 0, reg ? UBLK_U_IO_REGISTER_IO_BUF : UBLK_U_IO_UNREGISTER_IO_BUF);
      sqeSetFlags(v, o, IOSQE_FIXED_FILE);
      UblksrvIoCmd.set(v, o + IoUringSqe.OFFSET_CMD, qid, tag, 0, BigInt(index));
    });
  }

  /** READ_FIXED (file → request pages) or WRITE_FIXED (pages → file) on buffer `index`. */
  #fixed(
    ctx: TargetIoCtx,
    toPages: boolean,
    index: number,
    bufOff: number,
    len: number,
    fileOff: number,
  ): Promise<number> {
    return ctx.submit((v, o) => {
      const op = toPages ? IORING_OP_READ_FIXED : IORING_OP_WRITE_FIXED;
      prepRwAt(v, o, op, this.#scratchFd, bufOff, len, fileOff);
      sqeSetBufIndex(v, o, index);
    });
  }

  /** User copy: pread (`toMem`) or pwrite of /dev/ublkcN at `pos`, into/from the probe memory. */
  #uc(ctx: TargetIoCtx, toMem: boolean, pos: bigint, len: number, memOff = 0): Promise<number> {
    return ctx.submit((v, o) => {
      const op = toMem ? IORING_OP_READ : IORING_OP_WRITE;
      prepRwAt(v, o, op, 0, this.#memAddr + BigInt(memOff), len, pos);
      sqeSetFlags(v, o, IOSQE_FIXED_FILE);
    });
  }

  /** The zeroed staging area for `len` bytes of the scratch file. */
  #staging(len: number): Uint8Array {
    const m = this.#mem.subarray(3 * ZC_IO_BYTES, 3 * ZC_IO_BYTES + len);
    m.fill(0);
    return m;
  }

  async #readScratch(ctx: TargetIoCtx, off: number, len: number): Promise<Uint8Array> {
    const m = this.#staging(len);
    const addr = this.#memAddr + BigInt(3 * ZC_IO_BYTES);
    const r = await ctx.submit((v, o) =>
      prepRwAt(v, o, IORING_OP_READ, this.#scratchFd, addr, len, off)
    );
    return m.subarray(0, Math.max(0, r));
  }

  async #writeScratch(ctx: TargetIoCtx, off: number, data: Uint8Array): Promise<number> {
    const m = this.#mem.subarray(3 * ZC_IO_BYTES, 3 * ZC_IO_BYTES + data.length);
    m.set(data);
    const addr = this.#memAddr + BigInt(3 * ZC_IO_BYTES);
    return await ctx.submit((v, o) =>
      prepRwAt(v, o, IORING_OP_WRITE, this.#scratchFd, addr, data.length, off)
    );
  }

  async handleIo(ctx: TargetIoCtx, tag: number, iod: IoDesc): Promise<number> {
    if (!this.#wDone && iod.op === UBLK_IO_OP_WRITE && iod.offset === ZC_WRITE_AT) {
      this.#wDone = true;
      await this.#probeWrite(ctx, tag, iod);
    } else if (!this.#rDone && iod.op === UBLK_IO_OP_READ && iod.offset === ZC_READ_AT) {
      this.#rDone = true;
      await this.#probeRead(ctx, tag, iod);
    }
    return await this.#loop.handleIo(ctx, tag, iod);
  }

  #iodStep(what: string, iod: IoDesc): void {
    this.#rec(`${what}: the request`, 0, {
      op: iod.op,
      needRegBuf: (iod.flags & UBLK_IO_F_NEED_REG_BUF) !== 0 ? 1 : 0,
      bytes: iod.bytes,
    });
  }

  async #probeWrite(ctx: TargetIoCtx, tag: number, iod: IoDesc): Promise<void> {
    const mode = ctx.dataMode;
    const idle = (tag + 1) % ZC_DEPTH;
    const n = ZC_IO_BYTES;
    this.#iodStep("W", iod);
    if (mode === "copy" || mode === "user-copy") {
      const pos = (q: number, t: number, off: number) => ublkUserCopyPos(q, t, off);
      this.#rec(
        "W: REGISTER_IO_BUF without SUPPORT_ZERO_COPY",
        await this.#bufCmd(ctx, true, 0, tag, tag),
      );
      this.#rec(
        "W: UNREGISTER_IO_BUF without SUPPORT_ZERO_COPY",
        await this.#bufCmd(ctx, false, 0, tag, tag),
      );
      const r = await this.#uc(ctx, true, pos(0, tag, 0), n);
      this.#rec("W: pread of the request", r, {
        matches: r === n ? same(this.#mem.subarray(0, n), this.#writeData) : 0,
      });
      if (mode === "copy") return;
      this.#mem.fill(0xee, n, 3 * n);
      const half = await this.#uc(ctx, true, pos(0, tag, n / 2), n, n);
      this.#rec("W: pread from the middle, asking past the end", half, {
        matches: half === n / 2
          ? same(this.#mem.subarray(n, n + n / 2), this.#writeData.subarray(n / 2))
          : 0,
        // where in the request the bytes read start (-1: nowhere), and whether what follows
        // the request's end in the destination is the request again, untouched, or other bytes
        startsAt: startsAt(this.#mem.subarray(n, n + 512), this.#writeData),
        after: half > n / 2
          ? tailKind(this.#mem.subarray(n + n / 2, n + half), this.#writeData)
          : "none",
      });
      this.#rec("W: pread at the request's end", await this.#uc(ctx, true, pos(0, tag, n), 4096));
      this.#rec(
        "W: pread beyond the request's end",
        await this.#uc(ctx, true, pos(0, tag, n + 4096), 4096),
      );
      this.#rec("W: pread of an idle tag", await this.#uc(ctx, true, pos(0, idle, 0), n));
      this.#rec(
        "W: pread of queue 1 (no such queue)",
        await this.#uc(ctx, true, pos(1, tag, 0), n),
      );
      this.#rec("W: pread of tag = depth", await this.#uc(ctx, true, pos(0, ZC_DEPTH, 0), n));
      this.#rec("W: pwrite into a WRITE request", await this.#uc(ctx, false, pos(0, tag, 0), n));
      this.#rec("W: pread below UBLKSRV_IO_BUF_OFFSET", await this.#uc(ctx, true, 4096n, n));
      this.#rec("W: pread of 0 bytes", await this.#uc(ctx, true, pos(0, tag, 0), 0));
      return;
    }
    // register / auto: the request pages as a registered buffer
    const auto = mode === "auto";
    const autoReg = auto && (iod.flags & UBLK_IO_F_NEED_REG_BUF) === 0;
    if (!autoReg) {
      this.#rec(
        "W: WRITE_FIXED before any registration",
        await this.#fixed(ctx, false, tag, 0, n, 0),
      );
      this.#rec("W: REGISTER_IO_BUF of queue 1", await this.#bufCmd(ctx, true, 1, tag, tag));
      this.#rec("W: REGISTER_IO_BUF of an idle tag", await this.#bufCmd(ctx, true, 0, idle, tag));
      this.#rec(
        "W: REGISTER_IO_BUF of tag = depth",
        await this.#bufCmd(ctx, true, 0, ZC_DEPTH, tag),
      );
      this.#rec(
        "W: REGISTER_IO_BUF at index = table size",
        await this.#bufCmd(ctx, true, 0, tag, ZC_DEPTH),
      );
      this.#rec("W: REGISTER_IO_BUF", await this.#bufCmd(ctx, true, 0, tag, tag));
    }
    this.#rec("W: REGISTER_IO_BUF at an index in use", await this.#bufCmd(ctx, true, 0, tag, tag));
    this.#rec("W: REGISTER_IO_BUF at a second index", await this.#bufCmd(ctx, true, 0, tag, idle));
    this.#rec(
      "W: UNREGISTER_IO_BUF of the second index",
      await this.#bufCmd(ctx, false, 0, tag, idle),
    );
    this.#rec(
      "W: READ_FIXED into a WRITE request's pages",
      await this.#fixed(ctx, true, tag, 0, n, 0),
    );
    const w = await this.#fixed(ctx, false, tag, n / 2, n / 2, 0);
    const got = await this.#readScratch(ctx, 0, n / 2);
    this.#rec("W: WRITE_FIXED of the second half", w, {
      matches: same(got, this.#writeData.subarray(n / 2)),
    });
    this.#rec(
      "W: WRITE_FIXED at the end of the pages",
      await this.#fixed(ctx, false, tag, n, 4096, 0),
    );
    this.#rec("W: WRITE_FIXED crossing the end", await this.#fixed(ctx, false, tag, n / 2, n, 0));
    this.#rec("W: WRITE_FIXED of 0 bytes", await this.#fixed(ctx, false, tag, 0, 0, 0));
    if (autoReg) return; // the driver unregisters at COMMIT
    this.#rec("W: UNREGISTER_IO_BUF", await this.#bufCmd(ctx, false, 0, tag, tag));
    this.#rec("W: UNREGISTER_IO_BUF again", await this.#bufCmd(ctx, false, 0, tag, tag));
    this.#rec(
      "W: WRITE_FIXED after UNREGISTER_IO_BUF",
      await this.#fixed(ctx, false, tag, 0, n, 0),
    );
  }

  async #probeRead(ctx: TargetIoCtx, tag: number, iod: IoDesc): Promise<void> {
    const mode = ctx.dataMode;
    const n = ZC_IO_BYTES;
    this.#iodStep("R", iod);
    if (mode === "copy") return;
    if (mode === "user-copy") {
      const pos = ublkUserCopyPos(0, tag, 0);
      this.#rec("R: pread of a READ request", await this.#uc(ctx, true, pos, n));
      this.#mem.set(this.#readData, 0);
      this.#rec("R: pwrite of the request", await this.#uc(ctx, false, pos, n));
      return;
    }
    const autoReg = mode === "auto" && (iod.flags & UBLK_IO_F_NEED_REG_BUF) === 0;
    if (!autoReg) this.#rec("R: REGISTER_IO_BUF", await this.#bufCmd(ctx, true, 0, tag, tag));
    await this.#writeScratch(ctx, 0, this.#readData);
    this.#rec(
      "R: WRITE_FIXED from a READ request's pages",
      await this.#fixed(ctx, false, tag, 0, n, 0),
    );
    this.#rec("R: READ_FIXED of the request", await this.#fixed(ctx, true, tag, 0, n, 0));
    if (!autoReg) this.#rec("R: UNREGISTER_IO_BUF", await this.#bufCmd(ctx, false, 0, tag, tag));
  }
}

/** Options of {@linkcode runZcScenario}. */
export interface ZcScenarioOptions {
  /** A directory for the backing and scratch files (ext4 or tmpfs). */
  dir: string;
  /** How the block device is reached. */
  blockIo: ZcBlockIo;
  /** Device id (default 0). */
  devId?: number;
  /** Say progress. */
  log?: (line: string) => void;
}

/**
 * Runs every case the kernel's features allow.
 *
 * @param kernel The kernel (model with the ublk driver, or native on a kernel with ublk_drv).
 * @param options Files, block access.
 * @returns The steps of each case that ran, by case name; a case the kernel lacks has one step
 *   "refused" whose `fields.why` is createDevice's one-line refusal.
 */
export async function runZcScenario(
  kernel: Kernel,
  options: ZcScenarioOptions,
): Promise<Record<string, StepResult[]>> {
  const out: Record<string, StepResult[]> = {};
  for (const c of ZC_CASES) {
    const backing = `${options.dir}/zc-${c.name}.img`;
    const wData = zcPattern(1, ZC_IO_BYTES);
    const rData = zcPattern(2, ZC_IO_BYTES);
    Deno.writeFileSync(backing, new Uint8Array(ZC_DEV_SIZE));
    const target = new ZcProbeTarget(
      kernel,
      backing,
      `${options.dir}/zc-${c.name}.scratch`,
      wData,
      rData,
    );
    const dopts: CreateDeviceOptions = {
      devId: options.devId ?? 0,
      queues: 1,
      depth: ZC_DEPTH,
      maxIoBufBytes: 64 * 1024,
      dataMode: c.dataMode,
      ...(c.autoFallback !== undefined ? { autoFallback: c.autoFallback } : {}),
    };
    let dev: UblkDevice;
    try {
      dev = await createDevice(kernel, target, dopts);
    } catch (e) {
      target.close();
      const why = e instanceof Error ? e.message : String(e);
      out[c.name] = [{ step: "refused", res: 0, fields: { why } }];
      options.log?.(`zc ${c.name}: refused: ${why}`);
      continue;
    }
    const steps = target.steps;
    try {
      const w = await options.blockIo.write(dev, ZC_WRITE_AT, wData);
      const back = Deno.readFileSync(backing).subarray(ZC_WRITE_AT, ZC_WRITE_AT + ZC_IO_BYTES);
      steps.push({ step: "block WRITE", res: w, fields: { backingMatches: same(back, wData) } });
      // The READ's range in the backing file holds rData: the loop serves it from there.
      const f = await Deno.open(backing, { write: true });
      await f.seek(ZC_READ_AT, Deno.SeekMode.Start);
      await f.write(rData);
      f.close();
      const r = await options.blockIo.read(dev, ZC_READ_AT, ZC_IO_BYTES);
      steps.push({ step: "block READ", res: r.res, fields: { matches: same(r.data, rData) } });
    } finally {
      await dev.stop();
    }
    out[c.name] = steps;
    options.log?.(`zc ${c.name}: ${steps.length} steps`);
  }
  return out;
}

/**
 * Compares a real run of {@linkcode runZcScenario} with the model's, case by case. Steps are
 * named `<case> <step>` in the result; a step only one side has is a difference of field
 * "step" (`present` / `absent`), a case only one side ran one of field "case".
 *
 * @param real The real driver's run (cases it refused are skipped).
 * @param model The model's run.
 * @param known Differences that are explained.
 * @returns Every difference (known ones carry `known`).
 */
export function compareZcRuns(
  real: Readonly<Record<string, readonly StepResult[]>>,
  model: Readonly<Record<string, readonly StepResult[]>>,
  known: readonly KnownDifference[],
): Difference[] {
  const out: Difference[] = [];
  const explain = (d: Difference): Difference => {
    const k = known.find((x) => (x.step === d.step || x.step === "*") && x.field === d.field);
    return k === undefined ? d : { ...d, known: k };
  };
  for (const [name, r] of Object.entries(real)) {
    if (r[0]?.step === "refused") continue;
    const m = model[name];
    if (m === undefined || m[0]?.step === "refused") {
      out.push(
        explain({
          step: name,
          field: "case",
          real: "ran",
          model: m === undefined ? "absent" : "refused",
        }),
      );
      continue;
    }
    const named = (s: readonly StepResult[]) => s.map((x) => ({ ...x, step: `${name} ${x.step}` }));
    const rs = named(r), ms = named(m);
    const used = new Set<number>();
    for (const st of rs) {
      const j = ms.findIndex((x, i) => !used.has(i) && x.step === st.step);
      if (j < 0) {
        out.push(explain({ step: st.step, field: "step", real: "present", model: "absent" }));
        continue;
      }
      used.add(j);
      out.push(...compareRuns([st], [ms[j]!], known));
    }
    ms.forEach((x, i) => {
      if (!used.has(i)) {
        out.push(explain({ step: x.step, field: "step", real: "absent", model: "present" }));
      }
    });
  }
  return out;
}
