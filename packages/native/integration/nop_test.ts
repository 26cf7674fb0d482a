import assert from "node:assert/strict";
import {
  EBADF,
  EBADFD,
  IORING_ENTER_GETEVENTS,
  IORING_FEAT_SINGLE_MMAP,
  IORING_OP_NOP,
} from "@ublk-ts/uapi";
import { ignore, nativeKernel, RawRing } from "./_test_util.ts";

Deno.test({ name: "`NativeRing` NOP round trip posts user_data and res 0", ignore }, async () => {
  const kernel = nativeKernel();
  using kr = kernel.setup(8);
  assert.equal(kr.sqEntries, 8);
  assert.equal(kr.cqEntries, 16);
  assert.ok(kr.fd >= 0);
  assert.ok(kr.features & IORING_FEAT_SINGLE_MMAP);
  const ring = new RawRing(kr);
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
    const ring = new RawRing(kr);
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
    const ring = new RawRing(kr);
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

Deno.test({ name: "`NativeRing.enter()` submits and waits synchronously", ignore }, () => {
  using kr = nativeKernel().setup(4);
  const ring = new RawRing(kr);
  ring.push({ opcode: IORING_OP_NOP, userData: 1n });
  ring.push({ opcode: IORING_OP_NOP, userData: 2n });
  assert.equal(kr.enter(2, 2, IORING_ENTER_GETEVENTS), 2);
  assert.equal(ring.drain().length, 2);
  kr.close();
  assert.equal(kr.enter(0, 0, 0), -EBADF);
});
