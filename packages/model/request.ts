/**
 * The request object every model op sees (the analogue of `struct io_kiocb`): decoded SQE
 * fields, the file, an optional lent buffer, link state, and one completion path with a
 * per-request hook list. Requests are pooled per ring and reused; never keep one after its
 * completion hooks ran.
 *
 * @module
 */

import { EIO } from "@ublk-ts/uapi";
import type { RegisteredBuffer } from "@ublk-ts/rsrc";
import type { LentBuffer } from "./lent_buffer.ts";
import type { ModelFile } from "./model_file.ts";
import type { ModelRing } from "./model_ring.ts";

/** A completion hook: runs after `res` is set, before the CQE is posted. */
export type CompletionHook = (req: Request) => void;

/**
 * A cancel hook (`req.cancel`): called with the request when an in-flight request must go away
 * (ring exit, ASYNC_CANCEL, link timeout). It must complete the request (`req.complete` or
 * `req.cmdDone`). Ops and device files set it while the request is queued and clear it (`null`)
 * when they complete it themselves.
 */
export type CancelHook = (req: Request) => void;

/**
 * One request. Fields are public for ops in other packages (fused-cmd, ublk); their meaning
 * follows the op (`addr` may be an offset into `kbuf`, `off` is `cmd_op` for URING_CMD, …).
 */
export class Request {
  /** The ring the request belongs to. */
  readonly ring: ModelRing;
  /** Opcode. */
  opcode = 0;
  /** IOSQE_* flags. */
  flags = 0;
  /** `user_data` low 32 bits. */
  udLo = 0;
  /** `user_data` high 32 bits. */
  udHi = 0;
  /** The memory the SQE was read from. */
  sqe: DataView;
  /** Byte offset of the SQE in `sqe`. */
  sqeOff = 0;
  /** Raw `fd` field (an fd, or a fixed-file index with IOSQE_FIXED_FILE). */
  fd: number = -1;
  /** The file, when the op needs one (resolved at init). */
  file: ModelFile | null = null;
  /**
   * `user_data` (computed from `udLo`/`udHi`; the hot path never builds the bigint).
   *
   * @returns The value.
   */
  get userData(): bigint {
    return (BigInt(this.udHi) << 32n) | BigInt(this.udLo);
  }
  /**
   * Sets `user_data`.
   *
   * @param v The value.
   */
  set userData(v: bigint) {
    this.udLo = Number(v & 0xffffffffn);
    this.udHi = Number((v >> 32n) & 0xffffffffn);
  }
  /**
   * `addr` (computed from `addrHi`/`addrLo`).
   *
   * @returns The value.
   */
  get addr(): bigint {
    return (BigInt(this.addrHi) << 32n) | BigInt(this.addrLo);
  }
  /** `addr >> 32`. */
  addrHi = 0;
  /** `addr & 0xffffffff`. */
  addrLo = 0;
  /** `len`. */
  len = 0;
  /** `off` as a number; -1 means "current file position" (u64 max). */
  off = 0;
  /** The op-flags union (`rw_flags`, `fsync_flags`, `uring_cmd_flags`, …). */
  opFlags = 0;
  /** `buf_index`. */
  bufIndex = 0;
  /** `cmd_op` for URING_CMD / FUSED_CMD masters. */
  cmdOp = 0;
  /** Byte offset of the `cmd[]` payload in `sqe` (SQE offset + 48). */
  cmdOff = 0;
  /** A buffer lent by a driver (fused slave): data ops use it instead of resolving `addr`. */
  kbuf: LentBuffer | null = null;
  /** The registered buffer this request holds a reference on (READ_FIXED, …). */
  bufNode: RegisteredBuffer | null = null;
  /** True for a fused slave (never on the link list; completes before its master). */
  isSlave = false;
  /** The master of a fused slave. */
  master: Request | null = null;
  /** The slave of a fused master. */
  slave: Request | null = null;
  /** Result once completed. */
  res = 0;
  /** CQE flags to post. */
  cflags = 0;
  /** `big_cqe[0]` on CQE32 rings (uring_cmd `res2`). */
  res2 = 0n;
  /** `big_cqe[1]` on CQE32 rings. */
  res3 = 0n;
  /** REQ_F_FAIL: breaks a (soft) link. Set by `complete` when res < 0 unless the op set it. */
  failed = false;
  /** True once completed (a second completion is ignored). */
  done = false;
  /** True while issued and not completed. */
  inflight = false;
  /** Next request of the link chain. */
  link: Request | null = null;
  /** Hooks run at completion, before the CQE is posted (cleared on reuse). */
  readonly onComplete: CompletionHook[] = [];
  /**
   * Cancels the request while it is in flight (async cancel, link timeout, ring exit); set by
   * the op or device file that keeps it queued, `null` when it cannot be cancelled that way.
   */
  cancel: CancelHook | null = null;
  /** Op-private data. */
  data: unknown = null;
  /** Reusable iovec array for data ops. */
  readonly bufs: Uint8Array[] = [];
  /** Expected result of a data op; a different result fails the link (short read/write). */
  expect: number = -1;
  /** Suppress the CQE even on failure (cancelled links after a skipped CQE). */
  skipCqe = false;
  /** A negative result does not set REQ_F_FAIL (ops that never call `req_set_fail`). */
  noFail = false;
  /** Queued to complete with `res` (a cancelled link member), not to issue. */
  failPending = false;
  /** For a LINK_TIMEOUT: the request it guards. */
  guarded: Request | null = null;
  /** An armed LINK_TIMEOUT guarding this request. */
  linkTimeout: Request | null = null;
  /** Issued by the model's io-wq (a worker): its next link member runs on the same worker. */
  onWorker = false;
  /** Incremented at every reuse: a late completion of an old generation is ignored. */
  gen = 0;

