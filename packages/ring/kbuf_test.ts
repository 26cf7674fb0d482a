import assert from "node:assert/strict";
import {
  IORING_OP_READ,
  IORING_OP_RECV,
  IORING_OP_WRITE,
  IORING_SETUP_SQE128,
} from "@ublk-ts/uapi";
import { ISSUE_QUEUED } from "./device_file.ts";
import { O_RDWR } from "./kernel.ts";
import type { LentBuffer } from "./lent_buffer.ts";
import { ModelKernel } from "./model_kernel.ts";
import { defaultOps, OpTable } from "./op_def.ts";
import { prepNop, prepSend } from "./prep.ts";
import type { Request } from "./request.ts";
import { Ring } from "./ring.ts";
import { reap, reapN, tmpFile } from "./_test_util.ts";

const TEST_FUSED = 49;

/** A minimal fused op in the RFC's shape: the slave is bytes 64..127 and uses `lent`. */
function fusedKernel(lent: LentBuffer): ModelKernel {
  const ops = new OpTable(defaultOps);
  ops.set(TEST_FUSED, {
    name: "TEST_FUSED",
    needsFile: false,
    fusedSlave: false,
    bufDir: 0,
    sqe128Only: true,
    prep(req: Request, sqe: DataView, off: number): number {
      const slave = req.ring.allocReq();
      const r = req.ring.initReq(slave, sqe, off + 64, true);
      if (r < 0) {
        req.ring.freeReq(slave);
        return r;
      }
      req.slave = slave;
      return 0;
    },
    issue(req: Request): number {
      const slave = req.slave!;
      req.slave = null;
      slave.kbuf = lent;
      slave.master = req;
      slave.onComplete.push((s) => {
        const master = s.master!;
        const res = s.res < 0 ? s.res : 0;
        s.ring.queueTaskWork(() => master.complete(res));
      });
      req.ring.issueReq(slave);
      return ISSUE_QUEUED;
    },
  });
  return new ModelKernel({ ops });
}

function prepPair(ring: Ring, slaveOp: number, fd: number, addr: number, len: number): void {
  const sqe = ring.getSqe()!;
  prepNop(sqe, { userData: 100n });
  sqe.view.setUint8(sqe.offset, TEST_FUSED);
  const o = sqe.offset + 64;
  sqe.view.setUint8(o, slaveOp);
  sqe.view.setInt32(o + 4, fd, true);
  sqe.view.setBigUint64(o + 16, BigInt(addr), true);
  sqe.view.setUint32(o + 24, len, true);
  sqe.view.setBigUint64(o + 32, 200n, true);
}

Deno.test("a slave READ with a lent buffer fills its segments at an offset; CQE before the master's", () => {
  const path = tmpFile("abcdefghijklmnop");
  const segs = [new Uint8Array(4), new Uint8Array(4), new Uint8Array(4)];
  const kernel = fusedKernel({ len: 10, offset: 2, bvecs: segs });
  using ring = Ring.create(kernel, 4, { flags: IORING_SETUP_SQE128 });
  const fd = kernel.open(path, O_RDWR);
  prepPair(ring, IORING_OP_READ, fd, 1, 6);
  assert.equal(ring.submit(), 1);
  assert.deepEqual(reap(ring), [[200, 6, 0], [100, 0, 0]]);
  // lent byte 0 is segs[0][2]; lent bytes 1..6 are segs[0][3], segs[1][0..3], segs[2][0]
  assert.equal(new TextDecoder().decode(segs[0]!.subarray(3)), "a");
  assert.equal(new TextDecoder().decode(segs[1]!), "bcde");
  assert.equal(new TextDecoder().decode(segs[2]!.subarray(0, 1)), "f");
  Deno.removeSync(path);
});

Deno.test("a slave WRITE outside the lent range fails -EFAULT and the master reports it", () => {
  const path = tmpFile("");
  const kernel = fusedKernel({ len: 8, offset: 0, bvecs: [new Uint8Array(8)] });
  using ring = Ring.create(kernel, 4, { flags: IORING_SETUP_SQE128 });
  const fd = kernel.open(path, O_RDWR);
  prepPair(ring, IORING_OP_WRITE, fd, 4, 8);
  ring.submit();
  assert.deepEqual(reap(ring), [[200, -14, 0], [100, -14, 0]]);
  Deno.removeSync(path);
});

Deno.test("a slave RECV scatters into a multi-segment lent buffer", async () => {
  const segs = [new Uint8Array(3), new Uint8Array(3)];
  const kernel = fusedKernel({ len: 6, offset: 0, bvecs: segs });
  using ring = Ring.create(kernel, 4, { flags: IORING_SETUP_SQE128 });
  const [a, b] = kernel.socketpair();
  prepPair(ring, IORING_OP_RECV, a, 1, 4);
  ring.submit();
  prepSend(ring.getSqe()!, b, new Uint8Array([1, 2, 3, 4]), { userData: 7n });
  ring.submit();
  assert.deepEqual(await reapN(ring, 3), [[7, 4, 0], [200, 4, 0], [100, 0, 0]]);
  assert.deepEqual(segs.map((s) => [...s]), [[0, 1, 2], [3, 4, 0]]);
});

Deno.test("a slave opcode without fusedSlave fails the master's prep with -EINVAL", () => {
  const kernel = fusedKernel({ len: 1, offset: 0, bvecs: [new Uint8Array(1)] });
  using ring = Ring.create(kernel, 4, { flags: IORING_SETUP_SQE128 });
  prepPair(ring, 0, -1, 0, 0);
  assert.equal(ring.submit(), 1);
  assert.deepEqual(reap(ring), [[100, -22, 0]]);
});
