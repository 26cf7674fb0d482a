/**
 * The built-in op table, {@linkcode defaultOps}: every op of this package. It is frozen; each
 * `ModelKernel` starts from a copy of it, so an op registered in one kernel is never seen by
 * another.
 *
 * @module
 */

import { OpTable } from "./op_def.ts";
import { CANCEL_OPS } from "./ops_cancel.ts";
import { MISC_OPS } from "./ops_misc.ts";
import { NET_OPS } from "./ops_net.ts";
import { RW_OPS } from "./ops_rw.ts";
import { TIMEOUT_OPS } from "./ops_timeout.ts";
import { URING_CMD_OPS } from "./ops_uring_cmd.ts";

function builtinOps(): OpTable {
  const t = new OpTable();
  for (const list of [MISC_OPS, RW_OPS, NET_OPS, TIMEOUT_OPS, URING_CMD_OPS, CANCEL_OPS]) {
    for (const [opcode, def] of list) t.set(opcode, def);
  }
  return t.freeze();
}

/**
 * The built-in ops (frozen: `set` throws). A `ModelKernel` copies it at construction unless
 * given its own table; `new OpTable(defaultOps)` makes a private, writable copy.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultOps, OpTable } from "@ublk-ts/model";
 * assert.equal(defaultOps.frozen, true);
 * assert.equal(new OpTable(defaultOps).get(0)?.name, "NOP");
 * ```
 */
export const defaultOps: OpTable = builtinOps();
