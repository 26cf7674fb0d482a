/**
 * {@linkcode serveNbd}: an NBD export server over a {@linkcode BlockDevice} (the in-process
 * client of `/dev/ublkbN` that a model ublk device offers), so real NBD clients — `qemu-img`,
 * `nbdinfo`, `nbdcopy`, `nbdfuse`, `fio --ioengine=nbd` — reach a device that exists only in
 * this process.
 *
 * Protocol (NetworkBlockDevice/nbd `doc/proto.md`): fixed newstyle handshake with
 * `NBD_FLAG_NO_ZEROES`; options `NBD_OPT_GO`, `NBD_OPT_INFO` (`NBD_INFO_EXPORT`,
 * `NBD_INFO_BLOCK_SIZE`, `NBD_INFO_NAME`, `NBD_INFO_DESCRIPTION`), `NBD_OPT_LIST`,
 * `NBD_OPT_ABORT`, `NBD_OPT_EXPORT_NAME`, `NBD_OPT_STRUCTURED_REPLY`, and the
 * `base:allocation` meta context (every block reported allocated); others get
 * `NBD_REP_ERR_UNSUP`. One export: the default (`""`) and, when set, its name.
 *
 * Transmission: READ, WRITE (FUA), FLUSH, TRIM, WRITE_ZEROES, BLOCK_STATUS and DISC, served
 * concurrently (up to `maxInflight` per connection) and answered in completion order.
 * Transmission flags: `HAS_FLAGS`, `SEND_FLUSH`, `CAN_MULTI_CONN` (every connection shares the
 * one block device, so a FLUSH covers writes completed on any of them) and, unless read-only,
 * `SEND_FUA`, `SEND_TRIM`, `SEND_WRITE_ZEROES`; `READ_ONLY` when the device (or the option) is.
 *
 * Errors are replies, never a dropped connection: a negative result of the device becomes its
 * NBD error (`NBD_EIO`, `NBD_ENOSPC`, `NBD_EPERM`…; see {@linkcode errnoToNbdError}); a range
 * past the end gets `NBD_EINVAL` (`NBD_ENOSPC` for writes, as the protocol asks); a range not
 * aligned to the logical block size (the advertised minimum block size) `NBD_EINVAL`; an
 * unknown command or flag `NBD_EINVAL`; writes to a read-only export `NBD_EPERM`. TRIM is a
 * hint: a device without discard answers it with success. WRITE_ZEROES on a device without
 * write-zeroes writes zero blocks instead. Only a request the stream cannot survive closes the
 * connection (that one only): a bad request magic, or a WRITE payload over the hard limit
 * (`max(maxPayload, 32 MiB)`).
 *
 * @module
 */

import type { BlockDevice } from "@ublk-ts/ring";
import { EIO, ENODEV, ENXIO, EOPNOTSUPP } from "@ublk-ts/uapi";
import {
  encodeOptionReplyHeader,
  errnoToNbdError,
  getU64,
  NBD_CMD_BLOCK_STATUS,
  NBD_CMD_DISC,
  NBD_CMD_FLAG_FUA,
  NBD_CMD_FLAG_NO_HOLE,
  NBD_CMD_FLAG_REQ_ONE,
  NBD_CMD_FLUSH,
  NBD_CMD_READ,
  NBD_CMD_TRIM,
  NBD_CMD_WRITE,
  NBD_CMD_WRITE_ZEROES,
  NBD_EINVAL,
  NBD_EIO,
  NBD_ENOSPC,
  NBD_EPERM,
  NBD_ESHUTDOWN,
  NBD_EXPORT_NAME_REPLY_SIZE,
  NBD_EXPORT_NAME_ZEROES,
  NBD_FLAG_C_FIXED_NEWSTYLE,
  NBD_FLAG_C_NO_ZEROES,
  NBD_FLAG_CAN_MULTI_CONN,
  NBD_FLAG_FIXED_NEWSTYLE,
  NBD_FLAG_HAS_FLAGS,
  NBD_FLAG_NO_ZEROES,
  NBD_FLAG_READ_ONLY,
  NBD_FLAG_SEND_FLUSH,
  NBD_FLAG_SEND_FUA,
  NBD_FLAG_SEND_TRIM,
  NBD_FLAG_SEND_WRITE_ZEROES,
  NBD_GREETING_SIZE,
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
  NBD_OPT_LIST_META_CONTEXT,
  NBD_OPT_SET_META_CONTEXT,
  NBD_OPT_STRUCTURED_REPLY,
  NBD_OPTION_HEADER_SIZE,
  NBD_OPTION_REPLY_HEADER_SIZE,
  NBD_OPTS_MAGIC,
  NBD_REP_ACK,
  NBD_REP_ERR_INVALID,
  NBD_REP_ERR_TOO_BIG,
  NBD_REP_ERR_UNKNOWN,
  NBD_REP_ERR_UNSUP,
  NBD_REP_INFO,
  NBD_REP_META_CONTEXT,
  NBD_REP_SERVER,
  NBD_REPLY_FLAG_DONE,
  NBD_REPLY_TYPE_BLOCK_STATUS,
  NBD_REPLY_TYPE_ERROR,
  NBD_REPLY_TYPE_NONE,
  NBD_REPLY_TYPE_OFFSET_DATA,
  NBD_REQUEST_MAGIC,
  NBD_REQUEST_SIZE,
  NBD_SIMPLE_REPLY_SIZE,
  NBD_STRUCTURED_REPLY_SIZE,
  setChunkHeader,
  setSimpleReplyHeader,
  setU64,
} from "./nbd_proto.ts";
import { NbdReader, writeAll } from "./nbd_stream.ts";

