// The lent buffer: slave ranges (-EFAULT outside, zero length), several segments with an
// offset into the first, no-bvec buffers (-EINVAL), and sharing one buffer among concurrent
// fused commands with the owner told once when the last lease returns.
import assert from "node:assert/strict";
import { FUSED_SLAVE_OFFSET } from "./fused_sqe.ts";
import {
  EFAULT,
  EINVAL,
  IORING_OP_READ,
  IORING_OP_RECV,
  IORING_OP_SEND,
  IoUringSqe,
} from "@ublk-ts/uapi";
import { type DeviceFile, ISSUE_QUEUED, type Request } from "@ublk-ts/model";
import { O_RDWR } from "@ublk-ts/ring";
import { MappedBuffer } from "@ublk-ts/rsrc";
import { liveFusedCommands, provideFusedBuffer } from "./fused_cmd.ts";
import { assertPair, fixture, flat, lendMaster, rwSlave, segBuffer } from "./_test_util.ts";

const content = new Uint8Array(16384).map((_, i) => (i * 31 + 7) & 0xff);

Deno.test("slave ranges outside the lent buffer fail -EFAULT, edges succeed", () => {
  const f = fixture({ fileBytes: content });
  try {
    const { buf } = segBuffer([1000, 24]); // len 1024
    f.dev.add(1, buf, "dest");
    const cases: [number, number, number][] = [
      // addr, len, expected slave res
      [0, 1024, 1024],
      [1023, 1, 1],
      [1024, 0, 0], // addr == end, zero length
      [0, 0, 0],
      [1024, 1, -EFAULT],
      [1025, 0, -EFAULT],
      [1, 1024, -EFAULT],
      [512, 0xffffffff, -EFAULT],
    ];
    let ud = 1n;
    for (const [addr, len] of cases) {
      f.ring.fused(lendMaster(f.devFd, 1, ud), rwSlave(false, f.fileFd, addr, len, 0n, ud + 1n));
      ud += 2n;
    }
    // an addr with high bits set (not a small offset)
    const off = f.ring.fused(
      lendMaster(f.devFd, 1, ud),
      rwSlave(false, f.fileFd, 0, 8, 0n, ud + 1n),
    );
    // the upper half of the slave's addr
    f.ring.sqeView.setUint32(off + FUSED_SLAVE_OFFSET + IoUringSqe.OFFSET_ADDR + 4, 1, true);
    f.ring.submit();
    const got = f.ring.reap();
    assert.equal(got.length, 2 * (cases.length + 1));
    ud = 1n;
    for (const [, , res] of cases) {
      assertPair(got, ud, ud + 1n, res, res < 0 ? res : 0);
      ud += 2n;
    }
    assertPair(got, ud, ud + 1n, -EFAULT, -EFAULT);
    assert.equal(buf.leases, 0);
  } finally {
    f.close();
  }
  assert.equal(liveFusedCommands(f.kernel), 0);
});

Deno.test("a slave reads and writes straight through several segments and an offset", () => {
  const f = fixture({ fileBytes: content });
  try {
    const segs = [new Uint8Array(4096), new Uint8Array(100), new Uint8Array(5000)];
    const buf = MappedBuffer.fromSegments(segs, { offset: 96 });
    assert.equal(buf.len, 4000 + 100 + 5000);
    f.dev.add(1, buf, "any");
    // READ file[1000, 1000+6000) into buffer [50, 6050): spans all three segments
    f.ring.fused(lendMaster(f.devFd, 1, 1n), rwSlave(false, f.fileFd, 50, 6000, 1000n, 2n));
    f.ring.submit();
    assert.deepEqual(f.ring.reap().map((c) => c.res), [6000, 0]);
    // the bytes went into the caller's segments at the right places, nothing copied elsewhere
    assert.deepEqual(segs[0]!.subarray(96 + 50), content.subarray(1000, 1000 + 4096 - 146));
    assert.deepEqual(segs[1], content.subarray(1000 + 3950, 1000 + 4050));
    assert.deepEqual(segs[2]!.subarray(0, 1950), content.subarray(5050, 7000));
    assert.ok(segs[0]!.subarray(0, 146).every((b) => b === 0));
    assert.ok(segs[2]!.subarray(1950).every((b) => b === 0));
    // WRITE buffer [50, 6050) back to the file at 10000
    f.ring.fused(lendMaster(f.devFd, 1, 3n), rwSlave(true, f.fileFd, 50, 6000, 10000n, 4n));
    f.ring.submit();
    assert.deepEqual(f.ring.reap().map((c) => c.res), [6000, 0]);
    const file = Deno.readFileSync(f.path);
    assert.deepEqual(file.subarray(10000, 16000), content.subarray(1000, 7000));
  } finally {
    f.close();
  }
});

Deno.test("a short slave READ at EOF reports its byte count", () => {
  const f = fixture({ fileBytes: content.subarray(0, 100) });
  try {
    const { buf } = segBuffer([4096]);
    f.dev.add(1, buf, "dest");
    f.ring.fused(lendMaster(f.devFd, 1, 1n), rwSlave(false, f.fileFd, 0, 4096, 50n, 2n));
    f.ring.submit();
    assert.deepEqual(f.ring.reap(), [
      { userData: 2n, res: 50, flags: 0 },
      { userData: 1n, res: 0, flags: 0 },
    ]);
  } finally {
    f.close();
  }
});

