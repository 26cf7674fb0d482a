// A scriptable in-process NBD server on 127.0.0.1 for client tests: fixed newstyle or
// oldstyle/garbage greetings, GO or EXPORT_NAME only, simple or structured replies (data split
// into OFFSET_DATA/OFFSET_HOLE chunks sent in reverse order), replies to a batch of requests in
// reverse order, and injected misbehaviour (errors, garbage magic, unknown cookie, EOF).

import {
  decodeRequest,
  encodeChunkHeader,
  encodeOptionReplyHeader,
  encodeSimpleReply,
  NBD_CMD_DISC,
  NBD_CMD_FLUSH,
  NBD_CMD_READ,
  NBD_CMD_TRIM,
  NBD_CMD_WRITE,
  NBD_CMD_WRITE_ZEROES,
  NBD_FLAG_FIXED_NEWSTYLE,
  NBD_FLAG_HAS_FLAGS,
  NBD_FLAG_NO_ZEROES,
  NBD_FLAG_SEND_FLUSH,
  NBD_FLAG_SEND_FUA,
  NBD_FLAG_SEND_TRIM,
  NBD_FLAG_SEND_WRITE_ZEROES,
  NBD_OPT_EXPORT_NAME,
  NBD_OPT_GO,
  NBD_OPT_STRUCTURED_REPLY,
  NBD_REP_ACK,
  NBD_REP_ERR_UNKNOWN,
  NBD_REP_ERR_UNSUP,
  NBD_REP_INFO,
  NBD_REPLY_FLAG_DONE,
  NBD_REPLY_TYPE_ERROR,
  NBD_REPLY_TYPE_NONE,
  NBD_REPLY_TYPE_OFFSET_DATA,
  NBD_REPLY_TYPE_OFFSET_HOLE,
  type NbdDecodedRequest,
  setU64,
} from "@ublk-ts/nbd";
import { NbdReader, writeAll } from "@ublk-ts/nbd";

/** What to do with one request instead of serving it. */
export type Misbehaviour =
  | { error: number } // reply with this NBD error
  | "garbage" // send 16 bytes of garbage instead of a reply
  | "unknown-cookie" // reply with a cookie nobody sent
  | "close" // close the connection
  | "ignore" // never reply
  | "truncate" // send the reply header and half the data, then close
  | "short" // READ: send the reply header and half the data, then carry on serving
  | "no-data-done" // structured READ: NONE + DONE without data (protocol violation)
  | undefined; // serve normally

export interface FakeServerOptions {
  greeting?: "newstyle" | "oldstyle" | "garbage" | "not-fixed" | "silent" | "hangup";
  structured?: boolean;
  go?: boolean;
  exportName?: string;
  size?: number;
  flags?: number;
  blockSize?: [min: number, preferred: number, max: number];
  /** Collect this many requests before replying (in reverse order); default 1. */
  batch?: number;
  onRequest?: (req: NbdDecodedRequest) => Misbehaviour;
}

export interface FakeServer {
  port: number;
  mem: Uint8Array;
  requests: NbdDecodedRequest[];
  /** Option numbers received during the handshake. */
  options: number[];
  /** Highest number of requests read but not yet answered. */
  maxQueued: number;
  close(): Promise<void>;
}

const DEFAULT_FLAGS = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA |
  NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES;

export function startFakeServer(options: FakeServerOptions = {}): FakeServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const mem = new Uint8Array(options.size ?? 1 << 20);
  const conns = new Set<Deno.Conn>();
  const loops: Promise<void>[] = [];
  const server: FakeServer = {
    port: (listener.addr as Deno.NetAddr).port,
    mem,
    requests: [],
    options: [],
    maxQueued: 0,
    async close(): Promise<void> {
      try {
        listener.close();
      } catch { /* closed */ }
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await acceptLoop;
      await Promise.allSettled(loops);
    },
  };
  const acceptLoop = (async () => {
    try {
      for await (const conn of listener) {
        conns.add(conn);
        loops.push(
          serve(conn, options, server).catch(() => {}).finally(() => {
            conns.delete(conn);
            try {
              conn.close();
            } catch { /* closed */ }
          }),
        );
      }
    } catch { /* listener closed */ }
  })();
  return server;
}

class Closed extends Error {}

