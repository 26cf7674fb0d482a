import assert from "node:assert/strict";
import {
  IORING_ASYNC_CANCEL_ALL,
  IORING_TIMEOUT_ETIME_SUCCESS,
  IOSQE_IO_LINK,
  IoUringSqe,
  KernelTimespec,
} from "@ublk-ts/uapi";
import {
  prepCancel,
  prepCancelFd,
  prepLinkTimeout,
  prepNop,
  prepRecv,
  prepTimeout,
  timespec,
} from "@ublk-ts/ring";
import { reap, reapN, setup } from "./_test_util.ts";

Deno.test("TIMEOUT expires with -ETIME", async () => {
  const { ring } = setup();
  const ts = timespec(5);
  prepTimeout(ring.getSqe()!, ts, { userData: 1n });
  ring.submit();
  assert.equal(ring.cqReady(), 0);
  assert.deepEqual(await reapN(ring, 1), [[1, -62, 0]]);
  ring.close();
});

Deno.test("a count TIMEOUT completes with 0 after that many CQEs, after them (kernel order)", () => {
  const { ring } = setup();
  const ts = timespec(10_000);
  prepTimeout(ring.getSqe()!, ts, { count: 2, userData: 320n });
  prepNop(ring.getSqe()!, { userData: 321n });
  prepNop(ring.getSqe()!, { userData: 322n });
  prepNop(ring.getSqe()!, { userData: 323n });
  assert.equal(ring.submit(), 4);
  assert.deepEqual(reap(ring), [[321, 0, 0], [322, 0, 0], [323, 0, 0], [320, 0, 0]]);
  ring.close();
});

Deno.test("TIMEOUT prep checks: len must be 1, negative times and both clocks fail -EINVAL", () => {
  const { ring } = setup();
  const sqe = ring.getSqe()!;
  prepTimeout(sqe, timespec(1), { userData: 1n });
  sqe.view.setUint32(sqe.offset + IoUringSqe.OFFSET_LEN, 2, true);
  ring.submit();
  const neg = new Uint8Array(16);
  new DataView(neg.buffer).setBigInt64(KernelTimespec.OFFSET_TV_SEC, -1n, true);
  prepTimeout(ring.getSqe()!, neg, { userData: 2n });
  ring.submit();
  prepTimeout(ring.getSqe()!, timespec(1), { userData: 3n, timeoutFlags: 4 | 8 });
  ring.submit();
  assert.deepEqual(reap(ring), [[1, -22, 0], [2, -22, 0], [3, -22, 0]]);
  ring.close();
});

Deno.test("a -ETIME timeout breaks a link unless IORING_TIMEOUT_ETIME_SUCCESS", async () => {
  const { ring } = setup();
  const ts = timespec(1);
  prepTimeout(ring.getSqe()!, ts, { userData: 1n, flags: IOSQE_IO_LINK });
  prepNop(ring.getSqe()!, { userData: 2n });
  prepTimeout(ring.getSqe()!, ts, {
    userData: 3n,
    flags: IOSQE_IO_LINK,
    timeoutFlags: IORING_TIMEOUT_ETIME_SUCCESS,
  });
  prepNop(ring.getSqe()!, { userData: 4n });
  ring.submit();
  const got = (await reapN(ring, 4)).sort((a, b) => a[0] - b[0]);
  assert.deepEqual(got, [[1, -62, 0], [2, -125, 0], [3, -62, 0], [4, 0, 0]]);
  ring.close();
});

Deno.test("LINK_TIMEOUT cancels a slow request: -ETIME, then -ECANCELED down the chain", async () => {
  const { kernel, ring } = setup();
  const [a] = kernel.socketpair();
  prepRecv(ring.getSqe()!, a, new Uint8Array(4), { userData: 340n, flags: IOSQE_IO_LINK });
  prepLinkTimeout(ring.getSqe()!, timespec(5), { userData: 341n, flags: IOSQE_IO_LINK });
  prepNop(ring.getSqe()!, { userData: 342n });
  assert.equal(ring.submit(), 3);
  assert.deepEqual(await reapN(ring, 3), [[341, -62, 0], [340, -125, 0], [342, -125, 0]]);
  ring.close();
});

