// The NBD export server: the handshake and the transmission phase against our own client and
// against hand-written bytes (malformed options and requests), over a RAM block device whose
// requests can be held back (pipelining, replies out of order, close and DISC with requests in
// flight) and whose results can be forced (errno mapping).
import assert from "node:assert/strict";
import type { BlockDevice } from "@ublk-ts/ring";
import { EIO, ENOSPC, EOPNOTSUPP, EROFS } from "@ublk-ts/uapi";
import {
  encodeRequest,
  NBD_CMD_BLOCK_STATUS,
  NBD_CMD_DISC,
  NBD_CMD_FLAG_FUA,
  NBD_CMD_FLUSH,
  NBD_CMD_READ,
  NBD_CMD_TRIM,
  NBD_CMD_WRITE,
  NBD_CMD_WRITE_ZEROES,
  NBD_EINVAL,
  NBD_EIO,
  NBD_ENOSPC,
  NBD_EPERM,
  NBD_FLAG_C_FIXED_NEWSTYLE,
  NBD_FLAG_C_NO_ZEROES,
  NBD_FLAG_CAN_MULTI_CONN,
  NBD_FLAG_HAS_FLAGS,
  NBD_FLAG_READ_ONLY,
  NBD_FLAG_SEND_FLUSH,
  NBD_FLAG_SEND_FUA,
  NBD_FLAG_SEND_TRIM,
  NBD_FLAG_SEND_WRITE_ZEROES,
  NBD_INFO_BLOCK_SIZE,
  NBD_INFO_DESCRIPTION,
  NBD_INFO_EXPORT,
  NBD_INFO_NAME,
  NBD_INIT_MAGIC,
  NBD_OPT_ABORT,
  NBD_OPT_EXPORT_NAME,
  NBD_OPT_GO,
  NBD_OPT_INFO,
  NBD_OPT_LIST,
  NBD_OPT_SET_META_CONTEXT,
  NBD_OPT_STARTTLS,
  NBD_OPT_STRUCTURED_REPLY,
  NBD_OPTS_MAGIC,
  NBD_REP_ACK,
  NBD_REP_ERR_INVALID,
  NBD_REP_ERR_UNKNOWN,
  NBD_REP_ERR_UNSUP,
  NBD_REP_INFO,
  NBD_REP_MAGIC,
  NBD_REP_META_CONTEXT,
  NBD_REP_SERVER,
  NBD_REPLY_FLAG_DONE,
  NBD_REPLY_TYPE_BLOCK_STATUS,
  NBD_REPLY_TYPE_ERROR,
  NBD_REPLY_TYPE_OFFSET_DATA,
  NBD_SIMPLE_REPLY_MAGIC,
  NBD_STRUCTURED_REPLY_MAGIC,
  NbdClient,
  NbdReader,
  type NbdServeOptions,
  type NbdServer,
  serveNbd,
} from "./mod.ts";

const KiB = 1024;
const SIZE = 1 << 20;

/** A call the RAM device saw. */
interface Call {
  op: "read" | "write" | "flush" | "discard" | "writeZeroes";
  offset: number;
  length: number;
  fua?: boolean;
}

/**
 * A RAM block device. `hold(offset)` makes the next request at that offset wait until the
 * returned function runs; `force[op]` replaces an op's result with a negative errno.
 */
class RamDevice implements BlockDevice {
  readonly mem: Uint8Array;
  readonly logicalBlockSize: number;
  readonly maxRequestBytes: number;
  readOnly = false;
  present = true;
  inflight = 0;
  peak = 0;
  readonly calls: Call[] = [];
  readonly force: Partial<Record<Call["op"], number>> = {};
  readonly #held = new Map<number, Promise<void>>();

  constructor(size = SIZE, lbs = 512, maxRequestBytes = 128 * KiB) {
    this.mem = new Uint8Array(size);
    for (let i = 0; i < size; i++) this.mem[i] = (i * 7 + (i >> 9)) & 0xff;
    this.logicalBlockSize = lbs;
    this.maxRequestBytes = maxRequestBytes;
  }

  get size(): number {
    return this.mem.length;
  }

  /** Holds the next request at `offset` until the returned release runs. */
  hold(offset: number): () => void {
    let release!: () => void;
    this.#held.set(offset, new Promise<void>((r) => release = r));
    return release;
  }

