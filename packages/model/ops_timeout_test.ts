// Long timeouts (issue 15 item 5): setTimeout clamps delays above 2^31-1 ms to 1 ms, so a
// TIMEOUT or LINK_TIMEOUT longer than ~24.9 days must chain timers instead of firing at once.
import assert from "node:assert/strict";
import { IOSQE_IO_LINK, KernelTimespec } from "@ublk-ts/uapi";
import { prepCancel, prepLinkTimeout, prepRecv, prepTimeout, timespec } from "@ublk-ts/ring";
import { reap, reapN, setup } from "./_test_util.ts";
import { MAX_TIMER_MS } from "./ops_timeout.ts";

const DAY_S = 86_400n;

/** A __kernel_timespec of `sec` seconds. */
function seconds(sec: bigint): Uint8Array {
  const b = new Uint8Array(KernelTimespec.SIZE);
  new DataView(b.buffer).setBigInt64(KernelTimespec.OFFSET_TV_SEC, sec, true);
  return b;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

Deno.test("TIMEOUT of 1 s expires with -ETIME, not before 1 s", async () => {
  const { ring } = setup();
  const t0 = performance.now();
  prepTimeout(ring.getSqe()!, seconds(1n), { userData: 1n });
  ring.submit();
  await sleep(100);
  assert.equal(ring.cqReady(), 0);
  assert.deepEqual(await reapN(ring, 1), [[1, -62, 0]]);
  // A lower bound only (a correctness check: it did not fire early); timers never fire early.
  assert.ok(performance.now() - t0 >= 990, "the 1 s timeout fired early");
  ring.close();
});

for (
  const [name, sec] of [
    ["25 days", 25n * DAY_S],
    ["1 year", 365n * DAY_S],
    ["2^62 s", 1n << 62n],
  ] as const
) {
  Deno.test(`TIMEOUT of ${name} stays pending and is cancelled with -ECANCELED`, async () => {
    const { ring } = setup();
    prepTimeout(ring.getSqe()!, seconds(sec), { userData: 7n });
    ring.submit();
    await sleep(50);
    assert.deepEqual(reap(ring), [], `a ${name} timeout completed early`);
    prepCancel(ring.getSqe()!, 7n, { userData: 8n });
    ring.submit();
    assert.deepEqual(await reapN(ring, 2), [[8, 0, 0], [7, -125, 0]]);
    ring.close();
  });

  Deno.test(`LINK_TIMEOUT of ${name} does not cancel the request it guards`, async () => {
    const { kernel, ring } = setup();
    const [a, b] = kernel.socketpair();
    prepRecv(ring.getSqe()!, a, new Uint8Array(4), { userData: 1n, flags: IOSQE_IO_LINK });
    prepLinkTimeout(ring.getSqe()!, seconds(sec), { userData: 2n });
    ring.submit();
    await sleep(50);
    assert.deepEqual(reap(ring), [], `a ${name} link timeout fired early`);
    kernel.fileOf(b)!.socket!.send(new Uint8Array([1, 2]));
    assert.deepEqual(await reapN(ring, 2), [[1, 2, 0], [2, -125, 0]]);
    ring.close();
  });
}

Deno.test("a TIMEOUT longer than 2^31-1 ms chains timers and expires at its deadline", async () => {
  // Drive the clock by hand: performance.now() is advanced each time a chained link fires.
  const realSetTimeout = globalThis.setTimeout;
  const realNow = performance.now.bind(performance);
  let offset = 0;
  const delays: number[] = [];
  const pending: (() => void)[] = [];
  performance.now = () => realNow() + offset;
  globalThis.setTimeout = ((fn: () => void, ms?: number) => {
    delays.push(ms ?? 0);
    pending.push(fn);
    return realSetTimeout(() => {}, 0);
  }) as typeof setTimeout;
  try {
    const { ring } = setup();
    prepTimeout(ring.getSqe()!, timespec(3 * MAX_TIMER_MS + 5), { userData: 3n });
    ring.submit();
    for (let i = 0; i < 3; i++) {
      assert.equal(ring.cqReady(), 0);
      assert.equal(delays.at(-1), MAX_TIMER_MS);
      offset += MAX_TIMER_MS;
      pending.shift()!();
    }
    assert.equal(ring.cqReady(), 0);
    assert.ok(delays.at(-1)! <= 5 && delays.at(-1)! >= 0);
    offset += 5;
    pending.shift()!();
    assert.deepEqual(reap(ring), [[3, -62, 0]]);
    ring.close();
  } finally {
    globalThis.setTimeout = realSetTimeout;
    performance.now = realNow;
  }
  await sleep(1);
});
