// CQE counts, results and order of a fused pair for every combination of
// slave CQE_SKIP_SUCCESS × master CQE_SKIP_SUCCESS × slave success/failure (v3 slave_res rule),
// with the device lending during issue and lending later.
import assert from "node:assert/strict";
import {
  EFAULT,
  IORING_CQE_F_MORE,
  IORING_CQE_F_NOTIF,
  IORING_OP_RECV,
  IORING_OP_SEND,
  IORING_OP_SEND_ZC,
  IOSQE_CQE_SKIP_SUCCESS,
  IoUringSqe,
} from "@ublk-ts/uapi";
import { MappedBuffer } from "@ublk-ts/rsrc";
import { liveFusedCommands } from "./fused_cmd.ts";
import { assertPair, type Cqe, fixture, lendMaster, rwSlave, segBuffer } from "./_test_util.ts";

const M = 0xaaaan;
const S = 0xbbbbn;
const LEN = 1024;

/** What the RFC (v3 rule) says the pair posts. */
function expected(slaveSkip: boolean, masterSkip: boolean, slaveRes: number): Cqe[] {
  const out: Cqe[] = [];
  const slaveFailed = slaveRes < 0;
  if (!slaveSkip || slaveFailed) out.push({ userData: S, res: slaveRes, flags: 0 });
  const masterRes = slaveSkip || slaveFailed ? slaveRes : 0;
  if (!masterSkip || masterRes < 0) out.push({ userData: M, res: masterRes, flags: 0 });
  return out;
}

for (const deferLend of [false, true]) {
  for (const slaveSkip of [false, true]) {
    for (const masterSkip of [false, true]) {
      for (const fail of [false, true]) {
        const name = `fused READ: slave skip=${slaveSkip} master skip=${masterSkip} slave ${
          fail ? "fails" : "succeeds"
        }${deferLend ? " (device lends later)" : ""} posts the v3 CQEs in order`;
        Deno.test(name, async () => {
          const content = new Uint8Array(8192).map((_, i) => (i * 7 + 3) & 0xff);
          const f = fixture({ device: { deferLend }, fileBytes: content });
          try {
            const { buf, released } = segBuffer([3000, 2000, 3192]);
            f.dev.add(1, buf, "dest");
            // a failing slave reads beyond the lent buffer: -EFAULT at import
            const addr = fail ? buf.len - LEN + 1 : 100;
            f.ring.fused(
              lendMaster(f.devFd, 1, M, masterSkip ? IOSQE_CQE_SKIP_SUCCESS : 0),
              rwSlave(false, f.fileFd, addr, LEN, 512n, S, slaveSkip ? IOSQE_CQE_SKIP_SUCCESS : 0),
            );
            assert.equal(f.ring.submit(), 1);
            const want = expected(slaveSkip, masterSkip, fail ? -EFAULT : LEN);
            const got = await f.ring.reapN(want.length);
            // nothing more arrives
            await new Promise((r) => setTimeout(r, 5));
            got.push(...f.ring.reap());
            assert.deepEqual(got, want);
            assert.equal(buf.leases, 0);
            assert.equal(released(), 1);
            assert.equal(f.dev.slavesDone, 1);
            if (!fail) {
              const bytes = new Uint8Array(buf.len);
              buf.copyTo(bytes, 0);
              assert.deepEqual(bytes.subarray(addr, addr + LEN), content.subarray(512, 512 + LEN));
              assert.ok(bytes.subarray(0, addr).every((b) => b === 0));
            }
          } finally {
            f.close();
          }
          assert.equal(liveFusedCommands(f.kernel), 0);
        });
      }
    }
  }
}

Deno.test("the master's CQE follows the slave's when the slave completes asynchronously", async () => {
  // A RECV slave on a socketpair completes later (a promise), outside task work.
  const f = fixture();
  try {
    const [a, b] = f.kernel.socketpair();
    const { buf } = segBuffer([64]);
    f.dev.add(1, buf, "dest");
    f.ring.fused(lendMaster(f.devFd, 1, M), {
      opcode: IORING_OP_RECV,
      fd: a,
      addr: 8,
      len: 16,
      userData: S,
    });
    assert.equal(f.ring.submit(), 1);
    assert.deepEqual(f.ring.reap(), []);
    // send 16 bytes from the other end with a plain SEND
    const src = new Uint8Array(16).map((_, i) => i + 1);
    f.ring.plain(26, { fd: b, addr: f.kernel.addressOf(src), len: 16, userData: 3n });
    f.ring.submit();
    const got = await f.ring.reapN(3);
    const order = got.map((c) => c.userData);
    assert.ok(order.indexOf(S) < order.indexOf(M), `order ${order}`);
    assert.deepEqual(got.find((c) => c.userData === S), { userData: S, res: 16, flags: 0 });
    assert.deepEqual(got.find((c) => c.userData === M), { userData: M, res: 0, flags: 0 });
    const bytes = new Uint8Array(64);
    buf.copyTo(bytes, 0);
    assert.deepEqual(bytes.subarray(8, 24), src);
    assert.equal(buf.leases, 0);
  } finally {
    f.close();
  }
  assert.equal(liveFusedCommands(f.kernel), 0);
});

