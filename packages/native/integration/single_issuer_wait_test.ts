// The async wait of a ring only its submitter may enter (SINGLE_ISSUER | DEFER_TASKRUN): an
// eventfd registered with the ring, polled on a worker thread, the task work run from the
// JavaScript thread; and `Ring.flushSq()` + one blocking `enter` as io_uring_submit_and_wait.
import assert from "node:assert/strict";
import { prepNop, prepRwAt, prepTimeout, Ring, sqeSetUserData32, timespec } from "@ublk-ts/ring";
import {
  EBUSY,
  ETIME,
  IORING_ENTER_GETEVENTS,
  IORING_OP_NOP,
  IORING_REGISTER_EVENTFD,
  IORING_SETUP_DEFER_TASKRUN,
  IORING_SETUP_SINGLE_ISSUER,
} from "@ublk-ts/uapi";
import { ignore, nativeKernel } from "./_test_util.ts";

const SI = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;

Deno.test(
  { name: "`NativeRing.wait()` with DEFER_TASKRUN: a timer's CQE through the eventfd", ignore },
  async () => {
    const kernel = nativeKernel();
    using ring = Ring.create(kernel, 4, { flags: SI });
    // Three 2 ms timeouts, waited for one at a time: each CQE is deferred task work that only
    // an enter of this thread posts.
    const ts = timespec(2);
    for (let i = 0; i < 3; i++) {
      prepTimeout(ring.getSqe()!, ts, { userData: BigInt(10 + i) });
      assert.equal(ring.submit(), 1);
      assert.equal(await ring.wait(1), 0);
      const c = ring.copyCqe();
      assert.deepEqual([c?.userData, c?.res], [BigInt(10 + i), -ETIME]);
    }
    // The ring's eventfd is registered: a second registration is refused.
    assert.equal(ring.kernelRing.register(IORING_REGISTER_EVENTFD, { fds: [0] }), -EBUSY);
    assert.equal(ts.length, 16);
  },
);

Deno.test(
  { name: "`NativeRing.wait()` with DEFER_TASKRUN: concurrent waits, a timeout, close", ignore },
  async () => {
    const kr = nativeKernel().setup(4, { flags: SI });
    const ring = new Ring(nativeKernel(), kr);
    const ts = timespec(3);
    prepTimeout(ring.getSqe()!, ts, { userData: 1n });
    ring.submit();
    // Two waits for the one CQE, one for two CQEs with a timeout, one forever.
    const a = kr.wait(1);
    const b = kr.wait(1);
    const two = kr.wait(2, 20);
    const forever = kr.wait(2);
    assert.deepEqual(await Promise.all([a, b, two]), [0, 0, -ETIME]);
    assert.equal(ring.cqReady(), 1);
    kr.close();
    assert.ok((await forever) < 0);
    assert.equal(ts.length, 16);
  },
);

Deno.test(
  { name: "`NativeRing.wait()` with DEFER_TASKRUN when the user holds the eventfd", ignore },
  async () => {
    const kernel = nativeKernel();
    using ring = Ring.create(kernel, 4, { flags: SI });
    const efd = kernel.library.libc.eventfd(0, 0);
    assert.ok(efd >= 0);
    try {
      // The user's registration wins; waits fall back to polling and still see the CQE.
      assert.equal(ring.kernelRing.register(IORING_REGISTER_EVENTFD, { fds: [efd] }), 0);
      const ts = timespec(2);
      prepTimeout(ring.getSqe()!, ts, { userData: 5n });
      ring.submit();
      assert.equal(await ring.wait(1), 0);
      assert.equal(ring.copyCqe()?.userData, 5n);
    } finally {
      kernel.closeFd(efd);
    }
  },
);

Deno.test(
  { name: "`Ring.flushSq()` publishes the tail; one `enter` submits and waits", ignore },
  () => {
    for (const flags of [0, SI]) {
      using ring = Ring.create(nativeKernel(), 8, { flags });
      const kr = ring.kernelRing as ReturnType<ReturnType<typeof nativeKernel>["setup"]>;
      for (let i = 0; i < 4; i++) {
        const o = ring.getSqeOffset();
        prepRwAt(ring.sqes, o, IORING_OP_NOP, -1, 0, 0, 0);
        sqeSetUserData32(ring.sqes, o, i, 0);
      }
      assert.equal(ring.flushSq(), 4);
      assert.equal(ring.flushSq(), 4, "nothing consumed before an enter");
      assert.equal(ring.cqReady(), 0);
      assert.equal(kr.enter(ring.flushSq(), 4, IORING_ENTER_GETEVENTS), 4);
      assert.equal(ring.cqReady(), 4);
      assert.equal(ring.flushSq(), 0);
      const seen: number[] = [];
      ring.cqAdvance(ring.forEachCqe((c) => seen.push(c.view.getUint32(c.offset, true))));
      assert.deepEqual(seen, [0, 1, 2, 3]);
      prepNop(ring.getSqe()!, { userData: 9n });
      assert.equal(ring.submit(), 1);
    }
  },
);
