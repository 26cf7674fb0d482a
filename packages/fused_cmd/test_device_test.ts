// The issue flags a device sees for each slave op, and the device's direction rule
// (ublk_check_fused_buf_dir): READ-like slaves need a "dest" buffer, WRITE-like a "source".
import assert from "node:assert/strict";
import {
  EINVAL,
  IO_URING_F_FUSED,
  IO_URING_F_FUSED_READ,
  IO_URING_F_FUSED_WRITE,
  IO_URING_F_SQE128,
  IORING_OP_READ,
  IORING_OP_RECV,
  IORING_OP_SEND,
  IORING_OP_SEND_ZC,
  IORING_OP_WRITE,
} from "@ublk-ts/uapi";
import { ISSUE_QUEUED } from "@ublk-ts/model";
import { liveFusedCommands } from "./fused_cmd.ts";
import { TEST_DEV_CMD_LEND, type TestBufferDir, testDeviceCmd } from "@ublk-ts/testing";
import { assertPair, fixture, lendMaster, segBuffer } from "./_test_util.ts";

function slaveFd(f: ReturnType<typeof fixture>, op: number): number {
  if (op === IORING_OP_READ || op === IORING_OP_WRITE) return f.fileFd;
  return f.kernel.socketpair()[0];
}

Deno.test("the device sees the slave's buffer direction in its issue flags", () => {
  const cases: [number, number][] = [
    [IORING_OP_READ, IO_URING_F_FUSED_WRITE],
    [IORING_OP_RECV, IO_URING_F_FUSED_WRITE],
    [IORING_OP_WRITE, IO_URING_F_FUSED_READ],
    [IORING_OP_SEND, IO_URING_F_FUSED_READ],
    [IORING_OP_SEND_ZC, IO_URING_F_FUSED_READ],
  ];
  for (const [op, dir] of cases) {
    const f = fixture();
    try {
      // an unknown key: the device reports what it saw, then fails the master
      f.ring.fused(lendMaster(f.devFd, 42, 1n), {
        opcode: op,
        fd: slaveFd(f, op),
        addr: 0,
        len: 8,
        userData: 2n,
      });
      f.ring.submit();
      assert.deepEqual(f.ring.reap(), [{ userData: 1n, res: -EINVAL, flags: 0 }]);
      assert.equal(f.dev.calls.length, 1);
      const c = f.dev.calls[0]!;
      assert.equal(c.cmdOp, TEST_DEV_CMD_LEND);
      assert.equal(c.key, 42);
      assert.equal(c.issueFlags & IO_URING_F_FUSED, dir, `op ${op}`);
      assert.ok(c.issueFlags & IO_URING_F_SQE128, "an SQE128 issue");
    } finally {
      f.close();
    }
    assert.equal(liveFusedCommands(f.kernel), 0);
  }
});

Deno.test("the device's direction rule accepts and refuses slaves", () => {
  const table: [TestBufferDir, boolean, boolean][] = [
    // dir, READ slave ok, WRITE slave ok
    ["dest", true, false],
    ["source", false, true],
    ["any", true, true],
    ["none", false, false],
  ];
  for (const [dir, readOk, writeOk] of table) {
    const f = fixture({ fileBytes: new Uint8Array(4096).fill(5) });
    try {
      const { buf } = segBuffer([4096], 9);
      f.dev.add(1, buf, dir);
      f.ring.fused(lendMaster(f.devFd, 1, 1n), {
        opcode: IORING_OP_READ,
        fd: f.fileFd,
        addr: 0,
        len: 16,
        userData: 2n,
      });
      f.ring.fused(lendMaster(f.devFd, 1, 3n), {
        opcode: IORING_OP_WRITE,
        fd: f.fileFd,
        addr: 0,
        len: 16,
        off: 100n,
        userData: 4n,
      });
      f.ring.submit();
      const got = f.ring.reap();
      assert.equal(got.length, (readOk ? 2 : 1) + (writeOk ? 2 : 1), dir);
      assertPair(got, 1n, 2n, readOk ? 16 : null, readOk ? 0 : -EINVAL);
      assertPair(got, 3n, 4n, writeOk ? 16 : null, writeOk ? 0 : -EINVAL);
      assert.deepEqual(
        f.dev.calls.map((c) => c.ret),
        [readOk ? ISSUE_QUEUED : -EINVAL, writeOk ? ISSUE_QUEUED : -EINVAL],
      );
      // a refused WRITE slave did not touch the file
      const file = Deno.readFileSync(f.path);
      const expectByte = writeOk ? (readOk ? 5 : 9) : 5;
      assert.equal(file[100], expectByte, dir);
      assert.equal(buf.leases, 0);
    } finally {
      f.close();
    }
  }
});

Deno.test("`testDeviceCmd()` writes the key little-endian and zero-fills the rest", () => {
  const out = new Uint8Array(16).fill(0xff);
  assert.equal(testDeviceCmd(0x01020304, out), out);
  assert.deepEqual([...out], [4, 3, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
});

Deno.test("`TestDevice` add/remove/has manage keys", () => {
  const f = fixture();
  try {
    const { buf } = segBuffer([16]);
    f.dev.add(5, buf, "any");
    assert.equal(f.dev.has(5), true);
    assert.equal(f.dev.remove(5), true);
    assert.equal(f.dev.has(5), false);
    assert.equal(f.dev.remove(5), false);
  } finally {
    f.close();
  }
});
