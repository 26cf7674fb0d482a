import assert from "node:assert/strict";
import {
  IORING_OP_NOP,
  IORING_OP_RECV,
  IORING_OP_SEND,
  IORING_SETUP_COOP_TASKRUN,
  IORING_SETUP_DEFER_TASKRUN,
  IORING_SETUP_SINGLE_ISSUER,
  IORING_SETUP_SQPOLL,
} from "@ublk-ts/uapi";
import { bySeq, ignore, nativeKernel, TestRing } from "./_test_util.ts";

async function nops(flags: number): Promise<void> {
  using kr = nativeKernel().setup(8, { flags });
  assert.equal(kr.flags & flags, flags);
  const ring = new TestRing(kr);
  for (let i = 0; i < 4; i++) ring.push({ opcode: IORING_OP_NOP, userData: BigInt(i + 1) });
  assert.equal(ring.submit(), 4);
  const got = [];
  while (got.length < 4) got.push(...(await ring.reap(4 - got.length)));
  assert.deepEqual(bySeq(got).map((c) => [c.userData, c.res]), [[1n, 0], [2n, 0], [3n, 0], [
    4n,
    0,
  ]]);
}

Deno.test(
  { name: "`NativeRing` with SQPOLL: the kernel thread consumes the SQ", ignore },
  async () => {
    await nops(IORING_SETUP_SQPOLL);
  },
);

Deno.test(
  { name: "`NativeRing` with SINGLE_ISSUER | DEFER_TASKRUN: wait polls", ignore },
  async () => {
    await nops(IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN);
  },
);

Deno.test(
  { name: "`NativeRing` with COOP_TASKRUN: socket completions arrive", ignore },
  async () => {
    const kernel = nativeKernel();
    const sv = new Int32Array(2);
    assert.equal(kernel.socketpair(sv), 0);
    try {
      for (
        const flags of [
          IORING_SETUP_COOP_TASKRUN,
          IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
        ]
      ) {
        using kr = kernel.setup(8, { flags });
        const ring = new TestRing(kr);
        const buf = new Uint8Array(16);
        const msg = new Uint8Array([1, 2, 3]);
        ring.push({
          opcode: IORING_OP_RECV,
          fd: sv[1]!,
          addr: kernel.addressOf(buf),
          len: 16,
          userData: 1n,
        });
        ring.submit();
        ring.push({
          opcode: IORING_OP_SEND,
          fd: sv[0]!,
          addr: kernel.addressOf(msg),
          len: 3,
          userData: 2n,
        });
        ring.submit();
        const got = [];
        while (got.length < 2) got.push(...(await ring.reap(2 - got.length)));
        assert.deepEqual(bySeq(got), [{ userData: 1n, res: 3, flags: 0 }, {
          userData: 2n,
          res: 3,
          flags: 0,
        }]);
        assert.deepEqual([...buf.subarray(0, 3)], [1, 2, 3]);
      }
    } finally {
      kernel.closeFd(sv[0]!);
      kernel.closeFd(sv[1]!);
    }
  },
);
