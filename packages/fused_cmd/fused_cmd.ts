/**
 * `IORING_OP_FUSED_CMD` for the model kernel (RFC v1 with the v3 slave-result rule, SPEC §1):
 * the op definition, its installation into a kernel's op table, and the device side of the
 * buffer handoff ({@linkcode provideFusedBuffer}, the RFC's `io_fused_cmd_provide_kbuf`).
 *
 * Life of one fused command:
 *
 * 1. **Prep** (master): the checks of {@linkcode checkFusedSqe} in the RFC's order (-EINVAL),
 *    then the slave is initialised from bytes 64..127 through the ring's normal `initReq`
 *    (its prep errors become the master's), and the slave's IO_LINK/IO_HARDLINK move to the
 *    master as IO_LINK (the slave is never on the link chain).
 * 2. **Issue** (master): the device's `uringCmd` runs with the slave's buffer direction ORed
 *    into the issue flags (`IO_URING_F_FUSED_WRITE` when the slave fills the buffer,
 *    `IO_URING_F_FUSED_READ` when it drains it). The device either fails the master (its errno,
 *    no slave CQE) or lends a buffer with {@linkcode provideFusedBuffer}, which takes a lease
 *    and queues the slave.
 * 3. **Slave**: a normal READ/WRITE/SEND/RECV/SEND_ZC whose `addr` is an offset into the lent
 *    buffer (`req.kbuf`, -EFAULT outside); its I/O goes straight into or out of the lent
 *    segments. Its CQE is posted as usual (CQE_SKIP_SUCCESS applies).
 * 4. **Completion**: the lease is returned, then the master completes (after the slave's CQE)
 *    with `slave_res`: the slave's result when the slave skipped its CQE (CQE_SKIP_SUCCESS and
 *    success; a short read or write counts as a failure and posts its CQE, as `req_set_fail`
 *    clears REQ_F_CQE_SKIP) or when it failed (res < 0), else 0.
 *
 * @module
 */

import {
  EINVAL,
  EOPNOTSUPP,
  IORING_OP_FUSED_CMD,
  IOSQE_CQE_SKIP_SUCCESS,
  IOSQE_IO_HARDLINK,
  IOSQE_IO_LINK,
} from "@ublk-ts/uapi";
import type { MappedBuffer } from "@ublk-ts/rsrc";
import {
  ISSUE_QUEUED,
  type ModelKernel,
  type ModelRing,
  type OpDef,
  OpTable,
  type Request,
} from "@ublk-ts/model";
import { fusedBufDir } from "./direction.ts";
import { checkFusedSqe, FUSED_SLAVE_OFFSET, FusedPrepCheck } from "./fused_sqe.ts";

const LINK_FLAGS = IOSQE_IO_LINK | IOSQE_IO_HARDLINK;

/**
 * Called when the slave of a fused command has completed and given the buffer back (the RFC's
 * `task_work_cb`, e.g. ublk's `ublk_fused_cmd_done_cb`). It must complete the master, usually
 * with `master.cmdDone(slaveRes)`.
 *
 * @param master The master request.
 * @param slaveRes The v3 `slave_res`: the slave's result if it skipped its CQE or failed
 *   (res < 0), else 0.
 */
export type FusedSlaveDone = (master: Request, slaveRes: number) => void;

const PHASE_IDLE = 0;
const PHASE_PREPPED = 1;
const PHASE_LENT = 2;
const PHASE_SLAVE_DONE = 3;

/** Per-master state, pooled by its {@linkcode FusedCmdState} (no allocation once warm). */
class FusedState {
  readonly owner: FusedCmdState;
  master: Request | null = null;
  slave: Request | null = null;
  buf: MappedBuffer | null = null;
  onSlaveDone: FusedSlaveDone | null = null;
  slaveRes = 0;
  phase = PHASE_IDLE;
  runPending = false;
  readonly run: () => void;
  readonly cancel: (req: Request) => void;