/** The block device contract of `@ublk-ts/ring` that {@linkcode serveNbd} exports. */
export type { BlockDevice };

/** Options of {@linkcode serveNbd}. */
export interface NbdServeOptions {
  /** The export's name besides the default export `""` (which always works). Default `""`. */
  exportName?: string;
  /** Sent as `NBD_INFO_DESCRIPTION` when a client asks for it. */
  description?: string;
  /** Export read-only even if the device is writable. Default: the device's `readOnly`. */
  readOnly?: boolean;
  /**
   * The maximum payload advertised in `NBD_INFO_BLOCK_SIZE`, a multiple of the logical block
   * size. Default: the device's `maxRequestBytes` (32 MiB when it says 0). Larger requests up
   * to `max(maxPayload, 32 MiB)` are still served (the device splits them).
   */
  maxPayload?: number;
  /** Requests served at once per connection (further requests wait in the socket). Default 128. */
  maxInflight?: number;
  /** Close a connection that has not finished the handshake after this many ms (0 = never). Default 30000. */
  handshakeTimeoutMs?: number;
  /**
   * Allocates I/O buffers (default `new Uint8Array(n)`): pass a page-aligned allocator and every
   * payload sits page-aligned (payloads start 4096 bytes into each buffer).
   */
  allocate?: (bytes: number) => Uint8Array;
  /** Told about failures that end one connection (I/O errors on the socket, protocol violations). */
  onError?: (error: Error) => void;
}

/** Counters of a running {@linkcode NbdServer}. */
export interface NbdServerStats {
  /** Connections accepted so far. */
  accepted: number;
  /** Connections open now. */
  open: number;
  /** Transmission requests received (DISC excluded). */
  requests: number;
  /** Requests answered with an error. */
  errors: number;
  /** Connections closed because of a malformed request or handshake. */
  protocolErrors: number;
  /** The most requests one connection had in flight at once. */
  maxInflight: number;
}

/** A running export ({@linkcode serveNbd}). */
export interface NbdServer extends AsyncDisposable {
  /** The NBD URI of the export: `nbd+unix:///?socket=PATH` or `nbd://127.0.0.1:PORT`. */
  readonly uri: string;
  /** The listening address. */
  readonly addr: Deno.Addr;
  /** Counters (live). */
  readonly stats: Readonly<NbdServerStats>;
  /**
   * Stops accepting, lets every connection finish the requests it has in flight (their
   * replies are sent), then closes the connections and the listener. Safe to call twice.
   */
  close(): Promise<void>;
}

const MiB = 1024 * 1024;
/** Payloads start this far into each I/O buffer (room for the reply header, page-aligned data). */
const ROOM = 4096;
/** Option data above this size is skipped and refused with NBD_REP_ERR_TOO_BIG. */
const MAX_OPTION_DATA = 64 * 1024;
/** Reply bytes coalesced into one socket write. */
const STAGING = 256 * 1024;
/** Replies at most this big are copied into the staging buffer rather than written alone. */
const SMALL_REPLY = 16 * 1024 + ROOM;
/** Bytes of free buffers the pool keeps. */
const POOL_BYTES = 64 * MiB;
/** Largest contiguous write of zeroes when the device has no WRITE_ZEROES. */
const ZERO_CHUNK = 1 * MiB;
const BASE_ALLOCATION = "base:allocation";
const BASE_ALLOCATION_ID = 1;
const KNOWN_CMD_FLAGS = NBD_CMD_FLAG_FUA | NBD_CMD_FLAG_NO_HOLE | NBD_CMD_FLAG_REQ_ONE;
const TEXT = new TextEncoder();
const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** The pieces every connection shares. */
interface Shared {
  readonly bdev: BlockDevice;
  readonly names: readonly string[];
  readonly description: string | undefined;
  readonly readOnly: boolean;
  readonly size: number;
  readonly lbs: number;
  readonly maxPayload: number;
  readonly hardLimit: number;
  readonly preferred: number;
  readonly transmissionFlags: number;
  readonly maxInflight: number;
  readonly handshakeTimeoutMs: number;
  readonly stats: NbdServerStats;
  readonly pool: BufferPool;
  readonly onError: (error: Error) => void;
  closing: boolean;
}

