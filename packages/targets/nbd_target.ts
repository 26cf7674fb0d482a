/**
 * The nbd target: a ublk device backed by an NBD export, served through one
 * {@linkcode NbdClient} connection with many requests in flight (the ublk tag is the cookie's
 * high half). READ/WRITE move data between the tag's server buffer and the socket; FLUSH →
 * NBD_CMD_FLUSH, DISCARD → NBD_CMD_TRIM, WRITE_ZEROES → NBD_CMD_WRITE_ZEROES (NO_HOLE when the
 * request says NOUNMAP), FUA → NBD_CMD_FLAG_FUA. Operations the server did not offer complete
 * with -EOPNOTSUPP. When the server goes away every request in flight, and every later one,
 * completes with -EIO, so the device can still be stopped and deleted.
 *
 * Zero copy (fused SEND/RECV slaves over the socket as a model fd) is not implemented yet:
 * {@linkcode NbdTarget.init} refuses a zero-copy device with -EOPNOTSUPP.
 *
 * @module
 */

import type { IoDesc, Target, TargetDevInfo, TargetIoCtx, TargetParams } from "@ublk-ts/ublk";
import {
  EOPNOTSUPP,
  ErrnoError,
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
import { NbdClient, type NbdConnectOptions, type NbdWriteZeroesOptions } from "./nbd_client.ts";
import {
  NBD_FLAG_READ_ONLY,
  NBD_FLAG_SEND_FLUSH,
  NBD_FLAG_SEND_FUA,
  NBD_FLAG_SEND_TRIM,
  NBD_FLAG_SEND_WRITE_ZEROES,
} from "./nbd_proto.ts";

/** What the nbd target needs from an NBD connection (an {@linkcode NbdClient}). */
export type NbdTargetClient = Pick<
  NbdClient,
  "info" | "size" | "alive" | "read" | "write" | "flush" | "trim" | "writeZeroes" | "disconnect"
>;

/** Per-tag reusable call state: no allocation per I/O but the client's promise. */
class TagState {
  readonly io: NbdWriteZeroesOptions = { tag: 0, fua: false, noHole: false };
  view: Uint8Array = new Uint8Array(0);
}

/**
 * The nbd target.
 *
 * @example Connect to a server (ignored: needs an NBD server)
 * ```ts ignore
 * import { NbdTarget } from "@ublk-ts/targets";
 * const target = await NbdTarget.connect({ path: "/tmp/nbd.sock" });
 * ```
 */
export class NbdTarget implements Target {
  /** "nbd". */
  readonly name: string = "nbd";
  /** The NBD connection. */
  readonly client: NbdTargetClient;
  #tags: TagState[] = [];
  #depth = 0;
  #closed = false;

  /**
   * Connects to an NBD server and runs the handshake (before any device exists).
   *
   * @param options Where (`path` for a unix socket, or `hostname`/`port`) and the export.
   * @returns The target.
   * @throws What `Deno.connect` throws, and `NbdError` for handshake failures.
   */
  static async connect(options: NbdConnectOptions): Promise<NbdTarget> {
    return new NbdTarget(await NbdClient.connect(options));
  }

  /**
   * Wraps a connected client.
   *
   * @param client The client, past the handshake.
   */
  constructor(client: NbdTargetClient) {
    this.client = client;
  }

  /**
   * Returns the export's geometry and the operations it offers.
   *
   * @param dev The device.
   * @returns The parameters.
   * @throws {ErrnoError} EOPNOTSUPP for a zero-copy device (not implemented for nbd yet).
   */
  init(dev: TargetDevInfo): TargetParams {
    if (dev.zeroCopy) {
      throw new ErrnoError(EOPNOTSUPP, { op: "Zero copy of the nbd target (not implemented)" });
    }
    this.#depth = dev.queueDepth;
    this.#tags = [];
    for (let i = 0; i < dev.nrHwQueues * dev.queueDepth; i++) this.#tags.push(new TagState());
    const info = this.client.info;
    const f = info.transmissionFlags;
    let lbs = 512;
    while (lbs < info.minBlock && lbs < 4096) lbs *= 2;
    const size = this.client.size - (this.client.size % lbs);
    if (size <= 0) throw new RangeError(`Cannot serve an NBD export of ${this.client.size} bytes`);
    const shift = Math.log2(lbs);
    const params: TargetParams = {
      devSize: size,
      logicalBsShift: shift,
      physicalBsShift: Math.max(shift, 12),
      ioOptShift: Math.max(shift, 12),
      ioMinShift: shift,
      attrs: ((f & NBD_FLAG_READ_ONLY) ? UBLK_ATTR_READ_ONLY : 0) |
        ((f & NBD_FLAG_SEND_FLUSH) ? UBLK_ATTR_VOLATILE_CACHE : 0) |
        ((f & NBD_FLAG_SEND_FUA) ? UBLK_ATTR_FUA : 0),
    };
    if (f & (NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES)) {
      params.discard = {
        granularity: Math.max(lbs, 4096),
        maxDiscardSectors: (f & NBD_FLAG_SEND_TRIM) ? 0xffffffff >>> 9 : 0,
        maxWriteZeroesSectors: (f & NBD_FLAG_SEND_WRITE_ZEROES) ? 0xffffffff >>> 9 : 0,
        maxDiscardSegments: 1,
      };
    }
    return params;
  }

  #state(ctx: TargetIoCtx): TagState {
    const key = ctx.qid * this.#depth + ctx.tag;
    let s = this.#tags[key];
    if (s === undefined) {
      s = new TagState();
      this.#tags[key] = s;
    }
    s.io.tag = ctx.qid * 65536 + ctx.tag;
    return s;
  }

  /**
   * Serves one request over the NBD connection.
   *
   * @param ctx The tag's context.
   * @param _tag The tag.
   * @param iod The request.
   * @returns Bytes done, 0 for FLUSH/DISCARD/WRITE_ZEROES, or a negative errno.
   */
  handleIo(ctx: TargetIoCtx, _tag: number, iod: IoDesc): Promise<number> | number {
    const s = this.#state(ctx);
    const n = iod.bytes;
    switch (iod.op) {
      case UBLK_IO_OP_READ:
      case UBLK_IO_OP_WRITE: {
        if (s.view.buffer !== ctx.buf.buffer || s.view.length !== n) {
          s.view = ctx.buf.subarray(0, n);
        }
        if (iod.op === UBLK_IO_OP_READ) return this.client.read(iod.offset, s.view, s.io.tag);
        s.io.fua = (iod.flags & UBLK_IO_F_FUA) !== 0;
        s.io.noHole = false;
        return this.client.write(iod.offset, s.view, s.io);
      }
      case UBLK_IO_OP_FLUSH:
        s.io.fua = false;
        return this.client.flush(s.io);
      case UBLK_IO_OP_DISCARD:
        s.io.fua = false;
        return this.client.trim(iod.offset, n, s.io);
      case UBLK_IO_OP_WRITE_ZEROES:
        s.io.fua = (iod.flags & UBLK_IO_F_FUA) !== 0;
        s.io.noHole = (iod.flags & UBLK_IO_F_NOUNMAP) !== 0;
        return this.client.writeZeroes(iod.offset, n, s.io);
      default:
        return -EOPNOTSUPP;
    }
  }

  /**
   * Disconnects (NBD_CMD_DISC after the requests in flight). Safe to call twice.
   *
   * @returns When the connection is closed.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.client.disconnect();
  }
}