Deno.test("several fused pairs in one submission each post slave then master", () => {
  const content = new Uint8Array(4096).map((_, i) => i & 0xff);
  const f = fixture({ fileBytes: content });
  try {
    const { buf } = segBuffer([4096]);
    f.dev.add(1, buf, "any");
    for (let i = 0; i < 8; i++) {
      f.ring.fused(
        lendMaster(f.devFd, 1, BigInt(100 + i)),
        rwSlave(false, f.fileFd, i * 512, 512, BigInt(i * 512), BigInt(200 + i)),
      );
    }
    assert.equal(f.ring.submit(), 8);
    const got = f.ring.reap();
    assert.equal(got.length, 16);
    for (let i = 0; i < 8; i++) {
      const si = got.findIndex((c) => c.userData === BigInt(200 + i));
      const mi = got.findIndex((c) => c.userData === BigInt(100 + i));
      assert.ok(si >= 0 && mi > si, `pair ${i}: slave at ${si}, master at ${mi}`);
      assert.equal(got[si]!.res, 512);
      assert.equal(got[mi]!.res, 0);
    }
    const bytes = new Uint8Array(4096);
    buf.copyTo(bytes, 0);
    assert.deepEqual(bytes, content);
  } finally {
    f.close();
  }
});

Deno.test("a short slave READ with CQE_SKIP_SUCCESS posts its CQE and the master gets 0", () => {
  // A short transfer sets REQ_F_FAIL, which clears REQ_F_CQE_SKIP: the slave did not skip its
  // CQE, so the v3 slave_res is 0.
  const f = fixture({ fileBytes: new Uint8Array(100).fill(1) });
  try {
    const { buf } = segBuffer([4096]);
    f.dev.add(1, buf, "dest");
    f.ring.fused(
      lendMaster(f.devFd, 1, M),
      rwSlave(false, f.fileFd, 0, 4096, 60n, S, IOSQE_CQE_SKIP_SUCCESS),
    );
    f.ring.submit();
    assert.deepEqual(f.ring.reap(), [
      { userData: S, res: 40, flags: 0 },
      { userData: M, res: 0, flags: 0 },
    ]);
    assert.deepEqual(f.dev.slaveResults, [0]);
  } finally {
    f.close();
  }
});

Deno.test("a fused SEND slave sends a sub-range of the lent buffer without a copy", async () => {
  const f = fixture();
  try {
    const bytes = new Uint8Array(4096).map((_, i) => (i * 5) & 0xff);
    const buf = MappedBuffer.fromBytes(bytes);
    f.dev.add(1, buf, "source");
    const [a, b] = f.kernel.socketpair();
    f.ring.fused(lendMaster(f.devFd, 1, M, IOSQE_CQE_SKIP_SUCCESS), {
      opcode: IORING_OP_SEND,
      fd: a,
      addr: 1000,
      len: 300,
      userData: S,
    });
    const dst = new Uint8Array(300);
    f.ring.plain(IORING_OP_RECV, { fd: b, addr: f.kernel.addressOf(dst), len: 300, userData: 3n });
    f.ring.submit();
    const got = await f.ring.reapN(2);
    assertPair(got, M, S, 300, null);
    assert.deepEqual(got.find((c) => c.userData === 3n)?.res, 300);
    assert.deepEqual(dst, bytes.subarray(1000, 1300));
    assert.equal(buf.leases, 0);
  } finally {
    f.close();
  }
  assert.equal(liveFusedCommands(f.kernel), 0);
});

Deno.test("a fused SEND_ZC slave over TCP posts its F_MORE and F_NOTIF CQEs before the master", async () => {
  const f = fixture();
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const connecting = Deno.connect({ hostname: "127.0.0.1", port: (l.addr as Deno.NetAddr).port });
    const server = await l.accept();
    const a = f.kernel.adoptConn(await connecting);
    const b = f.kernel.adoptConn(server);
    const bytes = new Uint8Array(4096).map((_, i) => i & 0xff);
    const buf = MappedBuffer.fromBytes(bytes);
    f.dev.add(1, buf, "source");
    f.ring.fused(lendMaster(f.devFd, 1, M), {
      opcode: IORING_OP_SEND_ZC,
      fd: a,
      addr: 100,
      len: 1000,
      userData: S,
    });
    const dst = new Uint8Array(1000);
    const ro = f.ring.plain(IORING_OP_RECV, {
      fd: b,
      addr: f.kernel.addressOf(dst),
      len: 1000,
      userData: 3n,
    });
    f.ring.sqeView.setUint32(ro + IoUringSqe.OFFSET_MSG_FLAGS, 0x100, true); // MSG_WAITALL
    f.ring.submit();
    const got = await f.ring.reapN(4);
    const mine = got.filter((c) => c.userData !== 3n);
    assert.deepEqual(mine, [
      { userData: S, res: 1000, flags: IORING_CQE_F_MORE },
      { userData: S, res: 0, flags: IORING_CQE_F_NOTIF },
      { userData: M, res: 0, flags: 0 },
    ]);
    assert.deepEqual(got.find((c) => c.userData === 3n)?.res, 1000);
    assert.deepEqual(dst, bytes.subarray(100, 1100));
    assert.equal(buf.leases, 0);
  } finally {
    f.close();
    l.close();
  }
  assert.equal(liveFusedCommands(f.kernel), 0);
});