  async #run(call: Call, fn: () => number): Promise<number> {
    this.calls.push(call);
    this.inflight++;
    this.peak = Math.max(this.peak, this.inflight);
    try {
      const held = this.#held.get(call.offset);
      if (held !== undefined) {
        this.#held.delete(call.offset);
        await held;
      } else {
        await Promise.resolve();
      }
      const forced = this.force[call.op];
      return forced !== undefined ? forced : fn();
    } finally {
      this.inflight--;
    }
  }

  read(offset: number, buf: Uint8Array): Promise<number> {
    return this.#run({ op: "read", offset, length: buf.length }, () => {
      buf.set(this.mem.subarray(offset, offset + buf.length));
      return buf.length;
    });
  }
  write(offset: number, data: Uint8Array, options?: { fua?: boolean }): Promise<number> {
    const call: Call = { op: "write", offset, length: data.length };
    if (options?.fua) call.fua = true;
    return this.#run(call, () => {
      this.mem.set(data, offset);
      return data.length;
    });
  }
  flush(): Promise<number> {
    return this.#run({ op: "flush", offset: -1, length: 0 }, () => 0);
  }
  discard(offset: number, len: number): Promise<number> {
    return this.#run({ op: "discard", offset, length: len }, () => 0);
  }
  writeZeroes(offset: number, len: number): Promise<number> {
    return this.#run({ op: "writeZeroes", offset, length: len }, () => {
      this.mem.fill(0, offset, offset + len);
      return 0;
    });
  }
}

interface Served {
  dev: RamDevice;
  server: NbdServer;
  path: string;
  errors: Error[];
}

async function withServer(
  fn: (s: Served) => Promise<void>,
  options: NbdServeOptions = {},
  dev: RamDevice = new RamDevice(),
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "nbd_server_test_" });
  const path = `${dir}/nbd.sock`;
  const errors: Error[] = [];
  const server = serveNbd(dev, Deno.listen({ transport: "unix", path }), {
    onError: (e) => errors.push(e),
    ...options,
  });
  try {
    await fn({ dev, server, path, errors });
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** A hand-driven client: bytes out, bytes in. */
class Raw {
  readonly conn: Deno.UnixConn;
  readonly reader: NbdReader;
  constructor(conn: Deno.UnixConn) {
    this.conn = conn;
    this.reader = new NbdReader(conn, 64 * KiB);
  }
  static async open(path: string): Promise<Raw> {
    return new Raw(await Deno.connect({ transport: "unix", path }));
  }
  async send(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) off += await this.conn.write(bytes.subarray(off));
  }
  /** Exactly `n` bytes, or null at EOF. */
  async recv(n: number): Promise<Uint8Array | null> {
    const b = new Uint8Array(n);
    return (await this.reader.readInto(b)) ? b : null;
  }
  async u32(): Promise<number> {
    const b = await this.recv(4);
    assert.ok(b !== null, "unexpected EOF");
    return new DataView(b.buffer).getUint32(0);
  }
  /** Whether the server closed the connection (EOF or reset). */
  async eof(): Promise<boolean> {
    try {
      return !(await this.reader.ensure(1));
    } catch {
      return true;
    }
  }
  /** Reads the greeting and sends the client flags. */
  async greet(clientFlags = NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES): Promise<number> {
    const g = await this.recv(18);
    assert.ok(g !== null);
    const v = new DataView(g.buffer);
    assert.equal(v.getBigUint64(0), NBD_INIT_MAGIC);
    assert.equal(v.getBigUint64(8), NBD_OPTS_MAGIC);
    await this.send(be32(clientFlags));
    return v.getUint16(16);
  }
  async option(option: number, data: Uint8Array = new Uint8Array(0)): Promise<void> {
    const b = new Uint8Array(16 + data.length);
    const v = new DataView(b.buffer);
    v.setBigUint64(0, NBD_OPTS_MAGIC);
    v.setUint32(8, option);
    v.setUint32(12, data.length);
    b.set(data, 16);
    await this.send(b);
  }
  async optionReply(): Promise<{ option: number; type: number; data: Uint8Array }> {
    const h = await this.recv(20);
    assert.ok(h !== null, "EOF instead of an option reply");
    const v = new DataView(h.buffer);
    assert.equal(v.getBigUint64(0), NBD_REP_MAGIC);
    const length = v.getUint32(16);
    const data = await this.recv(length);
    assert.ok(data !== null);
    return { option: v.getUint32(8), type: v.getUint32(12), data };
  }
  /** Greets, optionally negotiates structured replies, then GO on the default export. */
  async go(structured: boolean): Promise<void> {
    await this.greet();
    if (structured) {
      await this.option(NBD_OPT_STRUCTURED_REPLY);
      assert.equal((await this.optionReply()).type, NBD_REP_ACK);
    }
    await this.option(NBD_OPT_GO, infoRequest("", []));
    for (;;) {
      const r = await this.optionReply();
      if (r.type === NBD_REP_ACK) return;
      assert.equal(r.type, NBD_REP_INFO);
    }
  }
  async request(
    type: number,
    offset: number,
    length: number,
    cookie: number,
    flags = 0,
    payload?: Uint8Array,
  ): Promise<void> {
    const b = new Uint8Array(28 + (payload?.length ?? 0));
    encodeRequest(new DataView(b.buffer), 0, { type, flags, cookie, offset, length });
    if (payload !== undefined) b.set(payload, 28);
    await this.send(b);
  }
  /** One simple reply: its error and cookie (READ data is left for the caller). */
  async simple(): Promise<{ error: number; cookie: number }> {
    const h = await this.recv(16);
    assert.ok(h !== null, "EOF instead of a reply");
    const v = new DataView(h.buffer);
    assert.equal(v.getUint32(0), NBD_SIMPLE_REPLY_MAGIC);
    return { error: v.getUint32(4), cookie: Number(v.getBigUint64(8)) };
  }
  /** One structured chunk with its whole payload. */
  async chunk(): Promise<{ flags: number; type: number; cookie: number; payload: Uint8Array }> {
    const h = await this.recv(20);
    assert.ok(h !== null, "EOF instead of a chunk");
    const v = new DataView(h.buffer);
    assert.equal(v.getUint32(0), NBD_STRUCTURED_REPLY_MAGIC);
    const payload = await this.recv(v.getUint32(16));
    assert.ok(payload !== null);
    return {
      flags: v.getUint16(4),
      type: v.getUint16(6),
      cookie: Number(v.getBigUint64(8)),
      payload,
    };
  }
  close(): void {
    try {
      this.conn.close();
    } catch { /* closed */ }
  }
}

