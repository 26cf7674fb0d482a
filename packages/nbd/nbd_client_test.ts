import assert from "node:assert/strict";
import { NbdClient } from "./nbd_client.ts";
import { NbdError } from "./nbd_error.ts";
import { ErrnoError } from "@ublk-ts/uapi";
import {
  NBD_CMD_READ,
  NBD_CMD_WRITE,
  NBD_FLAG_HAS_FLAGS,
  NBD_FLAG_READ_ONLY,
} from "./nbd_proto.ts";
import { type FakeServerOptions, startFakeServer } from "@ublk-ts/testing";

async function withServer(
  opts: FakeServerOptions & {
    structuredReplies?: boolean;
    maxRequestBytes?: number;
    name?: string;
  },
  fn: (c: NbdClient, srv: ReturnType<typeof startFakeServer>) => Promise<void>,
): Promise<void> {
  const srv = startFakeServer(opts);
  try {
    const c = await NbdClient.connect({
      port: srv.port,
      exportName: opts.name ?? opts.exportName ?? "",
      structuredReplies: opts.structuredReplies ?? true,
      ...(opts.maxRequestBytes ? { maxRequestBytes: opts.maxRequestBytes } : {}),
    });
    try {
      await fn(c, srv);
    } finally {
      await c.close();
    }
  } finally {
    await srv.close();
  }
}

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 255;
  return b;
}