  /**
   * A blank request of `ring`.
   *
   * @param ring The ring.
   */
  constructor(ring: ModelRing) {
    this.ring = ring;
    this.sqe = ring.sqeView;
  }

  /**
   * Completes the request: sets `res`, runs hooks, posts the CQE (unless skipped), continues
   * or fails its link chain, and frees it. Safe to call once; later calls are ignored.
   *
   * @param res Result or negative errno.
   * @param cflags IORING_CQE_F_* flags.
   */
  complete(res: number, cflags = 0): void {
    this.ring.completeReq(this, res, cflags);
  }

  /**
   * `io_uring_cmd_done(cmd, res, res2)`: completes a URING_CMD with `res2` in `big_cqe[0]`.
   *
   * @param res Result.
   * @param res2 Second result (CQE32 rings).
   */
  cmdDone(res: number, res2: bigint = 0n): void {
    this.res2 = res2;
    this.ring.completeReq(this, res, 0);
  }

  /**
   * Completes the request when `p` settles (a rejection completes it with -EIO), unless it
   * completed (was cancelled) before.
   *
   * @param p The pending result.
   */
  completeLater(p: Promise<number>): void {
    const gen = this.gen;
    p.then(
      (res) => {
        if (this.gen === gen && !this.done) this.complete(res);
      },
      () => {
        if (this.gen === gen && !this.done) this.complete(-EIO);
      },
    );
  }

  /** Marks the request failed (REQ_F_FAIL), as `req_set_fail`. */
  setFail(): void {
    this.failed = true;
  }

  /** Resets the request for reuse. @internal */
  reset(): void {
    this.opcode = 0;
    this.flags = 0;
    this.udLo = 0;
    this.udHi = 0;
    this.fd = -1;
    if (this.file) this.file.put();
    this.file = null;
    this.addrHi = 0;
    this.addrLo = 0;
    this.len = 0;
    this.off = 0;
    this.opFlags = 0;
    this.bufIndex = 0;
    this.cmdOp = 0;
    this.cmdOff = 0;
    this.kbuf = null;
    if (this.bufNode) this.bufNode.put();
    this.bufNode = null;
    this.isSlave = false;
    this.master = null;
    this.slave = null;
    this.res = 0;
    this.cflags = 0;
    this.res2 = 0n;
    this.res3 = 0n;
    this.failed = false;
    this.done = false;
    this.inflight = false;
    this.link = null;
    this.onComplete.length = 0;
    this.cancel = null;
    this.data = null;
    this.bufs.length = 0;
    this.expect = -1;
    this.skipCqe = false;
    this.linkTimeout = null;
    this.guarded = null;
    this.failPending = false;
    this.noFail = false;
    this.onWorker = false;
    this.gen++;
  }
}
