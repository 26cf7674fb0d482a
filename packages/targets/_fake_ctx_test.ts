/**
 * A test double of the queue's per-tag context ({@linkcode TargetIoCtx}) for target unit tests:
 * it records every SQE a target prepares and executes READ/WRITE/FSYNC/FALLOCATE against
 * in-memory files, resolving buffer addresses through a small table. Not a model kernel: only
 * what the targets' own tests need to check their SQEs and data flow. Named `*_test.ts` so it
 * is never published; it holds no tests itself.
 *
 * @module
 */

import type { FusedIo, PrepSqe, TargetDevInfo, TargetIoCtx } from "@ublk-ts/ublk";
import {
  EFAULT,
  EINVAL,
  IORING_OP_FALLOCATE,
  IORING_OP_FSYNC,
  IORING_OP_READ,
  IORING_OP_WRITE,
  IoUringSqe,
  type IoUringSqeValue,
} from "@ublk-ts/uapi";

/** An in-memory file of the double. */
export class MemFile {
  /** The file's bytes. */
  data: Uint8Array;
  /** fsync calls seen. */
  syncs = 0;
  /**
   * @param data Initial contents.
   */
  constructor(data: Uint8Array) {
    this.data = data;
  }
}

/** What the double recorded for one submitted SQE. */
export interface SeenSqe extends IoUringSqeValue {
  /** Whether it came through `fused` (the slave) rather than `submit`. */
  fusedSlave: boolean;
}

/** A fake per-tag context over in-memory files. */
export class FakeCtx implements TargetIoCtx {
  readonly qid: number = 0;
  readonly tag: number = 0;
  readonly buf: Uint8Array;
  readonly zeroCopy: boolean;
  readonly dev: TargetDevInfo;
  /** Fixed files by index. */
  readonly files: Map<number, MemFile> = new Map();
  /** Every SQE seen, in order. */
  readonly seen: SeenSqe[] = [];
  /** The request pages (zero copy). */
  request: Uint8Array = new Uint8Array(0);
  /** The fake address of `buf`. */
  readonly bufAddr: bigint = 0x10000n;
  /** Results to force for the next SQEs of an opcode (consumed in order). */
  readonly force: Map<number, number[]> = new Map();

  /**
   * @param bufSize Copy-mode buffer size.
   * @param zeroCopy Zero-copy mode.
   */
  constructor(bufSize: number, zeroCopy: boolean) {
    this.buf = new Uint8Array(zeroCopy ? 0 : bufSize);
    this.zeroCopy = zeroCopy;
    this.dev = {
      devId: 0,
      nrHwQueues: 1,
      queueDepth: 1,
      maxIoBufBytes: bufSize,
      flags: zeroCopy ? 1n : 0n,
      zeroCopy,
    };
  }

  submit(prep: PrepSqe): Promise<number> {
    const mem = new DataView(new ArrayBuffer(64));
    prep(mem, 0);
    const sqe = IoUringSqe.decode(mem, 0);
    this.seen.push({ ...sqe, fusedSlave: false });
    const forced = this.force.get(sqe.opcode)?.shift();
    if (forced !== undefined) return Promise.resolve(forced);
    const file = this.files.get(sqe.fd);
    if (!file) return Promise.resolve(-9);
    switch (sqe.opcode) {
      case IORING_OP_READ:
      case IORING_OP_WRITE: {
        const rel = Number(sqe.addr - this.bufAddr);
        if (rel < 0 || rel + sqe.len > this.buf.length) return Promise.resolve(-EFAULT);
        return Promise.resolve(
          this.#rw(file, sqe.opcode, this.buf.subarray(rel, rel + sqe.len), Number(sqe.off)),
        );
      }
      case IORING_OP_FSYNC:
        file.syncs++;
        return Promise.resolve(0);
      case IORING_OP_FALLOCATE: {
        const off = Number(sqe.off);
        file.data.fill(0, off, off + Number(sqe.addr));
        return Promise.resolve(0);
      }
      default:
        return Promise.resolve(-EINVAL);
    }
  }

  fused(io: FusedIo): Promise<number> {
    const off = io.bufOff ?? 0;
    const len = io.len ?? this.request.length;
    this.seen.push({
      ...IoUringSqe.zero(),
      opcode: io.opcode,
      fd: io.fd,
      addr: BigInt(off),
      len,
      off: BigInt(io.off ?? 0),
      flags: io.flags ?? 0,
      fusedSlave: true,
    });
    const forced = this.force.get(io.opcode)?.shift();
    if (forced !== undefined) return Promise.resolve(forced);
    if (off + len > this.request.length) return Promise.resolve(-EFAULT);
    const file = this.files.get(io.fd);
    if (!file) return Promise.resolve(-9);
    return Promise.resolve(
      this.#rw(file, io.opcode, this.request.subarray(off, off + len), io.off ?? 0),
    );
  }

  #rw(file: MemFile, opcode: number, buf: Uint8Array, off: number): number {
    if (opcode === IORING_OP_READ) {
      const n = Math.max(0, Math.min(buf.length, file.data.length - off));
      buf.set(file.data.subarray(off, off + n));
      return n;
    }
    file.data.set(buf, off);
    return buf.length;
  }
}
