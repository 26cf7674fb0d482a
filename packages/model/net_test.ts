import assert from "node:assert/strict";
import {
  IORING_CQE_F_MORE,
  IORING_CQE_F_NOTIF,
  IORING_CQE_F_SOCK_NONEMPTY,
  IOSQE_BUFFER_SELECT,
  IOSQE_CQE_SKIP_SUCCESS,
  IOSQE_IO_DRAIN,
} from "@ublk-ts/uapi";
import { O_RDWR } from "@ublk-ts/ring";
import { prepNop, prepRecv, prepSend, prepSendZc } from "@ublk-ts/ring";
import { MSG_DONTWAIT, MSG_WAITALL } from "./ops_net.ts";
import { reap, reapN, setup, tmpFile } from "./_test_util.ts";

Deno.test("prepSend()/prepRecv() move bytes over a model socketpair", async () => {
  const { kernel, ring } = setup();
  const [a, b] = kernel.socketpair();
  const buf = new Uint8Array(8);
  prepRecv(ring.getSqe()!, b, buf, { userData: 1n });
  ring.submit();
  assert.equal(ring.cqReady(), 0);
  prepSend(ring.getSqe()!, a, new Uint8Array([1, 2, 3]), { userData: 2n });
  ring.submit();
  assert.deepEqual(await reapN(ring, 2), [[2, 3, 0], [1, 3, 0]]);
  assert.deepEqual([...buf.subarray(0, 3)], [1, 2, 3]);
  ring.close();
});

Deno.test("RECV with MSG_WAITALL waits for the whole buffer; EOF ends it short", async () => {
  const { kernel, ring } = setup();
  const [a, b] = kernel.socketpair();
  const buf = new Uint8Array(4);
  prepRecv(ring.getSqe()!, b, buf, { msgFlags: MSG_WAITALL, userData: 1n });
  prepSend(ring.getSqe()!, a, new Uint8Array([1, 2]), { userData: 2n });
  prepSend(ring.getSqe()!, a, new Uint8Array([3, 4, 5]), { userData: 3n });
  ring.submit();
  assert.deepEqual((await reapN(ring, 3)).sort((x, y) => x[0] - y[0]), [
    [1, 4, IORING_CQE_F_SOCK_NONEMPTY],
    [2, 2, 0],
    [
      3,
      3,
      0,
    ],
  ]);
  assert.deepEqual([...buf], [1, 2, 3, 4]);
  prepRecv(ring.getSqe()!, b, buf, { msgFlags: MSG_WAITALL, userData: 4n });
  ring.submit();
  kernel.closeFd(a);
  assert.deepEqual(await reapN(ring, 1), [[4, 1, 0]]);
  prepRecv(ring.getSqe()!, b, buf, { userData: 5n });
  ring.submit();
  assert.deepEqual(await reapN(ring, 1), [[5, 0, 0]]);
  ring.close();
});

Deno.test("RECV with MSG_DONTWAIT on an empty socket fails -EAGAIN at once", () => {
  const { kernel, ring } = setup();
  const [a] = kernel.socketpair();
  prepRecv(ring.getSqe()!, a, new Uint8Array(4), { msgFlags: MSG_DONTWAIT, userData: 1n });
  ring.submit();
  assert.deepEqual(reap(ring), [[1, -11, 0]]);
  ring.close();
});

Deno.test("RECV/SEND with IOSQE_BUFFER_SELECT and no provided buffers fail -ENOBUFS/-ENOENT, NOP -EOPNOTSUPP", () => {
  const { kernel, ring } = setup();
  const [a] = kernel.socketpair();
  prepRecv(ring.getSqe()!, a, new Uint8Array(4), { flags: IOSQE_BUFFER_SELECT, userData: 1n });
  prepSend(ring.getSqe()!, a, new Uint8Array(4), { flags: IOSQE_BUFFER_SELECT, userData: 2n });
  prepNop(ring.getSqe()!, { flags: IOSQE_BUFFER_SELECT, userData: 3n });
  assert.equal(ring.submit(), 3);
  assert.deepEqual(reap(ring), [[1, -105, 0], [2, -2, 0], [3, -95, 0]]);
  ring.close();
});