async function serve(conn: Deno.Conn, o: FakeServerOptions, srv: FakeServer): Promise<void> {
  const r = new NbdReader(conn);
  const v = r.view;
  const out = new Uint8Array(64 * 1024);
  const ov = new DataView(out.buffer);
  const send = (n: number): Promise<void> => writeAll(conn, out.subarray(0, n));
  const need = async (n: number): Promise<void> => {
    if (!(await r.ensure(n))) throw new Closed();
  };
  const greeting = o.greeting ?? "newstyle";
  if (greeting === "silent") {
    await conn.read(new Uint8Array(1)); // until the client gives up
    return;
  }
  ov.setBigUint64(0, 0x4e42444d41474943n);
  if (greeting === "hangup") {
    await send(8); // half a greeting, then close
    return;
  }
  if (greeting === "oldstyle") {
    ov.setBigUint64(8, 0x00420281861253n);
    ov.setBigUint64(16, BigInt(srv.mem.length));
    await send(152);
    return;
  }
  if (greeting === "garbage") {
    ov.setBigUint64(8, 0x1122334455667788n);
    await send(18);
    return;
  }
  ov.setBigUint64(8, 0x49484156454f5054n);
  const fixed = greeting !== "not-fixed";
  ov.setUint16(16, (fixed ? NBD_FLAG_FIXED_NEWSTYLE : 0) | NBD_FLAG_NO_ZEROES);
  await send(18);
  await need(4);
  const cflags = v.getUint32(r.start);
  r.consume(4);
  const flags = o.flags ?? DEFAULT_FLAGS;
  let structured = false;
  const wantName = o.exportName ?? "";
  // Options.
  for (;;) {
    await need(16);
    const opt = v.getUint32(r.start + 8);
    const len = v.getUint32(r.start + 12);
    r.consume(16);
    srv.options.push(opt);
    if (opt === 2) return; // NBD_OPT_ABORT
    const data = new Uint8Array(len);
    if (!(await r.readInto(data))) throw new Closed();
    const reply = async (type: number, payload?: Uint8Array): Promise<void> => {
      encodeOptionReplyHeader(ov, 0, { option: opt, type, length: payload?.length ?? 0 });
      if (payload) out.set(payload, 20);
      await send(20 + (payload?.length ?? 0));
    };
    if (opt === NBD_OPT_STRUCTURED_REPLY && fixed) {
      if (o.structured ?? true) {
        structured = true;
        await reply(NBD_REP_ACK);
      } else await reply(NBD_REP_ERR_UNSUP);
    } else if (opt === NBD_OPT_GO && fixed) {
      if (!(o.go ?? true)) {
        await reply(NBD_REP_ERR_UNSUP);
        continue;
      }
      const dv = new DataView(data.buffer);
      const name = new TextDecoder().decode(data.subarray(4, 4 + dv.getUint32(0)));
      if (name !== wantName) {
        await reply(NBD_REP_ERR_UNKNOWN, new TextEncoder().encode(`no export ${name}`));
        continue;
      }
      const info = new Uint8Array(14);
      const iv = new DataView(info.buffer);
      iv.setUint16(0, 0);
      iv.setBigUint64(2, BigInt(srv.mem.length));
      iv.setUint16(10, flags);
      await reply(NBD_REP_INFO, info.subarray(0, 12));
      if (o.blockSize) {
        iv.setUint16(0, 3);
        iv.setUint32(2, o.blockSize[0]);
        iv.setUint32(6, o.blockSize[1]);
        iv.setUint32(10, o.blockSize[2]);
        await reply(NBD_REP_INFO, info);
      }
      await reply(NBD_REP_ACK);
      break;
    } else if (opt === NBD_OPT_EXPORT_NAME) {
      const name = new TextDecoder().decode(data);
      if (name !== wantName) return; // refusal = close
      ov.setBigUint64(0, BigInt(srv.mem.length));
      ov.setUint16(8, flags);
      await send((cflags & 2) ? 10 : 134);
      break;
    } else {
      await reply(NBD_REP_ERR_UNSUP);
    }
  }
  // Transmission.
  const batch = o.batch ?? 1;
  const queue: Array<{ req: NbdDecodedRequest; data: Uint8Array | null }> = [];
  for (;;) {
    await need(28);
    const req = decodeRequest(v, r.start);
    if (req === null) throw new Error("bad request magic");
    r.consume(28);
    let data: Uint8Array | null = null;
    if (req.type === NBD_CMD_WRITE) {
      data = new Uint8Array(req.length);
      if (!(await r.readInto(data))) throw new Closed();
    }
    if (req.type === NBD_CMD_DISC) return;
    srv.requests.push(req);
    queue.push({ req, data });
    srv.maxQueued = Math.max(srv.maxQueued, queue.length);
    if (queue.length < batch && r.buffered() > 0) continue;
    if (queue.length < batch) {
      // Wait briefly for more requests to arrive before answering.
      const more = await Promise.race([
        r.ensure(28),
        new Promise<"t">((res) => setTimeout(() => res("t"), 20)),
      ]);
      if (more === true) continue;
    }
    while (queue.length > 0) {
      const { req: q, data: d } = queue.pop()!;
      if (!(await answer(conn, q, d, o, srv, structured))) return;
    }
  }
}

