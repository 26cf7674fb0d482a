import assert from "node:assert/strict";
import { IoDesc } from "@ublk-ts/ublk";
import {
  IORING_FSYNC_DATASYNC,
  IORING_OP_FALLOCATE,
  IORING_OP_FSYNC,
  IORING_OP_READ,
  IORING_OP_WRITE,
  IOSQE_FIXED_FILE,
  UBLK_IO_F_FUA,
  UBLK_IO_OP_DISCARD,
  UBLK_IO_OP_FLUSH,
  UBLK_IO_OP_READ,
  UBLK_IO_OP_WRITE,
  UBLK_IO_OP_WRITE_ZEROES,
} from "@ublk-ts/uapi";
import { checkBackingFile, LoopTarget } from "./loop.ts";
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, FALLOC_FL_ZERO_RANGE } from "./_sqe.ts";
import { FakeCtx, MemFile } from "./_fake_ctx_test.ts";

const opened: { path: string; flags: number }[] = [];
const closed: number[] = [];
const opener = {
  refuseDirect: false,
  open(path: string, flags: number): number {
    opened.push({ path, flags });
    if (this.refuseDirect && (flags & 0o40000)) return -22;
    return 42;
  },
  closeFd(fd: number): number {
    closed.push(fd);
    return 0;
  },
};

async function withFile(size: number, fn: (path: string) => Promise<void> | void): Promise<void> {
  const path = await Deno.makeTempFile({ prefix: "loop_test_" });
  try {
    await Deno.truncate(path, size);
    await fn(path);
  } finally {
    await Deno.remove(path);
  }
}

function iod(op: number, startSector: number, nrSectors: number, flags = 0): IoDesc {
  const d = new IoDesc();
  d.op = op;
  d.flags = flags;
  d.startSector = startSector;
  d.nrSectors = nrSectors;
  d.addr = 0x10000n;
  return d;
}

function setup(zeroCopy: boolean, size = 1 << 16): { ctx: FakeCtx; file: MemFile } {
  const ctx = new FakeCtx(1 << 16, zeroCopy);
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 7 + 3) & 0xff;
  const file = new MemFile(data);
  ctx.files.set(1, file);
  return { ctx, file };
}

Deno.test("`checkBackingFile()` rejects missing files, directories and odd sizes", async () => {
  assert.throws(() => checkBackingFile("/nonexistent/x.img"), /ENOENT/);
  const dir = await Deno.makeTempDir();
  try {
    assert.throws(() => checkBackingFile(dir), /EISDIR/);
  } finally {
    await Deno.remove(dir);
  }
  await withFile(1000, (p) => {
    assert.throws(() => checkBackingFile(p), /size 1000 is not a non-zero multiple of 512/);
  });
  await withFile(0, (p) => {
    assert.throws(() => checkBackingFile(p), RangeError);
  });
  await withFile(4096, (p) => {
    assert.equal(checkBackingFile(p), 4096);
    assert.throws(() => checkBackingFile(p, 8192 as number), RangeError);
  });
});

Deno.test("`new LoopTarget()` opens O_DIRECT by default and falls back when refused", async () => {
  await withFile(8192, (p) => {
    opened.length = 0;
    const t = new LoopTarget(opener, p);
    assert.equal(opened[0]!.flags, 2 | 0o40000);
    assert.equal(t.direct, true);
    assert.deepEqual(t.fixedFds, [42]);
    assert.equal(t.size, 8192);
    opener.refuseDirect = true;
    const b = new LoopTarget(opener, p);
    opener.refuseDirect = false;
    assert.equal(b.direct, false);
    assert.equal(opened.at(-1)!.flags, 2);
    const c = new LoopTarget(opener, p, { direct: false, readOnly: true });
    assert.equal(opened.at(-1)!.flags, 0);
    const params = c.init({
      devId: 0,
      nrHwQueues: 1,
      queueDepth: 1,
      maxIoBufBytes: 4096,
      flags: 0n,
      zeroCopy: false,
    });
    assert.equal(params.devSize, 8192);
    assert.equal(params.attrs! & 1, 1, "read-only attr");
    closed.length = 0;
    t.close();
    t.close();
    assert.deepEqual(closed, [42]);
  });
});

Deno.test("`new LoopTarget()` fails before opening when the file is bad", () => {
  opened.length = 0;
  assert.throws(() => new LoopTarget(opener, "/nonexistent/x.img"), /ENOENT/);
  assert.equal(opened.length, 0);
  const failing = { open: () => -13, closeFd: () => 0 };
  return withFile(4096, (p) => {
    assert.throws(() => new LoopTarget(failing, p, { direct: false }), /EACCES/);
  });
});