/**
 * Serves `bdev` as an NBD export on `listener` until {@linkcode NbdServer.close}.
 *
 * The listener may be a unix socket (`Deno.listen({ transport: "unix", path })`) or TCP
 * (`Deno.listen({ hostname: "127.0.0.1", port })`); the server owns it from now on and closes
 * it. Any number of connections are served at once, all on the same device.
 *
 * Safety: the device must stay usable until `close()` resolves (requests in flight finish on
 * it); the caller stops its ublk device after that.
 *
 * @param bdev The block device to export.
 * @param listener Where clients connect.
 * @param options Export name, read-only, limits.
 * @returns The running server.
 * @throws {RangeError} When `maxPayload` or `maxInflight` is invalid.
 *
 * @example Export a RAM block device on a unix socket and read it back with NbdClient
 * ```ts
 * import assert from "node:assert/strict";
 * import type { BlockDevice } from "@ublk-ts/ring";
 * import { NbdClient, serveNbd } from "@ublk-ts/nbd";
 * const mem = new Uint8Array(1 << 20);
 * const bdev: BlockDevice = {
 *   size: mem.length, logicalBlockSize: 512, readOnly: false, present: true,
 *   maxRequestBytes: 128 << 10, inflight: 0,
 *   read: (off, buf) => (buf.set(mem.subarray(off, off + buf.length)), Promise.resolve(buf.length)),
 *   write: (off, data) => (mem.set(data, off), Promise.resolve(data.length)),
 *   flush: () => Promise.resolve(0),
 *   discard: () => Promise.resolve(0),
 *   writeZeroes: (off, len) => (mem.fill(0, off, off + len), Promise.resolve(0)),
 * };
 * const dir = await Deno.makeTempDir();
 * const server = serveNbd(bdev, Deno.listen({ transport: "unix", path: `${dir}/nbd.sock` }));
 * assert.equal(server.uri, `nbd+unix:///?socket=${dir}/nbd.sock`);
 * const client = await NbdClient.connect({ path: `${dir}/nbd.sock` });
 * assert.equal(await client.write(4096, new Uint8Array(512).fill(9)), 512);
 * const back = new Uint8Array(512);
 * assert.equal(await client.read(4096, back), 512);
 * assert.equal(back[511], 9);
 * await client.disconnect();
 * await server.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function serveNbd(
  bdev: BlockDevice,
  listener: Deno.Listener,
  options: NbdServeOptions = {},
): NbdServer {
  const lbs = bdev.logicalBlockSize;
  const advertised = options.maxPayload ??
    (bdev.maxRequestBytes > 0 ? bdev.maxRequestBytes : 32 * MiB);
  if (!Number.isSafeInteger(advertised) || advertised < lbs || advertised % lbs !== 0) {
    throw new RangeError(
      `Cannot serve NBD: maxPayload ${advertised} is not a positive multiple of the logical block size ${lbs}`,
    );
  }
  const maxInflight = options.maxInflight ?? 128;
  if (!Number.isSafeInteger(maxInflight) || maxInflight < 1) {
    throw new RangeError(`Cannot serve NBD: maxInflight ${maxInflight} is not a positive integer`);
  }
  const readOnly = options.readOnly === true || bdev.readOnly;
  let flags = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_CAN_MULTI_CONN;
  if (readOnly) flags |= NBD_FLAG_READ_ONLY;
  else flags |= NBD_FLAG_SEND_FUA | NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES;
  const names = [""];
  const exportName = options.exportName ?? "";
  if (TEXT.encode(exportName).length > 4096) {
    throw new RangeError("Cannot serve NBD: the export name is over 4096 bytes");
  }
  if (exportName !== "") names.push(exportName);
  const allocate = options.allocate ?? ((n: number): Uint8Array => new Uint8Array(n));
  const stats: NbdServerStats = {
    accepted: 0,
    open: 0,
    requests: 0,
    errors: 0,
    protocolErrors: 0,
    maxInflight: 0,
  };
  let preferred = Math.max(lbs, 4096);
  while (preferred > advertised) preferred /= 2;
  const shared: Shared = {
    bdev,
    names,
    description: options.description,
    readOnly,
    size: bdev.size,
    lbs,
    maxPayload: advertised,
    hardLimit: Math.max(advertised, 32 * MiB),
    preferred: Math.max(preferred, lbs),
    transmissionFlags: flags,
    maxInflight,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 30_000,
    stats,
    pool: new BufferPool(allocate),
    onError: options.onError ?? ((): void => {}),
    closing: false,
  };
  const conns = new Set<Connection>();
  const tasks = new Set<Promise<void>>();
  const accepting = (async (): Promise<void> => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (e) {
        if (shared.closing || e instanceof Deno.errors.BadResource) return;
        if (e instanceof Deno.errors.Interrupted) return;
        shared.onError(e instanceof Error ? e : new Error(String(e)));
        await new Promise((r) => setTimeout(r, 50)); // EMFILE and friends: do not spin
        continue;
      }
      if (shared.closing) {
        closeQuietly(conn);
        continue;
      }
      stats.accepted++;
      stats.open++;
      const c = new Connection(shared, conn);
      conns.add(c);
      const task = c.run().finally(() => {
        stats.open--;
        conns.delete(c);
        tasks.delete(task);
      });
      tasks.add(task);
    }
  })();
  const uri = nbdUri(listener.addr, exportName);
  let closed: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      shared.closing = true;
      try {
        listener.close();
      } catch { /* already closed */ }
      await accepting;
      for (const c of conns) c.shutdown();
      await Promise.all([...tasks]);
    })();
    return closed;
  };
  return {
    uri,
    addr: listener.addr,
    stats,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * The NBD URI of an export at `addr`, as libnbd and QEMU spell it.
 *
 * @param addr A unix or TCP listening address.
 * @param exportName The export name (`""` for the default export).
 * @returns `nbd+unix:///NAME?socket=PATH` or `nbd://HOST:PORT[/NAME]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nbdUri } from "@ublk-ts/nbd";
 * assert.equal(nbdUri({ transport: "tcp", hostname: "127.0.0.1", port: 10809 }, ""), "nbd://127.0.0.1:10809");
 * assert.equal(nbdUri({ transport: "unix", path: "/run/x.sock" }, ""), "nbd+unix:///?socket=/run/x.sock");
 * ```
 */
export function nbdUri(addr: Deno.Addr, exportName: string): string {
  const name = encodeURIComponent(exportName);
  if (addr.transport === "unix" || addr.transport === "unixpacket") {
    const path = encodeURIComponent(addr.path).replace(/%2F/g, "/");
    return `nbd+unix:///${name}?socket=${path}`;
  }
  if (addr.transport === "tcp" || addr.transport === "udp") {
    const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
    return `nbd://${host}:${addr.port}${name === "" ? "" : `/${name}`}`;
  }
  throw new TypeError(`Cannot make an NBD URI for a ${addr.transport} address`);
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}

/** Free I/O buffers by power-of-two size class (each has {@linkcode ROOM} bytes in front). */
class BufferPool {
  readonly #allocate: (n: number) => Uint8Array;
  readonly #free: Map<number, Uint8Array[]> = new Map();
  #bytes = 0;

  constructor(allocate: (n: number) => Uint8Array) {
    this.#allocate = allocate;
  }

  /** A buffer with at least `payload` bytes after ROOM. */
  take(payload: number): Uint8Array {
    let size = 4096;
    while (size < payload) size *= 2;
    const list = this.#free.get(size);
    const b = list?.pop();
    if (b !== undefined) {
      this.#bytes -= b.length;
      return b;
    }
    const fresh = this.#allocate(ROOM + size);
    if (fresh.length < ROOM + size) {
      throw new RangeError(`Cannot use the NBD buffer allocator: it gave ${fresh.length} bytes`);
    }
    return fresh.length === ROOM + size ? fresh : fresh.subarray(0, ROOM + size);
  }

  give(b: Uint8Array): void {
    if (this.#bytes + b.length > POOL_BYTES) return;
    const size = b.length - ROOM;
    let list = this.#free.get(size);
    if (list === undefined) this.#free.set(size, list = []);
    list.push(b);
    this.#bytes += b.length;
  }
}

/** One queued reply: bytes to send, and what to do once they are sent (or dropped). */
interface Outgoing {
  bytes: Uint8Array;
  done: (() => void) | null;
}

/** Thrown inside a connection to close it for a protocol violation. */
class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProtocolError";
  }
}

