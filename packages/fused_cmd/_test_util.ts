/**
 * Test helpers (not published): a bare SQ/CQ driver over any `KernelRing`, written straight
 * against the ring memory as the kernel lays it out, plus a model-kernel fixture with the
 * fused op and a {@linkcode TestDevice}.
 *
 * @module
 */

import {
  IORING_OP_NOP,
  IORING_OP_READ,
  IORING_OP_WRITE,
  IORING_SETUP_SQE128,
  IOSQE_FIXED_FILE,
} from "@ublk-ts/uapi";
import type { IoBackend, KernelRing } from "@ublk-ts/ring";
import { ModelKernel } from "@ublk-ts/model";
import { O_CREAT, O_RDWR, O_TRUNC } from "@ublk-ts/ring";
import { MappedBuffer } from "@ublk-ts/rsrc";
import { type FusedMasterArgs, type FusedSlaveArgs, writeFusedSqe } from "./fused_sqe.ts";
import { installFusedCmd } from "./fused_cmd.ts";
import {
  TEST_DEV_CMD_LEND,
  TestDevice,
  testDeviceCmd,
  type TestDeviceOptions,
} from "@ublk-ts/testing";

/** One CQE as read from the CQ ring. */
export interface Cqe {
  userData: bigint;
  res: number;
  flags: number;
}

/** A minimal user side of a ring: writes SQEs, publishes the tail, reaps CQEs. */
export class RawRing {
  readonly kr: KernelRing;
  readonly sqeBytes: Uint8Array;
  readonly sqeView: DataView;
  readonly sqeSize: number;
  #sq: Uint32Array;
  #cq: DataView;
  #cqU32: Uint32Array;
  #tail = 0;
  #pending = 0;

  constructor(kr: KernelRing) {
    this.kr = kr;
    this.sqeBytes = new Uint8Array(kr.sqes);
    this.sqeView = new DataView(kr.sqes);
    this.sqeSize = kr.flags & IORING_SETUP_SQE128 ? 128 : 64;
    this.#sq = new Uint32Array(kr.sqRing);
    this.#cq = new DataView(kr.cqRing);
    this.#cqU32 = new Uint32Array(kr.cqRing);
    this.#tail = this.#sq[kr.sqOff.tail >> 2]!;
  }