for (const structured of [true, false]) {
  const mode = structured ? "structured" : "simple";

  Deno.test(`\`NbdClient.connect()\` negotiates GO (${mode} replies)`, async () => {
    await withServer({ structured, blockSize: [512, 4096, 65536] }, (c) => {
      assert.equal(c.info.usedGo, true);
      assert.equal(c.info.structuredReplies, structured);
      assert.equal(c.info.size, 1n << 20n);
      assert.equal(c.info.minBlock, 512);
      assert.equal(c.info.maxPayload, 65536);
      assert.equal(c.maxRequestBytes, 65536);
      return Promise.resolve();
    });
  });

  Deno.test(`\`NbdClient\` keeps many requests in flight, replies out of order (${mode})`, async () => {
    await withServer({ structured, batch: 32 }, async (c, srv) => {
      const writes = [];
      for (let i = 0; i < 64; i++) writes.push(c.write(i * 8192, pattern(8192, i)));
      assert.deepEqual(await Promise.all(writes), new Array(64).fill(8192));
      assert.ok(srv.maxQueued > 8, `server saw at most ${srv.maxQueued} queued`);
      const bufs = Array.from({ length: 128 }, () => new Uint8Array(4096).fill(0xaa));
      const reads = bufs.map((b, i) => c.read(i * 4096, b, i));
      assert.deepEqual(await Promise.all(reads), new Array(128).fill(4096));
      for (let i = 0; i < 128; i++) {
        const expect = i < 128
          ? pattern(8192, i >> 1).subarray((i & 1) * 4096, (i & 1) * 4096 + 4096)
          : null;
        assert.deepEqual(bufs[i], expect, `block ${i}`);
      }
      // Cookies carry the tag in the high half.
      const rq = srv.requests.filter((r) => r.type === NBD_CMD_READ);
      assert.ok(rq.some((r) => r.cookie === (5n << 32n) && r.offset === 5 * 4096));
    });
  });

  Deno.test(`\`NbdClient.read()\` zero-fills holes and reads across them (${mode})`, async () => {
    await withServer({ structured }, async (c, srv) => {
      srv.mem.set(pattern(1000, 3), 5000);
      const b = new Uint8Array(16384).fill(0xff);
      assert.equal(await c.read(0, b), 16384);
      assert.deepEqual(b, srv.mem.subarray(0, 16384));
    });
  });

  Deno.test(`\`NbdClient\` splits large I/O at the maximum payload (${mode})`, async () => {
    await withServer({ structured, blockSize: [512, 4096, 8192] }, async (c, srv) => {
      const data = pattern(40960 + 512, 9);
      assert.equal(await c.write(1024, data, { tag: 7 }), data.length);
      const w = srv.requests.filter((r) => r.type === NBD_CMD_WRITE);
      assert.deepEqual(w.map((r) => r.length), [8192, 8192, 8192, 8192, 8192, 512]);
      assert.deepEqual(
        w.map((r) => r.cookie),
        [0n, 1n, 2n, 3n, 4n, 5n].map((k) => (7n << 32n) | k),
      );
      assert.deepEqual(w.map((r) => r.offset), [0, 1, 2, 3, 4, 5].map((k) => 1024 + k * 8192));
      const back = new Uint8Array(data.length);
      assert.equal(await c.read(1024, back), back.length);
      assert.deepEqual(back, data);
    });
  });

  Deno.test(`\`NbdClient.readv()\` and \`writev()\` move segment lists (${mode})`, async () => {
    await withServer({ structured, maxRequestBytes: 4096 }, async (c, srv) => {
      const segs = [pattern(1000, 1), pattern(5000, 2), pattern(2192, 3)];
      assert.equal(await c.writev(4096, segs), 8192);
      const flat = new Uint8Array(8192);
      flat.set(segs[0]!, 0);
      flat.set(segs[1]!, 1000);
      flat.set(segs[2]!, 6000);
      assert.deepEqual(srv.mem.subarray(4096, 4096 + 8192), flat);
      const dst = [new Uint8Array(3000), new Uint8Array(10), new Uint8Array(5182)];
      assert.equal(await c.readv(4096, dst), 8192);
      const got = new Uint8Array(8192);
      got.set(dst[0]!, 0);
      got.set(dst[1]!, 3000);
      got.set(dst[2]!, 3010);
      assert.deepEqual(got, flat);
    });
  });

  Deno.test(`\`NbdClient\` maps server errors to negative errno (${mode})`, async () => {
    await withServer({
      structured,
      onRequest: (r) =>
        r.offset === 0 ? { error: 28 } : r.offset === 4096 ? { error: 9999 } : undefined,
    }, async (c) => {
      assert.equal(await c.write(0, new Uint8Array(512)), -28);
      assert.equal(await c.read(0, new Uint8Array(512)), -28);
      assert.equal(await c.read(4096, new Uint8Array(512)), -5);
      assert.equal(await c.read(8192, new Uint8Array(512)), 512);
      assert.equal(c.alive, true);
    });
  });

  for (const bad of ["garbage", "unknown-cookie", "close", "truncate"] as const) {
    Deno.test(`\`NbdClient\` fails all in flight with -EIO on ${bad} (${mode})`, async () => {
      await withServer({
        structured,
        batch: 8,
        onRequest: (r) => (r.offset === 3 * 4096 ? bad : undefined),
      }, async (c) => {
        const ps = [];
        for (let i = 0; i < 8; i++) ps.push(c.read(i * 4096, new Uint8Array(4096)));
        const res = await Promise.all(ps);
        assert.ok(res.includes(-5), `results ${res}`);
        // Requests answered before the bad reply may have succeeded; none may hang.
        assert.ok(res.every((x) => x === -5 || x === 4096));
        assert.equal(res.filter((x) => x === -5).length >= 1, true);
        assert.equal(c.alive, false);
        assert.equal(await c.read(0, new Uint8Array(512)), -5);
        assert.equal(await c.write(0, new Uint8Array(512)), -5);
      });
    });
  }
}

Deno.test("`NbdClient` fails a structured READ whose chunks do not cover it", async () => {
  await withServer(
    { onRequest: (r) => (r.offset === 0 ? "no-data-done" : undefined) },
    async (c) => {
      assert.equal(await c.read(0, new Uint8Array(512)), -5);
      assert.equal(c.alive, true);
      assert.equal(await c.read(512, new Uint8Array(512)), 512);
    },
  );
});