function be32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

function infoRequest(name: string, infos: number[]): Uint8Array {
  const n = new TextEncoder().encode(name);
  const b = new Uint8Array(4 + n.length + 2 + 2 * infos.length);
  const v = new DataView(b.buffer);
  v.setUint32(0, n.length);
  b.set(n, 4);
  v.setUint16(4 + n.length, infos.length);
  infos.forEach((t, i) => v.setUint16(6 + n.length + 2 * i, t));
  return b;
}

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Polls `cond` (every 5 ms, for at most 10 s) — no timing is asserted. */
async function waitFor(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), `timed out waiting for ${what}`);
}

Deno.test("`serveNbd()` negotiates GO with NbdClient: size, flags, block sizes, both reply kinds", async () => {
  await withServer(async ({ server, path, dev }) => {
    for (const structuredReplies of [true, false]) {
      const c = await NbdClient.connect({ path, structuredReplies });
      assert.equal(c.info.usedGo, true);
      assert.equal(c.info.structuredReplies, structuredReplies);
      assert.equal(c.size, SIZE);
      assert.equal(
        c.info.transmissionFlags,
        NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA | NBD_FLAG_SEND_TRIM |
          NBD_FLAG_SEND_WRITE_ZEROES | NBD_FLAG_CAN_MULTI_CONN,
      );
      assert.equal(c.info.minBlock, 512);
      assert.equal(c.info.preferredBlock, 4096);
      assert.equal(c.info.maxPayload, dev.maxRequestBytes);
      const buf = new Uint8Array(64 * KiB);
      assert.equal(await c.read(8192, buf), buf.length);
      assert.deepEqual(buf, dev.mem.subarray(8192, 8192 + buf.length));
      const data = new Uint8Array(4096).fill(structuredReplies ? 0xa5 : 0x5a);
      assert.equal(await c.write(4096, data, { fua: true }), 4096);
      assert.deepEqual(dev.mem.subarray(4096, 8192), data);
      assert.equal(dev.calls.at(-1)!.fua, true);
      assert.equal(await c.flush(), 0);
      assert.equal(await c.trim(0, 4096), 0);
      assert.equal(await c.writeZeroes(12288, 4096), 0);
      assert.ok(dev.mem.subarray(12288, 16384).every((x) => x === 0));
      await c.disconnect();
    }
    assert.equal(server.stats.accepted, 2);
    assert.equal(server.stats.errors, 0);
    assert.match(server.uri, /^nbd\+unix:\/\/\/\?socket=\/.*nbd\.sock$/);
  });
});

