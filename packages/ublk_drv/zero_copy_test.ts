import assert from "node:assert/strict";
import { installFusedCmd } from "@ublk-ts/fused-cmd";
import { ModelKernel } from "@ublk-ts/model";
import {
  FusedSqe,
  IORING_OP_FUSED_CMD,
  IORING_OP_READ,
  IORING_OP_RECV,
  IORING_OP_WRITE,
  IOSQE_FIXED_FILE,
  IoUringSqe,
  UBLK_ATTR_VOLATILE_CACHE,
  UBLK_IO_FETCH_REQ,
  UblksrvIoCmd,
} from "@ublk-ts/uapi";
import { createDevice } from "@ublk-ts/ublk";
import { installUblk } from "./driver.ts";
import type { IoDesc, Target, TargetDevInfo, TargetIoCtx, TargetParams } from "@ublk-ts/ublk";
import { FusedFileTarget, RamDiskTarget } from "@ublk-ts/testing";

function kernel(): ModelKernel {
  const k = new ModelKernel();
  installFusedCmd(k);
  installUblk(k, { nrCpuIds: 4 });
  return k;
}

function rand(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

async function backing(size: number): Promise<string> {
  const path = await Deno.makeTempFile({ prefix: "ublk-zc-" });
  await Deno.truncate(path, size);
  return path;
}

for (const parts of [1, 4]) {
  Deno.test(`zero copy: fused READ/WRITE slaves move the data (${parts} pair(s) per request)`, async () => {
    const size = 1 << 20;
    const path = await backing(size);
    const k = kernel();
    const fd = k.open(path, 2);
    assert.ok(fd >= 0);
    const target = new FusedFileTarget(fd, size, parts);
    await using dev = await createDevice(k, target, {
      queues: 2,
      depth: 16,
      zeroCopy: true,
      maxIoBufBytes: 65536,
    });
    assert.equal(dev.queues[0]!.errors, 0);
    const shadow = new Uint8Array(size);
    const ps: Promise<void>[] = [];
    for (let i = 0; i < 32; i++) {
      const off = i * 32768;
      const len = 4096 * (1 + (i % 8));
      const data = rand(len, i + 1);
      shadow.set(data, off);
      ps.push(dev.bdev.write(off, data).then((r) => assert.equal(r, len)));
    }
    await Promise.all(ps);
    assert.deepEqual(await Deno.readFile(path), shadow);
    const back = new Uint8Array(size);
    assert.equal(await dev.bdev.read(0, back), size); // split in 16 requests of 64 KiB
    assert.deepEqual(back, shadow);
    k.closeFd(fd);
    await Deno.remove(path);
  });
}

/** A zero-copy target whose `serve` decides per request. */
class ScriptTarget implements Target {
  readonly name = "script";
  readonly fixedFds: readonly number[];
  readonly results: number[] = [];
  serve: (ctx: TargetIoCtx, iod: IoDesc) => Promise<number>;
  constructor(fds: number[], serve: (ctx: TargetIoCtx, iod: IoDesc) => Promise<number>) {
    this.fixedFds = fds;
    this.serve = serve;
  }
  init(_dev: TargetDevInfo): TargetParams {
    return { devSize: 1 << 20, attrs: UBLK_ATTR_VOLATILE_CACHE };
  }
  async handleIo(ctx: TargetIoCtx, _tag: number, iod: IoDesc): Promise<number> {
    const r = await this.serve(ctx, iod);
    this.results.push(r);
    return r;
  }
}

Deno.test("zero copy: the driver checks the direction and requests without data", async () => {
  const path = await backing(1 << 20);
  const k = kernel();
  const fd = k.open(path, 2);
  let opcode = IORING_OP_WRITE;
  const target = new ScriptTarget([fd], async (ctx, iod) => {
    const r = await ctx.fused({ opcode, fd: 1, len: Math.max(iod.bytes, 512) });
    return r < 0 ? r : iod.bytes;
  });
  await using dev = await createDevice(k, target, { depth: 4, zeroCopy: true });
  // READ request + slave that reads the buffer (WRITE): refused
  assert.equal(await dev.bdev.read(0, new Uint8Array(4096)), -5);
  assert.equal(target.results.pop(), -22);
  // WRITE request + slave that writes the buffer (READ): refused
  opcode = IORING_OP_READ;
  assert.equal(await dev.bdev.write(0, new Uint8Array(4096)), -5);
  assert.equal(target.results.pop(), -22);
  // FLUSH has no data: refused whatever the slave
  assert.equal(await dev.bdev.flush(), -5);
  assert.equal(target.results.pop(), -22);
  // The right pairs work.
  assert.equal(await dev.bdev.read(0, new Uint8Array(4096)), 4096);
  opcode = IORING_OP_WRITE;
  assert.equal(await dev.bdev.write(0, rand(4096, 3)), 4096);
  assert.deepEqual((await Deno.readFile(path)).subarray(0, 4096), rand(4096, 3));
  k.closeFd(fd);
  await Deno.remove(path);
});

Deno.test("zero copy: a slave range outside the request buffer fails -EFAULT", async () => {
  const path = await backing(1 << 20);
  const k = kernel();
  const fd = k.open(path, 2);
  const target = new ScriptTarget(
    [fd],
    (ctx, iod) => ctx.fused({ opcode: IORING_OP_READ, fd: 1, bufOff: 512, len: iod.bytes }),
  );
  await using dev = await createDevice(k, target, { depth: 4, zeroCopy: true });
  assert.equal(await dev.bdev.read(0, new Uint8Array(4096)), -5);
  assert.equal(target.results.pop(), -14);
  k.closeFd(fd);
  await Deno.remove(path);
});

Deno.test("zero copy: fused commands on a copy-mode device fail -EINVAL", async () => {
  const path = await backing(1 << 20);
  const k = kernel();
  const fd = k.open(path, 2);
  const target = new ScriptTarget(
    [fd],
    (ctx, iod) => ctx.fused({ opcode: IORING_OP_READ, fd: 1, len: iod.bytes }),
  );
  await using dev = await createDevice(k, target, { depth: 4 });
  assert.equal(await dev.bdev.read(0, new Uint8Array(4096)), -5);
  assert.equal(target.results.pop(), -22);
  k.closeFd(fd);
  await Deno.remove(path);
});

Deno.test("zero copy: a fused command with another cmd_op fails -EOPNOTSUPP", async () => {
  const k = kernel();
  const target = new ScriptTarget([], (ctx, iod) =>
    ctx.submit((v, off) => {
      const cmd = off + IoUringSqe.OFFSET_CMD; // struct ublksrv_io_cmd
      const slave = off + FusedSqe.SLAVE_OFFSET;
      v.setUint8(off + IoUringSqe.OFFSET_OPCODE, IORING_OP_FUSED_CMD);
      v.setUint8(off + IoUringSqe.OFFSET_FLAGS, IOSQE_FIXED_FILE);
      v.setUint32(off + IoUringSqe.OFFSET_CMD_OP, UBLK_IO_FETCH_REQ, true);
      v.setUint16(cmd + UblksrvIoCmd.OFFSET_Q_ID, ctx.qid, true);
      v.setUint16(cmd + UblksrvIoCmd.OFFSET_TAG, ctx.tag, true);
      v.setUint8(slave + IoUringSqe.OFFSET_OPCODE, IORING_OP_READ);
      v.setInt32(slave + IoUringSqe.OFFSET_FD, 0, true);
      v.setUint32(slave + IoUringSqe.OFFSET_LEN, iod.bytes, true);
    }));
  await using dev = await createDevice(k, target, { depth: 2, zeroCopy: true });
  assert.equal(await dev.bdev.read(0, new Uint8Array(4096)), -95); // BLK_STS_NOTSUPP
  assert.equal(target.results.pop(), -95);
});

Deno.test("zero copy: a request completes only when committed and its last lease is back", async () => {
  const k = kernel();
  const [a, b] = k.socketpair();
  let slave: Promise<number> | null = null;
  const target = new ScriptTarget([a], (ctx, iod) => {
    // Start a RECV into the request pages and commit at once, before the data arrives.
    slave = ctx.fused({ opcode: IORING_OP_RECV, fd: 1, len: iod.bytes, opFlags: 0x100 });
    return Promise.resolve(iod.bytes);
  });
  await using dev = await createDevice(k, target, { depth: 2, zeroCopy: true });
  const buf = new Uint8Array(4096);
  let done = false;
  const p = dev.bdev.read(0, buf).then((r) => {
    done = true;
    return r;
  });
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(target.results.length, 1); // committed
  assert.equal(done, false); // but the lease is still out
  const data = rand(4096, 77);
  assert.equal(k.fileOf(b)!.socket!.send(data), 4096);
  assert.equal(await p, 4096);
  assert.equal(await slave!, 4096);
  assert.deepEqual(buf, data); // straight into the caller's memory
  k.closeFd(a);
  k.closeFd(b);
});

Deno.test("copy-mode targets still run on a kernel with fused commands installed", async () => {
  // copy-mode targets still work on a ZC-capable kernel
  const k = kernel();
  await using dev = await createDevice(k, new RamDiskTarget(1 << 20), { depth: 2 });
  assert.equal(await dev.bdev.write(0, rand(512, 1)), 512);
});

Deno.test("zero copy: killing the server with a fused slave in flight ends the request -EIO", async () => {
  const k = kernel();
  const [a, b] = k.socketpair();
  const target = new ScriptTarget(
    [a],
    (ctx, iod) => ctx.fused({ opcode: IORING_OP_RECV, fd: 1, len: iod.bytes, opFlags: 0x100 }),
  );
  const dev = await createDevice(k, target, { depth: 2, zeroCopy: true });
  const p = dev.bdev.read(0, new Uint8Array(4096));
  await new Promise((r) => setTimeout(r, 5));
  dev.kill();
  assert.equal(await p, -5);
  assert.equal(dev.bdev.inflight, 0);
  await dev.stop();
  k.closeFd(a);
  k.closeFd(b);
});
