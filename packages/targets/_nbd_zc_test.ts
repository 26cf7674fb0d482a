import assert from "node:assert/strict";
import type { FusedIo, TargetIoCtx } from "@ublk-ts/ublk";
import { EIO, IORING_OP_RECV, IORING_OP_SEND, IORING_OP_SEND_ZC } from "@ublk-ts/uapi";
import { NBD_SOCKET_FIXED_INDEX, NbdZeroCopy, type ZcConn } from "./_nbd_zc.ts";
import {
  NBD_CMD_DISC,
  NBD_CMD_READ,
  NBD_CMD_WRITE,
  NBD_REPLY_FLAG_DONE,
  NBD_REPLY_TYPE_ERROR,
  NBD_REPLY_TYPE_NONE,
  NBD_REPLY_TYPE_OFFSET_DATA,
  NBD_REPLY_TYPE_OFFSET_HOLE,
  NBD_REQUEST_MAGIC,
  NBD_SIMPLE_REPLY_MAGIC,
  NBD_STRUCTURED_REPLY_MAGIC,
} from "@ublk-ts/nbd";

/** An in-memory connection: what the client sends is recorded; replies are pushed by the test. */
class FakeConn implements ZcConn {
  close?: () => void;
  closeWrite?: () => Promise<void>;
  sent: number[] = [];
  #in: number[] = [];
  #eof = false;
  #wake: (() => void) | null = null;
  push(bytes: Uint8Array): void {
    this.#in.push(...bytes);
    this.#wake?.();
  }
  end(): void {
    this.#eof = true;
    this.#wake?.();
  }
  async take(p: Uint8Array): Promise<number | null> {
    while (this.#in.length === 0) {
      if (this.#eof) return null;
      await new Promise<void>((r) => this.#wake = r);
      this.#wake = null;
    }
    const n = Math.min(p.length, this.#in.length, 7); // short reads on purpose
    for (let i = 0; i < n; i++) p[i] = this.#in.shift()!;
    return n;
  }
  read(p: Uint8Array): Promise<number | null> {
    return this.take(p);
  }
  async write(p: Uint8Array): Promise<number> {
    await Promise.resolve();
    const n = Math.min(p.length, 5); // short writes on purpose
    this.sent.push(...p.subarray(0, n));
    return n;
  }
}

/** A tag context whose fused SEND/RECV move request-page bytes over the fake connection. */
function ctxOf(conn: FakeConn, tag: number, request: Uint8Array, seen: FusedIo[]): TargetIoCtx {
  return {
    qid: 0,
    tag,
    buf: new Uint8Array(0),
    zeroCopy: true,
    dataMode: "fused",
    bufAddr: 0,
    dev: {
      devId: 0,
      nrHwQueues: 1,
      queueDepth: 8,
      maxIoBufBytes: 65536,
      flags: 1n,
      zeroCopy: true,
    },
    submit: () => Promise.resolve(-22),
    async fused(io: FusedIo): Promise<number> {
      seen.push({ ...io });
      const view = request.subarray(io.bufOff ?? 0, (io.bufOff ?? 0) + (io.len ?? 0));
      if (io.opcode === IORING_OP_RECV) {
        let got = 0;
        while (got < view.length) {
          const n = await conn.take(view.subarray(got));
          if (n === null) return got;
          got += n;
        }
        return got;
      }
      await Promise.resolve();
      conn.sent.push(...view);
      return view.length;
    },
  };
}

function reply(cookie: number, error = 0): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setUint32(0, NBD_SIMPLE_REPLY_MAGIC);
  v.setUint32(4, error);
  v.setUint32(12, cookie);
  return b;
}

/** Splits the sent stream into requests (header fields + WRITE payload). */
function parseSent(
  bytes: number[],
): { type: number; cookie: number; off: number; len: number; data: number[] }[] {
  const out = [];
  const b = new Uint8Array(bytes);
  const v = new DataView(b.buffer);
  let i = 0;
  while (i < b.length) {
    assert.equal(v.getUint32(i), NBD_REQUEST_MAGIC, `request magic at ${i}`);
    const type = v.getUint16(i + 6);
    const cookie = v.getUint32(i + 12);
    const off = v.getUint32(i + 20);
    const len = v.getUint32(i + 24);
    i += 28;
    const data = type === NBD_CMD_WRITE ? [...b.subarray(i, i + len)] : [];
    if (type === NBD_CMD_WRITE) i += len;
    out.push({ type, cookie, off, len, data });
  }
  return out;
}

Deno.test("`NbdZeroCopy` keeps each WRITE's header and payload adjacent on the stream", async () => {
  const conn = new FakeConn();
  const zc = new NbdZeroCopy(conn, false);
  zc.start();
  const seen: FusedIo[] = [];
  const a = new Uint8Array(100).fill(0xaa);
  const b = new Uint8Array(60).fill(0xbb);
  const pa = zc.request(ctxOf(conn, 1, a, seen), NBD_CMD_WRITE, 0, 4096, 100);
  const pb = zc.request(ctxOf(conn, 2, b, seen), NBD_CMD_WRITE, 0, 8192, 60);
  await new Promise((r) => setTimeout(r, 10));
  const reqs = parseSent(conn.sent);
  assert.deepEqual(reqs.map((r) => [r.type, r.cookie, r.off, r.len]), [
    [NBD_CMD_WRITE, 1, 4096, 100],
    [NBD_CMD_WRITE, 2, 8192, 60],
  ]);
  assert.ok(reqs[0]!.data.every((x) => x === 0xaa));
  assert.ok(reqs[1]!.data.every((x) => x === 0xbb));
  assert.deepEqual(seen.map((s) => [s.opcode, s.fd, s.bufOff, s.len, s.off]), [
    [IORING_OP_SEND, NBD_SOCKET_FIXED_INDEX, 0, 100, 0],
    [IORING_OP_SEND, NBD_SOCKET_FIXED_INDEX, 0, 60, 0],
  ]);
  conn.push(reply(2));
  conn.push(reply(1));
  assert.deepEqual(await Promise.all([pa, pb]), [100, 60]);
  conn.end();
  await zc.finished;
});

Deno.test("`NbdZeroCopy` receives READ payloads into the request pages in reply order", async () => {
  const conn = new FakeConn();
  const zc = new NbdZeroCopy(conn, true);
  zc.start();
  const seen: FusedIo[] = [];
  const r1 = new Uint8Array(32);
  const r2 = new Uint8Array(16);
  const p1 = zc.request(ctxOf(conn, 3, r1, seen), NBD_CMD_READ, 0, 0, 32);
  const p2 = zc.request(ctxOf(conn, 4, r2, seen), NBD_CMD_READ, 0, 512, 16);
  conn.push(reply(4));
  conn.push(new Uint8Array(16).fill(4));
  conn.push(reply(3));
  conn.push(new Uint8Array(32).fill(3));
  assert.deepEqual(await Promise.all([p1, p2]), [32, 16]);
  assert.ok(r1.every((x) => x === 3));
  assert.ok(r2.every((x) => x === 4));
  assert.ok(seen.every((s) => s.opcode === IORING_OP_RECV && s.opFlags === 0x100 && s.off === 0));
  // sendZc picks SEND_ZC for payloads.
  const w = zc.request(ctxOf(conn, 5, new Uint8Array(8), seen), NBD_CMD_WRITE, 0, 0, 8);
  await new Promise((r) => setTimeout(r, 10)); // the server replies after the payload arrived
  conn.push(reply(5));
  assert.equal(await w, 8);
  assert.equal(seen.at(-1)!.opcode, IORING_OP_SEND_ZC);
  conn.end();
  await zc.finished;
});

Deno.test("`NbdZeroCopy` maps NBD errors to negative errno", async () => {
  const conn = new FakeConn();
  const zc = new NbdZeroCopy(conn, false);
  zc.start();
  const p = zc.request(ctxOf(conn, 1, new Uint8Array(8), []), NBD_CMD_READ, 0, 0, 8);
  conn.push(reply(1, 28));
  assert.equal(await p, -28);
  conn.end();
  await zc.finished;
});

Deno.test("`NbdZeroCopy` fails everything with -EIO when the server goes away", async () => {
  const conn = new FakeConn();
  const zc = new NbdZeroCopy(conn, false);
  zc.start();
  const p1 = zc.request(ctxOf(conn, 1, new Uint8Array(8), []), NBD_CMD_READ, 0, 0, 8);
  const p2 = zc.request(ctxOf(conn, 2, new Uint8Array(8), []), NBD_CMD_READ, 0, 8, 8);
  conn.end();
  assert.deepEqual(await Promise.all([p1, p2]), [-5, -5]);
  assert.equal(zc.alive, false);
  assert.equal(await zc.request(ctxOf(conn, 1, new Uint8Array(8), []), NBD_CMD_READ, 0, 0, 8), -5);
});

Deno.test("`NbdZeroCopy` treats an unknown cookie as a broken stream", async () => {
  const conn = new FakeConn();
  const zc = new NbdZeroCopy(conn, false);
  zc.start();
  const p = zc.request(ctxOf(conn, 1, new Uint8Array(8), []), NBD_CMD_READ, 0, 0, 8);
  conn.push(reply(77));
  assert.equal(await p, -5);
  await zc.finished;
});

Deno.test("`NbdZeroCopy` fails a request the server never answers with -EIO after its timeout and closes the connection", async () => {
  const conn = new FakeConn();
  let closed = false;
  conn.close = () => {
    closed = true;
    conn.end();
  };
  const zc = new NbdZeroCopy(conn, false, 150);
  zc.start();
  const seen: FusedIo[] = [];
  const page = new Uint8Array(4096);
  const t0 = performance.now();
  const a = zc.request(ctxOf(conn, 1, page, seen), NBD_CMD_READ, 0, 0, 4096);
  const b = zc.request(ctxOf(conn, 2, page, seen), NBD_CMD_WRITE, 0, 4096, 4096);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<string>((r) => timer = setTimeout(() => r("hung"), 5000));
  const got = await Promise.race([Promise.all([a, b]), hung]);
  clearTimeout(timer);
  assert.deepEqual(got, [-5, -5]);
  assert.ok(performance.now() - t0 >= 140, "timed out early");
  assert.equal(zc.timedOut, true);
  assert.equal(closed, true);
  assert.equal(zc.alive, false);
  await zc.finished;
});

Deno.test("`NbdZeroCopy` fails a READ whose server sent fewer payload bytes than asked and carried on (never a success with wrong contents)", async () => {
  const conn = new FakeConn();
  const zc = new NbdZeroCopy(conn, false);
  zc.start();
  const r1 = new Uint8Array(16);
  const r2 = new Uint8Array(16);
  const p1 = zc.request(ctxOf(conn, 1, r1, []), NBD_CMD_READ, 0, 0, 16);
  const p2 = zc.request(ctxOf(conn, 2, r2, []), NBD_CMD_READ, 0, 512, 16);
  // 8 payload bytes instead of 16, then the next reply as if nothing happened: the first READ's
  // receive takes the first half of reply(2)'s header.
  conn.push(reply(1));
  conn.push(new Uint8Array(8).fill(1));
  conn.push(reply(2));
  conn.push(new Uint8Array(16).fill(2));
  assert.deepEqual(await Promise.all([p1, p2]), [-5, -5]);
  assert.equal(zc.alive, false);
  await zc.finished;
});

Deno.test("`NbdZeroCopy` completes a READ answered while others are in flight once the next reply confirms the stream", async () => {
  const conn = new FakeConn();
  const zc = new NbdZeroCopy(conn, false);
  zc.start();
  const r1 = new Uint8Array(16);
  const r2 = new Uint8Array(16);
  const p1 = zc.request(ctxOf(conn, 1, r1, []), NBD_CMD_READ, 0, 0, 16);
  const p2 = zc.request(ctxOf(conn, 2, r2, []), NBD_CMD_READ, 0, 512, 16);
  let first = 0;
  p1.then(() => first ||= 1);
  p2.then(() => first ||= 2);
  conn.push(reply(1));
  conn.push(new Uint8Array(16).fill(1));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(first, 0, "the READ waits for the next reply header");
  conn.push(reply(2));
  conn.push(new Uint8Array(16).fill(2));
  assert.deepEqual(await Promise.all([p1, p2]), [16, 16]);
  assert.ok(r1.every((x) => x === 1) && r2.every((x) => x === 2));
  conn.end();
  await zc.finished;
});

Deno.test("`NbdZeroCopy` completes a full READ once the next reply header (a WRITE's) checks out", async () => {
  const conn = new FakeConn();
  const zc = new NbdZeroCopy(conn, false, 0);
  zc.start();
  const r1 = new Uint8Array(16);
  const r2 = new Uint8Array(8);
  const p1 = zc.request(ctxOf(conn, 1, r1, []), NBD_CMD_READ, 0, 0, 16);
  const p2 = zc.request(ctxOf(conn, 2, r2, []), NBD_CMD_WRITE, 0, 16, 8);
  conn.push(reply(1));
  conn.push(new Uint8Array(16).fill(0xaa));
  conn.push(reply(2));
  assert.deepEqual(await Promise.all([p1, p2]), [16, 8]);
  assert.ok(r1.every((x) => x === 0xaa));
  conn.end();
  await zc.finished;
});

Deno.test("`NbdZeroCopy.disconnect` resolves only once the server closed: a WRITE it still held cannot land later", async () => {
  // A server that has a whole WRITE queued (behind replies nobody read, after the server of the
  // device died) and carries it out when it reads on, then sees EOF and closes. Whatever it
  // does with that WRITE must be over when disconnect() resolves: a recovered server writes
  // the same sectors again over another connection right after, and a late copy of the old
  // WRITE would overwrite that.
  const conn = new FakeConn();
  const events: string[] = [];
  const server = (what: string) => () => {
    events.push(what);
    Promise.resolve().then(() => {
      events.push("server carried out the WRITE and closed");
      conn.push(reply(1));
      conn.end();
    });
  };
  conn.closeWrite = () => (server("client shut its sending side")(), Promise.resolve());
  conn.close = server("client closed");
  const zc = new NbdZeroCopy(conn, false, 0);
  zc.start();
  const w = zc.request(ctxOf(conn, 1, new Uint8Array(64).fill(7), []), NBD_CMD_WRITE, 0, 0, 64);
  await zc.disconnect();
  events.push("disconnect resolved");
  assert.equal(await w, -EIO, "the unanswered WRITE fails");
  assert.deepEqual(events, [
    "client shut its sending side",
    "server carried out the WRITE and closed",
    "disconnect resolved",
  ]);
  assert.deepEqual(parseSent(conn.sent).map((r) => r.type), [NBD_CMD_WRITE, NBD_CMD_DISC]);
  await zc.finished;
});

Deno.test("`NbdZeroCopy.disconnect` gives up on a server that never closes, after its drain time", async () => {
  const conn = new FakeConn();
  let closed = false;
  conn.close = () => {
    closed = true;
    conn.end(); // a closed connection ends its reads
  };
  const zc = new NbdZeroCopy(conn, false, 0);
  zc.start();
  await zc.disconnect(1000, 1);
  assert.ok(closed, "the connection is closed at the end of the drain time");
  await zc.finished;
});

Deno.test("`NbdZeroCopy` sends no WRITE payload once dead (the server never gets a whole WRITE from a dying connection)", async () => {
  // The header write waits (a full socket) while the connection dies under it.
  let release = (): void => {};
  const gate = new Promise<void>((r) => release = r);
  const conn = new (class extends FakeConn {
    override async write(p: Uint8Array): Promise<number> {
      await gate;
      return await super.write(p);
    }
  })();
  const zc = new NbdZeroCopy(conn, false, 0);
  zc.start();
  const seen: FusedIo[] = [];
  const w = zc.request(ctxOf(conn, 1, new Uint8Array(64), seen), NBD_CMD_WRITE, 0, 0, 64);
  conn.end(); // the server goes away: the reply loop fails everything
  assert.equal(await w, -EIO);
  await zc.finished;
  release();
  await zc.disconnect(1000, 1);
  // The header goes out 5 bytes per write, a microtask each; then #send decides on the payload.
  for (let i = 0; i < 1000 && conn.sent.length < 28; i++) await Promise.resolve();
  for (let i = 0; i < 10; i++) await Promise.resolve();
  assert.deepEqual(seen, [], "a fused SEND after the death");
  assert.deepEqual(parseSent(conn.sent).map((r) => r.type), [NBD_CMD_WRITE], "the header only");
});

/** A structured reply chunk: header, then `payload` (the caller adds data bytes after it). */
function chunk(
  cookie: number,
  type: number,
  flags: number,
  payload: Uint8Array,
  extra = 0,
): Uint8Array {
  const b = new Uint8Array(20 + payload.length);
  const v = new DataView(b.buffer);
  v.setUint32(0, NBD_STRUCTURED_REPLY_MAGIC);
  v.setUint16(4, flags);
  v.setUint16(6, type);
  v.setUint32(12, cookie);
  v.setUint32(16, payload.length + extra);
  b.set(payload, 20);
  return b;
}

/** An OFFSET_DATA chunk header plus its u64 offset, announcing `len` data bytes. */
function dataChunk(cookie: number, offset: number, len: number, flags: number): Uint8Array {
  const off = new Uint8Array(8);
  new DataView(off.buffer).setUint32(4, offset);
  return chunk(cookie, NBD_REPLY_TYPE_OFFSET_DATA, flags, off, len);
}

const DONE = NBD_REPLY_FLAG_DONE;

Deno.test("`NbdZeroCopy` with structured replies places OFFSET_DATA chunks in the request pages and completes at DONE", async () => {
  const conn = new FakeConn();
  const zc = new NbdZeroCopy(conn, false, 0, true);
  zc.start();
  const seen: FusedIo[] = [];
  const page = new Uint8Array(32);
  const r = zc.request(ctxOf(conn, 1, page, seen), NBD_CMD_READ, 0, 4096, 32);
  // The second half first, then the first half, then an empty NONE chunk with DONE.
  conn.push(dataChunk(1, 4096 + 16, 16, 0));
  conn.push(new Uint8Array(16).fill(2));
  conn.push(dataChunk(1, 4096, 16, 0));
  conn.push(new Uint8Array(16).fill(1));
  conn.push(chunk(1, NBD_REPLY_TYPE_NONE, DONE, new Uint8Array(0)));
  assert.equal(await r, 32);
  assert.deepEqual([...page], [...new Uint8Array(16).fill(1), ...new Uint8Array(16).fill(2)]);
  assert.deepEqual(seen.map((s) => [s.bufOff, s.len]), [[16, 16], [0, 16]]);
  // A WRITE answered with a NONE chunk, and an error chunk for the next READ.
  const w = zc.request(ctxOf(conn, 2, new Uint8Array(8), seen), NBD_CMD_WRITE, 0, 0, 8);
  await new Promise((res) => setTimeout(res, 10)); // the server replies after the payload
  conn.push(chunk(2, NBD_REPLY_TYPE_NONE, DONE, new Uint8Array(0)));
  assert.equal(await w, 8);
  const e = zc.request(ctxOf(conn, 3, new Uint8Array(8), seen), NBD_CMD_READ, 0, 0, 8);
  const err = new Uint8Array(6 + 3);
  new DataView(err.buffer).setUint32(0, 28); // NBD_ENOSPC
  new DataView(err.buffer).setUint16(4, 3);
  conn.push(chunk(3, NBD_REPLY_TYPE_ERROR, DONE, err));
  assert.equal(await e, -28);
  assert.equal(zc.alive, true, "an error chunk leaves the stream in step");
  conn.end();
  await zc.finished;
});

Deno.test("`NbdZeroCopy` structured: a chunk without DONE, then silence, fails -EIO at the timeout", async () => {
  const conn = new FakeConn();
  conn.close = () => conn.end();
  const zc = new NbdZeroCopy(conn, false, 150, true);
  zc.start();
  const page = new Uint8Array(32);
  const r = zc.request(ctxOf(conn, 1, page, []), NBD_CMD_READ, 0, 0, 32);
  conn.push(dataChunk(1, 0, 32, 0)); // all the data, but no DONE
  conn.push(new Uint8Array(32).fill(9));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<string>((res) => timer = setTimeout(() => res("hung"), 5000));
  const got = await Promise.race([r, hung]);
  clearTimeout(timer);
  assert.equal(got, -EIO);
  assert.equal(zc.timedOut, true);
  await zc.finished;
});

Deno.test("`NbdZeroCopy` structured: a short OFFSET_DATA payload, the server carrying on, is -EIO (never success with wrong data)", async () => {
  const conn = new FakeConn();
  const zc = new NbdZeroCopy(conn, false, 0, true);
  zc.start();
  const a = zc.request(ctxOf(conn, 1, new Uint8Array(32), []), NBD_CMD_READ, 0, 0, 32);
  const b = zc.request(ctxOf(conn, 2, new Uint8Array(8), []), NBD_CMD_READ, 0, 512, 8);
  // 32 bytes announced, 16 sent; then the reply to the other READ.
  conn.push(dataChunk(1, 0, 32, DONE));
  conn.push(new Uint8Array(16).fill(1));
  conn.push(dataChunk(2, 512, 8, DONE));
  conn.push(new Uint8Array(8).fill(2));
  assert.deepEqual(await Promise.all([a, b]), [-EIO, -EIO]);
  assert.equal(zc.alive, false);
});

Deno.test("`NbdZeroCopy` structured: DONE without covering the READ, data outside it, or a hole fail -EIO", async () => {
  // DONE with half the range covered: that READ fails, the stream stays in step.
  {
    const conn = new FakeConn();
    const zc = new NbdZeroCopy(conn, false, 0, true);
    zc.start();
    const r = zc.request(ctxOf(conn, 1, new Uint8Array(32), []), NBD_CMD_READ, 0, 0, 32);
    conn.push(dataChunk(1, 0, 16, DONE));
    conn.push(new Uint8Array(16));
    assert.equal(await r, -EIO);
    assert.equal(zc.alive, true);
    // An OFFSET_HOLE (not fillable into pages only fused commands reach): -EIO too.
    const h = zc.request(ctxOf(conn, 2, new Uint8Array(32), []), NBD_CMD_READ, 0, 0, 32);
    const hole = new Uint8Array(12);
    new DataView(hole.buffer).setUint32(8, 32);
    conn.push(chunk(2, NBD_REPLY_TYPE_OFFSET_HOLE, DONE, hole));
    assert.equal(await h, -EIO);
    conn.end();
    await zc.finished;
  }
  // Data beyond the request: the stream cannot be trusted, everything fails.
  {
    const conn = new FakeConn();
    const zc = new NbdZeroCopy(conn, false, 0, true);
    zc.start();
    const r = zc.request(ctxOf(conn, 1, new Uint8Array(32), []), NBD_CMD_READ, 0, 0, 32);
    conn.push(dataChunk(1, 16, 32, DONE));
    conn.push(new Uint8Array(32));
    assert.equal(await r, -EIO);
    assert.equal(zc.alive, false);
  }
  // Without structured replies negotiated, a chunk is garbage.
  {
    const conn = new FakeConn();
    const zc = new NbdZeroCopy(conn, false, 0, false);
    zc.start();
    const r = zc.request(ctxOf(conn, 1, new Uint8Array(8), []), NBD_CMD_READ, 0, 0, 8);
    conn.push(dataChunk(1, 0, 8, DONE));
    conn.push(new Uint8Array(8));
    assert.equal(await r, -EIO);
    assert.equal(zc.alive, false);
  }
});

Deno.test("`NbdZeroCopy` with `drainOnDeath` drains a timed-out connection instead of closing it, and names the socket as told", async () => {
  const conn = new FakeConn();
  const events: string[] = [];
  conn.closeWrite = () => (events.push("closeWrite"), Promise.resolve());
  conn.close = () => {
    events.push("close");
    conn.end();
  };
  const zc = new NbdZeroCopy(conn, false, 150, false, { fd: 9, fixed: false, drainOnDeath: true });
  zc.start();
  const seen: FusedIo[] = [];
  const w = zc.request(ctxOf(conn, 1, new Uint8Array(16).fill(5), seen), NBD_CMD_WRITE, 0, 0, 16);
  assert.equal(await w, -EIO);
  assert.equal(zc.timedOut, true);
  assert.deepEqual(seen.map((s) => [s.opcode, s.fd, s.fixed]), [[IORING_OP_SEND, 9, false]]);
  assert.deepEqual(events, ["closeWrite"], "the sending side is shut, the connection open");
  // The server answers late (the reply is read and dropped), then closes: the drain is over.
  let over = false;
  const d = zc.disconnect().then(() => over = true);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(over, false, "disconnect waits for the server to close");
  conn.push(reply(1));
  conn.end();
  await d;
  assert.deepEqual(events, ["closeWrite"], "closed by the server, not at the drain time");
  assert.deepEqual(parseSent(conn.sent).map((r) => r.type), [NBD_CMD_WRITE], "no DISC when dead");
  await zc.finished;
});

Deno.test("`NbdZeroCopy` with `drainOnDeath` closes a dead connection whose server never closes after the drain time", async () => {
  const conn = new FakeConn();
  let closedAt = 0;
  conn.close = () => {
    closedAt = performance.now();
    conn.end();
  };
  const zc = new NbdZeroCopy(conn, false, 100, false, { drainOnDeath: true });
  zc.start();
  const t0 = performance.now();
  const r = zc.request(ctxOf(conn, 1, new Uint8Array(8), []), NBD_CMD_READ, 0, 0, 8);
  assert.equal(await r, -EIO);
  await zc.disconnect();
  assert.ok(closedAt > 0, "closed at the end of the drain time");
  assert.ok(closedAt - t0 >= 180, `closed ${closedAt - t0} ms after the request`);
  await zc.finished;
});