  constructor(owner: FusedCmdState) {
    this.owner = owner;
    this.run = () => completeMaster(this);
    this.cancel = () => cancelMaster(this);
  }
}

const POOL_MAX = 4096;

/**
 * The state of IORING_OP_FUSED_CMD in one op table (one kernel): the pool of per-master
 * states, the live count, and the op definition whose `prep` draws from them.
 */
class FusedCmdState {
  readonly #pool: FusedState[] = [];
  readonly #slaveOps: WeakMap<ModelRing, (opcode: number) => boolean> = new WeakMap();
  /** Masters prepared and not completed. */
  live = 0;
  /** The op installed in the table. */
  readonly op: OpDef;

  constructor() {
    this.op = {
      name: "FUSED_CMD",
      needsFile: true,
      fusedSlave: false,
      bufDir: 0,
      sqe128Only: true,
      prep: (req, sqe, off) => fusedPrep(this, req, sqe, off),
      issue: fusedIssue,
    };
  }

  get(): FusedState {
    this.live++;
    return this.#pool.pop() ?? new FusedState(this);
  }

  put(st: FusedState): void {
    this.live--;
    st.master = null;
    st.slave = null;
    st.buf = null;
    st.onSlaveDone = null;
    st.slaveRes = 0;
    st.phase = PHASE_IDLE;
    st.runPending = false;
    if (this.#pool.length < POOL_MAX) this.#pool.push(st);
  }

  /** Whether an opcode may be a fused slave on `ring` (cached per ring). */
  isSlaveIn(ring: ModelRing): (opcode: number) => boolean {
    let f = this.#slaveOps.get(ring);
    if (f === undefined) {
      const ops = ring.kernel.ops;
      f = (opcode: number): boolean => ops.get(opcode)?.fusedSlave === true;
      this.#slaveOps.set(ring, f);
    }
    return f;
  }
}

/** Something with an op table: a `ModelKernel`, or an `OpTable` itself. */
export type OpTableOwner = ModelKernel | OpTable;

/** The FUSED_CMD state of each op table it was installed in. */
const installed: WeakMap<OpTable, FusedCmdState> = new WeakMap();

function tableOf(target: OpTableOwner): OpTable {
  return target instanceof OpTable ? target : target.ops;
}

/**
 * Fused commands of one kernel (or op table) whose master has been prepared and has not
 * completed yet. Tests use it to check that nothing leaks. Each kernel counts its own: another
 * kernel's fused commands never show here.
 *
 * @param target The kernel (or op table) FUSED_CMD was installed in.
 * @returns The number of live fused commands (0 when FUSED_CMD is not installed there).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { installFusedCmd, liveFusedCommands } from "@ublk-ts/fused-cmd";
 * import { ModelKernel } from "@ublk-ts/model";
 * const kernel = new ModelKernel();
 * installFusedCmd(kernel);
 * assert.equal(liveFusedCommands(kernel), 0);
 * ```
 */
export function liveFusedCommands(target: OpTableOwner): number {
  return installed.get(tableOf(target))?.live ?? 0;
}

function fusedPrep(owner: FusedCmdState, req: Request, sqe: DataView, off: number): number {
  const ring = req.ring;
  const isSlave = owner.isSlaveIn(ring);
  if (checkFusedSqe(sqe, off, ring.flags, isSlave) !== FusedPrepCheck.OK) return -EINVAL;
  const slave = ring.allocReq();
  const r = ring.initReq(slave, sqe, off + FUSED_SLAVE_OFFSET, true);
  if (r < 0) {
    ring.freeReq(slave);
    return r;
  }
  if (slave.flags & LINK_FLAGS) {
    req.flags |= IOSQE_IO_LINK;
    slave.flags &= ~LINK_FLAGS;
  }
  const st = owner.get();
  st.master = req;
  st.slave = slave;
  st.phase = PHASE_PREPPED;
  slave.master = req;
  req.slave = slave;
  req.data = st;
  req.onComplete.push(masterDoneHook);
  return 0;
}

function fusedIssue(req: Request, issueFlags: number): number {
  const st = req.data as FusedState;
  const dev = req.file?.device ?? null;
  if (dev === null) return -EOPNOTSUPP;
  const ret = dev.uringCmd(req, issueFlags | fusedBufDir(st.slave!.opcode));
  // Once the buffer is lent, the slave owns the pair: the master completes after it.
  if (st.phase !== PHASE_PREPPED) return ISSUE_QUEUED;
  return ret;
}

/** The master's completion hook: frees a slave that was never issued, recycles the state. */
function masterDoneHook(req: Request): void {
  const st = req.data;
  if (!(st instanceof FusedState) || st.master !== req) return;
  req.data = null;
  req.slave = null;
  switch (st.phase) {
    case PHASE_PREPPED: {
      // failed before the device lent a buffer (device error, cancelled link, no device)
      const slave = st.slave!;
      slave.master = null;
      req.ring.freeReq(slave);
      st.owner.put(st);
      return;
    }
    case PHASE_LENT:
      // The master completed while its slave still runs (a device completed it by hand):
      // the slave's hook then only returns the lease.
      st.slave!.master = null;
      st.owner.put(st);
      return;
    default:
      if (st.runPending) st.master = null; // `completeMaster` recycles it
      else st.owner.put(st);
  }
}

/** The slave's completion hook: records slave_res, returns the lease, queues the master. */
function slaveDoneHook(slave: Request): void {
  const master = slave.master;
  if (master === null) {
    // orphaned (see masterDoneHook): only return the lease
    (slave.kbuf as MappedBuffer | null)?.release();
    return;
  }
  const st = master.data as FusedState;
  const res = slave.res;
  // v3: the slave's result when it skipped its CQE (REQ_F_CQE_SKIP, which a failure, a short
  // read or write included, clears) or when it failed; else 0.
  const skipped = (slave.flags & IOSQE_CQE_SKIP_SUCCESS) !== 0 && !slave.failed;
  st.slaveRes = skipped || res < 0 ? res : 0;
  st.phase = PHASE_SLAVE_DONE;
  st.slave = null;
  master.slave = null;
  slave.master = null;
  const buf = st.buf!;
  st.buf = null;
  buf.release();
  st.runPending = true;
  // Inside a completion the ring only queues task work: the master completes after the
  // slave's CQE is posted.
  master.ring.queueTaskWork(st.run);
}

function completeMaster(st: FusedState): void {
  st.runPending = false;
  const master = st.master;
  if (master === null) {
    st.owner.put(st);
    return;
  }
  const cb = st.onSlaveDone;
  const res = st.slaveRes;
  if (cb !== null) cb(master, res);
  else master.cmdDone(res);
}

function cancelMaster(st: FusedState): void {
  const slave = st.slave;
  const master = st.master;
  if (master === null) return;
  // On ring exit the ring cancels the slave itself (it is in flight too); on ASYNC_CANCEL the
  // slave is cancelled here. Either way the master completes after the slave.
  if (slave !== null && slave.inflight && !master.ring.closed) master.ring.cancelReq(slave);
}

/**
 * The RFC's `io_fused_cmd_provide_kbuf`: called by a device's `uringCmd` (during issue, or
 * later while the master is in flight) to lend `buf` to the fused command's slave. It takes a
 * lease on `buf`, points the slave's `kbuf` at it and queues the slave. When the slave
 * completes, the lease is returned and `onSlaveDone(master, slaveRes)` runs (after the slave's
 * CQE); without `onSlaveDone` the master completes with `slaveRes`.
 *
 * The device returns the result (`ISSUE_QUEUED`) from `uringCmd`; any other return value is
 * ignored once the buffer is lent.
 *
 * Safety: `buf` must stay valid (its memory alive, unchanged in shape) until its last lease is
 * returned; several fused commands may lease it at once.
 *
 * Errors: -EINVAL when `master` is not a fused master waiting for its buffer (a plain
 * URING_CMD, a buffer already lent, a completed master). A buffer with no bvec fails the slave
 * with -EINVAL at import, as the RFC does.
 *
 * @param master The FUSED_CMD request passed to `uringCmd`.
 * @param buf The buffer to lend (its virtual start address is 0).
 * @param onSlaveDone Completes the master once the slave is done (optional).
 * @returns `ISSUE_QUEUED` (the value `uringCmd` should return), or -EINVAL.
 * @example A device that lends one buffer to every fused command
 * ```ts
 * import assert from "node:assert/strict";
 * import { provideFusedBuffer } from "@ublk-ts/fused-cmd";
 * import { MappedBuffer } from "@ublk-ts/rsrc";
 * import type { DeviceFile, Request } from "@ublk-ts/model";
 * const buf = MappedBuffer.fromBytes(new Uint8Array(4096));
 * const dev: DeviceFile = {
 *   uringCmd: (req: Request, _flags: number): number => provideFusedBuffer(req, buf),
 * };
 * assert.equal(typeof dev.uringCmd, "function");
 * ```
 */
export function provideFusedBuffer(
  master: Request,
  buf: MappedBuffer,
  onSlaveDone?: FusedSlaveDone,
): number {
  if (master.opcode !== IORING_OP_FUSED_CMD || master.done) return -EINVAL;
  const st = master.data;
  if (!(st instanceof FusedState) || st.master !== master || st.phase !== PHASE_PREPPED) {
    return -EINVAL;
  }
  const slave = st.slave!;
  const ring = master.ring;
  buf.acquire();
  st.buf = buf;
  st.onSlaveDone = onSlaveDone ?? null;
  st.phase = PHASE_LENT;
  slave.kbuf = buf;
  slave.onComplete.push(slaveDoneHook);
  master.cancel = st.cancel;
  if (buf.bvecs.length === 0) {
    ring.queueTaskWork(() => ring.completeReq(slave, -EINVAL, 0));
  } else {
    ring.queueIssue(slave);
  }
  return ISSUE_QUEUED;
}

/**
 * A new `IORING_OP_FUSED_CMD` op definition (needs a file; SQE128 rings only) with its own
 * state (pool, live count). {@linkcode installFusedCmd} makes one per kernel; use this only to
 * build an op table by hand.
 *
 * @returns The op.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fusedCmdOp } from "@ublk-ts/fused-cmd";
 * assert.equal(fusedCmdOp().name, "FUSED_CMD");
 * ```
 */
export function fusedCmdOp(): OpDef {
  return new FusedCmdState().op;
}

/**
 * Registers `IORING_OP_FUSED_CMD` (49) in one kernel's op table (or in an `OpTable`), with
 * state private to it. Other kernels are not affected: an opcode-49 SQE on a kernel without it
 * fails with -EINVAL. Installing twice into the same table keeps the first installation.
 *
 * @param target A `ModelKernel` or an `OpTable`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { installFusedCmd } from "@ublk-ts/fused-cmd";
 * import { ModelKernel } from "@ublk-ts/model";
 * const a = new ModelKernel();
 * installFusedCmd(a);
 * assert.equal(a.ops.get(49)?.name, "FUSED_CMD");
 * assert.equal(new ModelKernel().ops.get(49), undefined);
 * ```
 */
export function installFusedCmd(target: OpTableOwner): void {
  const table = tableOf(target);
  let st = installed.get(table);
  if (st === undefined) {
    st = new FusedCmdState();
    installed.set(table, st);
  }
  if (target instanceof OpTable) target.set(IORING_OP_FUSED_CMD, st.op);
  else target.registerOp(IORING_OP_FUSED_CMD, st.op);
}
