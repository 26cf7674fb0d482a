import assert from "node:assert/strict";
import { ModelKernel } from "@ublk-ts/model";
import { createDevice, IoDesc, type TargetIoCtx, type UblkDevice } from "@ublk-ts/ublk";
import { installUblk, type UblkBlockDevice, UblkDriver } from "@ublk-ts/ublk-drv";
import {
  EIO,
  EOPNOTSUPP,
  UBLK_ATTR_FUA,
  UBLK_ATTR_READ_ONLY,
  UBLK_ATTR_VOLATILE_CACHE,
} from "@ublk-ts/uapi";
import { NbdTarget, type NbdTargetClient } from "./nbd_target.ts";
import { installFusedCmd } from "@ublk-ts/fused-cmd";
import {
  type BlockDevice,
  NBD_CMD_READ,
  NBD_FLAG_HAS_FLAGS,
  NBD_FLAG_SEND_DF,
  NBD_FLAG_SEND_FLUSH,
  type NbdDecodedRequest,
  type NbdServer,
  serveNbd,
} from "@ublk-ts/nbd";
import { type FakeServer, type FakeServerOptions, startFakeServer } from "@ublk-ts/testing";
import type { NbdExportInfo } from "@ublk-ts/nbd";
import type { NbdWriteZeroesOptions } from "@ublk-ts/nbd";

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