Deno.test("`serveNbd()` exports a read-only device read-only and refuses writes with EPERM", async () => {
  const dev = new RamDevice();
  dev.readOnly = true;
  await withServer(
    async ({ path }) => {
      const c = await NbdClient.connect({ path });
      const f = c.info.transmissionFlags;
      assert.ok(f & NBD_FLAG_READ_ONLY);
      assert.equal(f & (NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES | NBD_FLAG_SEND_FUA), 0);
      await c.disconnect();
      const raw = await Raw.open(path);
      await raw.go(false);
      await raw.request(NBD_CMD_WRITE, 0, 512, 1, 0, new Uint8Array(512).fill(1));
      assert.deepEqual(await raw.simple(), { error: NBD_EPERM, cookie: 1 });
      await raw.request(NBD_CMD_TRIM, 0, 512, 2);
      assert.deepEqual(await raw.simple(), { error: NBD_EPERM, cookie: 2 });
      await raw.request(NBD_CMD_READ, 0, 512, 3); // the connection carries on
      assert.deepEqual(await raw.simple(), { error: 0, cookie: 3 });
      assert.deepEqual(await raw.recv(512), dev.mem.subarray(0, 512));
      assert.equal(dev.calls.filter((x) => x.op === "write").length, 0);
      raw.close();
    },
    {},
    dev,
  );
  // The option forces read-only on a writable device.
  await withServer(async ({ path }) => {
    const c = await NbdClient.connect({ path });
    assert.ok(c.info.transmissionFlags & NBD_FLAG_READ_ONLY);
    await c.disconnect();
  }, { readOnly: true });
});

Deno.test("`serveNbd()` answers LIST, INFO (names, unknown export), bad options, then GO on one connection", async () => {
  await withServer(async ({ path }) => {
    const raw = await Raw.open(path);
    await raw.greet();
    await raw.option(NBD_OPT_LIST);
    const names: string[] = [];
    for (;;) {
      const r = await raw.optionReply();
      assert.equal(r.option, NBD_OPT_LIST);
      if (r.type === NBD_REP_ACK) break;
      assert.equal(r.type, NBD_REP_SERVER);
      const len = new DataView(r.data.buffer).getUint32(0);
      names.push(text(r.data.subarray(4, 4 + len)));
    }
    assert.deepEqual(names, ["", "disk0"]);
    await raw.option(NBD_OPT_LIST, new Uint8Array(3));
    assert.equal((await raw.optionReply()).type, NBD_REP_ERR_INVALID);

    await raw.option(NBD_OPT_INFO, infoRequest("nope", []));
    const unknown = await raw.optionReply();
    assert.equal(unknown.type, NBD_REP_ERR_UNKNOWN);
    assert.match(text(unknown.data), /nope/);

    await raw.option(NBD_OPT_INFO, infoRequest("disk0", [NBD_INFO_NAME, NBD_INFO_DESCRIPTION]));
    const infos = new Map<number, DataView>();
    for (;;) {
      const r = await raw.optionReply();
      if (r.type === NBD_REP_ACK) break;
      assert.equal(r.type, NBD_REP_INFO);
      const v = new DataView(r.data.buffer);
      infos.set(v.getUint16(0), v);
    }
    assert.equal(infos.get(NBD_INFO_EXPORT)!.getBigUint64(2), BigInt(SIZE));
    const bs = infos.get(NBD_INFO_BLOCK_SIZE)!;
    assert.deepEqual([bs.getUint32(2), bs.getUint32(6), bs.getUint32(10)], [512, 4096, 65536]);
    assert.equal(text(new Uint8Array(infos.get(NBD_INFO_NAME)!.buffer).subarray(2)), "disk0");
    assert.equal(
      text(new Uint8Array(infos.get(NBD_INFO_DESCRIPTION)!.buffer).subarray(2)),
      "a RAM disk",
    );

    // Malformed GO data (count does not match the length), unknown option, STARTTLS.
    const bad = infoRequest("", [NBD_INFO_EXPORT]);
    await raw.option(NBD_OPT_GO, bad.subarray(0, bad.length - 1));
    assert.equal((await raw.optionReply()).type, NBD_REP_ERR_INVALID);
    await raw.option(0x4242);
    assert.equal((await raw.optionReply()).type, NBD_REP_ERR_UNSUP);
    await raw.option(NBD_OPT_STARTTLS);
    assert.equal((await raw.optionReply()).type, NBD_REP_ERR_UNSUP);
    await raw.option(NBD_OPT_STRUCTURED_REPLY, new Uint8Array(1));
    assert.equal((await raw.optionReply()).type, NBD_REP_ERR_INVALID);
    // Meta contexts need structured replies first.
    await raw.option(NBD_OPT_SET_META_CONTEXT, new Uint8Array(8));
    assert.equal((await raw.optionReply()).type, NBD_REP_ERR_INVALID);

    await raw.option(NBD_OPT_GO, infoRequest("disk0", []));
    let acked = false;
    while (!acked) acked = (await raw.optionReply()).type === NBD_REP_ACK;
    await raw.request(NBD_CMD_READ, 512, 512, 9);
    assert.deepEqual(await raw.simple(), { error: 0, cookie: 9 });
    assert.ok(await raw.recv(512));
    raw.close();
  }, { exportName: "disk0", description: "a RAM disk", maxPayload: 65536 });
});