Deno.test("a buffer without bvecs fails the slave -EINVAL", () => {
  const f = fixture({ fileBytes: content });
  try {
    const buf = MappedBuffer.fromBytes(new Uint8Array(0));
    f.dev.add(1, buf, "any");
    f.ring.fused(lendMaster(f.devFd, 1, 1n), rwSlave(false, f.fileFd, 0, 0, 0n, 2n));
    f.ring.submit();
    assert.deepEqual(f.ring.reap(), [
      { userData: 2n, res: -EINVAL, flags: 0 },
      { userData: 1n, res: -EINVAL, flags: 0 },
    ]);
    assert.equal(buf.leases, 0);
  } finally {
    f.close();
  }
  assert.equal(liveFusedCommands(f.kernel), 0);
});

Deno.test("concurrent fused commands share one buffer; the owner learns once at the last lease", async () => {
  // the device lends during issue: all 8 masters are issued (and lend) before any slave runs
  const f = fixture({ fileBytes: content });
  try {
    const { buf, released } = segBuffer([4096, 4096, 4096, 4096]);
    f.dev.add(1, buf, "any");
    // stripe: 8 sub-ranges of 2 KiB from 8 places of the file
    for (let i = 0; i < 8; i++) {
      f.ring.fused(
        lendMaster(f.devFd, 1, BigInt(100 + i)),
        rwSlave(false, f.fileFd, i * 2048, 2048, BigInt(((i * 5) % 8) * 2048), BigInt(200 + i)),
      );
    }
    f.ring.submit();
    const got = await f.ring.reapN(16);
    assert.equal(got.length, 16);
    assert.ok(got.every((c) => c.res === (c.userData >= 200n ? 2048 : 0)));
    assert.equal(buf.leases, 0);
    assert.equal(released(), 1);
    const bytes = flat(buf);
    for (let i = 0; i < 8; i++) {
      const src = ((i * 5) % 8) * 2048;
      assert.deepEqual(bytes.subarray(i * 2048, (i + 1) * 2048), content.subarray(src, src + 2048));
    }
  } finally {
    f.close();
  }
  assert.equal(liveFusedCommands(f.kernel), 0);
});

Deno.test("leases are held while slaves are in flight and all return", async () => {
  // A device that lends only when told, and RECV slaves that wait for data, so the test can
  // look at the lease count while two fused commands hold the same buffer.
  const { buf, released } = segBuffer([4096, 4096], 0);
  const pending: Request[] = [];
  const leasesSeen: number[] = [];
  const dev: DeviceFile = {
    uringCmd(req: Request): number {
      pending.push(req);
      return ISSUE_QUEUED;
    },
  };
  const f = fixture();
  try {
    f.kernel.registerDevice("/dev/lazy", dev);
    const lazyFd = f.kernel.open("/dev/lazy", O_RDWR);
    const [a1, b1] = f.kernel.socketpair();
    const [a2, b2] = f.kernel.socketpair();
    f.ring.fused({ fd: lazyFd, cmdOp: 1, userData: 1n }, {
      opcode: IORING_OP_RECV,
      fd: a1,
      addr: 0,
      len: 4096,
      userData: 2n,
    });
    f.ring.fused({ fd: lazyFd, cmdOp: 1, userData: 3n }, {
      opcode: IORING_OP_RECV,
      fd: a2,
      addr: 4096,
      len: 4096,
      userData: 4n,
    });
    f.ring.submit();
    assert.equal(pending.length, 2);
    assert.deepEqual(f.ring.reap(), []);
    for (const m of pending) {
      const ret = provideFusedBuffer(m, buf, (master, res) => {
        leasesSeen.push(buf.leases);
        master.cmdDone(res);
      });
      assert.equal(ret, ISSUE_QUEUED);
    }
    assert.equal(buf.leases, 2);
    // a second provide for the same master is refused
    assert.equal(provideFusedBuffer(pending[0]!, buf), -EINVAL);
    assert.equal(buf.leases, 2);
    const d1 = new Uint8Array(4096).fill(0x11);
    const d2 = new Uint8Array(4096).fill(0x22);
    f.ring.plain(IORING_OP_SEND, { fd: b1, addr: f.kernel.addressOf(d1), len: 4096, userData: 5n });
    f.ring.plain(IORING_OP_SEND, { fd: b2, addr: f.kernel.addressOf(d2), len: 4096, userData: 6n });
    f.ring.submit();
    const got = await f.ring.reapN(6);
    const pos = (ud: bigint): number => got.findIndex((c) => c.userData === ud);
    assert.ok(pos(2n) < pos(1n) && pos(4n) < pos(3n), "slave before master");
    assert.equal(got[pos(1n)]!.res, 0);
    assert.equal(got[pos(3n)]!.res, 0);
    assert.equal(buf.leases, 0);
    assert.equal(released(), 1);
    assert.deepEqual(leasesSeen, [1, 0]);
    const bytes = flat(buf);
    const r1 = got[pos(2n)]!.res;
    const r2 = got[pos(4n)]!.res;
    assert.ok(r1 > 0 && r2 > 0);
    assert.ok(bytes.subarray(0, r1).every((b) => b === 0x11));
    assert.ok(bytes.subarray(4096, 4096 + r2).every((b) => b === 0x22));
  } finally {
    f.close();
  }
  assert.equal(liveFusedCommands(f.kernel), 0);
});

