import assert from "node:assert/strict";
import { ModelKernel } from "@ublk-ts/model";
import { installUblk } from "@ublk-ts/ublk-drv";
import { RamDiskTarget } from "@ublk-ts/testing";
import { IORING_OP_NOP, UBLK_IO_OP_READ } from "@ublk-ts/uapi";
import { prepNop, prepRwAt, Ring } from "@ublk-ts/ring";
import { createDevice, type IoDesc, type TargetIoCtx } from "./mod.ts";

/** Resolves `p`, or rejects after `ms` (a hang becomes a failure with a message). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no completion in ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

Deno.test("`Ring.submit()` keeps the SQEs the kernel did not consume (an invalid SQE stops a submit)", () => {
  using ring = Ring.create(new ModelKernel(), 8);
  // user_data 1: an opcode no kernel has; the kernel consumes it, fails it and stops there.
  prepRwAt(ring.sqes, ring.getSqeOffset(), 250, -1, 0, 0, 0);
  ring.sqes.setBigUint64(32, 1n, true);
  prepNop(ring.getSqe()!, { userData: 2n });
  prepNop(ring.getSqe()!, { userData: 3n });
  assert.equal(ring.submit(), 1);
  assert.equal(ring.sqReady(), 2, "the two NOPs stay queued");
  prepNop(ring.getSqe()!, { userData: 4n });
  assert.equal(ring.submit(), 3);
  const seen: bigint[] = [];
  for (let c = ring.peekCqe(); c !== null; c = ring.peekCqe()) {
    seen.push(c.userData);
    ring.cqeSeen();
  }
  assert.deepEqual(seen, [1n, 2n, 3n, 4n]);
});

/**
 * A RAM disk whose every READ first issues one target SQE the kernel refuses at submission
 * (unknown opcode): the kernel stops consuming there, so the FETCH/COMMIT commands and target
 * SQEs queued behind it in the same batch must go with the next submit.
 */
class StallingRam extends RamDiskTarget {
  override async handleIo(ctx: TargetIoCtx, tag: number, iod: IoDesc): Promise<number> {
    if (iod.op === UBLK_IO_OP_READ) {
      const r = await ctx.submit((v, o) => prepRwAt(v, o, 250, -1, 0, 0, 0));
      assert.equal(r, -22);
      const nop = await ctx.submit((v, o) => prepRwAt(v, o, IORING_OP_NOP, -1, 0, 0, 0));
      assert.equal(nop, 0);
    }
    return super.handleIo(ctx, tag, iod);
  }
}

Deno.test("`UblkQueue` loses no io command or target SQE when the kernel stops a submit early", async () => {
  const kernel = new ModelKernel();
  installUblk(kernel);
  const target = new StallingRam(1 << 20);
  await using dev = await createDevice(kernel, target, { depth: 8 });
  const bdev = dev.bdev;
  const data = new Uint8Array(64 * 1024);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + 3) & 0xff;
  assert.equal(await bdev.write(0, data), data.length);
  for (let round = 0; round < 4; round++) {
    const bufs = Array.from({ length: 16 }, () => new Uint8Array(4096));
    const rs = await within(
      Promise.all(bufs.map((b, i) => bdev.read(i * 4096, b))),
      5000,
      `round ${round}`,
    );
    assert.deepEqual(rs, bufs.map(() => 4096));
    bufs.forEach((b, i) => assert.deepEqual(b, data.subarray(i * 4096, (i + 1) * 4096)));
  }
});

/** A RAM disk that issues `extra` NOPs per request at once: more SQEs than the SQ has slots. */
class FloodingRam extends RamDiskTarget {
  constructor(size: number, readonly extra: number) {
    super(size);
  }
  override async handleIo(ctx: TargetIoCtx, tag: number, iod: IoDesc): Promise<number> {
    const ps: Promise<number>[] = [];
    for (let i = 0; i < this.extra; i++) {
      ps.push(ctx.submit((v, o) => prepRwAt(v, o, IORING_OP_NOP, -1, 0, 0, 0)));
    }
    const rs = await Promise.all(ps);
    if (rs.some((r) => r !== 0)) return -5;
    return super.handleIo(ctx, tag, iod);
  }
}

Deno.test("`UblkQueue` flushes a full SQ instead of dropping a FETCH/COMMIT or a target SQE", async () => {
  const kernel = new ModelKernel();
  installUblk(kernel);
  // depth 4 → an SQ of 8 entries; 4 requests × 5 NOPs + 4 commits = 24 SQEs in one burst.
  await using dev = await createDevice(kernel, new FloodingRam(1 << 20, 5), { depth: 4 });
  const bufs = Array.from({ length: 12 }, () => new Uint8Array(4096));
  const rs = await within(
    Promise.all(bufs.map((b, i) => dev.bdev.read(i * 4096, b))),
    5000,
    "reads",
  );
  assert.deepEqual(rs, bufs.map(() => 4096));
  assert.equal(dev.queues[0]!.errors, 0);
});