Deno.test("`serveNbd()` serves EXPORT_NAME with and without the 124 zero bytes, closes on an unknown name", async () => {
  await withServer(async ({ path, dev }) => {
    for (const noZeroes of [true, false]) {
      const raw = await Raw.open(path);
      await raw.greet(NBD_FLAG_C_FIXED_NEWSTYLE | (noZeroes ? NBD_FLAG_C_NO_ZEROES : 0));
      await raw.option(NBD_OPT_EXPORT_NAME);
      const r = await raw.recv(10 + (noZeroes ? 0 : 124));
      assert.ok(r !== null);
      const v = new DataView(r.buffer);
      assert.equal(v.getBigUint64(0), BigInt(SIZE));
      assert.ok(v.getUint16(8) & NBD_FLAG_SEND_FLUSH);
      if (!noZeroes) assert.ok(r.subarray(10).every((x) => x === 0));
      await raw.request(NBD_CMD_READ, 0, 1024, 77);
      assert.deepEqual(await raw.simple(), { error: 0, cookie: 77 });
      assert.deepEqual(await raw.recv(1024), dev.mem.subarray(0, 1024));
      raw.close();
    }
    const raw = await Raw.open(path);
    await raw.greet();
    await raw.option(NBD_OPT_EXPORT_NAME, new TextEncoder().encode("missing"));
    assert.equal(await raw.eof(), true);
    raw.close();
    // Non-fixed newstyle clients get EXPORT_NAME only; ABORT is acknowledged, then EOF.
    const old = await Raw.open(path);
    await old.greet(0);
    await old.option(NBD_OPT_EXPORT_NAME);
    assert.ok(await old.recv(134));
    old.close();
    const ab = await Raw.open(path);
    await ab.greet();
    await ab.option(NBD_OPT_ABORT);
    assert.equal((await ab.optionReply()).type, NBD_REP_ACK);
    assert.equal(await ab.eof(), true);
    ab.close();
    // Unknown client flags: the server drops the connection.
    const weird = await Raw.open(path);
    await weird.greet(0x80);
    assert.equal(await weird.eof(), true);
    weird.close();
  });
});

for (const structured of [false, true]) {
  const how = structured ? "structured" : "simple";
  Deno.test(`\`serveNbd()\` answers bad requests with NBD errors and keeps the connection (${how} replies)`, async () => {
    await withServer(async ({ path, dev }) => {
      const raw = await Raw.open(path);
      await raw.go(structured);
      const error = async (cookie: number): Promise<{ error: number; message: string }> => {
        if (!structured) {
          const r = await raw.simple();
          assert.equal(r.cookie, cookie);
          return { error: r.error, message: "" };
        }
        const c = await raw.chunk();
        assert.equal(c.cookie, cookie);
        assert.equal(c.flags, NBD_REPLY_FLAG_DONE);
        if (c.type !== NBD_REPLY_TYPE_ERROR) return { error: 0, message: "" };
        const v = new DataView(c.payload.buffer);
        const len = v.getUint16(4);
        return { error: v.getUint32(0), message: text(c.payload.subarray(6, 6 + len)) };
      };
      // Past the end: READ and TRIM get EINVAL, WRITE and WRITE_ZEROES ENOSPC.
      await raw.request(NBD_CMD_READ, SIZE - 512, 1024, 1);
      const past = await error(1);
      assert.equal(past.error, NBD_EINVAL);
      if (structured) assert.match(past.message, /past the end/);
      await raw.request(NBD_CMD_WRITE, SIZE, 512, 2, 0, new Uint8Array(512));
      assert.equal((await error(2)).error, NBD_ENOSPC);
      await raw.request(NBD_CMD_WRITE_ZEROES, SIZE - 512, 4096, 3);
      assert.equal((await error(3)).error, NBD_ENOSPC);
      await raw.request(NBD_CMD_TRIM, 2 ** 40, 512, 4);
      assert.equal((await error(4)).error, NBD_EINVAL);
      // Not aligned to the minimum block size.
      await raw.request(NBD_CMD_READ, 100, 512, 5);
      assert.equal((await error(5)).error, NBD_EINVAL);
      await raw.request(NBD_CMD_WRITE, 0, 100, 6, 0, new Uint8Array(100));
      assert.equal((await error(6)).error, NBD_EINVAL);
      // Unknown command, unknown flag, a flag that does not apply (FUA on READ).
      await raw.request(42, 0, 512, 7);
      assert.equal((await error(7)).error, NBD_EINVAL);
      await raw.request(NBD_CMD_WRITE, 0, 512, 8, 0x100, new Uint8Array(512));
      assert.equal((await error(8)).error, NBD_EINVAL);
      await raw.request(NBD_CMD_READ, 0, 512, 9, NBD_CMD_FLAG_FUA);
      assert.equal((await error(9)).error, NBD_EINVAL);
      // BLOCK_STATUS without a meta context.
      await raw.request(NBD_CMD_BLOCK_STATUS, 0, 512, 10);
      assert.equal((await error(10)).error, NBD_EINVAL);
      assert.equal(dev.calls.length, 0, "no bad request reached the device");
      // And the connection still works.
      await raw.request(NBD_CMD_READ, 1024, 512, 11);
      if (structured) {
        const c = await raw.chunk();
        assert.equal(c.type, NBD_REPLY_TYPE_OFFSET_DATA);
        assert.equal(c.flags, NBD_REPLY_FLAG_DONE);
        assert.equal(c.cookie, 11);
        assert.equal(Number(new DataView(c.payload.buffer).getBigUint64(0)), 1024);
        assert.deepEqual(c.payload.subarray(8), dev.mem.subarray(1024, 1536));
      } else {
        assert.deepEqual(await raw.simple(), { error: 0, cookie: 11 });
        assert.deepEqual(await raw.recv(512), dev.mem.subarray(1024, 1536));
      }
      raw.close();
    });
  });
}

