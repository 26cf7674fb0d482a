// The data race behind the flaky "recovery … nbd zero copy" cell (issue 15 item 6). A zero-copy
// NBD server's fused SEND/RECV run on a model socket over a Deno.Conn; when the server dies its
// rings are closed and those requests are cancelled (-ECANCELED), the lease on the request pages
// ends, and REISSUE hands the pages back to the block layer. A Deno read or write cannot be
// withdrawn: before the fix it went on running, receiving bytes into pages that already held
// the next I/O's data, or sending pages refilled with another write's data. A cancelled
// operation must never touch its buffer again.
import assert from "node:assert/strict";
import { ModelKernel } from "@ublk-ts/model";
import { prepCancel, prepRecv, prepSend, Ring } from "@ublk-ts/ring";
import { tempDir } from "./_util.ts";

async function unixPair(): Promise<{ client: Deno.Conn; server: Deno.Conn; close(): void }> {
  const dir = await tempDir();
  const path = `${dir}/s.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  const [client, server] = await Promise.all([
    Deno.connect({ transport: "unix", path }),
    listener.accept(),
  ]);
  listener.close();
  return {
    client,
    server,
    close(): void {
      for (const c of [client, server]) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      Deno.removeSync(dir, { recursive: true });
    },
  };
}

async function reap(ring: Ring, n: number): Promise<[number, number][]> {
  await ring.waitCqes(n);
  const out: [number, number][] = [];
  let c;
  while ((c = ring.copyCqe()) !== null) out.push([Number(c.userData), c.res]);
  return out.sort((a, b) => a[0] - b[0]);
}

Deno.test("a cancelled RECV on a Deno.Conn socket writes nothing into its buffer afterwards", async () => {
  const pair = await unixPair();
  const kernel = new ModelKernel();
  const ring = Ring.create(kernel, 8);
  try {
    const fd = kernel.adoptConn(pair.client);
    const buf = new Uint8Array(4096);
    prepRecv(ring.getSqe()!, fd, buf, { userData: 1n });
    ring.submit();
    await new Promise((r) => setTimeout(r, 10));
    prepCancel(ring.getSqe()!, 1n, { userData: 2n });
    ring.submit();
    assert.deepEqual(await reap(ring, 2), [[1, -125], [2, 0]]);
    // The peer sends after the cancel: the pages are the owner's again.
    try {
      await pair.server.write(new Uint8Array(4096).fill(0xaa));
    } catch { /* the connection may be shut */ }
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(buf.indexOf(0xaa), -1, "bytes landed in a cancelled RECV's buffer");
  } finally {
    ring.close();
    kernel.close();
    pair.close();
  }
});

Deno.test("a cancelled SEND on a Deno.Conn socket sends none of its buffer's later contents", async () => {
  const pair = await unixPair();
  const kernel = new ModelKernel();
  const ring = Ring.create(kernel, 8);
  try {
    const fd = kernel.adoptConn(pair.client);
    // Far more than a unix socket buffers: the send stays in flight while the peer is idle.
    const buf = new Uint8Array(8 << 20).fill(0x11);
    prepSend(ring.getSqe()!, fd, buf, { userData: 1n });
    ring.submit();
    await new Promise((r) => setTimeout(r, 20));
    prepCancel(ring.getSqe()!, 1n, { userData: 2n });
    ring.submit();
    assert.deepEqual(await reap(ring, 2), [[1, -125], [2, 0]]);
    // The owner reuses the pages for other data; then the peer reads what arrives.
    buf.fill(0xbb);
    const got = new Uint8Array(64 << 10);
    let total = 0;
    let stale = 0;
    const deadline = Date.now() + 2000;
    while (Date.now() < deadline) {
      const t = new Promise<null>((r) => setTimeout(() => r(null), 100));
      const n = await Promise.race([pair.server.read(got), t]);
      if (n === null) break;
      total += n;
      for (let i = 0; i < n; i++) if (got[i] === 0xbb) stale++;
    }
    assert.ok(total < buf.length, "the cancelled send completed in full");
    assert.equal(stale, 0, `${stale} bytes written into the buffer after the cancel were sent`);
  } finally {
    ring.close();
    kernel.close();
    pair.close();
  }
});
