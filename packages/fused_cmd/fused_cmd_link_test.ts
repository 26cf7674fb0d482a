// Link handling: the slave's IO_LINK/IO_HARDLINK move to the master, the slave is never on the
// chain, a following SQE waits for the whole pair, and a failing slave cancels the rest.
import assert from "node:assert/strict";
import {
  ECANCELED,
  EFAULT,
  EINVAL,
  ETIME,
  IORING_OP_LINK_TIMEOUT,
  IORING_OP_READ,
  IORING_OP_RECV,
  IOSQE_CQE_SKIP_SUCCESS,
  IOSQE_IO_HARDLINK,
  IOSQE_IO_LINK,
  KernelTimespec,
} from "@ublk-ts/uapi";
import { liveFusedCommands } from "./fused_cmd.ts";
import { ISSUE_QUEUED } from "@ublk-ts/model";
import { O_RDWR } from "@ublk-ts/ring";
import { assertPair, fixture, lendMaster, rwSlave, segBuffer } from "./_test_util.ts";

const content = new Uint8Array(8192).map((_, i) => (i * 13) & 0xff);

Deno.test("a fused pair in the middle of a link chain runs in chain order", async () => {
  const f = fixture({ device: { deferLend: true }, fileBytes: content });
  try {
    const { buf } = segBuffer([4096]);
    f.dev.add(1, buf, "dest");
    f.ring.nop(1n, IOSQE_IO_LINK);
    // the link comes from the slave's flags only
    f.ring.fused(
      lendMaster(f.devFd, 1, 2n),
      rwSlave(false, f.fileFd, 0, 4096, 0n, 3n, IOSQE_IO_LINK),
    );
    f.ring.nop(4n);
    assert.equal(f.ring.submit(), 3);
    const got = await f.ring.reapN(4);
    assert.deepEqual(got, [
      { userData: 1n, res: 0, flags: 0 },
      { userData: 3n, res: 4096, flags: 0 },
      { userData: 2n, res: 0, flags: 0 },
      { userData: 4n, res: 0, flags: 0 },
    ]);
  } finally {
    f.close();
  }
  assert.equal(liveFusedCommands(f.kernel), 0);
});

Deno.test("without a link flag the next SQE does not wait for the pair", async () => {
  const f = fixture({ device: { deferLend: true }, fileBytes: content });
  try {
    const { buf } = segBuffer([4096]);
    f.dev.add(1, buf, "dest");
    f.ring.fused(lendMaster(f.devFd, 1, 2n), rwSlave(false, f.fileFd, 0, 4096, 0n, 3n));
    f.ring.nop(4n);
    f.ring.submit();
    const got = await f.ring.reapN(3);
    assert.deepEqual(got.map((c) => c.userData), [4n, 3n, 2n]);
  } finally {
    f.close();
  }
});

Deno.test("a failing slave cancels the rest of the chain with -ECANCELED", () => {
  const f = fixture({ fileBytes: content });
  try {
    const { buf } = segBuffer([1024]);
    f.dev.add(1, buf, "dest");
    f.ring.nop(1n, IOSQE_IO_LINK);
    f.ring.fused(
      lendMaster(f.devFd, 1, 2n),
      rwSlave(false, f.fileFd, 1000, 100, 0n, 3n, IOSQE_IO_LINK), // beyond the buffer
    );
    f.ring.nop(4n, IOSQE_IO_LINK);
    f.ring.nop(5n);
    f.ring.submit();
    assert.deepEqual(f.ring.reap(), [
      { userData: 1n, res: 0, flags: 0 },
      { userData: 3n, res: -EFAULT, flags: 0 },
      { userData: 2n, res: -EFAULT, flags: 0 },
      { userData: 4n, res: -ECANCELED, flags: 0 },
      { userData: 5n, res: -ECANCELED, flags: 0 },
    ]);
    assert.equal(buf.leases, 0);
  } finally {
    f.close();
  }
  assert.equal(liveFusedCommands(f.kernel), 0);
});

Deno.test("a slave's IO_HARDLINK becomes a soft link on the master", () => {
  const f = fixture({ fileBytes: content });
  try {
    const { buf } = segBuffer([1024]);
    f.dev.add(1, buf, "dest");
    f.ring.fused(
      lendMaster(f.devFd, 1, 2n),
      rwSlave(false, f.fileFd, 2000, 1, 0n, 3n, IOSQE_IO_HARDLINK),
    );
    f.ring.nop(4n);
    f.ring.submit();
    assert.deepEqual(f.ring.reap(), [
      { userData: 3n, res: -EFAULT, flags: 0 },
      { userData: 2n, res: -EFAULT, flags: 0 },
      { userData: 4n, res: -ECANCELED, flags: 0 },
    ]);
  } finally {
    f.close();
  }
});

