import assert from "node:assert/strict";
import {
  IOSQE_ASYNC,
  IOSQE_CQE_SKIP_SUCCESS,
  IOSQE_IO_DRAIN,
  IOSQE_IO_HARDLINK,
  IOSQE_IO_LINK,
} from "@ublk-ts/uapi";
import { O_RDONLY } from "@ublk-ts/ring";
import { prepFsync, prepNop, prepRead, prepRecv, prepSend } from "@ublk-ts/ring";
import { reap, reapN, setup, tmpFile } from "./_test_util.ts";

Deno.test("a failed link member cancels the rest of the chain with -ECANCELED", () => {
  // Order checked on Linux 6.18: chain members run as task work, after inline requests.
  const { ring } = setup();
  prepNop(ring.getSqe()!, { userData: 1n, flags: IOSQE_IO_LINK });
  prepRead(ring.getSqe()!, 999, new Uint8Array(4), { userData: 2n, flags: IOSQE_IO_LINK });
  prepNop(ring.getSqe()!, { userData: 3n, flags: IOSQE_IO_LINK });
  prepNop(ring.getSqe()!, { userData: 4n });
  prepNop(ring.getSqe()!, { userData: 5n });
  assert.equal(ring.submit(), 5);
  assert.deepEqual(reap(ring), [[1, 0, 0], [5, 0, 0], [2, -9, 0], [3, -125, 0], [4, -125, 0]]);
  ring.close();
});

Deno.test("an init failure inside a link fails the head and the chain (kernel order)", () => {
  // Checked on Linux 6.18: head -ECANCELED, the next independent SQE, then the failed member
  // with its own errno and the rest -ECANCELED.
  const { ring } = setup();
  prepNop(ring.getSqe()!, { userData: 230n, flags: IOSQE_IO_LINK });
  const bad = ring.getSqe()!;
  prepNop(bad, { userData: 231n, flags: IOSQE_IO_LINK });
  bad.view.setUint8(bad.offset, 200);
  prepNop(ring.getSqe()!, { userData: 232n });
  prepNop(ring.getSqe()!, { userData: 233n });
  assert.equal(ring.submit(), 4);
  assert.deepEqual(reap(ring), [[230, -125, 0], [233, 0, 0], [231, -22, 0], [232, -125, 0]]);
  ring.close();
});

Deno.test("a short read breaks a link", () => {
  const path = tmpFile("hello world");
  const { kernel, ring } = setup();
  const fd = kernel.open(path, O_RDONLY);
  prepRead(ring.getSqe()!, fd, new Uint8Array(64), { userData: 1n, flags: IOSQE_IO_LINK });
  prepNop(ring.getSqe()!, { userData: 2n });
  ring.submit();
  assert.deepEqual(reap(ring), [[1, 11, 0], [2, -125, 0]]);
  ring.close();
  Deno.removeSync(path);
});

Deno.test("a hardlink keeps going after a failure", () => {
  const { ring } = setup();
  prepRead(ring.getSqe()!, 999, new Uint8Array(4), { userData: 1n, flags: IOSQE_IO_HARDLINK });
  prepNop(ring.getSqe()!, { userData: 2n, flags: IOSQE_IO_LINK });
  prepRead(ring.getSqe()!, 999, new Uint8Array(4), { userData: 3n, flags: IOSQE_IO_LINK });
  prepNop(ring.getSqe()!, { userData: 4n });
  ring.submit();
  assert.deepEqual(reap(ring), [[1, -9, 0], [2, 0, 0], [3, -9, 0], [4, -125, 0]]);
  ring.close();
});

Deno.test("linked requests wait for an async predecessor", async () => {
  const { kernel, ring } = setup();
  const [a, b] = kernel.socketpair();
  const buf = new Uint8Array(3);
  prepRecv(ring.getSqe()!, a, buf, { userData: 1n, flags: IOSQE_IO_LINK });
  prepNop(ring.getSqe()!, { userData: 2n });
  ring.submit();
  assert.deepEqual(reap(ring), []);
  prepSend(ring.getSqe()!, b, new Uint8Array([7, 8, 9]), { userData: 3n });
  ring.submit();
  assert.deepEqual(await reapN(ring, 3), [[3, 3, 0], [1, 3, 0], [2, 0, 0]]);
  ring.close();
});

Deno.test("CQE_SKIP_SUCCESS hides successful CQEs but not failures", () => {
  const { ring } = setup();
  prepNop(ring.getSqe()!, { userData: 1n, flags: IOSQE_CQE_SKIP_SUCCESS });
  prepRead(ring.getSqe()!, 999, new Uint8Array(1), { userData: 2n, flags: IOSQE_CQE_SKIP_SUCCESS });
  prepNop(ring.getSqe()!, { userData: 3n });
  ring.submit();
  assert.deepEqual(reap(ring), [[2, -9, 0], [3, 0, 0]]);
  ring.close();
});