/** One client connection: handshake, then the transmission phase. */
class Connection {
  readonly #s: Shared;
  readonly #conn: Deno.Conn;
  readonly #reader: NbdReader;
  #structured = false;
  #noZeroes = false;
  #metaContext = false;
  #inflight = 0;
  #slotWaiter: (() => void) | null = null;
  #idleWaiters: (() => void)[] = [];
  #queue: Outgoing[] = [];
  #pumping = false;
  #pumpDone: Promise<void> = Promise.resolve();
  #staging: Uint8Array | null = null;
  #dead = false;
  #closed = false;
  #transmission = false;

  constructor(shared: Shared, conn: Deno.Conn) {
    this.#s = shared;
    this.#conn = conn;
    this.#reader = new NbdReader(conn, 256 * 1024);
    if ("setNoDelay" in conn) {
      try {
        (conn as Deno.TcpConn).setNoDelay(true);
      } catch { /* not a TCP socket after all */ }
    }
  }

  /** Server shutdown: a connection still negotiating closes now; one in transmission stops reading. */
  shutdown(): void {
    if (!this.#transmission || this.#inflight === 0) this.#close();
    else this.#idleWaiters.push(() => this.#close());
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.#conn);
  }

  async run(): Promise<void> {
    try {
      const go = await this.#handshake();
      if (go) await this.#transmit();
    } catch (e) {
      if (e instanceof ProtocolError) {
        this.#s.stats.protocolErrors++;
        this.#s.onError(e);
      } else if (!this.#closed && !isDisconnect(e)) {
        this.#s.onError(e instanceof Error ? e : new Error(String(e)));
      }
    } finally {
      await this.#drain();
      this.#close();
    }
  }

  /** Waits for requests in flight and sends their replies. */
  async #drain(): Promise<void> {
    while (this.#inflight > 0) {
      await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    }
    await this.#pumpDone;
  }

  // ---------------------------------------------------------------------------------------
  // Handshake

