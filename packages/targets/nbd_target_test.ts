import assert from "node:assert/strict";
import { IoDesc } from "@ublk-ts/ublk";
import {
  UBLK_ATTR_FUA,
  UBLK_ATTR_READ_ONLY,
  UBLK_ATTR_VOLATILE_CACHE,
  UBLK_IO_F_FUA,
  UBLK_IO_F_NOUNMAP,
  UBLK_IO_OP_DISCARD,
  UBLK_IO_OP_FLUSH,
  UBLK_IO_OP_READ,
  UBLK_IO_OP_WRITE,
  UBLK_IO_OP_WRITE_ZEROES,
} from "@ublk-ts/uapi";
import { NbdTarget, type NbdTargetClient } from "./nbd_target.ts";
import type { NbdExportInfo } from "@ublk-ts/nbd";
import type { NbdWriteZeroesOptions } from "@ublk-ts/nbd";
import { FakeCtx } from "./_fake_ctx_test.ts";

class FakeClient implements NbdTargetClient {
  calls: unknown[][] = [];
  mem = new Uint8Array(1 << 20);
  info: NbdExportInfo = {
    size: BigInt(1 << 20),
    transmissionFlags: 1 | 4 | 8 | 32 | 64,
    minBlock: 1,
    preferredBlock: 4096,
    maxPayload: 1 << 25,
    structuredReplies: true,
    usedGo: true,
  };
  get size(): number {
    return Number(this.info.size);
  }
  alive = true;
  read(offset: number, buf: Uint8Array, tag?: number): Promise<number> {
    this.calls.push(["read", offset, buf.length, tag]);
    buf.set(this.mem.subarray(offset, offset + buf.length));
    return Promise.resolve(buf.length);
  }
  write(offset: number, data: Uint8Array, o?: NbdWriteZeroesOptions): Promise<number> {
    this.calls.push(["write", offset, data.length, o?.tag, o?.fua]);
    this.mem.set(data, offset);
    return Promise.resolve(data.length);
  }
  flush(o?: NbdWriteZeroesOptions): Promise<number> {
    this.calls.push(["flush", o?.tag]);
    return Promise.resolve(0);
  }
  trim(offset: number, length: number): Promise<number> {
    this.calls.push(["trim", offset, length]);
    return Promise.resolve(0);
  }
  writeZeroes(offset: number, length: number, o?: NbdWriteZeroesOptions): Promise<number> {
    this.calls.push(["zeroes", offset, length, o?.noHole, o?.fua]);
    return Promise.resolve(0);
  }
  disconnects = 0;
  disconnect(): Promise<void> {
    this.disconnects++;
    return Promise.resolve();
  }
}

const devInfo = (zeroCopy: boolean) => ({
  devId: 0,
  nrHwQueues: 2,
  queueDepth: 4,
  maxIoBufBytes: 1 << 16,
  flags: 0n,
  zeroCopy,
});

function iod(op: number, start: number, n: number, flags = 0): IoDesc {
  const d = new IoDesc();
  d.op = op;
  d.startSector = start;
  d.nrSectors = n;
  d.flags = flags;
  return d;
}

Deno.test("`NbdTarget.init()` maps the export's flags to ublk params", () => {
  const c = new FakeClient();
  const p = new NbdTarget(c).init(devInfo(false));
  assert.equal(p.devSize, 1 << 20);
  assert.equal(p.logicalBsShift, 9);
  assert.equal(p.attrs, UBLK_ATTR_VOLATILE_CACHE | UBLK_ATTR_FUA);
  assert.ok(p.discard!.maxDiscardSectors! > 0);
  assert.ok(p.discard!.maxWriteZeroesSectors! > 0);
  c.info = { ...c.info, transmissionFlags: 1 | 2, minBlock: 4096 };
  const q = new NbdTarget(c).init(devInfo(false));
  assert.equal(q.attrs, UBLK_ATTR_READ_ONLY);
  assert.equal(q.logicalBsShift, 12);
  assert.equal(q.discard, undefined);
});

Deno.test("`NbdTarget.init()` refuses a zero-copy device on a copy-mode connection", () => {
  assert.throws(() => new NbdTarget(new FakeClient()).init(devInfo(true)), /EINVAL/);
  assert.throws(() => new NbdTarget(null), TypeError);
});

