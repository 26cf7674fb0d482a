/**
 * Test helpers (not published): a byte-offset SQE driver over a `Ring` (raw SQE bytes placed
 * with `Ring.getSqeOffset`, submitted with `Ring.submit`), plus a model-kernel fixture with the
 * fused op and a {@linkcode TestDevice}.
 *
 * @module
 */

import {
  ErrnoError,
  ETIME,
  IORING_OP_NOP,
  IORING_OP_READ,
  IORING_OP_WRITE,
  IORING_SETUP_SQE128,
  IOSQE_FIXED_FILE,
  IoUringCqe,
  IoUringSqe,
  O_CREAT,
  O_RDWR,
  O_TRUNC,
} from "@ublk-ts/uapi";
import { type IoBackend, type KernelRing, Ring } from "@ublk-ts/ring";
import { ModelKernel } from "@ublk-ts/model";
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

/**
 * A thin test driver over a {@linkcode Ring}: places SQEs by byte offset (`next`, `fused`,
 * `plain`), submits through `Ring.submit`, and reaps CQEs as plain objects (without flushing
 * overflowed CQEs).
 */
export class RawRing {
  /** The ring. */
  readonly ring: Ring;
  /** Its kernel ring. */
  readonly kr: KernelRing;
  /** SQE memory as bytes. */
  readonly sqeBytes: Uint8Array;
  /** SQE memory (the same as `ring.sqes`). */
  readonly sqeView: DataView;
  /** SQE size (64 or 128). */
  readonly sqeSize: number;

  constructor(ring: Ring) {
    this.ring = ring;
    this.kr = ring.kernelRing;
    this.sqeView = ring.sqes;
    this.sqeBytes = new Uint8Array(ring.sqes.buffer, ring.sqes.byteOffset, ring.sqes.byteLength);
    this.sqeSize = ring.sqeSize;
  }

  /** Byte offset of the next free SQE (zeroed); throws when the SQ is full. */
  next(): number {
    const off = this.ring.getSqeOffset();
    if (off < 0) throw new Error("SQ full");
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
    IoUringSqe.setOpcode(v, o, opcode);
    IoUringSqe.setFlags(v, o, fields.flags ?? 0);
    IoUringSqe.setFd(v, o, fields.fd ?? -1);
    IoUringSqe.setOff(v, o, fields.off ?? 0n);
    IoUringSqe.setAddr(v, o, fields.addr ?? 0n);
    IoUringSqe.setLen(v, o, fields.len ?? 0);
    IoUringSqe.setUserData(v, o, fields.userData);
    return o;
  }

  /** A NOP. */
  nop(userData: bigint, flags = 0): number {
    return this.plain(IORING_OP_NOP, { userData, flags });
  }

  /**
   * Publishes the tail and submits every queued SQE (`Ring.submit`).
   *
   * @returns SQEs consumed, or the negative errno of the enter call.
   */
  submit(): number {
    try {
      return this.ring.submit();
    } catch (e) {
      if (e instanceof ErrnoError) return -e.errno;
      throw e;
    }
  }

  /** Reaps every CQE in the ring (without asking the kernel to flush overflowed ones). */
  reap(): Cqe[] {
    const ring = this.ring;
    const cq = ring.cqView;
    const n = ring.cqReady();
    const out: Cqe[] = [];
    for (let i = 0; i < n; i++) {
      const o = ring.cqeOffset(i);
      out.push({
        userData: IoUringCqe.userData(cq, o),
        res: IoUringCqe.res(cq, o),
        flags: IoUringCqe.flags(cq, o),
      });
    }
    ring.cqAdvance(n);
    return out;
  }

  /** Waits until `n` CQEs have been reaped in total by this call, then returns them. */
  async reapN(n: number, timeoutMs = 5000): Promise<Cqe[]> {
    const out: Cqe[] = this.reap();
    const deadline = Date.now() + timeoutMs;
    while (out.length < n) {
      if (Date.now() > deadline) throw new Error(`Timed out with ${out.length} of ${n} CQEs`);
      const r = await Promise.race([
        this.ring.wait(1),
        new Promise<number>((res) => setTimeout(() => res(-ETIME), 50)),
      ]);
      if (r < 0 && r !== -ETIME) throw new Error(`wait failed: ${r}`);
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
  const ring = new RawRing(
    Ring.create(kernel, opts.entries ?? 64, {
      flags: opts.sqe128 === false ? 0 : IORING_SETUP_SQE128,
    }),
  );
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