async function answer(
  conn: Deno.Conn,
  req: NbdDecodedRequest,
  data: Uint8Array | null,
  o: FakeServerOptions,
  srv: FakeServer,
  structured: boolean,
): Promise<boolean> {
  const mis = o.onRequest?.(req);
  const hdr = new Uint8Array(32);
  const hv = new DataView(hdr.buffer);
  const simple = async (error: number, payload?: Uint8Array): Promise<void> => {
    encodeSimpleReply(hv, 0, { error, cookie: req.cookie });
    await writeAll(conn, hdr.subarray(0, 16));
    if (payload) await writeAll(conn, payload);
  };
  const chunk = async (
    type: number,
    flags: number,
    fixed: Uint8Array,
    payload?: Uint8Array,
  ): Promise<void> => {
    encodeChunkHeader(hv, 0, {
      flags,
      type,
      cookie: req.cookie,
      length: fixed.length + (payload?.length ?? 0),
    });
    await writeAll(conn, hdr.subarray(0, 20));
    await writeAll(conn, fixed);
    if (payload) await writeAll(conn, payload);
  };
  if (mis === "garbage") {
    await writeAll(conn, new Uint8Array(16).fill(0xde));
    return true;
  }
  if (mis === "unknown-cookie") {
    encodeSimpleReply(hv, 0, { error: 0, cookie: req.cookie ^ 0x5a5a0000n });
    await writeAll(conn, hdr.subarray(0, 16));
    return true;
  }
  if (mis === "close") return false;
  if (mis === "ignore") return true;
  if (mis !== undefined && typeof mis === "object") {
    if (structured) {
      const msg = new TextEncoder().encode("injected");
      const f = new Uint8Array(6);
      new DataView(f.buffer).setUint32(0, mis.error);
      new DataView(f.buffer).setUint16(4, msg.length);
      await chunk(NBD_REPLY_TYPE_ERROR, NBD_REPLY_FLAG_DONE, f, msg);
    } else await simple(mis.error);
    return true;
  }
  const end = req.offset + req.length;
  switch (req.type) {
    case NBD_CMD_READ: {
      const bytes = srv.mem.slice(req.offset, end);
      if (mis === "truncate" || mis === "short") {
        if (structured) {
          encodeChunkHeader(hv, 0, {
            flags: NBD_REPLY_FLAG_DONE,
            type: NBD_REPLY_TYPE_OFFSET_DATA,
            cookie: req.cookie,
            length: 8 + req.length,
          });
          setU64(hv, 20, req.offset);
          await writeAll(conn, hdr.subarray(0, 28));
          await writeAll(conn, bytes.subarray(0, bytes.length >> 1));
        } else {
          encodeSimpleReply(hv, 0, { error: 0, cookie: req.cookie });
          await writeAll(conn, hdr.subarray(0, 16));
          await writeAll(conn, bytes.subarray(0, bytes.length >> 1));
        }
        return mis === "short";
      }
      if (!structured) {
        await simple(0, bytes);
        return true;
      }
      if (mis === "no-data-done") {
        await chunk(NBD_REPLY_TYPE_NONE, NBD_REPLY_FLAG_DONE, new Uint8Array(0));
        return true;
      }
      // Split into up to 4 pieces; zero pieces become holes; send them last piece first.
      const pieces: Array<[number, number]> = [];
      const step = Math.max(1, Math.ceil(req.length / 4));
      for (let p = 0; p < req.length; p += step) pieces.push([p, Math.min(step, req.length - p)]);
      pieces.reverse();
      for (let i = 0; i < pieces.length; i++) {
        const [p, n] = pieces[i]!;
        const last = i === pieces.length - 1 ? NBD_REPLY_FLAG_DONE : 0;
        const slice = bytes.subarray(p, p + n);
        if (slice.every((x) => x === 0)) {
          const f = new Uint8Array(12);
          setU64(new DataView(f.buffer), 0, req.offset + p);
          new DataView(f.buffer).setUint32(8, n);
          await chunk(NBD_REPLY_TYPE_OFFSET_HOLE, last, f);
        } else {
          const f = new Uint8Array(8);
          setU64(new DataView(f.buffer), 0, req.offset + p);
          await chunk(NBD_REPLY_TYPE_OFFSET_DATA, last, f, slice);
        }
      }
      return true;
    }
    case NBD_CMD_WRITE:
      srv.mem.set(data!, req.offset);
      break;
    case NBD_CMD_TRIM:
    case NBD_CMD_WRITE_ZEROES:
      srv.mem.fill(0, req.offset, end);
      break;
    case NBD_CMD_FLUSH:
      break;
    default:
      await simple(22);
      return true;
  }
  if (structured && req.type === NBD_CMD_FLUSH) {
    await chunk(NBD_REPLY_TYPE_NONE, NBD_REPLY_FLAG_DONE, new Uint8Array(0));
  } else await simple(0);
  return true;
}