Deno.test("`NbdClient.connect()` falls back to EXPORT_NAME without GO", async () => {
  await withServer({ go: false, exportName: "disk" }, async (c) => {
    assert.equal(c.info.usedGo, false);
    assert.equal(c.info.structuredReplies, true);
    assert.equal(await c.write(0, pattern(4096, 1)), 4096);
  });
  await withServer({ greeting: "not-fixed" }, async (c) => {
    assert.equal(c.info.usedGo, false);
    assert.equal(c.info.structuredReplies, false);
    const b = new Uint8Array(512);
    assert.equal(await c.read(0, b), 512);
  });
});

Deno.test("`NbdClient.connect()` reports refusals, oldstyle and garbage servers", async () => {
  const cases: Array<[FakeServerOptions, string, RegExp]> = [
    [{ exportName: "a" }, "b", /Export "b" is unknown: NBD_REP_ERR_UNKNOWN \(no export b\)/],
    [{ exportName: "a", go: false }, "b", /Server refused export "b"/],
    [{ greeting: "oldstyle" }, "", /Oldstyle protocol is no longer supported/],
    [{ greeting: "garbage" }, "", /Not an NBD server: bad newstyle magic 0x1122334455667788/],
  ];
  for (const [opts, name, re] of cases) {
    const srv = startFakeServer(opts);
    try {
      const e = await NbdClient.connect({ port: srv.port, exportName: name }).then(
        () => null,
        (e) => e,
      );
      assert.ok(e instanceof NbdError, String(e));
      assert.match(e.message, re);
      if (re.source.includes("UNKNOWN")) {
        assert.equal(e.replyName, "NBD_REP_ERR_UNKNOWN");
        for (let i = 0; i < 100 && !srv.options.includes(2); i++) {
          await new Promise((r) => setTimeout(r, 5));
        }
        assert.deepEqual(srv.options, [8, 7, 2], "STRUCTURED_REPLY, GO, then ABORT");
      }
    } finally {
      await srv.close();
    }
  }
});

Deno.test("`NbdClient` refuses writes to a read-only export and unoffered commands", async () => {
  await withServer({ flags: NBD_FLAG_HAS_FLAGS | NBD_FLAG_READ_ONLY }, async (c, srv) => {
    assert.equal(await c.write(0, new Uint8Array(512)), -1);
    assert.equal(await c.trim(0, 512), -1);
    assert.equal(await c.flush(), -95);
    assert.equal(await c.writeZeroes(0, 512), -1);
    assert.equal(await c.read(0, new Uint8Array(512)), 512);
    assert.equal(srv.requests.length, 1);
  });
  await withServer({ flags: NBD_FLAG_HAS_FLAGS }, async (c, srv) => {
    assert.equal(await c.write(0, new Uint8Array(512), { fua: true }), -95);
    assert.equal(await c.trim(0, 512), -95);
    assert.equal(await c.writeZeroes(0, 512), -95);
    assert.equal(await c.write(0, new Uint8Array(512)), 512);
    assert.equal(srv.requests.length, 1);
  });
});

Deno.test("`NbdClient` flush, trim and writeZeroes reach the server", async () => {
  await withServer({}, async (c, srv) => {
    srv.mem.fill(7);
    assert.equal(await c.trim(0, 4096), 0);
    assert.equal(await c.writeZeroes(8192, 4096, { noHole: true, fua: true }), 0);
    assert.equal(await c.flush(), 0);
    assert.ok(srv.mem.subarray(0, 4096).every((x) => x === 0));
    assert.ok(srv.mem.subarray(4096, 8192).every((x) => x === 7));
    assert.ok(srv.mem.subarray(8192, 12288).every((x) => x === 0));
    const z = srv.requests.find((r) => r.type === 6)!;
    assert.equal(z.flags, 0b11);
  });
});

