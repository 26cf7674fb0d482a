// Prep validation of IORING_OP_FUSED_CMD through a model kernel: every path with its errno,
// one master CQE and no slave CQE.
import assert from "node:assert/strict";
import {
  EBADF,
  EINVAL,
  EOPNOTSUPP,
  IORING_OP_FUSED_CMD,
  IORING_OP_NOP,
  IORING_OP_READ,
  IORING_OP_READ_FIXED,
  IORING_OP_SEND_ZC,
  IORING_OP_URING_CMD,
  IORING_OP_WRITE_FIXED,
  IORING_RECVSEND_FIXED_BUF,
  IOSQE_BUFFER_SELECT,
  IOSQE_CQE_SKIP_SUCCESS,
  IoUringSqe,
} from "@ublk-ts/uapi";
import { FUSED_SLAVE_OFFSET } from "./fused_sqe.ts";
import { liveFusedCommands } from "./fused_cmd.ts";
import { type Cqe, fixture, lendMaster, rwSlave, segBuffer } from "./_test_util.ts";

const M = 0x10n;
const S = 0x20n;

/** Submits one fused READ after `mutate` edits its SQE; returns the CQEs. */
function runOne(
  mutate: (view: DataView, off: number) => void,
  opts: { sqe128?: boolean } = {},
): { cqes: Cqe[]; calls: number } {
  const f = fixture({ sqe128: opts.sqe128 });
  try {
    const { buf } = segBuffer([4096]);
    f.dev.add(1, buf, "any");
    let off: number;
    if (opts.sqe128 === false) {
      // a 64-byte ring: the "slave" is simply the next SQE slot
      off = f.ring.next();
      f.ring.next();
      const v = f.ring.sqeView;
      const s = off + FUSED_SLAVE_OFFSET; // on this ring, the next 64-byte SQE
      v.setUint8(off + IoUringSqe.OFFSET_OPCODE, IORING_OP_FUSED_CMD);
      v.setInt32(off + IoUringSqe.OFFSET_FD, f.devFd, true);
      v.setUint32(off + IoUringSqe.OFFSET_CMD_OP, 0x23, true);
      v.setBigUint64(off + IoUringSqe.OFFSET_USER_DATA, M, true);
      v.setUint8(s + IoUringSqe.OFFSET_OPCODE, IORING_OP_READ);
      v.setInt32(s + IoUringSqe.OFFSET_FD, f.fileFd, true);
      v.setUint32(s + IoUringSqe.OFFSET_LEN, 16, true);
      v.setBigUint64(s + IoUringSqe.OFFSET_USER_DATA, S, true);
    } else {
      off = f.ring.fused(lendMaster(f.devFd, 1, M), rwSlave(false, f.fileFd, 0, 16, 0n, S));
    }
    mutate(f.ring.sqeView, off);
    f.ring.submit();
    const cqes = f.ring.reap();
    assert.equal(buf.leases, 0);
    return { cqes, calls: f.dev.calls.length };
  } finally {
    f.close();
    assert.equal(liveFusedCommands(f.kernel), 0, "fused state leaked");
  }
}

function assertMasterFails(r: { cqes: Cqe[]; calls: number }, errno: number): void {
  const mine = r.cqes.filter((c) => c.userData === M || c.userData === S);
  assert.deepEqual(mine, [{ userData: M, res: -errno, flags: 0 }]);
  assert.equal(r.calls, 0, "the device must not be called after a prep failure");
}

Deno.test("FUSED_CMD on a ring without SQE128 fails -EINVAL", () => {
  assertMasterFails(runOne(() => {}, { sqe128: false }), EINVAL);
});

Deno.test("FUSED_CMD with __pad1 != 0 fails -EINVAL", () => {
  assertMasterFails(runOne((v, o) => v.setUint32(o + IoUringSqe.OFFSET_PAD1, 1, true)), EINVAL);
});

Deno.test("FUSED_CMD with uring_cmd_flags != 0 fails -EINVAL", () => {
  // IORING_URING_CMD_FIXED and the v4 split-SQE flag are both refused
  assertMasterFails(
    runOne((v, o) => v.setUint32(o + IoUringSqe.OFFSET_URING_CMD_FLAGS, 1, true)),
    EINVAL,
  );
  assertMasterFails(
    runOne((v, o) => v.setUint32(o + IoUringSqe.OFFSET_URING_CMD_FLAGS, 2, true)),
    EINVAL,
  );
});

Deno.test("FUSED_CMD with a FUSED_CMD or URING_CMD slave fails -EINVAL", () => {
  for (const op of [IORING_OP_FUSED_CMD, IORING_OP_URING_CMD]) {
    assertMasterFails(
      runOne((v, o) => v.setUint8(o + FUSED_SLAVE_OFFSET + IoUringSqe.OFFSET_OPCODE, op)),
      EINVAL,
    );
  }
});

Deno.test("FUSED_CMD with a buffer-select slave fails -EINVAL", () => {
  assertMasterFails(
    runOne((v, o) =>
      v.setUint8(o + FUSED_SLAVE_OFFSET + IoUringSqe.OFFSET_FLAGS, IOSQE_BUFFER_SELECT)
    ),
    EINVAL,
  );
});

