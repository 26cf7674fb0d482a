/**
 * Test helper (not published): a server ring that sends raw ublk io commands to the model
 * driver and runs data ops, each result read back synchronously when it completed at once.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { ModelKernel } from "@ublk-ts/model";
import { IORING_SETUP_SQE128, IoUringSqe, UblksrvIoCmd } from "@ublk-ts/uapi";
import { fixed, prepRead, prepRw, prepUringCmd, prepWrite, Ring } from "@ublk-ts/ring";

/**
 * A ring with `/dev/ublkcN` as fixed file 0 (and a backing file as fixed file 1, when given).
 * Every call returns its CQE's result if the CQE arrived during the submit, else `undefined`
 * (it may arrive later: {@linkcode RawIoRing.reap} collects it into `results`).
 */
export class RawIoRing {
  /** The ring. */
  readonly ring: Ring;
  /** CQE results by sequence number (the user_data). */
  readonly results: Map<number, number> = new Map();
  #seq = 1;

  /**
   * @param kernel The model kernel.
   * @param files Fixed files: `/dev/ublkcN` first, then a backing file if any.
   * @param sparseBuffers Entries of a sparse fixed-buffer table to register (0: none).
   */
  constructor(kernel: ModelKernel, files: readonly number[], sparseBuffers = 0) {
    this.ring = Ring.create(kernel, 64, { flags: IORING_SETUP_SQE128 });
    assert.equal(this.ring.registerFiles([...files]), 0);
    if (sparseBuffers > 0) assert.equal(this.ring.registerBuffersSparse(sparseBuffers), 0);
  }

  /** The user_data the next call will use. */
  get nextSeq(): number {
    return this.#seq;
  }

  /**
   * An io command on fixed file 0.
   *
   * @param addr `ublksrv_io_cmd.addr`.
   * @param sqeAddr The SQE's own `addr` field (AUTO_BUF_REG's `struct ublk_auto_buf_reg`).
   */
  ioCmd(
    op: number,
    qid: number,
    tag: number,
    addr = 0n,
    result = 0,
    sqeAddr = 0n,
  ): number | undefined {
    const seq = this.#seq++;
    const cmd = new Uint8Array(UblksrvIoCmd.SIZE);
    UblksrvIoCmd.set(new DataView(cmd.buffer), 0, qid, tag, result, addr);
    const sqe = this.ring.getSqe()!;
    prepUringCmd(sqe, fixed(0), op, { cmd, userData: BigInt(seq) });
    if (sqeAddr !== 0n) sqe.view.setBigUint64(sqe.offset + IoUringSqe.OFFSET_ADDR, sqeAddr, true);
    return this.#run(seq);
  }

  /** READ_FIXED / WRITE_FIXED on fixed file 1: `addr` is an offset into buffer `index`. */
  fixedIo(op: number, index: number, addr: number, len: number, off: number): number | undefined {
    const seq = this.#seq++;
    const sqe = this.ring.getSqe()!;
    prepRw(sqe, op, fixed(1), BigInt(addr), len, off);
    sqe.setBufIndex(index);
    sqe.setUserData(BigInt(seq));
    return this.#run(seq);
  }

  /** `pread` on fixed file 0 at `pos` (user copy). */
  pread(buf: Uint8Array, pos: bigint): number | undefined {
    const seq = this.#seq++;
    prepRead(this.ring.getSqe()!, fixed(0), buf, { offset: pos, userData: BigInt(seq) });
    return this.#run(seq);
  }

  /** `pwrite` on fixed file 0 at `pos` (user copy). */
  pwrite(buf: Uint8Array, pos: bigint): number | undefined {
    const seq = this.#seq++;
    prepWrite(this.ring.getSqe()!, fixed(0), buf, { offset: pos, userData: BigInt(seq) });
    return this.#run(seq);
  }

  #run(seq: number): number | undefined {
    this.ring.submit();
    this.reap();
    return this.results.get(seq);
  }

  /** Collects every CQE into `results`. */
  reap(): void {
    for (let c = this.ring.peekCqe(); c !== null; c = this.ring.peekCqe()) {
      this.results.set(Number(c.userData), c.res);
      this.ring.cqeSeen();
    }
  }
}

/** Lets queued promise callbacks run (no timers). */
export async function drain(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}
