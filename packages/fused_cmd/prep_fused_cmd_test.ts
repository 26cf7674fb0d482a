import assert from "node:assert/strict";
import {
  IORING_OP_FUSED_CMD,
  IORING_OP_READ,
  IORING_OP_WRITE,
  IORING_SETUP_SQE128,
  IOSQE_CQE_SKIP_SUCCESS,
  IOSQE_FIXED_FILE,
  IOSQE_IO_LINK,
  IoUringSqe,
} from "@ublk-ts/uapi";
import { fixed, O_CREAT, O_RDWR, Ring } from "@ublk-ts/ring";
import { ModelKernel } from "@ublk-ts/model";
import { MappedBuffer } from "@ublk-ts/rsrc";
import { installFusedCmd, liveFusedCommands } from "./fused_cmd.ts";
import { prepFusedCmd } from "./prep_fused_cmd.ts";
import { TEST_DEV_CMD_LEND, TestDevice, testDeviceCmd } from "@ublk-ts/testing";

Deno.test("`prepFusedCmd()` writes both halves with fixed targets", () => {
  const kernel = new ModelKernel();
  using ring = Ring.create(kernel, 4, { flags: IORING_SETUP_SQE128 });
  const sqe = ring.getSqe()!;
  prepFusedCmd(sqe, {
    target: fixed(0),
    cmdOp: 0x23,
    cmd: new Uint8Array([1, 2, 3]),
    userData: 7n,
    flags: IOSQE_CQE_SKIP_SUCCESS,
  }, {
    opcode: IORING_OP_WRITE,
    target: fixed(1),
    addr: 512,
    len: 100,
    offset: 4096n,
    userData: 8n,
    flags: IOSQE_IO_LINK,
    opFlags: 4,
  });
  const m = IoUringSqe.decode(sqe.view, sqe.offset);
  const s = IoUringSqe.decode(sqe.view, sqe.offset + 64);
  assert.equal(m.opcode, IORING_OP_FUSED_CMD);
  assert.equal(m.flags, IOSQE_FIXED_FILE | IOSQE_CQE_SKIP_SUCCESS);
  assert.equal(m.fd, 0);
  assert.equal(m.off, 0x23n, "cmd_op with __pad1 = 0");
  assert.equal(m.userData, 7n);
  assert.deepEqual([...sqe.bytes.subarray(sqe.offset + 48, sqe.offset + 52)], [1, 2, 3, 0]);
  assert.equal(s.opcode, IORING_OP_WRITE);
  assert.equal(s.flags, IOSQE_FIXED_FILE | IOSQE_IO_LINK);
  assert.equal(s.fd, 1);
  assert.equal(s.addr, 512n);
  assert.equal(s.len, 100);
  assert.equal(s.off, 4096n);
  assert.equal(s.opFlags, 4);
  assert.equal(s.userData, 8n);
});

Deno.test("`prepFusedCmd()` refuses a 64-byte SQE and a long payload", () => {
  const kernel = new ModelKernel();
  using ring = Ring.create(kernel, 4);
  assert.throws(
    () =>
      prepFusedCmd(ring.getSqe()!, { target: 3, cmdOp: 1 }, {
        opcode: IORING_OP_READ,
        target: 4,
        addr: 0,
        len: 1,
      }),
    RangeError,
  );
  using ring128 = Ring.create(kernel, 4, { flags: IORING_SETUP_SQE128 });
  assert.throws(
    () =>
      prepFusedCmd(ring128.getSqe()!, { target: 3, cmdOp: 1, cmd: new Uint8Array(17) }, {
        opcode: IORING_OP_READ,
        target: 4,
        addr: 0,
        len: 1,
      }),
    RangeError,
  );
});

Deno.test("a fused READ built with `prepFusedCmd()` runs end to end through the Ring API", async () => {
  const kernel = new ModelKernel();
  installFusedCmd(kernel);
  const dev = new TestDevice();
  kernel.registerDevice("/dev/fused-test", dev);
  const path = Deno.makeTempFileSync({ dir: "/dev/shm" });
  const content = new Uint8Array(8192).map((_, i) => (i * 3) & 0xff);
  Deno.writeFileSync(path, content);
  try {
    using ring = Ring.create(kernel, 8, { flags: IORING_SETUP_SQE128 });
    const devFd = kernel.open("/dev/fused-test", O_RDWR);
    const fileFd = kernel.open(path, O_RDWR | O_CREAT);
    assert.equal(ring.registerFiles([devFd, fileFd]), 0);
    const pages = [new Uint8Array(4096), new Uint8Array(4096)];
    const buf = MappedBuffer.fromSegments(pages);
    dev.add(5, buf, "dest");
    prepFusedCmd(ring.getSqe()!, {
      target: fixed(0),
      cmdOp: TEST_DEV_CMD_LEND,
      cmd: testDeviceCmd(5),
      userData: 1n,
      flags: IOSQE_CQE_SKIP_SUCCESS,
    }, { opcode: IORING_OP_READ, target: fixed(1), addr: 0, len: 8192, userData: 2n });
    assert.equal(ring.submit(), 1);
    await ring.waitCqes(1);
    assert.deepEqual(ring.copyCqe(), { userData: 2n, res: 8192, flags: 0 });
    assert.equal(ring.cqReady(), 0, "the master skipped its CQE");
    assert.deepEqual(pages[0], content.subarray(0, 4096));
    assert.deepEqual(pages[1], content.subarray(4096));
    assert.equal(buf.leases, 0);
    assert.equal(liveFusedCommands(kernel), 0);
  } finally {
    kernel.close();
    Deno.removeSync(path);
  }
});
