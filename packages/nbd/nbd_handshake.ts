/**
 * The client side of the NBD fixed newstyle handshake, over any {@linkcode NbdStream}.
 *
 * Order: greeting (`NBDMAGIC`, `IHAVEOPT`, handshake flags) → client flags (FIXED_NEWSTYLE,
 * NO_ZEROES when offered) → `NBD_OPT_STRUCTURED_REPLY` when asked → `NBD_OPT_GO` with
 * INFO_EXPORT and INFO_BLOCK_SIZE requests → `NBD_REP_INFO`… `NBD_REP_ACK`. A server that
 * answers GO with `NBD_REP_ERR_UNSUP` (or a non-fixed newstyle server) gets
 * `NBD_OPT_EXPORT_NAME` instead.
 *
 * @module
 */

import { NbdError } from "./nbd_error.ts";
import {
  decodeInfo,
  encodeInfoRequest,
  encodeOptionHeader,
  infoRequestLength,
  NBD_CLISERV_MAGIC,
  NBD_EXPORT_NAME_REPLY_SIZE,
  NBD_EXPORT_NAME_ZEROES,
  NBD_FLAG_C_FIXED_NEWSTYLE,
  NBD_FLAG_C_NO_ZEROES,
  NBD_FLAG_FIXED_NEWSTYLE,
  NBD_FLAG_NO_ZEROES,
  NBD_INFO_BLOCK_SIZE,
  NBD_INFO_EXPORT,
  NBD_INIT_MAGIC,
  NBD_OPT_ABORT,
  NBD_OPT_EXPORT_NAME,
  NBD_OPT_GO,
  NBD_OPT_STRUCTURED_REPLY,
  NBD_OPTION_HEADER_SIZE,
  NBD_OPTION_REPLY_HEADER_SIZE,
  NBD_OPTS_MAGIC,
  NBD_REP_ACK,
  NBD_REP_ERR_UNKNOWN,
  NBD_REP_ERR_UNSUP,
  NBD_REP_FLAG_ERROR,
  NBD_REP_INFO,
  NBD_REP_MAGIC,
  nbdReplyTypeName,
} from "./nbd_proto.ts";
import { NbdReader, type NbdStream, writeAll } from "./nbd_stream.ts";

/** The default maximum payload when the server does not advertise one (32 MiB). */
export const NBD_DEFAULT_MAX_PAYLOAD: number = 32 * 1024 * 1024;

/** Options of {@linkcode nbdHandshake}. */
export interface NbdHandshakeOptions {
  /** The export name, default `""` (the default export). */
  exportName?: string;
  /** Ask for structured replies (`NBD_OPT_STRUCTURED_REPLY`), default `true`. */
  structuredReplies?: boolean;
  /** A reader over the same stream to use (and leave positioned after the handshake). */
  reader?: NbdReader;
}

/** What the handshake agreed. */
export interface NbdExportInfo {
  /** Export size in bytes. */
  size: bigint;
  /** Transmission flags (`NBD_FLAG_*`). */
  transmissionFlags: number;
  /** Minimum block size (1 when not advertised). */
  minBlock: number;
  /** Preferred block size (4096 when not advertised). */
  preferredBlock: number;
  /** Maximum payload per request (32 MiB when not advertised). */
  maxPayload: number;
  /** Whether structured replies were negotiated. */
  structuredReplies: boolean;
  /** Whether `NBD_OPT_GO` (not EXPORT_NAME) entered transmission. */
  usedGo: boolean;
}

const TEXT = new TextEncoder();

async function need(reader: NbdReader, n: number, what: string): Promise<void> {
  if (!(await reader.ensure(n))) {
    throw new NbdError(`Server closed the connection during the handshake (reading ${what})`);
  }
}

function hex(v: bigint): string {
  return `0x${v.toString(16).padStart(16, "0")}`;
}

