import assert from "node:assert/strict";
import { IORING_SQ_CQ_OVERFLOW } from "@ublk-ts/uapi";
import { prepNop } from "@ublk-ts/ring";
import { setup } from "./_test_util.ts";

Deno.test("CQ overflow with a 2-entry CQ keeps 100 CQEs in order (IORING_FEAT_NODROP)", () => {
  // Checked on Linux 6.18: the SQ flag is set, the cq overflow counter stays 0, nothing is lost.
  const { ring } = setup(2, { cqEntries: 2 });
  assert.equal(ring.cqEntries, 2);
  for (let i = 0; i < 100; i += 2) {
    prepNop(ring.getSqe()!, { userData: BigInt(i) });
    prepNop(ring.getSqe()!, { userData: BigInt(i + 1) });
    assert.equal(ring.submit(), 2);
  }
  assert.equal(ring.cqReady(), 2);
  assert.ok(ring.sqFlags() & IORING_SQ_CQ_OVERFLOW);
  assert.equal(ring.cqOverflow(), 0);
  const seen: number[] = [];
  for (let c = ring.peekCqe(); c; c = ring.peekCqe()) {
    seen.push(Number(c.userData));
    ring.cqeSeen();
  }
  assert.deepEqual(seen, Array.from({ length: 100 }, (_, i) => i));
  assert.equal(ring.sqFlags() & IORING_SQ_CQ_OVERFLOW, 0);
  ring.close();
});

Deno.test("wait() flushes overflowed CQEs", async () => {
  const { ring } = setup(4, { cqEntries: 4 });
  for (let i = 0; i < 4; i++) prepNop(ring.getSqe()!, { userData: BigInt(i) });
  ring.submit();
  for (let i = 4; i < 8; i++) prepNop(ring.getSqe()!, { userData: BigInt(i) });
  ring.submit();
  ring.cqAdvance(4);
  await ring.waitCqes(4);
  const seen: number[] = [];
  ring.cqAdvance(ring.forEachCqe((c) => seen.push(Number(c.userData))));
  assert.deepEqual(seen, [4, 5, 6, 7]);
  ring.close();
});
