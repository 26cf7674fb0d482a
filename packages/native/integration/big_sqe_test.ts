import assert from "node:assert/strict";
import {
  IORING_OP_NOP,
  IORING_SETUP_CQE32,
  IORING_SETUP_CQSIZE,
  IORING_SETUP_SQE128,
} from "@ublk-ts/uapi";
import { ignore, nativeKernel, TestRing } from "./_test_util.ts";

Deno.test(
  { name: "`NativeRing` SQE128 + CQE32 ring sizes and NOP round trip", ignore },
  async () => {
    using kr = nativeKernel().setup(8, { flags: IORING_SETUP_SQE128 | IORING_SETUP_CQE32 });
    assert.equal(kr.sqeSize, 128);
    assert.equal(kr.cqeSize, 32);
    assert.equal(kr.sqes.byteLength, 8 * 128);
    assert.ok(kr.cqRing.byteLength >= kr.cqOff.cqes + kr.cqEntries * 32);
    const ring = new TestRing(kr);
    assert.equal(ring.sqeSize, 128);
    for (let i = 0; i < 8; i++) ring.push({ opcode: IORING_OP_NOP, userData: BigInt(i + 100) });
    assert.equal(ring.submit(), 8);
    const cqes = await ring.reap(8);
    assert.deepEqual(
      cqes.map((c) => [c.userData, c.res, c.bigCqe]),
      Array.from({ length: 8 }, (_, i) => [BigInt(i + 100), 0, [0n, 0n]]),
    );
  },
);

Deno.test({ name: "`NativeKernel.setup()` cqEntries counts only with CQSIZE", ignore }, () => {
  using kr = nativeKernel().setup(4, { flags: IORING_SETUP_CQSIZE, cqEntries: 64 });
  assert.equal(kr.cqEntries, 64);
  assert.ok(kr.flags & IORING_SETUP_CQSIZE);
  using plain = nativeKernel().setup(4, { cqEntries: 64 });
  assert.equal(plain.cqEntries, 8);
});