Deno.test("`serveNbd()` maps negative device results to NBD errors; TRIM and WRITE_ZEROES fall back", async () => {
  await withServer(
    async ({ path, dev, server }) => {
      const raw = await Raw.open(path);
      await raw.go(false);
      const cases: [Call["op"], number, number][] = [
        ["read", -EIO, NBD_EIO],
        ["write", -ENOSPC, NBD_ENOSPC],
        ["write", -EROFS, NBD_EPERM],
        ["flush", -EIO, NBD_EIO],
        ["discard", -EIO, NBD_EIO],
        ["writeZeroes", -EIO, NBD_EIO],
      ];
      let cookie = 100;
      for (const [op, res, nbd] of cases) {
        dev.force[op] = res;
        cookie++;
        if (op === "read") await raw.request(NBD_CMD_READ, 0, 512, cookie);
        if (op === "write") {
          await raw.request(NBD_CMD_WRITE, 0, 512, cookie, 0, new Uint8Array(512));
        }
        if (op === "flush") await raw.request(NBD_CMD_FLUSH, 0, 0, cookie);
        if (op === "discard") await raw.request(NBD_CMD_TRIM, 0, 512, cookie);
        if (op === "writeZeroes") await raw.request(NBD_CMD_WRITE_ZEROES, 0, 512, cookie);
        assert.deepEqual(await raw.simple(), { error: nbd, cookie }, `${op} ${res}`);
        delete dev.force[op];
      }
      assert.equal(server.stats.errors, cases.length);
      // A device without discard: TRIM is a hint, it succeeds. Without write-zeroes: zero blocks.
      dev.force.discard = -EOPNOTSUPP;
      await raw.request(NBD_CMD_TRIM, 0, 4096, 200, NBD_CMD_FLAG_FUA);
      assert.deepEqual(await raw.simple(), { error: 0, cookie: 200 });
      assert.equal(dev.calls.at(-1)!.op, "flush", "TRIM with FUA flushes");
      dev.force.writeZeroes = -EOPNOTSUPP;
      const before = dev.calls.length;
      await raw.request(NBD_CMD_WRITE_ZEROES, 8192, 3 * 1024 * 1024 - 8192 * 2, 201);
      assert.deepEqual(await raw.simple(), { error: 0, cookie: 201 });
      assert.ok(dev.mem.subarray(8192, 3 * 1024 * 1024 - 8192).every((x) => x === 0));
      const writes = dev.calls.slice(before).filter((c) => c.op === "write");
      assert.ok(writes.length >= 3, `zeroes written in chunks (${writes.length})`);
      raw.close();
    },
    {},
    new RamDevice(4 * 1024 * 1024),
  );
});