/** A copy-mode device served by `target` on a model kernel with the model ublk driver. */
async function nbdDevice(
  target: NbdTarget,
): Promise<{ dev: UblkDevice; bdev: UblkBlockDevice } & AsyncDisposable> {
  const kernel = new ModelKernel();
  installUblk(kernel, { nrCpuIds: 4 });
  const dev = await createDevice(kernel, target, { queues: 2, depth: 4, maxIoBufBytes: 1 << 16 });
  return {
    dev,
    bdev: UblkDriver.of(kernel)!.blockDevice(dev.id)!,
    [Symbol.asyncDispose]: () => dev.stop(),
  };
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

Deno.test("`NbdTarget` moves data through the server buffer with qid:tag cookies", async () => {
  const c = new FakeClient();
  await using d = await nbdDevice(new NbdTarget(c));
  const w = new Uint8Array(4096).fill(0x77);
  assert.equal(await d.bdev.write(4096, w, { fua: true }), 4096);
  assert.ok(c.mem.subarray(4096, 8192).every((b) => b === 0x77));
  const r = new Uint8Array(8192);
  assert.equal(await d.bdev.read(4096, r.subarray(0, 2048)), 2048);
  assert.ok(r.subarray(0, 2048).every((b) => b === 0x77));
  assert.equal(r[2048], 0, "only the request's bytes were read");
  assert.deepEqual(c.calls.map((x) => x.slice(0, 3)), [["write", 4096, 4096], [
    "read",
    4096,
    2048,
  ]]);
  assert.equal(c.calls[0]![4], true, "FUA");
  // The cookie is qid << 16 | tag; the block layer spreads requests over both queues.
  const cookies = c.calls.map((x) => x[3] as number);
  assert.ok(cookies.every((k) => (k >>> 16) < 2 && (k & 0xffff) < 4), `cookies ${cookies}`);
  assert.deepEqual(cookies.map((k) => k >>> 16).sort(), [0, 1]);
  // Requests in flight at once carry distinct cookies.
  c.calls.length = 0;
  const big = new Uint8Array(8 * 4096);
  const parts = [0, 1, 2, 3, 4, 5, 6, 7].map((i) =>
    d.bdev.write(i * 4096, big.subarray(i * 4096, (i + 1) * 4096).fill(i + 1))
  );
  assert.deepEqual(await Promise.all(parts), new Array(8).fill(4096));
  assert.equal(new Set(c.calls.map((x) => x[3])).size, 8);
  for (let i = 0; i < 8; i++) assert.equal(c.mem[i * 4096], i + 1);
});

Deno.test("`NbdTarget` maps FLUSH, DISCARD, WRITE_ZEROES and refuses the rest", async () => {
  const c = new FakeClient();
  const t = new NbdTarget(c);
  {
    await using d = await nbdDevice(t);
    assert.equal(await d.bdev.flush(), 0);
    assert.equal(await d.bdev.discard(8192, 4096), 0);
    assert.equal(await d.bdev.writeZeroes(16384, 4096, { noUnmap: true }), 0);
    assert.equal(await d.bdev.writeZeroes(20480, 4096), 0);
    assert.deepEqual(c.calls.map((x) => x[0] === "flush" ? ["flush"] : x), [
      ["flush"],
      ["trim", 8192, 4096],
      ["zeroes", 16384, 4096, true, false],
      ["zeroes", 20480, 4096, false, false],
    ]);
    const unknown = new IoDesc();
    unknown.op = 13;
    unknown.nrSectors = 8;
    const ctx = { qid: 0, tag: 0, buf: new Uint8Array(4096), zeroCopy: false };
    assert.equal(await t.handleIo(ctx as unknown as TargetIoCtx, 0, unknown), -EOPNOTSUPP);
  }
  // stop() closed the target (one disconnect); closing again does nothing.
  assert.equal(c.disconnects, 1);
  await t.close();
  assert.equal(c.disconnects, 1);
});

Deno.test("`NbdTarget` passes a dead server's -EIO through and keeps serving", async () => {
  const c = new FakeClient();
  const read = c.read.bind(c);
  c.read = () => Promise.resolve(-EIO);
  await using d = await nbdDevice(new NbdTarget(c));
  const buf = new Uint8Array(4096);
  assert.equal(await d.bdev.read(0, buf), -EIO);
  c.read = read;
  assert.equal(await d.bdev.read(0, buf), 4096);
  assert.equal(await d.bdev.write(0, buf), 4096);
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
      await using d = await nbdDevice(t);
      assert.equal(d.bdev.size, 4 << 20);
      const buf = new Uint8Array(1 << 16);
      for (let i = 0; i < buf.length; i++) buf[i] = (i * 13) & 0xff;
      assert.equal(await d.bdev.write(65536, buf), 65536);
      const got = new Uint8Array(1 << 16);
      assert.equal(await d.bdev.read(65536, got), 65536);
      assert.deepEqual(got, buf);
      assert.equal(await d.bdev.flush(), 0);
      assert.equal(await d.bdev.writeZeroes(65536, 4096), 0);
      assert.equal(await d.bdev.read(65536, got.subarray(0, 4096)), 4096);
      assert.ok(got.subarray(0, 4096).every((b) => b === 0));
      // The server goes away: requests fail with -EIO instead of hanging.
      srv.kill("SIGKILL");
      await srv.status;
      const r = await d.bdev.read(0, got.subarray(0, 4096));
      assert.ok(r < 0, `read after the server died returned ${r}`);
    } finally {
      try {
        srv.kill("SIGKILL");
      } catch { /* gone */ }
      await srv.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("NbdTarget.init() refuses export sizes that cannot be served (2^64-1, 2^53+4096)", () => {
  for (const size of [(1n << 64n) - 1n, (1n << 53n) + 4096n]) {
    const c = new FakeClient();
    c.info = { ...c.info, size };
    const t = new NbdTarget(c);
    assert.throws(
      () => t.init(devInfo(false)),
      (e: Error) => e.name === "NbdError" && e.message.includes(`${size} bytes`),
      `size ${size}`,
    );
  }
});

Deno.test("NbdTarget.init() rounds a size that is not a multiple of 512 down and says so once", () => {
  const c = new FakeClient();
  c.info = { ...c.info, size: 1000n * 512n + 100n };
  const t = new NbdTarget(c);
  assert.equal(t.init(devInfo(false)).devSize, 1000 * 512);
  t.init(devInfo(false));
  assert.equal(t.warnings.length, 1);
  assert.match(t.warnings[0]!, /not a multiple of 512/);
});

/** `p`, or "hung" if it has not settled after `ms`. */
async function within<T>(p: Promise<T>, ms: number): Promise<T | "hung"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<"hung">((r) => timer = setTimeout(() => r("hung"), ms));
  try {
    return await Promise.race([p, hung]);
  } finally {
    clearTimeout(timer);
  }
}

interface FakeNbdDevice {
  srv: FakeServer;
  kernel: ModelKernel;
  target: NbdTarget;
  dev: UblkDevice;
  bdev: UblkBlockDevice;
}

/**
 * A one-queue model device served by an nbd target connected to a fake server (zero copy when
 * `zeroCopy`); everything is closed after `fn`.
 */
async function withFakeNbd(
  server: FakeServerOptions,
  connect: {
    zeroCopy?: boolean;
    timeout?: number;
    reconnect?: number;
    structuredReplies?: boolean;
    queues?: number;
  },
  fn: (d: FakeNbdDevice) => Promise<void>,
): Promise<void> {
  const srv = startFakeServer({ structured: false, ...server });
  const kernel = new ModelKernel();
  const zeroCopy = connect.zeroCopy ?? false;
  if (zeroCopy) installFusedCmd(kernel);
  installUblk(kernel, { nrCpuIds: 4 });
  const { queues = 1, ...options } = connect;
  try {
    const target = await NbdTarget.connect({
      port: srv.port,
      structuredReplies: false,
      kernel,
      ...options,
    });
    const dev = await createDevice(kernel, target, {
      queues,
      depth: 4,
      maxIoBufBytes: 1 << 16,
      zeroCopy,
    });
    const bdev = UblkDriver.of(kernel)!.blockDevice(dev.id)!;
    await fn({ srv, kernel, target, dev, bdev });
  } finally {
    kernel.close();
    await srv.close();
  }
}

for (const zeroCopy of [false, true]) {
  const mode = zeroCopy ? "zero copy" : "copy";
  Deno.test(`\`NbdTarget\` (${mode}): a silent server's request ends -EIO after \`timeout\`, then the device deletes`, async () => {
    const ignore65536 = (r: NbdDecodedRequest) =>
      r.type === NBD_CMD_READ && r.offset === 65536 ? "ignore" as const : undefined;
    await withFakeNbd({ onRequest: ignore65536 }, { zeroCopy, timeout: 0.2 }, async (d) => {
      assert.equal(await d.bdev.read(0, new Uint8Array(4096)), 4096);
      assert.equal(await within(d.bdev.read(65536, new Uint8Array(4096)), 5000), -EIO);
      assert.equal(d.target.timedOut, true);
      assert.equal(await within(d.dev.stop().then(() => "deleted"), 5000), "deleted");
    });
  });
}

for (const zeroCopy of [false, true]) {
  const mode = zeroCopy ? "zero copy" : "copy";
  Deno.test(`\`NbdTarget\` (${mode}): a READ answered with a short payload ends -EIO, never a success with wrong contents`, async () => {
    const short65536 = (r: NbdDecodedRequest) =>
      r.type === NBD_CMD_READ && r.offset === 65536 ? "short" as const : undefined;
    await withFakeNbd({ onRequest: short65536 }, { zeroCopy, timeout: 0.5 }, async (d) => {
      // The short READ and one the server serves afterwards, both in flight.
      const got = await within(
        Promise.all([
          d.bdev.read(65536, new Uint8Array(4096)),
          d.bdev.read(0, new Uint8Array(4096)),
        ]),
        10000,
      );
      assert.notEqual(got, "hung");
      assert.equal((got as number[])[0], -EIO, `short READ returned ${(got as number[])[0]}`);
      assert.equal(await within(d.dev.stop().then(() => "deleted"), 5000), "deleted");
    });
  });
}

Deno.test("`NbdTarget.connect()` zero copy gives up a handshake the server never answers", async () => {
  const srv = startFakeServer({ greeting: "silent" });
  const kernel = new ModelKernel();
  try {
    const p = NbdTarget.connect({ port: srv.port, zeroCopy: true, kernel, handshakeTimeoutMs: 200 })
      .then(() => "connected", (e: Error) => e.message);
    const got = await within(p, 5000);
    assert.match(String(got), /Handshake timed out after 200 ms/);
  } finally {
    kernel.close();
    await srv.close();
  }
});

for (const cause of ["a closed connection", "a request timeout"] as const) {
  Deno.test(`\`NbdTarget\` (copy, reconnect 3): after ${cause} the in-flight request ends -EIO and the next ones go to a new connection`, async () => {
    let n = 0;
    const onRequest = (r: NbdDecodedRequest) => {
      if (r.type !== NBD_CMD_READ || r.offset !== 65536 || n++ > 0) return undefined;
      return cause === "a closed connection" ? "close" as const : "ignore" as const;
    };
    await withFakeNbd({ onRequest }, { timeout: 0.3, reconnect: 3 }, async (d) => {
      d.srv.mem.fill(0x7e, 8192, 12288);
      assert.equal(await d.bdev.read(0, new Uint8Array(4096)), 4096);
      assert.equal(await within(d.bdev.read(65536, new Uint8Array(4096)), 5000), -EIO);
      const buf = new Uint8Array(4096);
      assert.equal(await within(d.bdev.read(8192, buf), 5000), 4096, "read after the reconnect");
      assert.ok(buf.every((b) => b === 0x7e), "the new connection serves the same export");
      assert.equal(d.target.reconnects, 1);
      assert.equal(await within(d.dev.stop().then(() => "deleted"), 5000), "deleted");
    });
  });
}

for (const zeroCopy of [false, true]) {
  const mode = zeroCopy ? "zero copy" : "copy";
  Deno.test(`\`NbdTarget\` (${mode}) without reconnect keeps failing -EIO after the connection died`, async () => {
    let n = 0;
    const onRequest = (r: NbdDecodedRequest) =>
      r.type === NBD_CMD_READ && r.offset === 65536 && n++ === 0 ? "close" as const : undefined;
    await withFakeNbd({ onRequest }, { zeroCopy }, async (d) => {
      assert.equal(await within(d.bdev.read(65536, new Uint8Array(4096)), 5000), -EIO);
      assert.equal(await within(d.bdev.read(8192, new Uint8Array(4096)), 5000), -EIO);
      assert.equal(d.target.reconnects, 0);
      assert.equal(d.srv.requests.length, 1, "nothing more reached the server");
      assert.equal(await within(d.dev.stop().then(() => "deleted"), 5000), "deleted");
    });
  });
}

/** The queue ids of requests' cookies (qid << 16 | tag). */
function qidsOf(reqs: readonly NbdDecodedRequest[]): number[] {
  return [...new Set(reqs.map((r) => Number(r.cookie >> 16n)))].sort();
}

const ZC_CAUSES = [
  { cause: "a request timeout", mis: "ignore", structured: false },
  { cause: "a request timeout (structured replies)", mis: "ignore", structured: true },
  { cause: "a closed connection", mis: "close", structured: false },
  { cause: "a garbled reply", mis: "garbage", structured: false },
] as const;

for (const { cause, mis, structured } of ZC_CAUSES) {
  Deno.test(`\`NbdTarget\` (zero copy, reconnect 2): after ${cause} that request ends -EIO and both queues serve the next ones on a new connection`, async () => {
    let n = 0;
    const onRequest = (r: NbdDecodedRequest) =>
      r.type === NBD_CMD_READ && r.offset === 65536 && n++ === 0 ? mis : undefined;
    const flags = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_DF;
    await withFakeNbd(
      { onRequest, structured, flags },
      { zeroCopy: true, timeout: 0.3, reconnect: 2, queues: 2, structuredReplies: structured },
      async (d) => {
        assert.equal(d.target.info.structuredReplies, structured);
        // Non-zero data everywhere it is read (the fake server sends zeroes as holes).
        d.srv.mem.fill(0x7e, 0, 1 << 20);
        const first = new Uint8Array(4096);
        assert.equal(await d.bdev.read(8192, first), 4096);
        assert.ok(first.every((b) => b === 0x7e));
        const t0 = performance.now();
        assert.equal(await within(d.bdev.read(65536, new Uint8Array(4096)), 5000), -EIO);
        if (mis === "ignore") {
          assert.ok(performance.now() - t0 >= 250, "failed before the timeout");
          assert.equal(d.target.timedOut, true);
        }
        assert.equal(d.target.reconnects, 0, "no reconnect before a request needs one");
        const before = d.srv.requests.length;
        for (let i = 0; i < 6; i++) {
          const off = 16384 + i * 4096;
          const data = new Uint8Array(4096).map((_, j) => (i * 31 + j) % 251 + 1);
          assert.equal(await within(d.bdev.write(off, data), 5000), 4096, `write ${i}`);
          const back = new Uint8Array(4096);
          assert.equal(await within(d.bdev.read(off, back), 5000), 4096, `read ${i}`);
          assert.deepEqual(back, data, `data ${i}`);
          assert.deepEqual(d.srv.mem.subarray(off, off + 4096), data, `server data ${i}`);
        }
        const again = new Uint8Array(4096);
        assert.equal(await d.bdev.read(8192, again), 4096);
        assert.ok(again.every((b) => b === 0x7e), "the new connection serves the same export");
        assert.equal(d.target.reconnects, 1);
        assert.equal(d.target.timedOut, false, "the new connection has not timed out");
        assert.equal(d.target.info.structuredReplies, structured, "negotiated again");
        assert.deepEqual(qidsOf(d.srv.requests.slice(before)), [0, 1], "both queue rings");
        assert.equal(await within(d.dev.stop().then(() => "deleted"), 5000), "deleted");
      },
    );
  });
}

/** A RAM block device for `serveNbd`; `onWrite` runs before each write lands (it may wait). */
function ramDevice(
  mem: Uint8Array,
  onWrite: (offset: number, data: Uint8Array) => Promise<void> | void = () => {},
): BlockDevice {
  return {
    size: mem.length,
    logicalBlockSize: 512,
    readOnly: false,
    present: true,
    maxRequestBytes: 0,
    inflight: 0,
    read(offset: number, buf: Uint8Array): Promise<number> {
      buf.set(mem.subarray(offset, offset + buf.length));
      return Promise.resolve(buf.length);
    },
    async write(offset: number, data: Uint8Array): Promise<number> {
      await onWrite(offset, data);
      mem.set(data, offset);
      return data.length;
    },
    flush: (): Promise<number> => Promise.resolve(0),
    discard(offset: number, len: number): Promise<number> {
      mem.fill(0, offset, offset + len);
      return Promise.resolve(0);
    },
    writeZeroes(offset: number, len: number): Promise<number> {
      mem.fill(0, offset, offset + len);
      return Promise.resolve(0);
    },
  };
}

interface ServedNbdDevice {
  mem: Uint8Array;
  target: NbdTarget;
  dev: UblkDevice;
  bdev: UblkBlockDevice;
  /** Stops the server (its connections end). */
  kill(): Promise<void>;
  /** Starts the server again on the same Unix socket path. */
  restart(): void;
}

/**
 * A two-queue zero-copy model device served by an nbd target connected over a Unix socket to
 * the in-repo NBD server (`serveNbd`) exporting `mem`; everything is closed after `fn`.
 */
async function withServedNbd(
  onWrite: ((offset: number, data: Uint8Array) => Promise<void> | void) | undefined,
  connect: { timeout: number; reconnect: number; zeroCopy?: boolean },
  fn: (d: ServedNbdDevice) => Promise<void>,
): Promise<void> {
  const zeroCopy = connect.zeroCopy ?? true;
  const dir = await Deno.makeTempDir();
  const path = `${dir}/nbd.sock`;
  const mem = new Uint8Array(1 << 20);
  const start = (): NbdServer => {
    try {
      Deno.removeSync(path);
    } catch { /* not there */ }
    return serveNbd(ramDevice(mem, onWrite), Deno.listen({ transport: "unix", path }));
  };
  let server: NbdServer | null = start();
  const kernel = new ModelKernel();
  installFusedCmd(kernel);
  installUblk(kernel, { nrCpuIds: 4 });
  try {
    const target = await NbdTarget.connect({ path, kernel, ...connect, zeroCopy });
    const dev = await createDevice(kernel, target, {
      queues: 2,
      depth: 4,
      maxIoBufBytes: 1 << 16,
      zeroCopy,
    });
    const bdev = UblkDriver.of(kernel)!.blockDevice(dev.id)!;
    await fn({
      mem,
      target,
      dev,
      bdev,
      async kill(): Promise<void> {
        const s = server;
        server = null;
        await s?.close();
      },
      restart(): void {
        server ??= start();
      },
    });
  } finally {
    kernel.close();
    await server?.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("`NbdTarget` (zero copy, reconnect 2): a server killed and restarted on the same Unix socket serves the next requests; while it is down they fail -EIO", async () => {
  await withServedNbd(undefined, { timeout: 2, reconnect: 2 }, async (d) => {
    const data = new Uint8Array(8192).map((_, i) => (i * 7 + 3) & 0xff);
    assert.equal(await d.bdev.write(8192, data), 8192);
    await d.kill();
    // Down: the request that finds the connection dead (or sends on it) ends -EIO, and so do
    // those whose reconnect attempts all fail.
    for (let i = 0; i < 2; i++) {
      assert.equal(await within(d.bdev.read(8192, new Uint8Array(4096)), 5000), -EIO);
    }
    assert.equal(d.target.reconnects, 0);
    d.restart();
    const back = new Uint8Array(8192);
    assert.equal(await within(d.bdev.read(8192, back), 5000), 8192);
    assert.deepEqual(back, data);
    assert.equal(d.target.reconnects, 1);
    // Both queues (requests alternate between them) write and read on the new connection.
    for (let i = 0; i < 4; i++) {
      const part = new Uint8Array(4096).fill(0x40 + i);
      assert.equal(await within(d.bdev.write(65536 + i * 4096, part), 5000), 4096);
    }
    const all = new Uint8Array(4 * 4096);
    assert.equal(await within(d.bdev.read(65536, all), 5000), 4 * 4096);
    for (let i = 0; i < 4; i++) assert.equal(all[i * 4096 + 17], 0x40 + i);
    assert.equal(d.mem[65536 + 3 * 4096], 0x43);
    assert.equal(await within(d.dev.stop().then(() => "deleted"), 5000), "deleted");
  });
});

for (const zeroCopy of [false, true]) {
  const mode = zeroCopy ? "zero copy" : "copy";
  Deno.test(`\`NbdTarget\` (${mode}, reconnect 2): a WRITE the server still held when its request timed out never lands after a newer WRITE sent over the new connection`, async () => {
    // The server receives WRITE A but carries it out only later (a slow disk); the request times
    // out. The target drains the dead connection — the server finishes A and then closes it —
    // before the new connection carries WRITE B to the same sectors, so B is what stays.
    const OFF = 32768;
    const events: string[] = [];
    let releaseA = (): void => {};
    const heldA = new Promise<void>((r) => releaseA = r);
    let writes = 0;
    const onWrite = async (offset: number, data: Uint8Array): Promise<void> => {
      if (offset !== OFF) return;
      const which = writes++ === 0 ? "A" : data[0] === 0xbb ? "B" : "?";
      if (which === "A") await heldA;
      events.push(`${which} landed`);
    };
    await withServedNbd(onWrite, { timeout: 1, reconnect: 2, zeroCopy }, async (d) => {
      const t0 = performance.now();
      const a = await within(d.bdev.write(OFF, new Uint8Array(4096).fill(0xaa)), 5000);
      assert.equal(a, -EIO, "the held WRITE times out");
      assert.ok(performance.now() - t0 >= 900, "failed before the timeout");
      // B waits for the reconnect, which waits for the old connection to be drained; A lands
      // 300 ms later, well inside the drain time (the 1 s timeout).
      const b = d.bdev.write(OFF, new Uint8Array(4096).fill(0xbb));
      const timer = setTimeout(() => {
        events.push("A released");
        releaseA();
      }, 300);
      try {
        assert.equal(await within(b, 5000), 4096);
      } finally {
        clearTimeout(timer);
        releaseA();
      }
      assert.deepEqual(events, ["A released", "A landed", "B landed"]);
      assert.equal(d.target.reconnects, 1);
      const back = new Uint8Array(4096);
      assert.equal(await within(d.bdev.read(OFF, back), 5000), 4096);
      assert.ok(back.every((x) => x === 0xbb), "the newer WRITE stays");
      await new Promise((r) => setTimeout(r, 100));
      assert.ok(d.mem.subarray(OFF, OFF + 4096).every((x) => x === 0xbb), "on the server too");
      assert.equal(await within(d.dev.stop().then(() => "deleted"), 5000), "deleted");
    });
  });
}

Deno.test("`NbdTarget` (zero copy): structured replies with DF; a short OFFSET_DATA payload ends -EIO, never a success with wrong contents", async () => {
  const short65536 = (r: NbdDecodedRequest) =>
    r.type === NBD_CMD_READ && r.offset === 65536 ? "short" as const : undefined;
  const flags = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_DF;
  await withFakeNbd(
    { structured: true, flags, onRequest: short65536 },
    { zeroCopy: true, timeout: 0.5, structuredReplies: true },
    async (d) => {
      assert.equal(d.target.info.structuredReplies, true);
      const data = new Uint8Array(4096).map((_, i) => (i * 7 + 1) & 0xff);
      assert.equal(await d.bdev.write(8192, data), 4096);
      const back = new Uint8Array(4096);
      assert.equal(await d.bdev.read(8192, back), 4096);
      assert.deepEqual(back, data);
      assert.equal(await within(d.bdev.read(65536, new Uint8Array(4096)), 5000), -EIO);
      assert.equal(await within(d.dev.stop().then(() => "deleted"), 5000), "deleted");
    },
  );
});

Deno.test("`NbdTarget` (zero copy): a server with structured replies but no DF is served with simple replies (holes could not be filled)", async () => {
  await withFakeNbd(
    { structured: true },
    { zeroCopy: true, structuredReplies: true },
    async (d) => {
      assert.equal(d.target.info.structuredReplies, false);
      // The fake server answers structured READs of zeroes with holes; with simple replies the
      // zeroes arrive as data.
      const back = new Uint8Array(4096).fill(0xee);
      assert.equal(await d.bdev.read(0, back), 4096);
      assert.ok(back.every((b) => b === 0));
    },
  );
});