Deno.test("`NbdClient` checks ranges and tags locally", async () => {
  await withServer({ blockSize: [512, 4096, 1 << 20] }, async (c, srv) => {
    assert.equal(await c.read(c.size - 512, new Uint8Array(1024)), -22);
    assert.equal(await c.read(100, new Uint8Array(512)), -22);
    assert.equal(await c.read(0, new Uint8Array(0)), 0);
    assert.equal(await c.trim(0, -512), -22);
    assert.equal(await c.writeZeroes(-512, 512), -22);
    assert.equal(await c.read(0.5, new Uint8Array(512)), -22);
    assert.throws(() => c.read(0, new Uint8Array(512), -1), RangeError);
    assert.throws(() => c.read(0, new Uint8Array(512), 2 ** 31), RangeError);
    const a = c.read(0, new Uint8Array(512), 3);
    assert.equal(await c.read(512, new Uint8Array(512), 3), -16);
    assert.equal(await a, 512);
    assert.equal(await c.read(512, new Uint8Array(512), 3), 512);
    assert.equal(srv.requests.length, 2);
  });
});

Deno.test("`NbdClient.disconnect()` waits for requests in flight then shuts down", async () => {
  const srv = startFakeServer({ batch: 4 });
  try {
    const c = await NbdClient.connect({ port: srv.port });
    const ps = [0, 1, 2, 3].map((i) => c.write(i * 512, pattern(512, i)));
    const d1 = c.disconnect();
    const d2 = c.disconnect();
    assert.equal(await c.read(0, new Uint8Array(512)), -108, "no new calls while disconnecting");
    await Promise.all([d1, d2]);
    assert.deepEqual(await Promise.all(ps), [512, 512, 512, 512]);
    assert.equal(c.alive, false);
    assert.equal(await c.read(0, new Uint8Array(512)), -108);
    await c.disconnect();
    await c.close();
    assert.deepEqual(srv.mem.subarray(0, 512), pattern(512, 0));
  } finally {
    await srv.close();
  }
});

Deno.test("`NbdClient.close()` fails requests in flight with -ESHUTDOWN", async () => {
  const srv = startFakeServer({ batch: 1000 });
  try {
    const c = await NbdClient.connect({ port: srv.port });
    const p = c.read(0, new Uint8Array(512));
    await new Promise((r) => setTimeout(r, 5));
    await c.close();
    assert.equal(await p, -108);
  } finally {
    await srv.close();
  }
});

Deno.test("`NbdClient.connect()` times out a server that never speaks", async () => {
  const srv = startFakeServer({ greeting: "silent" });
  try {
    const t0 = performance.now();
    await assert.rejects(
      NbdClient.connect({ port: srv.port, handshakeTimeoutMs: 100 }),
      (e) => e instanceof NbdError && /Handshake timed out after 100 ms/.test(e.message),
    );
    assert.ok(performance.now() - t0 < 5000);
  } finally {
    await srv.close();
  }
});

Deno.test("`NbdClient.connect()` reports a hang-up mid-greeting as an NbdError", async () => {
  const srv = startFakeServer({ greeting: "hangup" });
  try {
    await assert.rejects(
      NbdClient.connect({ port: srv.port }),
      (e) => e instanceof NbdError && /closed the connection during the handshake/.test(e.message),
    );
  } finally {
    await srv.close();
  }
});

Deno.test("`NbdClient.connect()` maps connect failures to ErrnoError", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  await assert.rejects(
    NbdClient.connect({ port }),
    (e) => e instanceof ErrnoError && e.code === "ECONNREFUSED",
  );
  await assert.rejects(
    NbdClient.connect({ path: "/nonexistent/nbd.sock" }),
    (e) => e instanceof ErrnoError && e.code === "ENOENT" && /nbd\.sock/.test(e.message),
  );
});