Deno.test("`serveNbd()` serves requests concurrently and replies in completion order", async () => {
  await withServer(async ({ path, dev, server }) => {
    const raw = await Raw.open(path);
    await raw.go(false);
    const releaseA = dev.hold(0);
    const releaseB = dev.hold(4096);
    await raw.request(NBD_CMD_READ, 0, 512, 1);
    await raw.request(NBD_CMD_READ, 4096, 512, 2);
    await raw.request(NBD_CMD_WRITE, 8192, 512, 3, 0, new Uint8Array(512).fill(3));
    // The write, sent last, completes first; then B, then A.
    assert.deepEqual(await raw.simple(), { error: 0, cookie: 3 });
    releaseB();
    assert.deepEqual(await raw.simple(), { error: 0, cookie: 2 });
    assert.deepEqual(await raw.recv(512), dev.mem.subarray(4096, 4608));
    releaseA();
    assert.deepEqual(await raw.simple(), { error: 0, cookie: 1 });
    assert.deepEqual(await raw.recv(512), dev.mem.subarray(0, 512));
    assert.ok(dev.peak >= 3, `device saw ${dev.peak} requests at once`);
    assert.ok(server.stats.maxInflight >= 3);
    raw.close();
  });
});

Deno.test("`serveNbd()` keeps at most maxInflight requests per connection on the device", async () => {
  await withServer(async ({ path, dev }) => {
    const c = await NbdClient.connect({ path });
    const releases = [0, 1, 2, 3, 4, 5].map((i) => dev.hold(i * 4096));
    const reads = [0, 1, 2, 3, 4, 5].map((i) => c.read(i * 4096, new Uint8Array(4096)));
    await waitFor(() => dev.inflight === 2, "two requests on the device");
    await new Promise((r) => setTimeout(r, 50)); // room for a third one, which must not come
    assert.equal(dev.inflight, 2);
    assert.equal(dev.calls.length, 2);
    for (const r of releases) r();
    assert.deepEqual(await Promise.all(reads), Array(6).fill(4096));
    assert.equal(dev.peak, 2);
    await c.disconnect();
  }, { maxInflight: 2 });
});

Deno.test("`serveNbd()` closes only the connection that sent a malformed request", async () => {
  await withServer(async ({ path, dev, server, errors }) => {
    const good = await NbdClient.connect({ path });
    const raw = await Raw.open(path);
    await raw.go(true);
    const bad = new Uint8Array(28);
    new DataView(bad.buffer).setUint32(0, 0xdeadbeef);
    await raw.send(bad);
    assert.equal(await raw.eof(), true);
    raw.close();
    // A WRITE whose payload is over the hard limit cannot be skipped sensibly: closed too.
    const big = await Raw.open(path);
    await big.go(false);
    await big.request(NBD_CMD_WRITE, 0, 64 * 1024 * 1024, 1);
    assert.equal(await big.eof(), true);
    big.close();
    assert.equal(server.stats.protocolErrors, 2);
    assert.ok(errors.some((e) => /bad magic 0xdeadbeef/.test(e.message)));
    const buf = new Uint8Array(4096);
    assert.equal(await good.read(0, buf), 4096);
    assert.deepEqual(buf, dev.mem.subarray(0, 4096));
    await good.disconnect();
  });
});

Deno.test("`serveNbd()` answers requests in flight before DISC closes the connection", async () => {
  await withServer(async ({ path, dev }) => {
    const raw = await Raw.open(path);
    await raw.go(false);
    const release = dev.hold(0);
    await raw.request(NBD_CMD_WRITE, 0, 512, 5, 0, new Uint8Array(512).fill(0xee));
    await raw.request(NBD_CMD_DISC, 0, 0, 6);
    await waitFor(() => dev.inflight === 1, "the write on the device");
    release();
    assert.deepEqual(await raw.simple(), { error: 0, cookie: 5 });
    assert.equal(await raw.eof(), true);
    assert.equal(dev.mem[0], 0xee);
    raw.close();
  });
});

