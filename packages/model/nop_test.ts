import assert from "node:assert/strict";
import { IORING_NOP_INJECT_RESULT } from "./ops_misc.ts";
import { IOSQE_IO_LINK, IoUringSqe } from "@ublk-ts/uapi";
import { prepNop } from "@ublk-ts/ring";
import { reap, setup } from "./_test_util.ts";

Deno.test("prepNop() completes with res 0 and carries user_data unchanged", () => {
  const { ring } = setup();
  prepNop(ring.getSqe()!, { userData: 0xfedcba9876543210n });
  assert.equal(ring.submit(), 1);
  assert.deepEqual(ring.copyCqe(), { userData: 0xfedcba9876543210n, res: 0, flags: 0 });
  ring.close();
});

Deno.test("NOP with IORING_NOP_INJECT_RESULT completes with len", () => {
  const { ring } = setup();
  const sqe = ring.getSqe()!;
  prepNop(sqe, { userData: 1n });
  sqe.view.setUint32(sqe.offset + IoUringSqe.OFFSET_OP_FLAGS, IORING_NOP_INJECT_RESULT, true);
  sqe.view.setInt32(sqe.offset + IoUringSqe.OFFSET_LEN, -5, true);
  ring.submit();
  assert.deepEqual(reap(ring), [[1, -5, 0]]);
  ring.close();
});

Deno.test("NOP with nonzero ioprio, personality or unknown nop_flags fails -EINVAL", () => {
  const { ring } = setup();
  for (const [off, size] of [[2, 2], [42, 2], [28, 4]] as const) {
    const sqe = ring.getSqe()!;
    prepNop(sqe, { userData: BigInt(off) });
    if (size === 2) sqe.view.setUint16(sqe.offset + off, 1 << 10, true);
    else sqe.view.setUint32(sqe.offset + off, 1 << 10, true);
    assert.equal(ring.submit(), 1);
  }
  assert.deepEqual(reap(ring), [[2, -22, 0], [42, -22, 0], [28, -22, 0]]);
  ring.close();
});

Deno.test("NOP ignores buf_index, addr, len, off, splice_fd_in and addr3", () => {
  const { ring } = setup();
  const sqe = ring.getSqe()!;
  prepNop(sqe, { userData: 3n });
  for (const o of [8, 16, 24, 40, 44, 48]) sqe.view.setUint16(sqe.offset + o, 7, true);
  ring.submit();
  assert.deepEqual(reap(ring), [[3, 0, 0]]);
  ring.close();
});

Deno.test("an unknown opcode fails -EINVAL and stops submission after it", () => {
  const { ring } = setup();
  const bad = ring.getSqe()!;
  prepNop(bad, { userData: 1n });
  bad.view.setUint8(bad.offset, 200);
  prepNop(ring.getSqe()!, { userData: 2n });
  assert.equal(ring.submit(), 1);
  assert.equal(ring.sqReady(), 1);
  assert.deepEqual(reap(ring), [[1, -22, 0]]);
  assert.equal(ring.submit(), 1);
  assert.deepEqual(reap(ring), [[2, 0, 0]]);
  ring.close();
});

Deno.test("an invalid SQE flag bit fails -EINVAL", () => {
  const { ring } = setup();
  const sqe = ring.getSqe()!;
  prepNop(sqe, { userData: 1n });
  sqe.view.setUint8(sqe.offset + IoUringSqe.OFFSET_FLAGS, 0x80);
  ring.submit();
  assert.deepEqual(reap(ring), [[1, -22, 0]]);
  ring.close();
});

Deno.test("getSqe() returns null when the SQ is full and submit() frees it", () => {
  const { ring } = setup(4);
  for (let i = 0; i < 4; i++) assert.ok(ring.getSqe());
  assert.equal(ring.getSqe(), null);
  assert.equal(ring.sqSpaceLeft(), 0);
  assert.equal(ring.submit(), 4);
  assert.ok(ring.getSqe());
  ring.close();
});

Deno.test("an invalid SQ array index is dropped and stops submission", () => {
  const { ring } = setup(4);
  prepNop(ring.getSqe()!, { userData: 1n });
  prepNop(ring.getSqe()!, { userData: 2n });
  ring.sqArray[0] = 1000;
  assert.equal(ring.submit(), 0);
  const kr = ring.kernelRing;
  const dropped = new Uint32Array(kr.sqRing)[kr.sqOff.dropped >> 2];
  assert.equal(dropped, 1);
  assert.equal(ring.submit(), 1);
  assert.deepEqual(reap(ring), [[2, 0, 0]]);
  ring.close();
});

Deno.test("a NOP chain of 1000 links completes in order without deep recursion", () => {
  const { ring } = setup(1024);
  for (let i = 0; i < 1000; i++) {
    prepNop(ring.getSqe()!, { userData: BigInt(i), flags: i < 999 ? IOSQE_IO_LINK : 0 });
  }
  assert.equal(ring.submit(), 1000);
  const got = reap(ring);
  assert.equal(got.length, 1000);
  assert.ok(got.every(([ud, res], i) => ud === i && res === 0));
  ring.close();
});

Deno.test("close() is safe twice and a closed ring refuses submit", () => {
  const { ring } = setup();
  ring.close();
  ring.close();
  prepNop(ring.getSqe()!);
  assert.throws(() => ring.submit(), /EBADF/);
});