Deno.test("`NbdClient.disconnect()` gives up on a silent server after `timeoutMs`", async () => {
  const srv = startFakeServer({ onRequest: () => "ignore" });
  try {
    const c = await NbdClient.connect({ port: srv.port });
    const p = c.read(0, new Uint8Array(512));
    await c.disconnect({ timeoutMs: 50 });
    assert.equal(await p, -108);
    assert.equal(c.alive, false);
  } finally {
    await srv.close();
  }
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

for (const structured of [true, false]) {
  Deno.test(`\`NbdClient\` fails a request the server never answers with -EIO after requestTimeoutMs (${structured ? "structured" : "simple"})`, async () => {
    const srv = startFakeServer({
      structured,
      onRequest: (r) => r.type === NBD_CMD_READ && r.offset === 4096 ? "ignore" : undefined,
    });
    const c = await NbdClient.connect({
      port: srv.port,
      structuredReplies: structured,
      requestTimeoutMs: 200,
    });
    try {
      assert.equal(await c.read(0, new Uint8Array(512)), 512, "a normal read");
      assert.equal(c.timedOut, false);
      const t0 = performance.now();
      const stalled = c.read(4096, new Uint8Array(512));
      const other = c.write(8192, new Uint8Array(512));
      assert.equal(await within(stalled, 5000), -5);
      assert.ok(performance.now() - t0 >= 190, "timed out early");
      assert.ok((await other) === 512 || (await other) === -5);
      assert.equal(c.timedOut, true);
      assert.equal(c.alive, false);
      assert.equal(await c.read(0, new Uint8Array(512)), -5, "later calls fail at once");
    } finally {
      await c.close();
      await srv.close();
    }
  });
}

/**
 * An in-memory stream whose reads wait for bytes the test pushes; a pending read holds the
 * caller's buffer (as a socket read does) until data, EOF or `close()` ends it.
 */
class HeldStream {
  #data: Uint8Array[] = [];
  #eof = false;
  #waiter:
    | { p: Uint8Array; resolve: (n: number | null) => void; reject: (e: Error) => void }
    | null = null;
  closed = false;
  writeClosed = false;
  sent: Uint8Array[] = [];
  /** The buffer a pending read would fill, or null. */
  get pendingInto(): Uint8Array | null {
    return this.#waiter?.p ?? null;
  }
  read(p: Uint8Array): Promise<number | null> {
    if (this.closed) return Promise.reject(new Deno.errors.BadResource("closed"));
    if (this.#data.length > 0 || this.#eof) return Promise.resolve(this.#take(p));
    return new Promise((resolve, reject) => this.#waiter = { p, resolve, reject });
  }
  #take(p: Uint8Array): number | null {
    const d = this.#data[0];
    if (d === undefined) return null;
    const n = Math.min(p.length, d.length);
    p.set(d.subarray(0, n));
    if (n === d.length) this.#data.shift();
    else this.#data[0] = d.subarray(n);
    return n;
  }
  push(bytes: Uint8Array | null): void {
    if (bytes === null) this.#eof = true;
    else this.#data.push(bytes.slice());
    const w = this.#waiter;
    if (w !== null) {
      this.#waiter = null;
      w.resolve(this.#take(w.p));
    }
  }
  write(p: Uint8Array): Promise<number> {
    if (this.closed || this.writeClosed) return Promise.reject(new Deno.errors.BrokenPipe("shut"));
    this.sent.push(p.slice());
    return Promise.resolve(p.length);
  }
  closeWrite(): Promise<void> {
    this.writeClosed = true;
    return Promise.resolve();
  }
  close(): void {
    this.closed = true;
    const w = this.#waiter;
    this.#waiter = null;
    w?.reject(new Deno.errors.BadResource("closed"));
  }
}

/** A simple reply header for the request whose 28-byte header is `req`. */
function simpleReply(req: Uint8Array): Uint8Array {
  const r = new Uint8Array(16);
  const v = new DataView(r.buffer);
  v.setUint32(0, 0x67446698);
  r.set(req.subarray(8, 16), 8); // the cookie
  return r;
}

const heldInfo = {
  size: 1n << 20n,
  transmissionFlags: NBD_FLAG_HAS_FLAGS,
  minBlock: 1,
  preferredBlock: 4096,
  maxPayload: 1 << 20,
  structuredReplies: false,
  usedGo: true,
};

Deno.test("`NbdClient` drainOnDeath: a READ whose payload is half in when it times out ends only once the socket lets go of its buffer", async () => {
  const s = new HeldStream();
  const c = new NbdClient(s, heldInfo, {
    requestTimeoutMs: 100,
    drainOnDeath: true,
    drainMs: 5000,
  });
  const buf = new Uint8Array(512 * 1024); // large: read straight into it, not via the buffer
  let ended: number | null = null;
  const t0 = performance.now();
  const read = c.read(0, buf).then((r) => (ended = r));
  await new Promise((r) => setTimeout(r, 20));
  const req = s.sent.at(-1)!;
  s.push(simpleReply(req));
  s.push(new Uint8Array(100).fill(1)); // then silence, mid-payload
  await new Promise((r) => setTimeout(r, 300)); // well past the timeout
  assert.equal(c.timedOut, true, "the request timed out");
  assert.equal(s.writeClosed, true, "the sending side is shut at death");
  assert.equal(s.closed, false, "the connection is drained, not closed");
  assert.ok(s.pendingInto?.buffer === buf.buffer, "the socket still reads into the READ's buffer");
  assert.equal(ended, null, "the READ did not end while its buffer is still being written");
  // The rest of the payload arrives late: it lands while the READ is still open, then it ends.
  s.push(new Uint8Array(buf.length - 100).fill(2));
  assert.equal(await within(read, 1000), -5);
  assert.ok(buf.subarray(100).every((b) => b === 2), "the late bytes landed before the end");
  // The server closes: the drain ends well before drainMs, and the stream is closed.
  s.push(null);
  assert.equal(await within(c.drained.then(() => "drained"), 1000), "drained");
  assert.equal(s.closed, true);
  assert.ok(performance.now() - t0 < 4000, "drained at the server's close, not at drainMs");
  await c.close();
});

Deno.test("`NbdClient` drainOnDeath: a server that never closes is closed after drainMs; the held READ then ends -EIO", async () => {
  const s = new HeldStream();
  const c = new NbdClient(s, heldInfo, { requestTimeoutMs: 100, drainOnDeath: true, drainMs: 300 });
  const buf = new Uint8Array(512 * 1024);
  const t0 = performance.now();
  const read = c.read(0, buf);
  await new Promise((r) => setTimeout(r, 20));
  s.push(simpleReply(s.sent.at(-1)!));
  s.push(new Uint8Array(100).fill(1));
  assert.equal(await within(read, 5000), -5);
  const took = performance.now() - t0;
  assert.ok(took >= 350, `ended after ${took} ms: before timeout + drainMs`);
  assert.equal(s.closed, true, "closed at the drain deadline");
  assert.equal(s.pendingInto, null, "no read holds the buffer any more");
  assert.equal(await within(c.drained.then(() => "drained"), 1000), "drained");
  await c.close();
});

Deno.test("`NbdClient` without drainOnDeath closes at the timeout and ends every request at once", async () => {
  const s = new HeldStream();
  const c = new NbdClient(s, heldInfo, { requestTimeoutMs: 100 });
  const t0 = performance.now();
  const read = c.read(0, new Uint8Array(64 * 1024));
  await new Promise((r) => setTimeout(r, 20));
  s.push(simpleReply(s.sent.at(-1)!));
  s.push(new Uint8Array(100).fill(1));
  assert.equal(await within(read, 5000), -5);
  assert.ok(performance.now() - t0 < 1000);
  assert.equal(s.closed, true);
  assert.equal(s.writeClosed, false);
  await c.close();
});
