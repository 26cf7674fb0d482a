import assert from "node:assert/strict";
import { IO_URING_F_FUSED_WRITE, IORING_OP_FUSED_CMD } from "@ublk-ts/uapi";
import { defaultOps, ModelKernel, OpTable } from "@ublk-ts/model";
import { FUSED_CMD_OP, installFusedCmd } from "./fused_cmd.ts";
import { FUSED_SLAVE_OPS, fusedBufDir } from "./direction.ts";

Deno.test("`installFusedCmd()` registers op 49 in a table, a kernel, or the default table", () => {
  const t = new OpTable();
  installFusedCmd(t);
  assert.equal(t.get(IORING_OP_FUSED_CMD), FUSED_CMD_OP);
  const k = new ModelKernel({ ops: new OpTable(defaultOps) });
  installFusedCmd(k);
  assert.equal(k.ops.get(49), FUSED_CMD_OP);
  installFusedCmd();
  assert.equal(defaultOps.get(49), FUSED_CMD_OP);
});

Deno.test("`FUSED_CMD_OP` needs a file, SQE128, and is not itself a fused slave", () => {
  assert.equal(FUSED_CMD_OP.name, "FUSED_CMD");
  assert.equal(FUSED_CMD_OP.needsFile, true);
  assert.equal(FUSED_CMD_OP.sqe128Only, true);
  assert.equal(FUSED_CMD_OP.fusedSlave, false);
});

Deno.test("the ring's op table marks exactly the RFC's fused slave ops", () => {
  const slaves: number[] = [];
  for (let op = 0; op < defaultOps.length; op++) {
    if (defaultOps.get(op)?.fusedSlave) slaves.push(op);
  }
  assert.deepEqual(slaves, [...FUSED_SLAVE_OPS].sort((a, b) => a - b));
  // and the v4 opdef `buf_dir` bit agrees with the v1 direction table
  for (const op of slaves) {
    assert.equal(
      defaultOps.get(op)!.bufDir === 1,
      fusedBufDir(op) === IO_URING_F_FUSED_WRITE,
      `op ${op}`,
    );
  }
});