Deno.test("`provideFusedBuffer()` refuses a request that is not a fused master", () => {
  const f = fixture();
  try {
    let ret = 0;
    const { buf } = segBuffer([16]);
    f.kernel.registerDevice("/dev/probe", {
      uringCmd(req: Request): number {
        ret = provideFusedBuffer(req, buf);
        return 0;
      },
    });
    const fd = f.kernel.open("/dev/probe", O_RDWR);
    f.ring.plain(46, { fd, userData: 1n }); // URING_CMD
    f.ring.submit();
    assert.deepEqual(f.ring.reap(), [{ userData: 1n, res: 0, flags: 0 }]);
    assert.equal(ret, -EINVAL);
    assert.equal(buf.leases, 0);
  } finally {
    f.close();
  }
});

Deno.test("ring exit with a fused pair waiting for its buffer completes and frees it", () => {
  const f = fixture();
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
  assert.equal(liveFusedCommands(f.kernel), 1);
  f.close();
  assert.equal(liveFusedCommands(f.kernel), 0);
});

Deno.test("ring exit with a slave in flight returns the lease and finishes both", async () => {
  const f = fixture();
  const { buf, released } = segBuffer([4096]);
  f.dev.add(1, buf, "dest");
  const [a] = f.kernel.socketpair();
  f.ring.fused(lendMaster(f.devFd, 1, 1n), {
    opcode: IORING_OP_RECV,
    fd: a,
    addr: 0,
    len: 4096,
    userData: 2n,
  });
  f.ring.submit();
  assert.equal(buf.leases, 1);
  assert.equal(liveFusedCommands(f.kernel), 1);
  f.close();
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(buf.leases, 0);
  assert.equal(released(), 1);
  assert.equal(f.dev.slavesDone, 1);
  assert.deepEqual(f.dev.slaveResults, [-125]);
  assert.equal(liveFusedCommands(f.kernel), 0);
});

Deno.test("ASYNC_CANCEL of a master cancels its slave first, then the master completes", async () => {
  const f = fixture();
  try {
    const { buf } = segBuffer([4096]);
    f.dev.add(1, buf, "dest");
    const [a] = f.kernel.socketpair();
    f.ring.fused(lendMaster(f.devFd, 1, 1n), {
      opcode: IORING_OP_RECV,
      fd: a,
      addr: 0,
      len: 4096,
      userData: 2n,
    });
    f.ring.submit();
    f.ring.plain(14, { addr: 1n, userData: 3n }); // ASYNC_CANCEL user_data 1
    f.ring.submit();
    const got = await f.ring.reapN(3);
    assertPair(got, 1n, 2n, -125, -125);
    assert.deepEqual(got.find((c) => c.userData === 3n), { userData: 3n, res: 0, flags: 0 });
    assert.equal(buf.leases, 0);
  } finally {
    f.close();
  }
  assert.equal(liveFusedCommands(f.kernel), 0);
});

Deno.test("SEND and RECV slaves across several segments move the right bytes", async () => {
  const f = fixture();
  try {
    const src = MappedBuffer.fromSegments(
      [new Uint8Array(100), new Uint8Array(50), new Uint8Array(200)].map((s, k) =>
        s.map((_, i) => (k * 100 + i) & 0xff)
      ),
    );
    const dstSegs = [new Uint8Array(70), new Uint8Array(130), new Uint8Array(150)];
    const dst = MappedBuffer.fromSegments(dstSegs);
    f.dev.add(1, src, "source");
    f.dev.add(2, dst, "dest");
    const [a, b] = f.kernel.socketpair();
    f.ring.fused(lendMaster(f.devFd, 2, 3n), {
      opcode: IORING_OP_RECV,
      fd: b,
      addr: 30,
      len: 250,
      opFlags: 0x100, // MSG_WAITALL
      userData: 4n,
    });
    f.ring.fused(lendMaster(f.devFd, 1, 1n), {
      opcode: IORING_OP_SEND,
      fd: a,
      addr: 60,
      len: 250,
      userData: 2n,
    });
    f.ring.submit();
    const got = await f.ring.reapN(4);
    assertPair(got, 1n, 2n, 250, 0);
    assertPair(got, 3n, 4n, 250, 0);
    assert.deepEqual(flat(dst).subarray(30, 280), flat(src).subarray(60, 310));
    assert.equal(src.leases + dst.leases, 0);
  } finally {
    f.close();
  }
  assert.equal(liveFusedCommands(f.kernel), 0);
});