Deno.test("SEND on a regular file fails -ENOTSOCK", () => {
  const path = tmpFile("x");
  const { kernel, ring } = setup();
  const fd = kernel.open(path, O_RDWR);
  prepSend(ring.getSqe()!, fd, new Uint8Array(1), { userData: 1n });
  ring.submit();
  assert.deepEqual(reap(ring), [[1, -88, 0]]);
  ring.close();
  Deno.removeSync(path);
});

Deno.test("SEND_ZC on AF_UNIX fails -EOPNOTSUPP with F_MORE and still notifies (as Linux)", async () => {
  const { kernel, ring } = setup();
  const [a] = kernel.socketpair();
  prepSendZc(ring.getSqe()!, a, new Uint8Array(3), { userData: 7n });
  ring.submit();
  assert.deepEqual(await reapN(ring, 2), [[7, -95, IORING_CQE_F_MORE], [7, 0, IORING_CQE_F_NOTIF]]);
  ring.close();
});

Deno.test("SEND_ZC with CQE_SKIP_SUCCESS fails -EINVAL at init and stops submission", () => {
  const { kernel, ring } = setup();
  const [a] = kernel.socketpair();
  prepSendZc(ring.getSqe()!, a, new Uint8Array(2), { userData: 1n, flags: IOSQE_CQE_SKIP_SUCCESS });
  prepNop(ring.getSqe()!, { userData: 2n });
  assert.equal(ring.submit(), 1);
  assert.deepEqual(reap(ring), [[1, -22, 0]]);
  ring.close();
});

Deno.test("a drain after SEND_ZC waits for its notification", async () => {
  const { kernel, ring } = setup();
  const [a] = kernel.socketpair();
  prepSendZc(ring.getSqe()!, a, new Uint8Array(3), { userData: 1n });
  prepNop(ring.getSqe()!, { userData: 2n, flags: IOSQE_IO_DRAIN });
  prepNop(ring.getSqe()!, { userData: 3n });
  assert.equal(ring.submit(), 3);
  assert.deepEqual(await reapN(ring, 4), [
    [1, -95, IORING_CQE_F_MORE],
    [1, 0, IORING_CQE_F_NOTIF],
    [2, 0, 0],
    [3, 0, 0],
  ]);
  ring.close();
});

Deno.test("a SEND_ZC deferred by a drain never runs (6.18: its notification counts as alive)", async () => {
  const { kernel, ring } = setup();
  const [a] = kernel.socketpair();
  prepNop(ring.getSqe()!, { userData: 1n, flags: IOSQE_IO_DRAIN });
  ring.submit();
  assert.deepEqual(await reapN(ring, 1), [[1, 0, 0]]);
  prepSendZc(ring.getSqe()!, a, new Uint8Array(3), { userData: 2n });
  assert.equal(ring.submit(), 1);
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(reap(ring), []);
  ring.close();
});

Deno.test("SEND_ZC over TCP posts a result CQE with F_MORE, then F_NOTIF", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const [client, server] = await Promise.all([
    Deno.connect({ hostname: "127.0.0.1", port }),
    listener.accept(),
  ]);
  listener.close();
  const { kernel, ring } = setup();
  const c = kernel.adoptConn(client);
  const s = kernel.adoptConn(server);
  const data = new Uint8Array(1000).map((_, i) => i & 0xff);
  const got = new Uint8Array(1000);
  prepRecv(ring.getSqe()!, s, got, { msgFlags: MSG_WAITALL, userData: 2n });
  prepSendZc(ring.getSqe()!, c, data, { userData: 1n });
  ring.submit();
  const cqes = await reapN(ring, 3);
  const zc = cqes.filter(([ud]) => ud === 1);
  assert.deepEqual(zc, [[1, 1000, IORING_CQE_F_MORE], [1, 0, IORING_CQE_F_NOTIF]]);
  assert.deepEqual(cqes.find(([ud]) => ud === 2), [2, 1000, 0]);
  assert.deepEqual(got, data);
  ring.close();
  kernel.closeFd(c);
  kernel.closeFd(s);
});