Deno.test("`LoopTarget.handleIo()` copy-mode READ reads the file into the server buffer", async () => {
  await withFile(1 << 16, async (p) => {
    const t = new LoopTarget(opener, p);
    const { ctx, file } = setup(false);
    const res = await t.handleIo(ctx, 0, iod(UBLK_IO_OP_READ, 8, 16));
    assert.equal(res, 8192);
    assert.deepEqual(ctx.buf.subarray(0, 8192), file.data.subarray(4096, 4096 + 8192));
    const sqe = ctx.seen[0]!;
    assert.equal(sqe.opcode, IORING_OP_READ);
    assert.equal(sqe.flags, IOSQE_FIXED_FILE);
    assert.equal(sqe.fd, 1);
    assert.equal(sqe.addr, 0x10000n);
    assert.equal(sqe.len, 8192);
    assert.equal(sqe.off, 4096n);
  });
});

Deno.test("`LoopTarget.handleIo()` copy-mode WRITE with FUA writes then fdatasyncs", async () => {
  await withFile(1 << 16, async (p) => {
    const t = new LoopTarget(opener, p);
    const { ctx, file } = setup(false);
    ctx.buf.fill(0xab, 0, 1024);
    const res = await t.handleIo(ctx, 0, iod(UBLK_IO_OP_WRITE, 2, 2, UBLK_IO_F_FUA));
    assert.equal(res, 1024);
    assert.ok(file.data.subarray(1024, 2048).every((b) => b === 0xab));
    assert.notEqual(file.data[2048], 0xab);
    assert.deepEqual(ctx.seen.map((s) => s.opcode), [IORING_OP_WRITE, IORING_OP_FSYNC]);
    assert.equal(ctx.seen[1]!.opFlags, IORING_FSYNC_DATASYNC);
    assert.equal(file.syncs, 1);
  });
});

Deno.test("`LoopTarget.handleIo()` zero copy issues one fused slave per I/O", async () => {
  await withFile(1 << 16, async (p) => {
    const t = new LoopTarget(opener, p);
    const { ctx, file } = setup(true);
    ctx.request = new Uint8Array(4096);
    assert.equal(await t.handleIo(ctx, 0, iod(UBLK_IO_OP_READ, 16, 8)), 4096);
    assert.deepEqual(ctx.request, file.data.subarray(8192, 8192 + 4096));
    ctx.request.fill(0x5a);
    assert.equal(await t.handleIo(ctx, 0, iod(UBLK_IO_OP_WRITE, 0, 8)), 4096);
    assert.ok(file.data.subarray(0, 4096).every((b) => b === 0x5a));
    assert.deepEqual(ctx.seen.map((s) => [s.opcode, s.fusedSlave, s.addr, s.len, s.off]), [
      [IORING_OP_READ, true, 0n, 4096, 8192n],
      [IORING_OP_WRITE, true, 0n, 4096, 0n],
    ]);
  });
});

Deno.test("`LoopTarget.handleIo()` passes a failed slave's errno through", async () => {
  await withFile(1 << 16, async (p) => {
    const t = new LoopTarget(opener, p);
    const { ctx } = setup(true);
    ctx.request = new Uint8Array(4096);
    ctx.force.set(IORING_OP_READ, [-5]);
    assert.equal(await t.handleIo(ctx, 0, iod(UBLK_IO_OP_READ, 0, 8)), -5);
    const c = setup(false).ctx;
    c.force.set(IORING_OP_FSYNC, [-28]);
    assert.equal(await t.handleIo(c, 0, iod(UBLK_IO_OP_WRITE, 0, 8, UBLK_IO_F_FUA)), -28);
  });
});

Deno.test("`LoopTarget.handleIo()` maps FLUSH, DISCARD and WRITE_ZEROES", async () => {
  await withFile(1 << 16, async (p) => {
    const t = new LoopTarget(opener, p);
    const { ctx, file } = setup(false);
    assert.equal(await t.handleIo(ctx, 0, iod(UBLK_IO_OP_FLUSH, 0, 0)), 0);
    assert.equal(await t.handleIo(ctx, 0, iod(UBLK_IO_OP_DISCARD, 8, 8)), 0);
    assert.ok(file.data.subarray(4096, 8192).every((b) => b === 0));
    // ZERO_RANGE refused once (tmpfs): falls back to PUNCH_HOLE and remembers.
    ctx.force.set(IORING_OP_FALLOCATE, [-95]);
    assert.equal(await t.handleIo(ctx, 0, iod(UBLK_IO_OP_WRITE_ZEROES, 32, 8)), 0);
    assert.ok(file.data.subarray(16384, 20480).every((b) => b === 0));
    assert.equal(await t.handleIo(ctx, 0, iod(UBLK_IO_OP_WRITE_ZEROES, 40, 8)), 0);
    const modes = ctx.seen.filter((s) => s.opcode === IORING_OP_FALLOCATE).map((s) => s.len);
    assert.deepEqual(modes, [
      FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
      FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
      FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
      FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
    ]);
    const discard = ctx.seen.find((s) => s.opcode === IORING_OP_FALLOCATE)!;
    assert.equal(discard.off, 4096n);
    assert.equal(discard.addr, 4096n);
    assert.equal(ctx.seen[0]!.opcode, IORING_OP_FSYNC);
    assert.equal(await t.handleIo(ctx, 0, iod(99, 0, 0)), -95);
  });
});