  /** Byte offset of the next free SQE (zeroed); throws when the SQ is full. */
  next(): number {
    const kr = this.kr;
    const head = this.#sq[kr.sqOff.head >> 2]!;
    if (((this.#tail - head) >>> 0) >= kr.sqEntries) throw new Error("SQ full");
    const idx = this.#tail & (kr.sqEntries - 1);
    this.#sq[(kr.sqOff.array >> 2) + idx] = idx;
    this.#tail = (this.#tail + 1) >>> 0;
    this.#pending++;
    const off = idx * this.sqeSize;
    this.sqeBytes.fill(0, off, off + this.sqeSize);
    return off;
  }

  /** Writes a fused pair into the next SQE. */
  fused(master: FusedMasterArgs, slave: FusedSlaveArgs): number {
    const off = this.next();
    writeFusedSqe(this.sqeBytes, this.sqeView, off, master, slave);
    return off;
  }

  /** A plain SQE (NOP by default). */
  plain(
    opcode: number,
    fields: {
      fd?: number;
      addr?: bigint;
      len?: number;
      off?: bigint;
      flags?: number;
      userData: bigint;
    },
  ): number {
    const o = this.next();
    const v = this.sqeView;
    v.setUint8(o, opcode);
    v.setUint8(o + 1, fields.flags ?? 0);
    v.setInt32(o + 4, fields.fd ?? -1, true);
    v.setBigUint64(o + 8, fields.off ?? 0n, true);
    v.setBigUint64(o + 16, fields.addr ?? 0n, true);
    v.setUint32(o + 24, fields.len ?? 0, true);
    v.setBigUint64(o + 32, fields.userData, true);
    return o;
  }

  /** A NOP. */
  nop(userData: bigint, flags = 0): number {
    return this.plain(IORING_OP_NOP, { userData, flags });
  }

  /** Publishes the tail and submits every pending SQE. */
  submit(): number {
    const kr = this.kr;
    this.#sq[kr.sqOff.tail >> 2] = this.#tail;
    const n = this.#pending;
    this.#pending = 0;
    return kr.submit(n);
  }

  /** Reaps every CQE in the ring. */
  reap(): Cqe[] {
    const kr = this.kr;
    const out: Cqe[] = [];
    let head = this.#cqU32[kr.cqOff.head >> 2]!;
    const tail = this.#cqU32[kr.cqOff.tail >> 2]!;
    const cqeSize = kr.flags & 2048 ? 32 : 16;
    while (head !== tail) {
      const o = kr.cqOff.cqes + (head & (kr.cqEntries - 1)) * cqeSize;
      out.push({
        userData: this.#cq.getBigUint64(o, true),
        res: this.#cq.getInt32(o + 8, true),
        flags: this.#cq.getUint32(o + 12, true),
      });
      head = (head + 1) >>> 0;
    }
    this.#cqU32[kr.cqOff.head >> 2] = head;
    return out;
  }

  /** Waits until `n` CQEs have been reaped in total by this call, then returns them. */
  async reapN(n: number, timeoutMs = 5000): Promise<Cqe[]> {
    const out: Cqe[] = this.reap();
    const deadline = Date.now() + timeoutMs;
    while (out.length < n) {
      if (Date.now() > deadline) throw new Error(`Timed out with ${out.length} of ${n} CQEs`);
      const r = await Promise.race([
        this.kr.wait(1),
        new Promise<number>((res) => setTimeout(() => res(-62), 50)),
      ]);
      if (r < 0 && r !== -62) throw new Error(`wait failed: ${r}`);
      out.push(...this.reap());
    }
    return out;
  }
}

/** A model kernel with FUSED_CMD, a TestDevice at /dev/fused-test, a scratch file. */
export interface Fixture {
  kernel: ModelKernel;
  ring: RawRing;
  dev: TestDevice;
  devFd: number;
  path: string;
  fileFd: number;
  close(): void;
}

/** Builds a {@linkcode Fixture}. */
export function fixture(
  opts: {
    sqe128?: boolean;
    device?: TestDeviceOptions;
    entries?: number;
    fileBytes?: Uint8Array;
    backend?: IoBackend;
  } = {},
): Fixture {
  const kernel = new ModelKernel(opts.backend ? { backend: opts.backend } : {});
  installFusedCmd(kernel);
  const dev = new TestDevice(opts.device);
  kernel.registerDevice("/dev/fused-test", dev);
  const kr = kernel.setup(opts.entries ?? 64, {
    flags: opts.sqe128 === false ? 0 : IORING_SETUP_SQE128,
  });
  const ring = new RawRing(kr);
  const devFd = kernel.open("/dev/fused-test", O_RDWR);
  if (devFd < 0) throw new Error(`open device: ${devFd}`);
  const path = Deno.makeTempFileSync({ dir: "/dev/shm", prefix: "fused-test-" });
  if (opts.fileBytes) Deno.writeFileSync(path, opts.fileBytes);
  const fileFd = kernel.open(path, O_RDWR | (opts.fileBytes ? 0 : O_CREAT | O_TRUNC));
  if (fileFd < 0) throw new Error(`open file: ${fileFd}`);
  return {
    kernel,
    ring,
    dev,
    devFd,
    path,
    fileFd,
    close(): void {
      kernel.close();
      try {
        Deno.removeSync(path);
      } catch {
        // already gone
      }
    },
  };
}

/** The master half for the test device. */
export function lendMaster(
  devFd: number,
  key: number,
  userData: bigint,
  flags = 0,
): FusedMasterArgs {
  return { fd: devFd, cmdOp: TEST_DEV_CMD_LEND, cmd: testDeviceCmd(key), userData, flags };
}

/** A slave READ/WRITE of `len` bytes at buffer offset `addr`, file offset `off`. */
export function rwSlave(
  write: boolean,
  fd: number,
  addr: number,
  len: number,
  off: bigint,
  userData: bigint,
  flags = 0,
): FusedSlaveArgs {
  return { opcode: write ? IORING_OP_WRITE : IORING_OP_READ, fd, addr, len, off, userData, flags };
}

/** A buffer of `sizes` segments filled with `fill`, with a lease counter probe. */
export function segBuffer(
  sizes: number[],
  fill = 0,
  offset = 0,
): { buf: MappedBuffer; released: () => number } {
  let n = 0;
  const buf = MappedBuffer.fromSegments(sizes.map((s) => new Uint8Array(s).fill(fill)), {
    offset,
    onLastRelease: () => n++,
  });
  return { buf, released: () => n };
}

/** Flattened bytes of a buffer (its `len` bytes from `offset`). */
export function flat(buf: MappedBuffer): Uint8Array {
  const out = new Uint8Array(buf.len);
  buf.copyTo(out, 0);
  return out;
}

export { IOSQE_FIXED_FILE };

/**
 * Checks one fused pair in a CQE list: the slave CQE (`slaveRes`, or none with `null`), the
 * master CQE (`masterRes`, or none), each posted once, slave before master.
 */
export function assertPair(
  got: Cqe[],
  master: bigint,
  slave: bigint,
  slaveRes: number | null,
  masterRes: number | null,
): void {
  const si = got.flatMap((c, i) => (c.userData === slave ? [i] : []));
  const mi = got.flatMap((c, i) => (c.userData === master ? [i] : []));
  if (slaveRes === null) {
    if (si.length !== 0) throw new Error(`Slave ${slave} posted a CQE`);
  } else {
    if (si.length !== 1) throw new Error(`Slave ${slave} posted ${si.length} CQEs`);
    if (got[si[0]!]!.res !== slaveRes) {
      throw new Error(`Slave ${slave} res ${got[si[0]!]!.res}, want ${slaveRes}`);
    }
  }
  if (masterRes === null) {
    if (mi.length !== 0) throw new Error(`Master ${master} posted a CQE`);
  } else {
    if (mi.length !== 1) throw new Error(`Master ${master} posted ${mi.length} CQEs`);
    if (got[mi[0]!]!.res !== masterRes) {
      throw new Error(`Master ${master} res ${got[mi[0]!]!.res}, want ${masterRes}`);
    }
    if (si.length === 1 && si[0]! > mi[0]!) throw new Error(`Master ${master} before its slave`);
  }
}
