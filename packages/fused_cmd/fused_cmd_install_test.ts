import assert from "node:assert/strict";
import {
  EINVAL,
  IO_URING_F_FUSED_WRITE,
  IORING_OP_FUSED_CMD,
  IORING_OP_READ,
  IORING_SETUP_SQE128,
  O_RDWR,
} from "@ublk-ts/uapi";
import { defaultOps, ISSUE_QUEUED, ModelKernel, OpTable } from "@ublk-ts/model";
import { Ring } from "@ublk-ts/ring";
import { TestDevice } from "@ublk-ts/testing";
import { fusedCmdOp, installFusedCmd, liveFusedCommands } from "./fused_cmd.ts";
import { FUSED_SLAVE_OPS, fusedBufDir } from "./direction.ts";
import { fixture, lendMaster, RawRing, rwSlave, segBuffer } from "./_test_util.ts";

Deno.test("`installFusedCmd()` registers op 49 in a table or a kernel, never in the default table", () => {
  const t = new OpTable();
  installFusedCmd(t);
  assert.equal(t.get(IORING_OP_FUSED_CMD)?.name, "FUSED_CMD");
  const k = new ModelKernel({ ops: new OpTable(defaultOps) });
  installFusedCmd(k);
  assert.equal(k.ops.get(49)?.name, "FUSED_CMD");
  const k2 = new ModelKernel();
  installFusedCmd(k2);
  assert.equal(k2.ops.get(49)?.name, "FUSED_CMD");
  assert.notEqual(k2.ops.get(49), k.ops.get(49), "one op (and state) per kernel");
  const first = k2.ops.get(49);
  installFusedCmd(k2);
  assert.equal(k2.ops.get(49), first, "installing twice keeps the first installation");
  assert.equal(defaultOps.get(49), undefined);
  assert.equal(defaultOps.frozen, true);
  assert.throws(() => defaultOps.set(49, fusedCmdOp()), TypeError);
});

Deno.test("`fusedCmdOp()` needs a file, SQE128, and is not itself a fused slave", () => {
  const op = fusedCmdOp();
  assert.equal(op.name, "FUSED_CMD");
  assert.equal(op.needsFile, true);
  assert.equal(op.sqe128Only, true);
  assert.equal(op.fusedSlave, false);
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

Deno.test("a kernel created after installFusedCmd(kernelA) fails opcode 49 with -EINVAL; A still runs it", () => {
  const a = fixture({ fileBytes: new Uint8Array(4096).fill(7) });
  const b = new ModelKernel();
  try {
    assert.equal(b.ops.get(IORING_OP_FUSED_CMD), undefined);
    b.registerDevice("/dev/fused-test", new TestDevice());
    const ring = new RawRing(Ring.create(b, 8, { flags: IORING_SETUP_SQE128 }));
    const devFd = b.open("/dev/fused-test", O_RDWR);
    const path = Deno.makeTempFileSync({ dir: "/dev/shm", prefix: "fused-test-b-" });
    try {
      const fileFd = b.open(path, O_RDWR);
      ring.fused(lendMaster(devFd, 1, 1n), rwSlave(false, fileFd, 0, 8, 0n, 2n));
      assert.equal(ring.submit(), 1);
      assert.deepEqual(ring.reap(), [{ userData: 1n, res: -EINVAL, flags: 0 }]);
    } finally {
      Deno.removeSync(path);
    }
    // kernel A still knows and runs FUSED_CMD
    const { buf } = segBuffer([4096]);
    a.dev.add(1, buf, "dest");
    a.ring.fused(lendMaster(a.devFd, 1, 1n), rwSlave(false, a.fileFd, 0, 8, 0n, 2n));
    a.ring.submit();
    assert.deepEqual(a.ring.reap(), [
      { userData: 2n, res: 8, flags: 0 },
      { userData: 1n, res: 0, flags: 0 },
    ]);
    assert.equal(liveFusedCommands(a.kernel), 0);
  } finally {
    b.close();
    a.close();
  }
});

Deno.test("liveFusedCommands() of kernel A does not count kernel B's fused commands", () => {
  const open = (f: ReturnType<typeof fixture>): void => {
    f.kernel.registerDevice("/dev/never", { uringCmd: (): number => ISSUE_QUEUED });
    const fd = f.kernel.open("/dev/never", O_RDWR);
    f.ring.fused({ fd, cmdOp: 1, userData: 1n }, {
      opcode: IORING_OP_READ,
      fd: f.fileFd,
      addr: 0,
      len: 8,
      userData: 2n,
    });
    f.ring.submit();
  };
  const a = fixture();
  const b = fixture();
  try {
    open(a);
    assert.equal(liveFusedCommands(a.kernel), 1);
    assert.equal(liveFusedCommands(b.kernel), 0);
    open(b);
    open(b);
    assert.equal(liveFusedCommands(a.kernel), 1);
    assert.equal(liveFusedCommands(b.kernel), 2);
    b.close();
    assert.equal(liveFusedCommands(b.kernel), 0);
    assert.equal(liveFusedCommands(a.kernel), 1);
  } finally {
    b.close();
    a.close();
  }
  assert.equal(liveFusedCommands(a.kernel), 0);
  assert.equal(liveFusedCommands(new ModelKernel()), 0, "not installed: 0");
});
