// `KernelRing.wait(minComplete, timeoutMs)` on the real kernel, through the `Ring` of
// @ublk-ts/ring: -ETIME when too few CQEs came in time, a CQE when one did.
import assert from "node:assert/strict";
import { prepNop, prepTimeout, Ring, timespec } from "@ublk-ts/ring";
import {
  ETIME,
  IORING_SETUP_COOP_TASKRUN,
  IORING_SETUP_DEFER_TASKRUN,
  IORING_SETUP_SINGLE_ISSUER,
} from "@ublk-ts/uapi";
import { ignore, nativeKernel } from "./_test_util.ts";

/** The plain ring, one whose wait runs off-thread with COOP_TASKRUN, and a polled one. */
const FLAGS: [string, number][] = [
  ["default", 0],
  ["COOP_TASKRUN", IORING_SETUP_COOP_TASKRUN],
  ["SINGLE_ISSUER | DEFER_TASKRUN", IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN],
];

Deno.test(
  { name: "`Ring.waitCqeTimeout(50)` on NativeKernel: null when idle", ignore },
  async () => {
    const kernel = nativeKernel();
    for (const [what, flags] of FLAGS) {
      using ring = Ring.create(kernel, 4, { flags });
      const t0 = performance.now();
      assert.equal(await ring.waitCqeTimeout(50), null, what);
      const dt = performance.now() - t0;
      // Not before the timeout, and (with slack for a loaded machine) not a 100 ms slice later.
      assert.ok(dt >= 45 && dt < 140, `${what}: waited ${dt.toFixed(1)} ms`);
    }
  },
);

Deno.test(
  { name: "`Ring.waitCqeTimeout(50)` on NativeKernel: the CQE of a NOP", ignore },
  async () => {
    const kernel = nativeKernel();
    for (const [what, flags] of FLAGS) {
      using ring = Ring.create(kernel, 4, { flags });
      prepNop(ring.getSqe()!, { userData: 42n });
      assert.equal(ring.submit(), 1);
      const t0 = performance.now();
      const cqe = await ring.waitCqeTimeout(50);
      assert.ok(performance.now() - t0 < 45, what);
      assert.ok(cqe !== null, what);
      assert.equal(cqe.userData, 42n);
      assert.equal(cqe.res, 0);
      ring.cqeSeen();
      assert.equal(ring.cqReady(), 0);
    }
  },
);

Deno.test(
  { name: "`Ring.waitCqeTimeout()` on NativeKernel: a CQE arriving within the time", ignore },
  async () => {
    using ring = Ring.create(nativeKernel(), 4);
    // A 10 ms IORING_OP_TIMEOUT completes (-ETIME in its CQE) while the wait is pending.
    const ts = timespec(10);
    prepTimeout(ring.getSqe()!, ts, { userData: 7n });
    ring.submit();
    const t0 = performance.now();
    const cqe = await ring.waitCqeTimeout(500);
    const dt = performance.now() - t0;
    assert.ok(cqe !== null);
    assert.deepEqual([cqe.userData, cqe.res], [7n, -ETIME]);
    assert.ok(dt >= 5 && dt < 400, `waited ${dt.toFixed(1)} ms`);
    ring.cqeSeen();
    // The timespec was in use by the kernel until the CQE: keep it referenced until here.
    assert.equal(ts.length, 16);
  },
);

Deno.test({ name: "`Ring.wait(1, 30)` on NativeKernel resolves -ETIME", ignore }, async () => {
  const kernel = nativeKernel();
  for (const [what, flags] of FLAGS) {
    using ring = Ring.create(kernel, 4, { flags });
    let t0 = performance.now();
    assert.equal(await ring.wait(1, 30), -ETIME, what);
    const dt = performance.now() - t0;
    assert.ok(dt >= 25 && dt < 120, `${what}: waited ${dt.toFixed(1)} ms`);
    // Enough CQEs already there: 0 at once; too few: -ETIME even with some.
    prepNop(ring.getSqe()!, { userData: 1n });
    ring.submit();
    t0 = performance.now();
    assert.equal(await ring.wait(1, 30), 0, what);
    assert.equal(await ring.wait(2, 30), -ETIME, what);
    assert.equal(await ring.wait(1, 0), 0, what);
    assert.equal(await ring.wait(2, 0), -ETIME, what);
    assert.ok(performance.now() - t0 < 120, what);
    assert.equal(ring.cqReady(), 1);
  }
});

Deno.test(
  { name: "`NativeRing.wait()` with a timeout: concurrent waits and close", ignore },
  async () => {
    const kr = nativeKernel().setup(4);
    // Two timed waits at once (each with its own timespec) and one untimed.
    const short = kr.wait(1, 20);
    const long = kr.wait(1, 60);
    const forever = kr.wait(1);
    const t0 = performance.now();
    assert.equal(await short, -ETIME);
    const dShort = performance.now() - t0;
    assert.equal(await long, -ETIME);
    const dLong = performance.now() - t0;
    assert.ok(dShort < 55 && dLong >= 55, `${dShort.toFixed(1)} / ${dLong.toFixed(1)} ms`);
    kr.close();
    assert.ok((await forever) < 0);
    assert.ok((await kr.wait(1, 10)) < 0);
  },
);