/**
 * Runs the fixed newstyle handshake up to the transmission phase.
 *
 * Errors: throws {@linkcode NbdError} for a non-NBD peer (bad magic), an oldstyle server
 * ("Oldstyle protocol is no longer supported"), a refused export (with the reply type name,
 * such as `NBD_REP_ERR_UNKNOWN`), or a connection closed mid-handshake. Transport errors of
 * the stream propagate as they are.
 *
 * @param stream The connected stream (`Deno.Conn`).
 * @param options Export name and wanted features.
 * @returns The export's size, flags, block sizes and negotiated features.
 *
 * @example Against a server on a unix socket
 * ```ts ignore
 * const conn = await Deno.connect({ transport: "unix", path: "/tmp/nbd.sock" });
 * const info = await nbdHandshake(conn, { exportName: "" });
 * console.log(info.size, info.structuredReplies);
 * ```
 */
export async function nbdHandshake(
  stream: NbdStream,
  options: NbdHandshakeOptions = {},
): Promise<NbdExportInfo> {
  const reader = options.reader ?? new NbdReader(stream, 64 * 1024);
  const view = reader.view;
  const name = TEXT.encode(options.exportName ?? "");
  if (name.length > 4096) throw new RangeError("Cannot use an export name over 4096 bytes");

  await need(reader, 16, "the greeting");
  const magic = view.getBigUint64(reader.start);
  if (magic !== NBD_INIT_MAGIC) {
    throw new NbdError(`Not an NBD server: bad magic ${hex(magic)}`);
  }
  const second = view.getBigUint64(reader.start + 8);
  if (second === NBD_CLISERV_MAGIC) {
    throw new NbdError("Oldstyle protocol is no longer supported");
  }
  if (second !== NBD_OPTS_MAGIC) {
    throw new NbdError(`Not an NBD server: bad newstyle magic ${hex(second)}`);
  }
  reader.consume(16);
  await need(reader, 2, "the handshake flags");
  const hsFlags = view.getUint16(reader.start);
  reader.consume(2);
  const fixed = (hsFlags & NBD_FLAG_FIXED_NEWSTYLE) !== 0;
  const noZeroes = (hsFlags & NBD_FLAG_NO_ZEROES) !== 0;

  const out = new Uint8Array(NBD_OPTION_HEADER_SIZE + 4 + 4096 + 16);
  const ov = new DataView(out.buffer);
  ov.setUint32(0, (fixed ? NBD_FLAG_C_FIXED_NEWSTYLE : 0) | (noZeroes ? NBD_FLAG_C_NO_ZEROES : 0));
  await writeAll(stream, out.subarray(0, 4));

  let structured = false;
  if (fixed && (options.structuredReplies ?? true)) {
    encodeOptionHeader(ov, 0, NBD_OPT_STRUCTURED_REPLY, 0);
    await writeAll(stream, out.subarray(0, NBD_OPTION_HEADER_SIZE));
    const rep = await readOptionReply(reader, NBD_OPT_STRUCTURED_REPLY);
    await reader.skip(rep.length);
    if (rep.type === NBD_REP_ACK) structured = true;
    else if ((rep.type & NBD_REP_FLAG_ERROR) === 0) {
      throw new NbdError(
        `Unexpected reply ${nbdReplyTypeName(rep.type)} to NBD_OPT_STRUCTURED_REPLY`,
        { replyType: rep.type, replyName: nbdReplyTypeName(rep.type) },
      );
    }
  }

  if (fixed) {
    const len = infoRequestLength(name, 2);
    encodeOptionHeader(ov, 0, NBD_OPT_GO, len);
    encodeInfoRequest(ov, NBD_OPTION_HEADER_SIZE, name, [NBD_INFO_EXPORT, NBD_INFO_BLOCK_SIZE]);
    await writeAll(stream, out.subarray(0, NBD_OPTION_HEADER_SIZE + len));
    let size: bigint | undefined;
    let flags = 0;
    let minBlock = 1;
    let preferredBlock = 4096;
    let maxPayload = NBD_DEFAULT_MAX_PAYLOAD;
    for (;;) {
      const rep = await readOptionReply(reader, NBD_OPT_GO);
      if (rep.type === NBD_REP_INFO) {
        if (rep.length > reader.capacity) {
          throw new NbdError(`Server sent an oversized NBD_REP_INFO (${rep.length} bytes)`);
        }
        await need(reader, rep.length, "NBD_REP_INFO");
        const info = decodeInfo(view, reader.start, rep.length);
        reader.consume(rep.length);
        if (info === null) throw new NbdError("Server sent a short NBD_REP_INFO");
        if ("size" in info) {
          size = info.size;
          flags = info.transmissionFlags;
        } else if ("maxPayload" in info) {
          minBlock = info.minBlock || 1;
          preferredBlock = info.preferredBlock || 4096;
          maxPayload = info.maxPayload || NBD_DEFAULT_MAX_PAYLOAD;
        }
        continue;
      }
      if (rep.type === NBD_REP_ACK) {
        await reader.skip(rep.length);
        if (size === undefined) {
          throw new NbdError("Server acknowledged NBD_OPT_GO without NBD_INFO_EXPORT");
        }
        return {
          size,
          transmissionFlags: flags,
          minBlock,
          preferredBlock,
          maxPayload,
          structuredReplies: structured,
          usedGo: true,
        };
      }
      if (rep.type === NBD_REP_ERR_UNSUP) {
        await reader.skip(rep.length);
        break; // fall back to EXPORT_NAME
      }
      const message = await readMessage(reader, rep.length);
      // Leave politely (NBD_OPT_ABORT); the caller closes the stream.
      encodeOptionHeader(ov, 0, NBD_OPT_ABORT, 0);
      await writeAll(stream, out.subarray(0, NBD_OPTION_HEADER_SIZE)).catch(() => {});
      const typeName = nbdReplyTypeName(rep.type);
      const what = rep.type === NBD_REP_ERR_UNKNOWN
        ? `Export "${options.exportName ?? ""}" is unknown`
        : `Server refused export "${options.exportName ?? ""}"`;
      throw new NbdError(`${what}: ${typeName}${message ? ` (${message})` : ""}`, {
        replyType: rep.type,
        replyName: typeName,
      });
    }
  }

  // NBD_OPT_EXPORT_NAME: the data is the bare name; a refusal is a closed connection.
  encodeOptionHeader(ov, 0, NBD_OPT_EXPORT_NAME, name.length);
  out.set(name, NBD_OPTION_HEADER_SIZE);
  await writeAll(stream, out.subarray(0, NBD_OPTION_HEADER_SIZE + name.length));
  const replySize = NBD_EXPORT_NAME_REPLY_SIZE + (noZeroes ? 0 : NBD_EXPORT_NAME_ZEROES);
  if (!(await reader.ensure(replySize))) {
    throw new NbdError(
      `Server refused export "${
        options.exportName ?? ""
      }": connection closed after NBD_OPT_EXPORT_NAME`,
    );
  }
  const size = view.getBigUint64(reader.start);
  const flags = view.getUint16(reader.start + 8);
  reader.consume(replySize);
  return {
    size,
    transmissionFlags: flags,
    minBlock: 1,
    preferredBlock: 4096,
    maxPayload: NBD_DEFAULT_MAX_PAYLOAD,
    structuredReplies: structured,
    usedGo: false,
  };
}

interface OptionReply {
  type: number;
  length: number;
}

async function readOptionReply(reader: NbdReader, option: number): Promise<OptionReply> {
  await need(reader, NBD_OPTION_REPLY_HEADER_SIZE, "an option reply");
  const v = reader.view;
  const s = reader.start;
  const magic = v.getBigUint64(s);
  if (magic !== NBD_REP_MAGIC) throw new NbdError(`Bad option reply magic ${hex(magic)}`);
  const opt = v.getUint32(s + 8);
  if (opt !== option) {
    throw new NbdError(`Server replied to option ${opt} while option ${option} was pending`);
  }
  const type = v.getUint32(s + 12);
  const length = v.getUint32(s + 16);
  reader.consume(NBD_OPTION_REPLY_HEADER_SIZE);
  return { type, length };
}

async function readMessage(reader: NbdReader, length: number): Promise<string> {
  const keep = Math.min(length, 1024);
  const bytes = new Uint8Array(keep);
  if (!(await reader.readInto(bytes)) || !(await reader.skip(length - keep))) return "";
  return new TextDecoder().decode(bytes);
}
