import assert from "node:assert/strict";
import { ErrnoError } from "@ublk-ts/uapi";
import { prepNop, prepRecv, prepSend } from "@ublk-ts/ring";
import { setup } from "./_test_util.ts";

Deno.test("waitCqe() resolves when an async request completes", async () => {
  const { kernel, ring } = setup();
  const [a, b] = kernel.socketpair();
  prepRecv(ring.getSqe()!, a, new Uint8Array(2), { userData: 1n });
  ring.submit();
  assert.equal(ring.peekCqe(), null);
  const p = ring.waitCqe();
  prepSend(ring.getSqe()!, b, new Uint8Array([1, 2]), { userData: 2n });
  ring.submit();
  const first = await p;
  assert.equal(first.userData, 2n);
  ring.cqeSeen();
  const second = await ring.waitCqe();
  assert.equal(second.userData, 1n);
  assert.equal(second.res, 2);
  ring.cqeSeen();
  ring.close();
});

Deno.test("submitAndWait() returns the consumed count once enough CQEs are there", async () => {
  const { ring } = setup();
  for (let i = 0; i < 3; i++) prepNop(ring.getSqe()!, { userData: BigInt(i) });
  assert.equal(await ring.submitAndWait(3), 3);
  assert.equal(ring.cqReady(), 3);
  const seen: bigint[] = [];
  assert.equal(ring.forEachCqe((c) => seen.push(c.userData)), 3);
  assert.deepEqual(seen, [0n, 1n, 2n]);
  assert.equal(ring.cqReady(), 3);
  ring.cqAdvance(3);
  assert.equal(ring.cqReady(), 0);
  ring.close();
});

Deno.test("a waitCqe() pending when the ring closes rejects with EBADFD", async () => {
  const { kernel, ring } = setup();
  const [a] = kernel.socketpair();
  prepRecv(ring.getSqe()!, a, new Uint8Array(2), { userData: 1n });
  ring.submit();
  const p = ring.waitCqe();
  ring.close();
  await assert.rejects(p, (e) => e instanceof ErrnoError && e.code === "EBADFD");
});

Deno.test("Ring is disposable with using: leaving the block closes it", () => {
  const { kernel, ring: outer } = setup();
  let inner = outer;
  {
    using ring = setup().ring;
    inner = ring;
    prepNop(ring.getSqe()!);
    assert.equal(ring.submit(), 1);
  }
  prepNop(inner.getSqe()!);
  assert.throws(() => inner.submit(), /EBADF/);
  outer.close();
  kernel.close();
});