Deno.test("`NbdServer.close()` finishes requests in flight, then refuses new connections", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nbd_server_test_" });
  const path = `${dir}/nbd.sock`;
  const dev = new RamDevice();
  const server = serveNbd(dev, Deno.listen({ transport: "unix", path }));
  try {
    const c = await NbdClient.connect({ path });
    const idle = await Raw.open(path); // still negotiating: closed at once
    await idle.greet();
    const release = dev.hold(0);
    const read = c.read(0, new Uint8Array(4096));
    await waitFor(() => dev.inflight === 1, "the read on the device");
    const closing = server.close();
    assert.equal(await idle.eof(), true);
    idle.close();
    release();
    assert.equal(await read, 4096, "the request in flight was answered");
    await closing;
    assert.equal(server.stats.open, 0);
    await assert.rejects(Deno.connect({ transport: "unix", path }));
    await c.close();
    await server.close(); // twice is fine
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("`serveNbd()` serves many connections on one device and over TCP", async () => {
  const dev = new RamDevice(4 * 1024 * 1024);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const server = serveNbd(dev, listener);
  try {
    assert.equal(server.uri, `nbd://127.0.0.1:${port}`);
    const clients = await Promise.all(
      [0, 1, 2, 3].map(() => NbdClient.connect({ port, hostname: "127.0.0.1" })),
    );
    assert.ok(clients.every((c) => c.info.transmissionFlags & NBD_FLAG_CAN_MULTI_CONN));
    const MiB = 1024 * 1024;
    await Promise.all(clients.map(async (c, i) => {
      const data = new Uint8Array(MiB).fill(i + 1);
      for (let off = 0; off < MiB; off += 64 * KiB) {
        assert.equal(await c.write(i * MiB + off, data.subarray(off, off + 64 * KiB)), 64 * KiB);
      }
    }));
    assert.equal(await clients[0]!.flush(), 0);
    const back = new Uint8Array(MiB);
    for (let i = 0; i < 4; i++) {
      assert.equal(await clients[(i + 1) % 4]!.read(i * MiB, back), MiB);
      assert.ok(back.every((x) => x === i + 1), `region ${i}`);
    }
    assert.equal(server.stats.accepted, 4);
    await Promise.all(clients.map((c) => c.disconnect()));
  } finally {
    await server.close();
  }
});

Deno.test("`serveNbd()` offers base:allocation and answers BLOCK_STATUS with one data extent", async () => {
  await withServer(async ({ path }) => {
    const raw = await Raw.open(path);
    await raw.greet();
    await raw.option(NBD_OPT_STRUCTURED_REPLY);
    assert.equal((await raw.optionReply()).type, NBD_REP_ACK);
    const q = new TextEncoder().encode("base:allocation");
    const data = new Uint8Array(4 + 4 + 4 + q.length);
    const v = new DataView(data.buffer);
    v.setUint32(4, 1);
    v.setUint32(8, q.length);
    data.set(q, 12);
    await raw.option(NBD_OPT_SET_META_CONTEXT, data);
    const ctx = await raw.optionReply();
    assert.equal(ctx.type, NBD_REP_META_CONTEXT);
    const id = new DataView(ctx.data.buffer).getUint32(0);
    assert.equal(text(ctx.data.subarray(4)), "base:allocation");
    assert.equal((await raw.optionReply()).type, NBD_REP_ACK);
    await raw.option(NBD_OPT_GO, infoRequest("", []));
    while ((await raw.optionReply()).type !== NBD_REP_ACK) { /* infos */ }
    await raw.request(NBD_CMD_BLOCK_STATUS, SIZE - 65536, 65536, 3);
    const c = await raw.chunk();
    assert.equal(c.type, NBD_REPLY_TYPE_BLOCK_STATUS);
    assert.equal(c.flags, NBD_REPLY_FLAG_DONE);
    assert.equal(c.cookie, 3);
    const pv = new DataView(c.payload.buffer);
    assert.deepEqual([pv.getUint32(0), pv.getUint32(4), pv.getUint32(8)], [id, 65536, 0]);
    // Past the end: EINVAL, as an error chunk.
    await raw.request(NBD_CMD_BLOCK_STATUS, SIZE - 4096, 8192, 4);
    const e = await raw.chunk();
    assert.equal(e.type, NBD_REPLY_TYPE_ERROR);
    assert.equal(new DataView(e.payload.buffer).getUint32(0), NBD_EINVAL);
    raw.close();
  });
});

Deno.test("`serveNbd()` drops a client that does not finish the handshake in time", async () => {
  await withServer(async ({ path, errors }) => {
    const raw = await Raw.open(path);
    await raw.greet();
    assert.equal(await raw.eof(), true);
    assert.ok(errors.some((e) => /Handshake not finished/.test(e.message)));
    raw.close();
  }, { handshakeTimeoutMs: 50 });
});

Deno.test("`serveNbd()` rejects a maxPayload that is not a multiple of the block size", () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    assert.throws(() => serveNbd(new RamDevice(), l, { maxPayload: 1000 }), RangeError);
    assert.throws(() => serveNbd(new RamDevice(), l, { maxInflight: 0 }), RangeError);
  } finally {
    l.close();
  }
});