Deno.test("`NbdTarget.handleIo()` moves data through the server buffer with tag cookies", async () => {
  const c = new FakeClient();
  const t = new NbdTarget(c);
  t.init(devInfo(false));
  const ctx = new FakeCtx(1 << 16, false);
  Object.assign(ctx, { qid: 1, tag: 3 });
  ctx.buf.fill(0x77, 0, 4096);
  assert.equal(await t.handleIo(ctx, 3, iod(UBLK_IO_OP_WRITE, 8, 8, UBLK_IO_F_FUA)), 4096);
  assert.ok(c.mem.subarray(4096, 8192).every((b) => b === 0x77));
  ctx.buf.fill(0);
  assert.equal(await t.handleIo(ctx, 3, iod(UBLK_IO_OP_READ, 8, 4)), 2048);
  assert.ok(ctx.buf.subarray(0, 2048).every((b) => b === 0x77));
  assert.equal(ctx.buf[2048], 0, "only the request's bytes were read");
  assert.deepEqual(c.calls, [
    ["write", 4096, 4096, 65536 + 3, true],
    ["read", 4096, 2048, 65536 + 3],
  ]);
});

Deno.test("`NbdTarget.handleIo()` maps FLUSH, DISCARD, WRITE_ZEROES and refuses the rest", async () => {
  const c = new FakeClient();
  const t = new NbdTarget(c);
  t.init(devInfo(false));
  const ctx = new FakeCtx(4096, false);
  assert.equal(await t.handleIo(ctx, 0, iod(UBLK_IO_OP_FLUSH, 0, 0)), 0);
  assert.equal(await t.handleIo(ctx, 0, iod(UBLK_IO_OP_DISCARD, 16, 8)), 0);
  assert.equal(await t.handleIo(ctx, 0, iod(UBLK_IO_OP_WRITE_ZEROES, 32, 8, UBLK_IO_F_NOUNMAP)), 0);
  assert.equal(await t.handleIo(ctx, 0, iod(13, 0, 8)), -95);
  assert.deepEqual(c.calls, [
    ["flush", 0],
    ["trim", 8192, 4096],
    ["zeroes", 16384, 4096, true, false],
  ]);
  await t.close();
  await t.close();
  assert.equal(c.disconnects, 1);
});

Deno.test("`NbdTarget.handleIo()` passes a dead server's -EIO through", async () => {
  const c = new FakeClient();
  c.read = () => Promise.resolve(-5);
  const t = new NbdTarget(c);
  t.init(devInfo(false));
  assert.equal(await t.handleIo(new FakeCtx(4096, false), 0, iod(UBLK_IO_OP_READ, 0, 8)), -5);
});

function haveNbdkit(): boolean {
  try {
    return new Deno.Command("nbdkit", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

Deno.test({
  name: "`NbdTarget` serves I/O against nbdkit memory over a unix socket",
  ignore: !haveNbdkit(),
  async fn(): Promise<void> {
    const dir = await Deno.makeTempDir();
    const sock = `${dir}/nbd.sock`;
    const srv = new Deno.Command("nbdkit", {
      args: ["-f", "-U", sock, "memory", "size=4M"],
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      for (let i = 0; i < 100; i++) {
        try {
          await Deno.stat(sock);
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      const t = await NbdTarget.connect({ path: sock });
      const p = t.init(devInfo(false));
      assert.equal(p.devSize, 4 << 20);
      const ctx = new FakeCtx(1 << 16, false);
      for (let i = 0; i < 65536; i++) ctx.buf[i] = (i * 13) & 0xff;
      assert.equal(await t.handleIo(ctx, 0, iod(UBLK_IO_OP_WRITE, 128, 128)), 65536);
      const want = ctx.buf.slice();
      ctx.buf.fill(0);
      assert.equal(await t.handleIo(ctx, 0, iod(UBLK_IO_OP_READ, 128, 128)), 65536);
      assert.deepEqual(ctx.buf, want);
      assert.equal(await t.handleIo(ctx, 0, iod(UBLK_IO_OP_FLUSH, 0, 0)), 0);
      assert.equal(await t.handleIo(ctx, 0, iod(UBLK_IO_OP_WRITE_ZEROES, 128, 8)), 0);
      assert.equal(await t.handleIo(ctx, 0, iod(UBLK_IO_OP_READ, 128, 8)), 4096);
      assert.ok(ctx.buf.subarray(0, 4096).every((b) => b === 0));
      // The server goes away: requests fail with -EIO instead of hanging.
      srv.kill("SIGKILL");
      await srv.status;
      const r = await t.handleIo(ctx, 0, iod(UBLK_IO_OP_READ, 0, 8));
      assert.ok(r < 0, `read after the server died returned ${r}`);
      await t.close();
    } finally {
      try {
        srv.kill("SIGKILL");
      } catch { /* gone */ }
      await srv.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
});
