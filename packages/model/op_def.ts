/**
 * The op table of the model kernel (the analogue of `io_issue_defs`): per-opcode flags and the
 * `prep`/`issue` pair. Every `ModelKernel` has its own table (a copy of the built-in
 * `defaultOps`, which is frozen); other packages add ops to one kernel with
 * `ModelKernel.registerOp` (`@ublk-ts/fused-cmd` registers IORING_OP_FUSED_CMD).
 *
 * @module
 */

import type { Request } from "./request.ts";

/** One op. */
export interface OpDef {
  /** Name as in `IORING_OP_NAMES` ("READ"). */
  readonly name: string;
  /** `needs_file`: `fd` names a file (resolved before `prep`, -EBADF when bad). */
  readonly needsFile: boolean;
  /** RFC `fused_slave`: may be the slave of a FUSED_CMD. */
  readonly fusedSlave: boolean;
  /** RFC v4 `buf_dir`: 1 when the op writes into its buffer (READ, RECV), else 0. */
  readonly bufDir: 0 | 1;
  /** The op uses `ioprio` (else a nonzero `ioprio` fails init with -EINVAL, as 6.x). */
  readonly ioprio?: boolean;
  /** Accepts IOSQE_BUFFER_SELECT (`buffer_select`; else init fails -EOPNOTSUPP). */
  readonly bufferSelect?: boolean;
  /** With IOSQE_BUFFER_SELECT and no provided buffers: the errno (default ENOBUFS). */
  readonly noBuffersErrno?: number;
  /** Only valid on an IORING_SETUP_SQE128 ring (-EINVAL otherwise). */
  readonly sqe128Only?: boolean;
  /**
   * Decodes and checks the SQE (`sqe`, `off` is the SQE's byte offset). Common fields
   * (`opcode`, `flags`, `userData`, `fd`, `file`) are already set.
   *
   * @param req The request.
   * @param sqe The SQE memory.
   * @param off Byte offset of the SQE.
   * @returns 0, or a negative errno (the request then fails without being issued).
   */
  prep(req: Request, sqe: DataView, off: number): number;
  /**
   * Starts the request.
   *
   * @param req The request.
   * @param issueFlags IO_URING_F_* flags.
   * @returns The result (completed now), or `ISSUE_QUEUED` (completes later through
   *   `req.complete`).
   */
  issue(req: Request, issueFlags: number): number;
}

/**
 * Opcode → {@linkcode OpDef}. The kernel consults it at every SQE; `probe` reports its
 * entries.
 *
 * @example Register an op
 * ```ts
 * import assert from "node:assert/strict";
 * import { OpTable } from "@ublk-ts/model";
 * const t = new OpTable();
 * t.set(200, { name: "X", needsFile: false, fusedSlave: false, bufDir: 0, prep: () => 0, issue: () => 7 });
 * assert.equal(t.get(200)?.name, "X");
 * ```
 */
export class OpTable {
  #defs: (OpDef | undefined)[] = [];
  #frozen = false;

  /**
   * A table, optionally copying another (the copy is never frozen).
   *
   * @param from Table to copy.
   */
  constructor(from?: OpTable) {
    if (from) this.#defs = [...from.#defs];
  }

  /**
   * Makes the table read-only: later {@linkcode OpTable.set} calls throw.
   *
   * @returns The table.
   */
  freeze(): this {
    this.#frozen = true;
    return this;
  }

  /**
   * True once {@linkcode OpTable.freeze} ran.
   *
   * @returns Whether the table is read-only.
   */
  get frozen(): boolean {
    return this.#frozen;
  }

  /**
   * Sets (or replaces) an op.
   *
   * @param opcode The opcode (0..255).
   * @param def The op.
   * @throws {TypeError} When the table is frozen.
   * @throws {RangeError} When the opcode is not in 0..255.
   */
  set(opcode: number, def: OpDef): void {
    if (this.#frozen) throw new TypeError(`Cannot register op ${opcode}: the op table is frozen`);
    if (!Number.isInteger(opcode) || opcode < 0 || opcode > 255) {
      throw new RangeError(`Cannot register op: opcode ${opcode} is not in 0..255`);
    }
    this.#defs[opcode] = def;
  }

  /**
   * The op of an opcode.
   *
   * @param opcode The opcode.
   * @returns The op, or `undefined`.
   */
  get(opcode: number): OpDef | undefined {
    return this.#defs[opcode];
  }

  /**
   * One past the highest registered opcode (`probe.last_op + 1`).
   *
   * @returns The count.
   */
  get length(): number {
    return this.#defs.length;
  }
}