  /** @returns true when the transmission phase begins. */
  async #handshake(): Promise<boolean> {
    const s = this.#s;
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (s.handshakeTimeoutMs > 0) {
      timer = setTimeout(() => {
        if (!this.#transmission) {
          s.onError(new ProtocolError(`Handshake not finished after ${s.handshakeTimeoutMs} ms`));
          this.#close();
        }
      }, s.handshakeTimeoutMs);
    }
    try {
      return await this.#negotiate();
    } finally {
      clearTimeout(timer);
    }
  }

  async #negotiate(): Promise<boolean> {
    const s = this.#s;
    const r = this.#reader;
    const hello = new Uint8Array(NBD_GREETING_SIZE);
    const hv = new DataView(hello.buffer);
    hv.setBigUint64(0, NBD_INIT_MAGIC);
    hv.setBigUint64(8, NBD_OPTS_MAGIC);
    hv.setUint16(16, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
    await writeAll(this.#conn, hello);
    if (!(await r.ensure(4))) return false;
    const clientFlags = r.view.getUint32(r.start);
    r.consume(4);
    if ((clientFlags & ~(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES)) !== 0) {
      throw new ProtocolError(`Client sent unknown flags 0x${clientFlags.toString(16)}`);
    }
    const fixed = (clientFlags & NBD_FLAG_C_FIXED_NEWSTYLE) !== 0;
    this.#noZeroes = (clientFlags & NBD_FLAG_C_NO_ZEROES) !== 0;
    for (;;) {
      if (s.closing) return false;
      if (!(await r.ensure(NBD_OPTION_HEADER_SIZE))) return false;
      const v = r.view;
      if (v.getBigUint64(r.start) !== NBD_OPTS_MAGIC) {
        throw new ProtocolError("Client sent an option without the IHAVEOPT magic");
      }
      const option = v.getUint32(r.start + 8);
      const length = v.getUint32(r.start + 12);
      r.consume(NBD_OPTION_HEADER_SIZE);
      if (!fixed && option !== NBD_OPT_EXPORT_NAME) {
        throw new ProtocolError(`Non-fixed newstyle client sent option ${option}`);
      }
      if (length > MAX_OPTION_DATA) {
        if (option === NBD_OPT_EXPORT_NAME) {
          throw new ProtocolError(`NBD_OPT_EXPORT_NAME of ${length} bytes`);
        }
        if (!(await r.skip(length))) return false;
        await this.#optionReply(option, NBD_REP_ERR_TOO_BIG, "Option data is too long");
        continue;
      }
      if (!(await r.ensure(length))) return false;
      const data = r.bytes.subarray(r.start, r.start + length);
      const step = await this.#option(option, data);
      r.consume(length);
      if (step === "go") return true;
      if (step === "end") return false;
    }
  }

  /** Handles one option; `data` is valid until it returns. */
  async #option(option: number, data: Uint8Array): Promise<"go" | "more" | "end"> {
    const s = this.#s;
    const dv = new DataView(data.buffer, data.byteOffset, data.length);
    switch (option) {
      case NBD_OPT_EXPORT_NAME: {
        const name = decodeName(data);
        if (name === null || !s.names.includes(name)) {
          throw new ProtocolError(`Client asked for unknown export "${name ?? "(not UTF-8)"}"`);
        }
        const out = new Uint8Array(
          NBD_EXPORT_NAME_REPLY_SIZE + (this.#noZeroes ? 0 : NBD_EXPORT_NAME_ZEROES),
        );
        const ov = new DataView(out.buffer);
        setU64(ov, 0, s.size);
        ov.setUint16(8, s.transmissionFlags);
        this.#transmission = true;
        await writeAll(this.#conn, out);
        return "go";
      }
      case NBD_OPT_ABORT:
        await this.#optionReply(option, NBD_REP_ACK);
        return "end";
      case NBD_OPT_LIST: {
        if (data.length !== 0) {
          await this.#optionReply(option, NBD_REP_ERR_INVALID, "NBD_OPT_LIST takes no data");
          return "more";
        }
        for (const name of s.names) {
          const n = TEXT.encode(name);
          const body = new Uint8Array(4 + n.length);
          new DataView(body.buffer).setUint32(0, n.length);
          body.set(n, 4);
          await this.#optionReply(option, NBD_REP_SERVER, body);
        }
        await this.#optionReply(option, NBD_REP_ACK);
        return "more";
      }
      case NBD_OPT_STRUCTURED_REPLY:
        if (data.length !== 0) {
          await this.#optionReply(
            option,
            NBD_REP_ERR_INVALID,
            "NBD_OPT_STRUCTURED_REPLY takes no data",
          );
          return "more";
        }
        this.#structured = true;
        await this.#optionReply(option, NBD_REP_ACK);
        return "more";
      case NBD_OPT_INFO:
      case NBD_OPT_GO: {
        // u32 name length, name, u16 count, u16 × count
        if (data.length < 6) return await this.#invalid(option, "Option data is too short");
        const nlen = dv.getUint32(0);
        if (nlen > data.length - 6) return await this.#invalid(option, "Name length is too big");
        const count = dv.getUint16(4 + nlen);
        if (data.length !== 6 + nlen + 2 * count) {
          return await this.#invalid(option, "Info request count does not match the length");
        }
        const name = decodeName(data.subarray(4, 4 + nlen));
        if (name === null || !s.names.includes(name)) {
          await this.#optionReply(option, NBD_REP_ERR_UNKNOWN, `No export named "${name ?? ""}"`);
          return "more";
        }
        const wanted = new Set<number>();
        for (let i = 0; i < count; i++) wanted.add(dv.getUint16(6 + nlen + 2 * i));
        await this.#optionReply(option, NBD_REP_INFO, this.#infoExport());
        await this.#optionReply(option, NBD_REP_INFO, this.#infoBlockSize());
        if (wanted.has(NBD_INFO_NAME)) {
          await this.#optionReply(option, NBD_REP_INFO, infoText(NBD_INFO_NAME, name));
        }
        if (wanted.has(NBD_INFO_DESCRIPTION) && s.description !== undefined) {
          await this.#optionReply(
            option,
            NBD_REP_INFO,
            infoText(NBD_INFO_DESCRIPTION, s.description),
          );
        }
        if (option === NBD_OPT_GO) this.#transmission = true;
        await this.#optionReply(option, NBD_REP_ACK);
        return option === NBD_OPT_GO ? "go" : "more";
      }
      case NBD_OPT_LIST_META_CONTEXT:
      case NBD_OPT_SET_META_CONTEXT:
        return await this.#metaContextOption(option, data, dv);
      default:
        await this.#optionReply(option, NBD_REP_ERR_UNSUP, `Option ${option} is not supported`);
        return "more";
    }
  }

  async #invalid(option: number, message: string): Promise<"more"> {
    await this.#optionReply(option, NBD_REP_ERR_INVALID, message);
    return "more";
  }

  /** LIST/SET_META_CONTEXT: u32 name length, name, u32 count, count × (u32 length, query). */
  async #metaContextOption(
    option: number,
    data: Uint8Array,
    dv: DataView,
  ): Promise<"more"> {
    if (!this.#structured) {
      return await this.#invalid(option, "Negotiate NBD_OPT_STRUCTURED_REPLY first");
    }
    if (data.length < 8) return await this.#invalid(option, "Option data is too short");
    const nlen = dv.getUint32(0);
    if (nlen > data.length - 8) return await this.#invalid(option, "Name length is too big");
    const name = decodeName(data.subarray(4, 4 + nlen));
    const count = dv.getUint32(4 + nlen);
    const queries: string[] = [];
    let p = 8 + nlen;
    for (let i = 0; i < count; i++) {
      if (p + 4 > data.length) return await this.#invalid(option, "Query list is truncated");
      const qlen = dv.getUint32(p);
      if (qlen > data.length - p - 4) return await this.#invalid(option, "Query is truncated");
      const q = decodeName(data.subarray(p + 4, p + 4 + qlen));
      if (q === null) return await this.#invalid(option, "Query is not UTF-8");
      queries.push(q);
      p += 4 + qlen;
    }
    if (p !== data.length) return await this.#invalid(option, "Trailing bytes after the queries");
    if (name === null || !this.#s.names.includes(name)) {
      await this.#optionReply(option, NBD_REP_ERR_UNKNOWN, `No export named "${name ?? ""}"`);
      return "more";
    }
    const list = option === NBD_OPT_LIST_META_CONTEXT;
    const matches = queries.length === 0
      ? list
      : queries.some((q) => q === BASE_ALLOCATION || (list && q === "base:"));
    if (!list) this.#metaContext = matches;
    if (matches) {
      const n = TEXT.encode(BASE_ALLOCATION);
      const body = new Uint8Array(4 + n.length);
      new DataView(body.buffer).setUint32(0, list ? 0 : BASE_ALLOCATION_ID);
      body.set(n, 4);
      await this.#optionReply(option, NBD_REP_META_CONTEXT, body);
    }
    await this.#optionReply(option, NBD_REP_ACK);
    return "more";
  }

  #infoExport(): Uint8Array {
    const b = new Uint8Array(12);
    const v = new DataView(b.buffer);
    v.setUint16(0, NBD_INFO_EXPORT);
    setU64(v, 2, this.#s.size);
    v.setUint16(10, this.#s.transmissionFlags);
    return b;
  }

  #infoBlockSize(): Uint8Array {
    const b = new Uint8Array(14);
    const v = new DataView(b.buffer);
    v.setUint16(0, NBD_INFO_BLOCK_SIZE);
    v.setUint32(2, this.#s.lbs);
    v.setUint32(6, this.#s.preferred);
    v.setUint32(10, this.#s.maxPayload);
    return b;
  }

  async #optionReply(option: number, type: number, body?: Uint8Array | string): Promise<void> {
    const data = typeof body === "string" ? TEXT.encode(body) : body ?? new Uint8Array(0);
    const out = new Uint8Array(NBD_OPTION_REPLY_HEADER_SIZE + data.length);
    encodeOptionReplyHeader(new DataView(out.buffer), 0, { option, type, length: data.length });
    out.set(data, NBD_OPTION_REPLY_HEADER_SIZE);
    await writeAll(this.#conn, out);
  }

  // ---------------------------------------------------------------------------------------
  // Transmission

  async #transmit(): Promise<void> {
    const s = this.#s;
    const r = this.#reader;
    for (;;) {
      while (this.#inflight >= s.maxInflight) {
        await new Promise<void>((resolve) => this.#slotWaiter = resolve);
      }
      if (this.#closed || this.#dead) return;
      if (!(await r.ensure(NBD_REQUEST_SIZE))) return;
      const v = r.view;
      const p = r.start;
      if (v.getUint32(p) !== NBD_REQUEST_MAGIC) {
        throw new ProtocolError(
          `Client sent a request with bad magic 0x${v.getUint32(p).toString(16)}`,
        );
      }
      const flags = v.getUint16(p + 4);
      const type = v.getUint16(p + 6);
      const cookieHi = v.getUint32(p + 8);
      const cookieLo = v.getUint32(p + 12);
      const offset = getU64(v, p + 16);
      const length = v.getUint32(p + 24);
      r.consume(NBD_REQUEST_SIZE);
      if (type === NBD_CMD_DISC) return;
      s.stats.requests++;
      const req = new Req(type, flags, cookieHi, cookieLo, offset, length);
      if (type === NBD_CMD_WRITE) {
        if (length > s.hardLimit) {
          throw new ProtocolError(`Client sent a WRITE of ${length} bytes (limit ${s.hardLimit})`);
        }
        req.buf = s.pool.take(length);
        if (!(await r.readInto(req.buf.subarray(ROOM, ROOM + length)))) {
          s.pool.give(req.buf);
          return;
        }
      }
      this.#inflight++;
      if (this.#inflight > s.stats.maxInflight) s.stats.maxInflight = this.#inflight;
      if (s.closing) {
        this.#reply(req, NBD_ESHUTDOWN, "The server is shutting down");
        continue;
      }
      this.#serve(req);
    }
  }

  /** Runs one request on the device and queues its reply; never throws. */
  #serve(req: Req): void {
    let p: Promise<void>;
    try {
      p = this.#execute(req);
    } catch (e) {
      p = Promise.reject(e);
    }
    p.catch((e) => {
      this.#s.onError(e instanceof Error ? e : new Error(String(e)));
      this.#reply(req, NBD_EIO, "Internal error");
    });
  }

  async #execute(req: Req): Promise<void> {
    const s = this.#s;
    const bdev = s.bdev;
    const { type, flags, offset, length } = req;
    const write = type === NBD_CMD_WRITE || type === NBD_CMD_TRIM ||
      type === NBD_CMD_WRITE_ZEROES;
    // Flags: FUA on writes, NO_HOLE on WRITE_ZEROES, REQ_ONE on BLOCK_STATUS; nothing else.
    let allowed = 0;
    if (write && !s.readOnly) allowed |= NBD_CMD_FLAG_FUA;
    if (type === NBD_CMD_WRITE_ZEROES) allowed |= NBD_CMD_FLAG_NO_HOLE;
    if (type === NBD_CMD_BLOCK_STATUS) allowed |= NBD_CMD_FLAG_REQ_ONE;
    if ((flags & ~allowed) !== 0) {
      const unknown = (flags & ~KNOWN_CMD_FLAGS) !== 0;
      return this.#reply(
        req,
        NBD_EINVAL,
        `${unknown ? "Unknown" : "Unexpected"} command flags 0x${flags.toString(16)}`,
      );
    }
    if (type === NBD_CMD_FLUSH) {
      return this.#result(req, await bdev.flush());
    }
    if (
      type !== NBD_CMD_READ && !write && !(type === NBD_CMD_BLOCK_STATUS && this.#metaContext)
    ) {
      return this.#reply(req, NBD_EINVAL, `Command ${type} is not supported`);
    }
    if (write && s.readOnly) return this.#reply(req, NBD_EPERM, "The export is read-only");
    if (offset + length > s.size) {
      return this.#reply(
        req,
        type === NBD_CMD_WRITE || type === NBD_CMD_WRITE_ZEROES ? NBD_ENOSPC : NBD_EINVAL,
        `Range ${offset}+${length} is past the end of the export (${s.size} bytes)`,
      );
    }
    if (type === NBD_CMD_BLOCK_STATUS) return this.#blockStatus(req);
    if (offset % s.lbs !== 0 || length % s.lbs !== 0) {
      return this.#reply(
        req,
        NBD_EINVAL,
        `Range ${offset}+${length} is not aligned to the block size ${s.lbs}`,
      );
    }
    if (length > s.hardLimit) {
      return this.#reply(req, NBD_EINVAL, `Request of ${length} bytes is too large`);
    }
    const fua = (flags & NBD_CMD_FLAG_FUA) !== 0;
    switch (type) {
      case NBD_CMD_READ: {
        req.buf = s.pool.take(length);
        const res = length === 0
          ? 0
          : await bdev.read(offset, req.buf.subarray(ROOM, ROOM + length));
        if (res !== length) return this.#result(req, res < 0 ? res : -EIO);
        return this.#readReply(req);
      }
      case NBD_CMD_WRITE: {
        const data = req.buf!.subarray(ROOM, ROOM + length);
        const res = length === 0
          ? 0
          : await bdev.write(offset, data, fua ? { fua: true } : undefined);
        return this.#result(req, res === length ? 0 : res < 0 ? res : -EIO);
      }
      case NBD_CMD_TRIM: {
        let res = length === 0 ? 0 : await bdev.discard(offset, length);
        if (res === -EOPNOTSUPP) res = 0; // a hint: the device may ignore it
        if (res === 0 && fua) res = await bdev.flush();
        return this.#result(req, res);
      }
      default: { // NBD_CMD_WRITE_ZEROES
        let res = length === 0 ? 0 : await bdev.writeZeroes(offset, length);
        if (res === -EOPNOTSUPP) res = await this.#writeZeroBlocks(offset, length);
        if (res === 0 && fua) res = await bdev.flush();
        return this.#result(req, res);
      }
    }
  }

  async #writeZeroBlocks(offset: number, length: number): Promise<number> {
    const bdev = this.#s.bdev;
    const zero = zeroes(Math.min(length, ZERO_CHUNK));
    for (let done = 0; done < length;) {
      const n = Math.min(zero.length, length - done);
      const res = await bdev.write(offset + done, n === zero.length ? zero : zero.subarray(0, n));
      if (res < 0) return res;
      if (res !== n) return -EIO;
      done += n;
    }
    return 0;
  }

  /** base:allocation: one extent, allocated data (status 0), up to the request's end. */
  #blockStatus(req: Req): void {
    const len = Math.min(req.length, this.#s.size - req.offset);
    if (len === 0) return this.#reply(req, NBD_EINVAL, "BLOCK_STATUS of zero length");
    const b = new Uint8Array(NBD_STRUCTURED_REPLY_SIZE + 12);
    const v = new DataView(b.buffer);
    chunkHeader(v, 0, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_BLOCK_STATUS, req, 12);
    v.setUint32(NBD_STRUCTURED_REPLY_SIZE, BASE_ALLOCATION_ID);
    v.setUint32(NBD_STRUCTURED_REPLY_SIZE + 4, len);
    v.setUint32(NBD_STRUCTURED_REPLY_SIZE + 8, 0);
    this.#enqueue(b, () => this.#finished(req));
  }

  /** A successful READ: the header goes right before the data in the same buffer. */
  #readReply(req: Req): void {
    const buf = req.buf!;
    const length = req.length;
    let start: number;
    const v = new DataView(buf.buffer, buf.byteOffset, buf.length);
    if (this.#structured) {
      if (length === 0) {
        return this.#reply(req, 0, "");
      }
      start = ROOM - NBD_STRUCTURED_REPLY_SIZE - 8;
      chunkHeader(v, start, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_OFFSET_DATA, req, 8 + length);
      setU64(v, ROOM - 8, req.offset);
    } else {
      start = ROOM - NBD_SIMPLE_REPLY_SIZE;
      simpleHeader(v, start, 0, req);
    }
    this.#enqueue(buf.subarray(start, ROOM + length), () => this.#finished(req));
  }

  /** A device result (0 or a negative errno) as a reply. */
  #result(req: Req, res: number): void {
    if (res >= 0) return this.#reply(req, 0, "");
    const nbd = res === -ENODEV || res === -ENXIO ? NBD_EIO : errnoToNbdError(res);
    return this.#reply(req, nbd, `The device failed the request with errno ${-res}`);
  }

  /** A reply without data: success, or an error (a structured ERROR chunk when negotiated). */
  #reply(req: Req, error: number, message: string): void {
    if (error !== 0) this.#s.stats.errors++;
    let b: Uint8Array;
    if (!this.#structured || (error === 0 && req.type !== NBD_CMD_READ)) {
      b = new Uint8Array(NBD_SIMPLE_REPLY_SIZE);
      simpleHeader(new DataView(b.buffer), 0, error, req);
    } else if (error === 0) {
      b = new Uint8Array(NBD_STRUCTURED_REPLY_SIZE); // a zero-length READ
      chunkHeader(new DataView(b.buffer), 0, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_NONE, req, 0);
    } else {
      const msg = TEXT.encode(message).subarray(0, 4096);
      b = new Uint8Array(NBD_STRUCTURED_REPLY_SIZE + 6 + msg.length);
      const v = new DataView(b.buffer);
      chunkHeader(v, 0, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_ERROR, req, 6 + msg.length);
      v.setUint32(NBD_STRUCTURED_REPLY_SIZE, error);
      v.setUint16(NBD_STRUCTURED_REPLY_SIZE + 4, msg.length);
      b.set(msg, NBD_STRUCTURED_REPLY_SIZE + 6);
    }
    this.#enqueue(b, () => this.#finished(req));
  }

  /** The reply of `req` left (or was dropped): free its buffer and its slot. */
  #finished(req: Req): void {
    if (req.buf !== null) {
      this.#s.pool.give(req.buf);
      req.buf = null;
    }
    this.#inflight--;
    const slot = this.#slotWaiter;
    this.#slotWaiter = null;
    slot?.();
    if (this.#inflight === 0 && this.#idleWaiters.length > 0) {
      const idle = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const f of idle) f();
    }
  }

  #enqueue(bytes: Uint8Array, done: () => void): void {
    if (this.#dead) {
      done();
      return;
    }
    this.#queue.push({ bytes, done });
    if (!this.#pumping) {
      this.#pumping = true;
      // Let replies completing in the same tick join the first write.
      this.#pumpDone = Promise.resolve().then(() => this.#pump());
    }
  }

  async #pump(): Promise<void> {
    let batch: Outgoing[] = [];
    try {
      while (this.#queue.length > 0 && !this.#dead) {
        batch = this.#queue;
        this.#queue = [];
        const staging = this.#staging ??= new Uint8Array(STAGING);
        let used = 0;
        let first = 0; // batch[first…] are staged or not yet sent
        for (let i = 0; i < batch.length; i++) {
          const n = batch[i]!.bytes.length;
          if (n <= SMALL_REPLY && used + n <= staging.length) {
            staging.set(batch[i]!.bytes, used);
            used += n;
            continue;
          }
          if (used > 0) {
            await writeAll(this.#conn, staging.subarray(0, used));
            used = 0;
            first = settle(batch, first, i);
          }
          if (n <= SMALL_REPLY) {
            staging.set(batch[i]!.bytes, 0);
            used = n;
          } else {
            await writeAll(this.#conn, batch[i]!.bytes);
            first = settle(batch, first, i + 1);
          }
        }
        if (used > 0) await writeAll(this.#conn, staging.subarray(0, used));
        settle(batch, first, batch.length);
      }
    } catch (e) {
      // The peer is gone: drop what is queued, free the slots; the read loop ends too.
      this.#dead = true;
      if (!this.#closed && !isDisconnect(e)) {
        this.#s.onError(e instanceof Error ? e : new Error(String(e)));
      }
      this.#close();
      settle(batch, 0, batch.length);
      settle(this.#queue, 0, this.#queue.length);
      this.#queue = [];
    } finally {
      this.#pumping = false;
    }
  }
}

/** Calls `done` of `items[from…to)` once each; returns `to`. */
function settle(items: Outgoing[], from: number, to: number): number {
  for (let i = from; i < to; i++) {
    const item = items[i]!;
    const done = item.done;
    item.done = null;
    done?.();
  }
  return to;
}

/** One transmission request. */
class Req {
  buf: Uint8Array | null = null;
  constructor(
    readonly type: number,
    readonly flags: number,
    readonly cookieHi: number,
    readonly cookieLo: number,
    readonly offset: number,
    readonly length: number,
  ) {}
}

function simpleHeader(v: DataView, at: number, error: number, req: Req): void {
  setSimpleReplyHeader(v, at, error, req.cookieHi, req.cookieLo);
}

function chunkHeader(
  v: DataView,
  at: number,
  flags: number,
  type: number,
  req: Req,
  length: number,
): void {
  setChunkHeader(v, at, flags, type, req.cookieHi, req.cookieLo, length);
}

function infoText(type: number, text: string): Uint8Array {
  const t = TEXT.encode(text);
  const b = new Uint8Array(2 + t.length);
  new DataView(b.buffer).setUint16(0, type);
  b.set(t, 2);
  return b;
}

function decodeName(bytes: Uint8Array): string | null {
  try {
    return UTF8.decode(bytes);
  } catch {
    return null;
  }
}

let zeroBuf = new Uint8Array(0);
function zeroes(n: number): Uint8Array {
  if (zeroBuf.length < n) zeroBuf = new Uint8Array(n);
  return zeroBuf.subarray(0, n);
}

function isDisconnect(e: unknown): boolean {
  return e instanceof Deno.errors.BrokenPipe || e instanceof Deno.errors.ConnectionReset ||
    e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted ||
    e instanceof Deno.errors.NotConnected || e instanceof Deno.errors.ConnectionAborted;
}
