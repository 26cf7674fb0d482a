/**
 * Registers this package's ops in the default op table (imported for its effect by
 * `model_kernel.ts`).
 *
 * @module
 */

import { registerOp } from "./op_def.ts";
import { CANCEL_OPS } from "./ops_cancel.ts";
import { MISC_OPS } from "./ops_misc.ts";
import { NET_OPS } from "./ops_net.ts";
import { RW_OPS } from "./ops_rw.ts";
import { TIMEOUT_OPS } from "./ops_timeout.ts";
import { URING_CMD_OPS } from "./ops_uring_cmd.ts";

for (const list of [MISC_OPS, RW_OPS, NET_OPS, TIMEOUT_OPS, URING_CMD_OPS, CANCEL_OPS]) {
  for (const [opcode, def] of list) registerOp(opcode, def);
}