Deno.test("a master's own IO_HARDLINK keeps the chain going after a failed slave", () => {
  const f = fixture({ fileBytes: content });
  try {
    const { buf } = segBuffer([1024]);
    f.dev.add(1, buf, "dest");
    f.ring.fused(
      lendMaster(f.devFd, 1, 2n, IOSQE_IO_HARDLINK),
      rwSlave(false, f.fileFd, 2000, 1, 0n, 3n),
    );
    f.ring.nop(4n);
    f.ring.submit();
    assert.deepEqual(f.ring.reap(), [
      { userData: 3n, res: -EFAULT, flags: 0 },
      { userData: 2n, res: -EFAULT, flags: 0 },
      { userData: 4n, res: 0, flags: 0 },
    ]);
  } finally {
    f.close();
  }
});

Deno.test("a device error on a linked master cancels the rest and posts no slave CQE", () => {
  for (const skip of [false, true]) {
    const f = fixture({ fileBytes: content });
    try {
      f.ring.fused(
        lendMaster(f.devFd, 99, 2n, skip ? IOSQE_CQE_SKIP_SUCCESS : 0),
        rwSlave(false, f.fileFd, 0, 1, 0n, 3n, IOSQE_IO_LINK),
      );
      f.ring.nop(4n);
      f.ring.submit();
      // A failed head with CQE_SKIP_SUCCESS hides the CQEs of the links it cancels
      // (REQ_F_SKIP_LINK_CQES), as the kernel does.
      assert.deepEqual(f.ring.reap(), [
        { userData: 2n, res: -EINVAL, flags: 0 },
        ...(skip ? [] : [{ userData: 4n, res: -ECANCELED, flags: 0 }]),
      ]);
    } finally {
      f.close();
    }
    assert.equal(liveFusedCommands(f.kernel), 0);
  }
});

Deno.test("a fused pair cancelled by an earlier link failure frees its slave", () => {
  const f = fixture({ fileBytes: content });
  try {
    const { buf } = segBuffer([1024]);
    f.dev.add(1, buf, "dest");
    // READ of a bad address fails and cancels the fused pair after it
    f.ring.plain(22, { fd: f.fileFd, addr: 0n, len: 8, userData: 1n, flags: IOSQE_IO_LINK });
    f.ring.fused(lendMaster(f.devFd, 1, 2n), rwSlave(false, f.fileFd, 0, 8, 0n, 3n));
    f.ring.submit();
    assert.deepEqual(f.ring.reap(), [
      { userData: 1n, res: -EFAULT, flags: 0 },
      { userData: 2n, res: -ECANCELED, flags: 0 },
    ]);
    assert.equal(f.dev.calls.length, 0);
    assert.equal(buf.leases, 0);
  } finally {
    f.close();
  }
  assert.equal(liveFusedCommands(f.kernel), 0);
});

Deno.test("a LINK_TIMEOUT on a master whose device never lends cancels the pair", async () => {
  const f = fixture();
  try {
    f.kernel.registerDevice("/dev/never", { uringCmd: (): number => ISSUE_QUEUED });
    const fd = f.kernel.open("/dev/never", O_RDWR);
    f.ring.fused({ fd, cmdOp: 1, userData: 1n, flags: IOSQE_IO_LINK }, {
      opcode: IORING_OP_READ,
      fd: f.fileFd,
      addr: 0,
      len: 8,
      userData: 2n,
    });
    const ts = new Uint8Array(16);
    new DataView(ts.buffer).setBigInt64(KernelTimespec.OFFSET_TV_NSEC, 1_000_000n, true); // 1 ms
    f.ring.plain(IORING_OP_LINK_TIMEOUT, { addr: f.kernel.addressOf(ts), len: 1, userData: 3n });
    f.ring.submit();
    const got = await f.ring.reapN(2);
    assert.deepEqual(got.find((c) => c.userData === 1n)?.res, -ECANCELED);
    assert.deepEqual(got.find((c) => c.userData === 3n)?.res, -ETIME);
    assert.equal(got.some((c) => c.userData === 2n), false, "no slave CQE");
  } finally {
    f.close();
  }
  assert.equal(liveFusedCommands(f.kernel), 0);
});

Deno.test("a LINK_TIMEOUT on a master whose slave waits cancels the slave first", async () => {
  const f = fixture();
  try {
    const { buf } = segBuffer([1024]);
    f.dev.add(1, buf, "dest");
    const [a] = f.kernel.socketpair();
    f.ring.fused(lendMaster(f.devFd, 1, 1n, IOSQE_IO_LINK), {
      opcode: IORING_OP_RECV, // no data ever comes
      fd: a,
      addr: 0,
      len: 64,
      userData: 2n,
    });
    const ts = new Uint8Array(16);
    new DataView(ts.buffer).setBigInt64(KernelTimespec.OFFSET_TV_NSEC, 1_000_000n, true);
    f.ring.plain(IORING_OP_LINK_TIMEOUT, { addr: f.kernel.addressOf(ts), len: 1, userData: 3n });
    f.ring.submit();
    const got = await f.ring.reapN(3);
    assertPair(got, 1n, 2n, -ECANCELED, -ECANCELED);
    assert.equal(buf.leases, 0);
  } finally {
    f.close();
  }
  assert.equal(liveFusedCommands(f.kernel), 0);
});
