import assert from "node:assert/strict";
import {
  IORING_OP_FUSED_CMD,
  IORING_OP_NOP,
  IORING_OP_OPENAT,
  IORING_OP_READ,
  IORING_OP_SEND_ZC,
  IORING_OP_URING_CMD,
  IoUringSqe,
} from "@ublk-ts/uapi";
import { ModelKernel } from "./model_kernel.ts";
import { OpTable } from "./op_def.ts";
import { defaultOps } from "./ops.ts";
import { prepNop } from "@ublk-ts/ring";
import { Ring } from "@ublk-ts/ring";
import { reap, setup } from "./_test_util.ts";

const EXPECTED = [0, 1, 2, 3, 4, 5, 11, 14, 15, 17, 22, 23, 26, 27, 46, 47];

Deno.test("probe() reports exactly the model's supported opcodes", () => {
  const { ring } = setup();
  const p = ring.probe();
  assert.ok(p.supports(IORING_OP_NOP));
  assert.ok(p.supports(IORING_OP_READ));
  assert.ok(p.supports(IORING_OP_URING_CMD));
  assert.ok(p.supports(IORING_OP_SEND_ZC));
  assert.ok(!p.supports(IORING_OP_OPENAT));
  const own = p.supported().filter((op) => op !== IORING_OP_FUSED_CMD);
  assert.deepEqual(own, EXPECTED);
  assert.ok(p.lastOp >= 48);
  ring.close();
});

Deno.test("an op registered in a private table is probed and issued", () => {
  const ops = new OpTable(defaultOps);
  ops.set(IORING_OP_FUSED_CMD, {
    name: "TEST",
    needsFile: false,
    fusedSlave: false,
    bufDir: 0,
    prep: () => 0,
    issue: (req) => req.len + 1,
  });
  const kernel = new ModelKernel({ ops });
  using ring = Ring.create(kernel, 4);
  assert.ok(ring.probe().supports(IORING_OP_FUSED_CMD));
  const sqe = ring.getSqe()!;
  prepNop(sqe, { userData: 1n });
  sqe.view.setUint8(sqe.offset + IoUringSqe.OFFSET_OPCODE, IORING_OP_FUSED_CMD);
  sqe.view.setUint32(sqe.offset + IoUringSqe.OFFSET_LEN, 41, true);
  ring.submit();
  assert.deepEqual(reap(ring), [[1, 42, 0]]);
});

Deno.test("an sqe128Only op fails -EINVAL on a 64-byte SQE ring", () => {
  const ops = new OpTable(defaultOps);
  ops.set(200, {
    name: "BIG",
    needsFile: false,
    fusedSlave: false,
    bufDir: 0,
    sqe128Only: true,
    prep: () => 0,
    issue: () => 0,
  });
  using ring = Ring.create(new ModelKernel({ ops }), 4);
  const sqe = ring.getSqe()!;
  prepNop(sqe, { userData: 1n });
  sqe.view.setUint8(sqe.offset, 200);
  ring.submit();
  assert.deepEqual(reap(ring), [[1, -22, 0]]);
});

Deno.test("OpTable.set() rejects opcodes outside 0..255", () => {
  assert.throws(() => new OpTable().set(256, defaultOps.get(0)!), RangeError);
});

Deno.test("ModelKernel.registerOp affects only that kernel; defaultOps is frozen", () => {
  const a = new ModelKernel();
  const def = defaultOps.get(0)!;
  a.registerOp(200, def);
  const b = new ModelKernel();
  assert.equal(a.ops.get(200), def);
  assert.equal(b.ops.get(200), undefined);
  assert.equal(defaultOps.get(200), undefined);
  assert.notEqual(a.ops, b.ops);
  assert.throws(() => defaultOps.set(200, def), TypeError);
  const shared = new OpTable(defaultOps);
  assert.equal(new ModelKernel({ ops: shared }).ops, shared, "a given table is used as is");
});
