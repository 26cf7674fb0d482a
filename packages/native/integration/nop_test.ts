import assert from "node:assert/strict";
import {
  EBADF,
  EBADFD,
  ETIME,
  IORING_ENTER_GETEVENTS,
  IORING_FEAT_SINGLE_MMAP,
  IORING_OP_NOP,
  IORING_OP_TIMEOUT,
} from "@ublk-ts/uapi";
import { ignore, nativeKernel, TestRing } from "./_test_util.ts";

Deno.test({ name: "`NativeRing` NOP round trip posts user_data and res 0", ignore }, async () => {
  const kernel = nativeKernel();
  using kr = kernel.setup(8);
  assert.equal(kr.sqEntries, 8);
  assert.equal(kr.cqEntries, 16);
  assert.ok(kr.fd >= 0);
  assert.ok(kr.features & IORING_FEAT_SINGLE_MMAP);
  const ring = new TestRing(kr);
  ring.push({ opcode: IORING_OP_NOP, userData: 0x1234_5678_9abc_def0n });
  ring.push({ opcode: IORING_OP_NOP, userData: 2n });
  assert.equal(ring.submit(), 2);
  const cqes = await ring.reap(2);
  assert.deepEqual(cqes, [
    { userData: 0x1234_5678_9abc_def0n, res: 0, flags: 0 },
    { userData: 2n, res: 0, flags: 0 },
  ]);
});

Deno.test(
  { name: "`NativeRing.wait()` resolves at once when CQEs are there", ignore },
  async () => {
    using kr = nativeKernel().setup(4);
    const ring = new TestRing(kr);
    assert.equal(await kr.wait(0), 0);
    ring.push({ opcode: IORING_OP_NOP, userData: 9n });
    ring.submit();
    assert.equal(ring.ready(), 1);
    assert.equal(await kr.wait(1), 0);
    assert.equal(ring.drain().length, 1);
  },
);

Deno.test(
  { name: "`NativeRing.close()` is safe twice and detaches the ring memory", ignore },
  async () => {
    const kr = nativeKernel().setup(4);
    const view = new DataView(kr.sqRing);
    kr.close();
    kr.close();
    assert.equal(kr.sqRing.byteLength, 0);
    assert.equal(kr.sqes.byteLength, 0);
    assert.throws(() => view.getUint32(0, true), TypeError);
    assert.equal(kr.submit(1), -EBADF);
    assert.equal(kr.register(0, {}), -EBADF);
    assert.equal(kr.getEvents(), -EBADF);
    assert.equal(await kr.wait(1), -EBADFD);
  },
);

Deno.test({ name: "`NativeRing.close()` ends a pending wait with -EBADFD", ignore }, async () => {
  const kr = nativeKernel().setup(4);
  const pending = kr.wait(1);
  await new Promise((r) => setTimeout(r, 20));
  kr.close();
  assert.equal(await pending, -EBADFD);
});

Deno.test(
  { name: "`NativeRing.wait()` wakes when a CQE arrives from another submit", ignore },
  async () => {
    using kr = nativeKernel().setup(4);
    const ring = new TestRing(kr);
    const pending = kr.wait(1);
    await new Promise((r) => setTimeout(r, 10));
    ring.push({ opcode: IORING_OP_NOP, userData: 5n });
    ring.submit();
    assert.equal(await pending, 0);
    assert.deepEqual(ring.drain(), [{ userData: 5n, res: 0, flags: 0 }]);
  },
);

Deno.test({ name: "`NativeKernel.setup()` throws ErrnoError on 0 entries", ignore }, () => {
  const kernel = nativeKernel();
  assert.throws(
    () => kernel.setup(0),
    (e: Error) => e.name === "ErrnoError" && /EINVAL/.test(e.message),
  );
  assert.throws(() => kernel.setup(1.5), RangeError);
});

Deno.test({ name: "`NativeRing.enter()` waits synchronously", ignore }, () => {
  using kr = nativeKernel().setup(4);
  const ring = new TestRing(kr);
  // A 5 ms IORING_OP_TIMEOUT: enter(0, 1, GETEVENTS) blocks until its CQE.
  const ts = new BigInt64Array([0n, 5_000_000n]);
  const tsAddr = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(ts)));
  ring.push({ opcode: IORING_OP_TIMEOUT, addr: tsAddr, len: 1, userData: 1n });
  assert.equal(ring.submit(), 1);
  assert.equal(ring.ready(), 0);
  const t0 = performance.now();
  assert.equal(kr.enter(0, 1, IORING_ENTER_GETEVENTS), 0);
  assert.ok(performance.now() - t0 >= 3);
  assert.deepEqual(ring.drain(), [{ userData: 1n, res: -ETIME, flags: 0 }]);
  assert.equal(ts[1], 5_000_000n);
  kr.close();
  assert.equal(kr.enter(0, 0, 0), -EBADF);
});