Deno.test("LINK_TIMEOUT is cancelled when its request completes first", async () => {
  const { kernel, ring } = setup();
  const [a, b] = kernel.socketpair();
  kernel.fileOf(b)!.socket!.send(new Uint8Array([1, 2, 3]));
  prepRecv(ring.getSqe()!, a, new Uint8Array(16), { userData: 350n, flags: IOSQE_IO_LINK });
  prepLinkTimeout(ring.getSqe()!, timespec(5), { userData: 351n, flags: IOSQE_IO_LINK });
  prepNop(ring.getSqe()!, { userData: 352n });
  ring.submit();
  assert.deepEqual(await reapN(ring, 3), [[350, 3, 0], [351, -125, 0], [352, 0, 0]]);
  // A pending recv answered later also disarms its timer.
  prepRecv(ring.getSqe()!, a, new Uint8Array(16), { userData: 360n, flags: IOSQE_IO_LINK });
  prepLinkTimeout(ring.getSqe()!, timespec(10_000), { userData: 361n });
  ring.submit();
  kernel.fileOf(b)!.socket!.send(new Uint8Array([9]));
  assert.deepEqual(await reapN(ring, 2), [[360, 1, 0], [361, -125, 0]]);
  ring.close();
});

Deno.test("LINK_TIMEOUT without a preceding link fails -EINVAL", () => {
  const { ring } = setup();
  prepLinkTimeout(ring.getSqe()!, timespec(1), { userData: 1n });
  ring.submit();
  assert.deepEqual(reap(ring), [[1, -22, 0]]);
  ring.close();
});

Deno.test("ASYNC_CANCEL cancels by user_data (cancel CQE first), -ENOENT when nothing matches", async () => {
  const { kernel, ring } = setup();
  const [a, b] = kernel.socketpair();
  prepRecv(ring.getSqe()!, a, new Uint8Array(4), { userData: 330n });
  ring.submit();
  prepCancel(ring.getSqe()!, 330n, { userData: 331n });
  ring.submit();
  assert.deepEqual(await reapN(ring, 2), [[331, 0, 0], [330, -125, 0]]);
  prepCancel(ring.getSqe()!, 330n, { userData: 332n });
  ring.submit();
  assert.deepEqual(reap(ring), [[332, -2, 0]]);
  // The cancelled receive consumes nothing sent later.
  kernel.fileOf(b)!.socket!.send(new Uint8Array([5]));
  const buf = new Uint8Array(4);
  prepRecv(ring.getSqe()!, a, buf, { userData: 333n });
  ring.submit();
  assert.deepEqual(await reapN(ring, 1), [[333, 1, 0]]);
  ring.close();
});

Deno.test("ASYNC_CANCEL by fd with ALL cancels every match and returns the count", async () => {
  const { kernel, ring } = setup();
  const [a] = kernel.socketpair();
  prepRecv(ring.getSqe()!, a, new Uint8Array(4), { userData: 1n });
  prepRecv(ring.getSqe()!, a, new Uint8Array(4), { userData: 2n });
  prepTimeout(ring.getSqe()!, timespec(10_000), { userData: 3n });
  ring.submit();
  prepCancelFd(ring.getSqe()!, a, { cancelFlags: IORING_ASYNC_CANCEL_ALL, userData: 9n });
  ring.submit();
  assert.deepEqual(await reapN(ring, 3), [[9, 2, 0], [1, -125, 0], [2, -125, 0]]);
  prepCancel(ring.getSqe()!, 3n, { userData: 10n });
  ring.submit();
  assert.deepEqual(await reapN(ring, 2), [[10, 0, 0], [3, -125, 0]]);
  ring.close();
});

Deno.test("ring exit cancels pending timers and socket requests", async () => {
  const { kernel, ring } = setup();
  const [a] = kernel.socketpair();
  prepRecv(ring.getSqe()!, a, new Uint8Array(4), { userData: 1n });
  prepTimeout(ring.getSqe()!, timespec(60_000), { userData: 2n });
  ring.submit();
  const kr = ring.kernelRing as unknown as { inflightCount: number };
  assert.equal(kr.inflightCount, 2);
  ring.close();
  assert.equal(kr.inflightCount, 0);
  await new Promise((r) => setTimeout(r, 1));
});