Deno.test("FUSED_CMD with a non-slave op (NOP, READ_FIXED, WRITE_FIXED, unknown) fails -EINVAL", () => {
  for (const op of [IORING_OP_NOP, IORING_OP_READ_FIXED, IORING_OP_WRITE_FIXED, 250]) {
    assertMasterFails(
      runOne((v, o) => v.setUint8(o + FUSED_SLAVE_OFFSET + IoUringSqe.OFFSET_OPCODE, op)),
      EINVAL,
    );
  }
});

Deno.test("FUSED_CMD with a SEND_ZC slave using IORING_RECVSEND_FIXED_BUF fails -EINVAL", () => {
  assertMasterFails(
    runOne((v, o) => {
      v.setUint8(o + FUSED_SLAVE_OFFSET + IoUringSqe.OFFSET_OPCODE, IORING_OP_SEND_ZC);
      // recvsend flags live in ioprio
      v.setUint16(
        o + FUSED_SLAVE_OFFSET + IoUringSqe.OFFSET_IOPRIO,
        IORING_RECVSEND_FIXED_BUF,
        true,
      );
    }),
    EINVAL,
  );
});

Deno.test("FUSED_CMD passes the slave's own prep errors to the master", () => {
  // invalid SQE flag bit on the slave (io_init_req: -EINVAL)
  assertMasterFails(
    runOne((v, o) => v.setUint8(o + FUSED_SLAVE_OFFSET + IoUringSqe.OFFSET_FLAGS, 0x80)),
    EINVAL,
  );
  // a personality the slave does not have (io_init_req: -EINVAL)
  assertMasterFails(
    runOne((v, o) => v.setUint16(o + FUSED_SLAVE_OFFSET + IoUringSqe.OFFSET_PERSONALITY, 7, true)),
    EINVAL,
  );
});

Deno.test("FUSED_CMD prep failure keeps a master CQE even with CQE_SKIP_SUCCESS", () => {
  assertMasterFails(
    runOne((v, o) => {
      v.setUint8(o + IoUringSqe.OFFSET_FLAGS, IOSQE_CQE_SKIP_SUCCESS);
      v.setUint32(o + IoUringSqe.OFFSET_PAD1, 5, true);
    }),
    EINVAL,
  );
});

Deno.test("FUSED_CMD on a bad master fd fails -EBADF without a slave CQE", () => {
  assertMasterFails(runOne((v, o) => v.setInt32(o + IoUringSqe.OFFSET_FD, 999, true)), EBADF);
});

Deno.test("FUSED_CMD on a file that has no uring_cmd fails -EOPNOTSUPP", () => {
  const f = fixture();
  try {
    f.ring.fused(
      { fd: f.fileFd, cmdOp: 0x23, userData: M },
      rwSlave(false, f.fileFd, 0, 16, 0n, S),
    );
    f.ring.submit();
    assert.deepEqual(f.ring.reap(), [{ userData: M, res: -EOPNOTSUPP, flags: 0 }]);
  } finally {
    f.close();
  }
  assert.equal(liveFusedCommands(f.kernel), 0);
});

Deno.test("FUSED_CMD device errors fail the master only (unknown cmd_op, unknown key, no data)", () => {
  const f = fixture();
  try {
    const { buf } = segBuffer([512]);
    f.dev.add(1, buf, "none");
    // wrong cmd_op: -EOPNOTSUPP
    f.ring.fused(
      { ...lendMaster(f.devFd, 1, 1n), cmdOp: 0x99 },
      rwSlave(false, f.fileFd, 0, 16, 0n, 2n),
    );
    // unknown key: -EINVAL
    f.ring.fused(lendMaster(f.devFd, 7, 3n), rwSlave(false, f.fileFd, 0, 16, 0n, 4n));
    // request without data: -EINVAL
    f.ring.fused(lendMaster(f.devFd, 1, 5n), rwSlave(false, f.fileFd, 0, 16, 0n, 6n));
    // with master CQE_SKIP_SUCCESS the error CQE is still posted
    f.ring.fused(
      lendMaster(f.devFd, 7, 7n, IOSQE_CQE_SKIP_SUCCESS),
      rwSlave(false, f.fileFd, 0, 16, 0n, 8n),
    );
    assert.equal(f.ring.submit(), 4);
    assert.deepEqual(f.ring.reap(), [
      { userData: 1n, res: -EOPNOTSUPP, flags: 0 },
      { userData: 3n, res: -EINVAL, flags: 0 },
      { userData: 5n, res: -EINVAL, flags: 0 },
      { userData: 7n, res: -EINVAL, flags: 0 },
    ]);
    assert.equal(buf.leases, 0);
    assert.deepEqual(f.dev.calls.map((c) => c.ret), [-EOPNOTSUPP, -EINVAL, -EINVAL, -EINVAL]);
  } finally {
    f.close();
  }
  assert.equal(liveFusedCommands(f.kernel), 0);
});

Deno.test("a plain URING_CMD to the test device completes with 0 and no fused flag", () => {
  const f = fixture();
  try {
    const o = f.ring.plain(IORING_OP_URING_CMD, { fd: f.devFd, userData: 9n });
    f.ring.sqeView.setUint32(o + IoUringSqe.OFFSET_CMD_OP, 0x23, true);
    f.ring.submit();
    assert.deepEqual(f.ring.reap(), [{ userData: 9n, res: 0, flags: 0 }]);
    assert.equal(f.dev.calls.length, 1);
    assert.equal(f.dev.calls[0]!.issueFlags & ((1 << 11) | (1 << 12)), 0);
  } finally {
    f.close();
  }
});