Deno.test("a failed CQE_SKIP_SUCCESS link head hides the cancelled members' CQEs", () => {
  const { ring } = setup();
  prepRead(ring.getSqe()!, 999, new Uint8Array(4), {
    userData: 250n,
    flags: IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS,
  });
  prepNop(ring.getSqe()!, { userData: 251n });
  assert.equal(ring.submit(), 2);
  assert.deepEqual(reap(ring), [[250, -9, 0]]);
  ring.close();
});

Deno.test("IOSQE_IO_DRAIN fails -EOPNOTSUPP once the ring has seen CQE_SKIP_SUCCESS", () => {
  const { ring } = setup();
  prepNop(ring.getSqe()!, { userData: 1n, flags: IOSQE_IO_DRAIN });
  ring.submit();
  prepNop(ring.getSqe()!, { userData: 2n, flags: IOSQE_CQE_SKIP_SUCCESS });
  prepNop(ring.getSqe()!, { userData: 3n, flags: IOSQE_IO_DRAIN });
  assert.equal(ring.submit(), 2);
  assert.deepEqual(reap(ring), [[1, 0, 0], [3, -95, 0]]);
  ring.close();
});

Deno.test("a drained request waits for everything before it", async () => {
  const { kernel, ring } = setup();
  const [a, b] = kernel.socketpair();
  prepRecv(ring.getSqe()!, a, new Uint8Array(1), { userData: 1n });
  prepNop(ring.getSqe()!, { userData: 2n, flags: IOSQE_IO_DRAIN });
  prepNop(ring.getSqe()!, { userData: 3n });
  ring.submit();
  assert.deepEqual(reap(ring), []);
  // Not through the ring: a send SQE would itself wait behind the drain (as in Linux).
  kernel.fileOf(b)!.socket!.send(new Uint8Array([1]));
  const got = await reapN(ring, 3);
  const order = got.map(([ud]) => ud);
  assert.ok(order.indexOf(1) < order.indexOf(2), `drain ran before recv: ${order}`);
  assert.ok(order.indexOf(2) < order.indexOf(3), `later request passed the drain: ${order}`);
  ring.close();
});

Deno.test("a drain after inline requests of the same submit still orders everything after it", () => {
  // Checked on Linux 6.18 (NOPs): 1 2 3 4 5, then on the same ring 2 1 3 4 5 (drain stays
  // active, so the first request of the next submit is punted).
  const { ring } = setup();
  const run = (): number[] => {
    prepNop(ring.getSqe()!, { userData: 1n });
    prepNop(ring.getSqe()!, { userData: 2n });
    prepNop(ring.getSqe()!, { userData: 3n, flags: IOSQE_IO_DRAIN });
    prepNop(ring.getSqe()!, { userData: 4n });
    prepNop(ring.getSqe()!, { userData: 5n });
    ring.submit();
    return reap(ring).map(([ud]) => ud);
  };
  assert.deepEqual(run(), [1, 2, 3, 4, 5]);
  assert.deepEqual(run(), [2, 1, 3, 4, 5]);
  ring.close();
});

Deno.test("requests after a drain request wait until it completed, even with nothing in flight", () => {
  // Linux 6.18 (found by the differential suite): FSYNC(drain), NOP, NOP completes 1, 2, 3.
  const path = tmpFile("abc");
  const { kernel, ring } = setup();
  const fd = kernel.open(path, O_RDONLY);
  prepFsync(ring.getSqe()!, fd, { userData: 1n, flags: IOSQE_IO_DRAIN });
  prepNop(ring.getSqe()!, { userData: 2n });
  prepNop(ring.getSqe()!, { userData: 3n });
  ring.submit();
  assert.deepEqual(reap(ring).map(([ud]) => ud), [1, 2, 3]);
  ring.close();
  Deno.removeSync(path);
});

Deno.test("IOSQE_ASYNC requests complete after the inline ones of the same submit", () => {
  const { ring } = setup();
  prepNop(ring.getSqe()!, { userData: 1n, flags: IOSQE_ASYNC });
  prepNop(ring.getSqe()!, { userData: 2n });
  assert.equal(ring.submit(), 2);
  assert.deepEqual(reap(ring), [[2, 0, 0], [1, 0, 0]]);
  ring.close();
});

Deno.test("an unterminated link at the end of a submit runs as a chain", () => {
  const { ring } = setup();
  prepNop(ring.getSqe()!, { userData: 1n, flags: IOSQE_IO_LINK });
  prepNop(ring.getSqe()!, { userData: 2n, flags: IOSQE_IO_LINK });
  ring.submit();
  assert.deepEqual(reap(ring), [[1, 0, 0], [2, 0, 0]]);
  ring.close();
});
