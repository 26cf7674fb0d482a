import assert from "node:assert/strict";
import {
  ErrnoError,
  IORING_FEAT_NODROP,
  IORING_FEAT_SINGLE_MMAP,
  IORING_SETUP_CLAMP,
  IORING_SETUP_CQSIZE,
  IORING_SETUP_SQPOLL,
} from "@ublk-ts/uapi";
import { ModelKernel } from "./model_kernel.ts";
import { prepNop } from "@ublk-ts/ring";
import { Ring } from "@ublk-ts/ring";
import { reap } from "./_test_util.ts";

Deno.test("Ring.create() rounds entries up to a power of two with CQ = 2 × SQ", () => {
  const kernel = new ModelKernel();
  using ring = Ring.create(kernel, 5);
  assert.equal(ring.sqEntries, 8);
  assert.equal(ring.cqEntries, 16);
  assert.ok(ring.features & IORING_FEAT_NODROP);
  assert.ok(ring.features & IORING_FEAT_SINGLE_MMAP);
  assert.equal(kernel.fileOf(ring.fd)?.kind, "ring");
});

Deno.test("setup refuses 0 entries, too many without CLAMP, CQ smaller than SQ and SQPOLL", () => {
  const kernel = new ModelKernel();
  const einval = (e: unknown): boolean => e instanceof ErrnoError && e.code === "EINVAL";
  assert.throws(() => kernel.setup(0), einval);
  assert.throws(() => kernel.setup(65536), einval);
  assert.equal(kernel.setup(65536, { flags: IORING_SETUP_CLAMP }).sqEntries, 32768);
  assert.throws(() => kernel.setup(8, { flags: IORING_SETUP_CQSIZE, cqEntries: 4 }), einval);
  assert.throws(() => kernel.setup(8, { flags: IORING_SETUP_SQPOLL }), einval);
  kernel.close();
});

Deno.test("SQ and CQ counters wrap at 2^32 without losing CQEs", () => {
  const kernel = new ModelKernel();
  const kr = kernel.setup(4);
  kr.setCountersForTest(0xffffffff - 5);
  using ring = new Ring(kernel, kr);
  let next = 0;
  const seen: number[] = [];
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 4; i++) prepNop(ring.getSqe()!, { userData: BigInt(next++) });
    assert.equal(ring.submit(), 4);
    for (const [ud] of reap(ring)) seen.push(ud);
  }
  assert.deepEqual(seen, Array.from({ length: 20 }, (_, i) => i));
  const head = new Uint32Array(kr.sqRing)[kr.sqOff.head >> 2]!;
  assert.ok(head < 100, `head did not wrap: ${head}`);
});

Deno.test("closeFd() of a ring fd closes the ring; a bad fd gives -EBADF", () => {
  const kernel = new ModelKernel();
  const ring = Ring.create(kernel, 4);
  assert.equal(kernel.closeFd(ring.fd), 0);
  prepNop(ring.getSqe()!);
  assert.throws(() => ring.submit(), /EBADF/);
  assert.equal(kernel.closeFd(12345), -9);
});
