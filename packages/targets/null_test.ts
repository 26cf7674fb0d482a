import assert from "node:assert/strict";
import { IoDesc } from "@ublk-ts/ublk";
import {
  UBLK_IO_OP_DISCARD,
  UBLK_IO_OP_FLUSH,
  UBLK_IO_OP_READ,
  UBLK_IO_OP_WRITE,
  UBLK_IO_OP_WRITE_ZEROES,
} from "@ublk-ts/uapi";
import { NULL_DEFAULT_SIZE, NullTarget } from "./null.ts";
import { FakeCtx } from "./_fake_ctx_test.ts";

function iod(op: number, nrSectors: number): IoDesc {
  const d = new IoDesc();
  d.op = op;
  d.nrSectors = nrSectors;
  return d;
}

Deno.test("`NullTarget.init()` reports its size", () => {
  const dev = new FakeCtx(4096, false).dev;
  assert.equal(new NullTarget().init(dev).devSize, NULL_DEFAULT_SIZE);
  assert.equal(new NullTarget({ size: 1 << 20 }).init(dev).devSize, 1 << 20);
});

Deno.test("`new NullTarget()` rejects sizes that are not multiples of 512", () => {
  assert.throws(() => new NullTarget({ size: 1000 }), RangeError);
  assert.throws(() => new NullTarget({ size: 0 }), RangeError);
});

Deno.test("`NullTarget.handleIo()` completes every op without I/O", () => {
  const t = new NullTarget();
  const ctx = new FakeCtx(65536, false);
  ctx.buf.fill(9);
  assert.equal(t.handleIo(ctx, 0, iod(UBLK_IO_OP_READ, 128)), 65536);
  assert.equal(ctx.buf[0], 9, "without zeroFill the buffer is untouched");
  assert.equal(t.handleIo(ctx, 0, iod(UBLK_IO_OP_WRITE, 8)), 4096);
  assert.equal(t.handleIo(ctx, 0, iod(UBLK_IO_OP_FLUSH, 0)), 0);
  assert.equal(t.handleIo(ctx, 0, iod(UBLK_IO_OP_DISCARD, 8)), 0);
  assert.equal(t.handleIo(ctx, 0, iod(UBLK_IO_OP_WRITE_ZEROES, 8)), 0);
  assert.equal(t.handleIo(ctx, 0, iod(13, 8)), -95);
  assert.equal(ctx.seen.length, 0);
});

Deno.test("`NullTarget.handleIo()` zero-fills copy-mode READs with zeroFill", () => {
  const t = new NullTarget({ zeroFill: true });
  const ctx = new FakeCtx(8192, false);
  ctx.buf.fill(9);
  assert.equal(t.handleIo(ctx, 0, iod(UBLK_IO_OP_READ, 8)), 4096);
  assert.ok(ctx.buf.subarray(0, 4096).every((b) => b === 0));
  assert.equal(ctx.buf[4096], 9, "only the request's bytes");
  const zc = new FakeCtx(8192, true);
  assert.equal(t.handleIo(zc, 0, iod(UBLK_IO_OP_READ, 8)), 4096);
});
