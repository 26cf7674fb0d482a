/**
 * The NBD protocol (NetworkBlockDevice/nbd `doc/proto.md`): every constant under its
 * protocol name, and pure codecs of the handshake and transmission headers over
 * caller-owned memory. No I/O here: {@linkcode nbdHandshake} and {@linkcode NbdClient} move
 * the bytes, and a zero-copy ublk target may move payloads itself (io_uring SEND/RECV) around
 * these same codecs.
 *
 * All integers on the wire are big-endian. Codecs take a `DataView` and a byte offset and
 * never allocate, except where a `bigint` is part of the returned value.
 *
 * @example Encode a READ request
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeRequest, NBD_CMD_READ, NBD_REQUEST_MAGIC, NBD_REQUEST_SIZE } from "@ublk-ts/nbd";
 * const view = new DataView(new ArrayBuffer(NBD_REQUEST_SIZE));
 * encodeRequest(view, 0, { type: NBD_CMD_READ, flags: 0, cookie: 7n, offset: 4096, length: 512 });
 * assert.equal(view.getUint32(0), NBD_REQUEST_MAGIC);
 * ```
 *
 * @module
 */

import {
  EINVAL,
  EIO,
  ENOMEM,
  ENOSPC,
  EOPNOTSUPP,
  EOVERFLOW,
  EPERM,
  ESHUTDOWN,
} from "@ublk-ts/uapi";

// ---------------------------------------------------------------------------------------------
// Magics

/** `NBDMAGIC`: the first 8 bytes a server sends ("NBDMAGIC"). */
export const NBD_INIT_MAGIC: bigint = 0x4e42444d41474943n;
/** `IHAVEOPT`: newstyle server magic and option request magic ("IHAVEOPT"). */
export const NBD_OPTS_MAGIC: bigint = 0x49484156454f5054n;
/** The obsolete oldstyle server magic (`NBD_CLISERV_MAGIC`). */
export const NBD_CLISERV_MAGIC: bigint = 0x00420281861253n;
/** The option reply magic. */
export const NBD_REP_MAGIC: bigint = 0x3e889045565a9n;
/** The transmission request magic. */
export const NBD_REQUEST_MAGIC = 0x25609513;
/** The simple reply magic. */
export const NBD_SIMPLE_REPLY_MAGIC = 0x67446698;
/** The structured reply chunk magic. */
export const NBD_STRUCTURED_REPLY_MAGIC = 0x668e33ef;
/** The extended request magic (extended headers, not negotiated by this client). */
export const NBD_EXTENDED_REQUEST_MAGIC = 0x21e41c71;
/** The extended reply magic (extended headers, not negotiated by this client). */
export const NBD_EXTENDED_REPLY_MAGIC = 0x6e8a278c;

/** The IANA port of NBD. */
export const NBD_DEFAULT_PORT = 10809;

// ---------------------------------------------------------------------------------------------
// Handshake flags

/** Server handshake flag: fixed newstyle. */
export const NBD_FLAG_FIXED_NEWSTYLE = 1 << 0;
/** Server handshake flag: the client may skip the 124 zero bytes. */
export const NBD_FLAG_NO_ZEROES = 1 << 1;
/** Client flag: fixed newstyle. */
export const NBD_FLAG_C_FIXED_NEWSTYLE = 1 << 0;
/** Client flag: no 124 zero bytes after EXPORT_NAME. */
export const NBD_FLAG_C_NO_ZEROES = 1 << 1;

// ---------------------------------------------------------------------------------------------
// Options

/** `NBD_OPT_EXPORT_NAME` (1). */
export const NBD_OPT_EXPORT_NAME = 1;
/** `NBD_OPT_ABORT` (2). */
export const NBD_OPT_ABORT = 2;
/** `NBD_OPT_LIST` (3). */
export const NBD_OPT_LIST = 3;
/** `NBD_OPT_STARTTLS` (5). */
export const NBD_OPT_STARTTLS = 5;
/** `NBD_OPT_INFO` (6). */
export const NBD_OPT_INFO = 6;
/** `NBD_OPT_GO` (7). */
export const NBD_OPT_GO = 7;
/** `NBD_OPT_STRUCTURED_REPLY` (8). */
export const NBD_OPT_STRUCTURED_REPLY = 8;
/** `NBD_OPT_LIST_META_CONTEXT` (9). */
export const NBD_OPT_LIST_META_CONTEXT = 9;
/** `NBD_OPT_SET_META_CONTEXT` (10). */
export const NBD_OPT_SET_META_CONTEXT = 10;
/** `NBD_OPT_EXTENDED_HEADERS` (11). */
export const NBD_OPT_EXTENDED_HEADERS = 11;

// ---------------------------------------------------------------------------------------------
// Option reply types

/** Bit 31: the option reply is an error. */
export const NBD_REP_FLAG_ERROR = 0x80000000;
/** `NBD_REP_ACK` (1). */
export const NBD_REP_ACK = 1;
/** `NBD_REP_SERVER` (2). */
export const NBD_REP_SERVER = 2;
/** `NBD_REP_INFO` (3). */
export const NBD_REP_INFO = 3;
/** `NBD_REP_META_CONTEXT` (4). */
export const NBD_REP_META_CONTEXT = 4;
/** `NBD_REP_ERR_UNSUP`: option unknown to the server. */
export const NBD_REP_ERR_UNSUP = 0x80000001;
/** `NBD_REP_ERR_POLICY`: forbidden by server policy. */
export const NBD_REP_ERR_POLICY = 0x80000002;
/** `NBD_REP_ERR_INVALID`: syntactically or semantically invalid. */
export const NBD_REP_ERR_INVALID = 0x80000003;
/** `NBD_REP_ERR_PLATFORM`: not supported on this platform. */
export const NBD_REP_ERR_PLATFORM = 0x80000004;
/** `NBD_REP_ERR_TLS_REQD`: TLS required first. */
export const NBD_REP_ERR_TLS_REQD = 0x80000005;
/** `NBD_REP_ERR_UNKNOWN`: the export is not available. */
export const NBD_REP_ERR_UNKNOWN = 0x80000006;
/** `NBD_REP_ERR_SHUTDOWN`: the server is shutting down. */
export const NBD_REP_ERR_SHUTDOWN = 0x80000007;
/** `NBD_REP_ERR_BLOCK_SIZE_REQD`: the client must request INFO_BLOCK_SIZE. */
export const NBD_REP_ERR_BLOCK_SIZE_REQD = 0x80000008;
/** `NBD_REP_ERR_TOO_BIG`: the request or reply is too large. */
export const NBD_REP_ERR_TOO_BIG = 0x80000009;
/** `NBD_REP_ERR_EXT_HEADER_REQD`: extended headers required. */
export const NBD_REP_ERR_EXT_HEADER_REQD = 0x8000000a;

const REP_NAMES: ReadonlyMap<number, string> = new Map([
  [NBD_REP_ACK, "NBD_REP_ACK"],
  [NBD_REP_SERVER, "NBD_REP_SERVER"],
  [NBD_REP_INFO, "NBD_REP_INFO"],
  [NBD_REP_META_CONTEXT, "NBD_REP_META_CONTEXT"],
  [NBD_REP_ERR_UNSUP, "NBD_REP_ERR_UNSUP"],
  [NBD_REP_ERR_POLICY, "NBD_REP_ERR_POLICY"],
  [NBD_REP_ERR_INVALID, "NBD_REP_ERR_INVALID"],
  [NBD_REP_ERR_PLATFORM, "NBD_REP_ERR_PLATFORM"],
  [NBD_REP_ERR_TLS_REQD, "NBD_REP_ERR_TLS_REQD"],
  [NBD_REP_ERR_UNKNOWN, "NBD_REP_ERR_UNKNOWN"],
  [NBD_REP_ERR_SHUTDOWN, "NBD_REP_ERR_SHUTDOWN"],
  [NBD_REP_ERR_BLOCK_SIZE_REQD, "NBD_REP_ERR_BLOCK_SIZE_REQD"],
  [NBD_REP_ERR_TOO_BIG, "NBD_REP_ERR_TOO_BIG"],
  [NBD_REP_ERR_EXT_HEADER_REQD, "NBD_REP_ERR_EXT_HEADER_REQD"],
]);

/**
 * The protocol name of an option reply type.
 *
 * @param type The reply type.
 * @returns Its name such as `"NBD_REP_ERR_UNKNOWN"`, or `"NBD_REP_0x…"` when unknown.
 */
export function nbdReplyTypeName(type: number): string {
  return REP_NAMES.get(type) ?? `NBD_REP_0x${(type >>> 0).toString(16)}`;
}

// ---------------------------------------------------------------------------------------------
// Info types

/** `NBD_INFO_EXPORT` (0): size and transmission flags (mandatory). */
export const NBD_INFO_EXPORT = 0;
/** `NBD_INFO_NAME` (1). */
export const NBD_INFO_NAME = 1;
/** `NBD_INFO_DESCRIPTION` (2). */
export const NBD_INFO_DESCRIPTION = 2;
/** `NBD_INFO_BLOCK_SIZE` (3): minimum, preferred, maximum payload. */
export const NBD_INFO_BLOCK_SIZE = 3;

// ---------------------------------------------------------------------------------------------
// Transmission flags

/** `NBD_FLAG_HAS_FLAGS`: always set. */
export const NBD_FLAG_HAS_FLAGS = 1 << 0;
/** `NBD_FLAG_READ_ONLY`. */
export const NBD_FLAG_READ_ONLY = 1 << 1;
/** `NBD_FLAG_SEND_FLUSH`. */
export const NBD_FLAG_SEND_FLUSH = 1 << 2;
/** `NBD_FLAG_SEND_FUA`. */
export const NBD_FLAG_SEND_FUA = 1 << 3;
/** `NBD_FLAG_ROTATIONAL`. */
export const NBD_FLAG_ROTATIONAL = 1 << 4;
/** `NBD_FLAG_SEND_TRIM`. */
export const NBD_FLAG_SEND_TRIM = 1 << 5;
/** `NBD_FLAG_SEND_WRITE_ZEROES`. */
export const NBD_FLAG_SEND_WRITE_ZEROES = 1 << 6;
/** `NBD_FLAG_SEND_DF`. */
export const NBD_FLAG_SEND_DF = 1 << 7;
/** `NBD_FLAG_CAN_MULTI_CONN`. */
export const NBD_FLAG_CAN_MULTI_CONN = 1 << 8;
/** `NBD_FLAG_SEND_RESIZE`. */
export const NBD_FLAG_SEND_RESIZE = 1 << 9;
/** `NBD_FLAG_SEND_CACHE`. */
export const NBD_FLAG_SEND_CACHE = 1 << 10;
/** `NBD_FLAG_SEND_FAST_ZERO`. */
export const NBD_FLAG_SEND_FAST_ZERO = 1 << 11;
/** `NBD_FLAG_BLOCK_STATUS_PAYLOAD`. */
export const NBD_FLAG_BLOCK_STATUS_PAYLOAD = 1 << 12;

// ---------------------------------------------------------------------------------------------
// Commands

/** `NBD_CMD_READ` (0). */
export const NBD_CMD_READ = 0;
/** `NBD_CMD_WRITE` (1). */
export const NBD_CMD_WRITE = 1;
/** `NBD_CMD_DISC` (2): disconnect, no reply. */
export const NBD_CMD_DISC = 2;
/** `NBD_CMD_FLUSH` (3). */
export const NBD_CMD_FLUSH = 3;
/** `NBD_CMD_TRIM` (4). */
export const NBD_CMD_TRIM = 4;
/** `NBD_CMD_CACHE` (5). */
export const NBD_CMD_CACHE = 5;
/** `NBD_CMD_WRITE_ZEROES` (6). */
export const NBD_CMD_WRITE_ZEROES = 6;
/** `NBD_CMD_BLOCK_STATUS` (7). */
export const NBD_CMD_BLOCK_STATUS = 7;
/** `NBD_CMD_RESIZE` (8). */
export const NBD_CMD_RESIZE = 8;

/** Command flag `NBD_CMD_FLAG_FUA`. */
export const NBD_CMD_FLAG_FUA = 1 << 0;
/** Command flag `NBD_CMD_FLAG_NO_HOLE` (WRITE_ZEROES: allocate). */
export const NBD_CMD_FLAG_NO_HOLE = 1 << 1;
/** Command flag `NBD_CMD_FLAG_DF` (READ: do not fragment). */
export const NBD_CMD_FLAG_DF = 1 << 2;
/** Command flag `NBD_CMD_FLAG_REQ_ONE` (BLOCK_STATUS). */
export const NBD_CMD_FLAG_REQ_ONE = 1 << 3;
/** Command flag `NBD_CMD_FLAG_FAST_ZERO`. */
export const NBD_CMD_FLAG_FAST_ZERO = 1 << 4;

// ---------------------------------------------------------------------------------------------
// Structured reply chunks

/** Structured reply flag `NBD_REPLY_FLAG_DONE`: the last chunk for this cookie. */
export const NBD_REPLY_FLAG_DONE = 1 << 0;
/** `NBD_REPLY_TYPE_NONE` (0). */
export const NBD_REPLY_TYPE_NONE = 0;
/** `NBD_REPLY_TYPE_OFFSET_DATA` (1): u64 offset, then data. */
export const NBD_REPLY_TYPE_OFFSET_DATA = 1;
/** `NBD_REPLY_TYPE_OFFSET_HOLE` (2): u64 offset, u32 hole size. */
export const NBD_REPLY_TYPE_OFFSET_HOLE = 2;
/** `NBD_REPLY_TYPE_BLOCK_STATUS` (5). */
export const NBD_REPLY_TYPE_BLOCK_STATUS = 5;
/** `NBD_REPLY_TYPE_BLOCK_STATUS_EXT` (6). */
export const NBD_REPLY_TYPE_BLOCK_STATUS_EXT = 6;
/** Bit 15 of a chunk type: the chunk is an error. */
export const NBD_REPLY_TYPE_ERROR_BIT = 1 << 15;
/** `NBD_REPLY_TYPE_ERROR` (2^15 + 1): u32 error, u16 message length, message. */
export const NBD_REPLY_TYPE_ERROR = 0x8001;
/** `NBD_REPLY_TYPE_ERROR_OFFSET` (2^15 + 2): as ERROR, then u64 offset. */
export const NBD_REPLY_TYPE_ERROR_OFFSET = 0x8002;

// ---------------------------------------------------------------------------------------------
// NBD error values

/** NBD error `NBD_EPERM` (1). */
export const NBD_EPERM = 1;
/** NBD error `NBD_EIO` (5). */
export const NBD_EIO = 5;
/** NBD error `NBD_ENOMEM` (12). */
export const NBD_ENOMEM = 12;
/** NBD error `NBD_EINVAL` (22). */
export const NBD_EINVAL = 22;
/** NBD error `NBD_ENOSPC` (28). */
export const NBD_ENOSPC = 28;
/** NBD error `NBD_EOVERFLOW` (75). */
export const NBD_EOVERFLOW = 75;
/** NBD error `NBD_ENOTSUP` (95). */
export const NBD_ENOTSUP = 95;
/** NBD error `NBD_ESHUTDOWN` (108). */
export const NBD_ESHUTDOWN = 108;

/**
 * The negative Linux errno for an NBD error value: the eight protocol values map to their
 * Linux errno (the numbers agree on Linux), anything else to `-EIO` as the protocol asks.
 *
 * @param error The NBD error from a reply (0 for success).
 * @returns 0 for 0, otherwise a negative errno.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nbdErrorToErrno } from "@ublk-ts/nbd";
 * assert.equal(nbdErrorToErrno(28), -28);
 * assert.equal(nbdErrorToErrno(1234), -5);
 * ```
 */
export function nbdErrorToErrno(error: number): number {
  switch (error) {
    case 0:
      return 0;
    case NBD_EPERM:
      return -EPERM;
    case NBD_EIO:
      return -EIO;
    case NBD_ENOMEM:
      return -ENOMEM;
    case NBD_EINVAL:
      return -EINVAL;
    case NBD_ENOSPC:
      return -ENOSPC;
    case NBD_EOVERFLOW:
      return -EOVERFLOW;
    case NBD_ENOTSUP:
      return -EOPNOTSUPP;
    case NBD_ESHUTDOWN:
      return -ESHUTDOWN;
    default:
      return -EIO;
  }
}

/**
 * The NBD error value a server sends for a Linux errno: the eight protocol values pass,
 * `EROFS`/`EACCES` become `NBD_EPERM`, `EDQUOT`/`EFBIG` become `NBD_ENOSPC`, everything
 * else `NBD_EINVAL` as the protocol recommends for unmapped errors.
 *
 * @param errno A Linux errno, positive or negative (0 for success).
 * @returns The NBD error value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { errnoToNbdError } from "@ublk-ts/nbd";
 * assert.equal(errnoToNbdError(-5), 5);
 * assert.equal(errnoToNbdError(30), 1);
 * ```
 */
export function errnoToNbdError(errno: number): number {
  const n = Math.abs(errno);
  switch (n) {
    case 0:
    case NBD_EPERM:
    case NBD_EIO:
    case NBD_ENOMEM:
    case NBD_EINVAL:
    case NBD_ENOSPC:
    case NBD_EOVERFLOW:
    case NBD_ENOTSUP:
    case NBD_ESHUTDOWN:
      return n;
    case 30: // EROFS
    case 13: // EACCES
      return NBD_EPERM;
    case 122: // EDQUOT
    case 27: // EFBIG
      return NBD_ENOSPC;
    default:
      return NBD_EINVAL;
  }
}

// ---------------------------------------------------------------------------------------------
// Handshake codecs

/** Size of the newstyle server greeting: NBDMAGIC, IHAVEOPT, u16 handshake flags. */
export const NBD_GREETING_SIZE = 18;
/** Size of an option request header: IHAVEOPT, u32 option, u32 length. */
export const NBD_OPTION_HEADER_SIZE = 16;
/** Size of an option reply header: magic, u32 option, u32 type, u32 length. */
export const NBD_OPTION_REPLY_HEADER_SIZE = 20;
/** Size of the EXPORT_NAME reply without its 124 zero bytes: u64 size, u16 flags. */
export const NBD_EXPORT_NAME_REPLY_SIZE = 10;
/** The zero padding after an EXPORT_NAME reply unless NO_ZEROES was agreed. */
export const NBD_EXPORT_NAME_ZEROES = 124;

/** A decoded option reply header. */
export interface NbdOptionReplyHeader {
  /** The magic (must be {@linkcode NBD_REP_MAGIC}). */
  magic: bigint;
  /** The option this replies to. */
  option: number;
  /** The reply type (`NBD_REP_*`). */
  type: number;
  /** Length of the data that follows. */
  length: number;
}

/**
 * Writes an option request header (`IHAVEOPT`, option, data length).
 *
 * @param view The destination.
 * @param offset Byte offset in `view`.
 * @param option The option (`NBD_OPT_*`).
 * @param length The length of the option data that follows.
 */
export function encodeOptionHeader(
  view: DataView,
  offset: number,
  option: number,
  length: number,
): void {
  view.setBigUint64(offset, NBD_OPTS_MAGIC);
  view.setUint32(offset + 8, option);
  view.setUint32(offset + 12, length);
}

/**
 * Reads an option reply header.
 *
 * @param view The source.
 * @param offset Byte offset in `view`.
 * @returns The header (the caller checks the magic).
 */
export function decodeOptionReplyHeader(view: DataView, offset: number): NbdOptionReplyHeader {
  return {
    magic: view.getBigUint64(offset),
    option: view.getUint32(offset + 8),
    type: view.getUint32(offset + 12),
    length: view.getUint32(offset + 16),
  };
}

/**
 * Writes an option reply header (what a server sends; used by test servers).
 *
 * @param view The destination.
 * @param offset Byte offset in `view`.
 * @param value The header; `magic` is ignored and {@linkcode NBD_REP_MAGIC} written.
 */
export function encodeOptionReplyHeader(
  view: DataView,
  offset: number,
  value: Omit<NbdOptionReplyHeader, "magic">,
): void {
  view.setBigUint64(offset, NBD_REP_MAGIC);
  view.setUint32(offset + 8, value.option);
  view.setUint32(offset + 12, value.type);
  view.setUint32(offset + 16, value.length);
}

/**
 * The byte length of INFO/GO option data for an export name and info requests.
 *
 * @param nameBytes The UTF-8 export name.
 * @param infoCount How many info requests follow.
 * @returns `4 + name + 2 + 2 * infoCount`.
 */
export function infoRequestLength(nameBytes: Uint8Array, infoCount: number): number {
  return 4 + nameBytes.length + 2 + 2 * infoCount;
}

/**
 * Writes INFO/GO option data: u32 name length, name, u16 count, u16 × count info types.
 *
 * @param view The destination, at least {@linkcode infoRequestLength} bytes from `offset`.
 * @param offset Byte offset in `view`.
 * @param nameBytes The UTF-8 export name.
 * @param infos The info types requested (`NBD_INFO_*`).
 * @returns The number of bytes written.
 */
export function encodeInfoRequest(
  view: DataView,
  offset: number,
  nameBytes: Uint8Array,
  infos: readonly number[],
): number {
  view.setUint32(offset, nameBytes.length);
  new Uint8Array(view.buffer, view.byteOffset + offset + 4, nameBytes.length).set(nameBytes);
  let p = offset + 4 + nameBytes.length;
  view.setUint16(p, infos.length);
  p += 2;
  for (const info of infos) {
    view.setUint16(p, info);
    p += 2;
  }
  return p - offset;
}

/** A decoded `NBD_REP_INFO` payload. */
export type NbdInfo =
  | {
    /** {@linkcode NBD_INFO_EXPORT}. */ type: 0;
    /** Export size in bytes. */ size: bigint;
    /** Transmission flags. */ transmissionFlags: number;
  }
  | {
    /** {@linkcode NBD_INFO_BLOCK_SIZE}. */ type: 3;
    /** Minimum block size. */ minBlock: number;
    /** Preferred block size. */ preferredBlock: number;
    /** Maximum payload size. */ maxPayload: number;
  }
  | {
    /** {@linkcode NBD_INFO_NAME} or {@linkcode NBD_INFO_DESCRIPTION}. */ type: 1 | 2;
    /** The UTF-8 text. */ text: string;
  }
  | {
    /** Any other info type. */ type: number;
    /** Marks an info this codec does not know. */ unknown: true;
  };

/**
 * Decodes the payload of an `NBD_REP_INFO` reply.
 *
 * @param view The source.
 * @param offset Byte offset in `view`.
 * @param length The reply data length.
 * @returns The info, or `null` when `length` is too short for its type.
 */
export function decodeInfo(view: DataView, offset: number, length: number): NbdInfo | null {
  if (length < 2) return null;
  const type = view.getUint16(offset);
  switch (type) {
    case NBD_INFO_EXPORT:
      if (length < 12) return null;
      return {
        type: 0,
        size: view.getBigUint64(offset + 2),
        transmissionFlags: view.getUint16(offset + 10),
      };
    case NBD_INFO_BLOCK_SIZE:
      if (length < 14) return null;
      return {
        type: 3,
        minBlock: view.getUint32(offset + 2),
        preferredBlock: view.getUint32(offset + 6),
        maxPayload: view.getUint32(offset + 10),
      };
    case NBD_INFO_NAME:
    case NBD_INFO_DESCRIPTION:
      return {
        type,
        text: new TextDecoder().decode(
          new Uint8Array(view.buffer, view.byteOffset + offset + 2, length - 2),
        ),
      };
    default:
      return { type, unknown: true };
  }
}

// ---------------------------------------------------------------------------------------------
// Transmission codecs

/** Size of a request header. */
export const NBD_REQUEST_SIZE = 28;
/** Size of a simple reply header. */
export const NBD_SIMPLE_REPLY_SIZE = 16;
/** Size of a structured reply chunk header. */
export const NBD_STRUCTURED_REPLY_SIZE = 20;

/** The fields of a transmission request header. */
export interface NbdRequestFields {
  /** The command (`NBD_CMD_*`). */
  type: number;
  /** Command flags (`NBD_CMD_FLAG_*`). */
  flags: number;
  /**
   * The cookie (handle) the reply will carry back, a u64. {@linkcode decodeRequest} gives a
   * bigint; {@linkcode encodeRequest} also takes a safe integer (such as
   * `tag * 2 ** 32 + part`), which avoids a bigint per request on hot paths.
   */
  cookie: bigint | number;
  /** Byte offset in the export (a safe integer). */
  offset: number;
  /** Byte length (u32). */
  length: number;
}

/**
 * Writes the 28-byte request header: magic, u16 flags, u16 type, u64 cookie, u64 offset,
 * u32 length. WRITE data follows it on the wire.
 *
 * @param view The destination.
 * @param offset Byte offset in `view`.
 * @param value The fields.
 */
export function encodeRequest(view: DataView, offset: number, value: NbdRequestFields): void {
  view.setUint32(offset, NBD_REQUEST_MAGIC);
  view.setUint16(offset + 4, value.flags);
  view.setUint16(offset + 6, value.type);
  if (typeof value.cookie === "bigint") view.setBigUint64(offset + 8, value.cookie);
  else setU64(view, offset + 8, value.cookie);
  setU64(view, offset + 16, value.offset);
  view.setUint32(offset + 24, value.length);
}

/** A decoded request header: the cookie as a bigint. */
export interface NbdDecodedRequest extends NbdRequestFields {
  /** The cookie (u64). */
  cookie: bigint;
}

/**
 * Reads a request header (the server side; used by test servers).
 *
 * @param view The source.
 * @param offset Byte offset in `view`.
 * @returns The fields, or `null` when the magic is wrong.
 */
export function decodeRequest(view: DataView, offset: number): NbdDecodedRequest | null {
  if (view.getUint32(offset) !== NBD_REQUEST_MAGIC) return null;
  return {
    flags: view.getUint16(offset + 4),
    type: view.getUint16(offset + 6),
    cookie: view.getBigUint64(offset + 8),
    offset: getU64(view, offset + 16),
    length: view.getUint32(offset + 24),
  };
}

/** A decoded simple reply header. */
export interface NbdSimpleReply {
  /** The NBD error value (0 = success). */
  error: number;
  /** The cookie of the request. */
  cookie: bigint;
}

/**
 * Writes the 16-byte simple reply header (server side).
 *
 * @param view The destination.
 * @param offset Byte offset in `view`.
 * @param value The fields.
 */
export function encodeSimpleReply(view: DataView, offset: number, value: NbdSimpleReply): void {
  const c = BigInt.asUintN(64, value.cookie);
  setSimpleReplyHeader(view, offset, value.error, Number(c >> 32n), Number(c & 0xffffffffn));
}

/**
 * The allocation-free form of {@linkcode encodeSimpleReply} (a server's hot path): the cookie as
 * two u32 halves.
 *
 * @param view The destination.
 * @param offset Byte offset in `view`.
 * @param error The NBD error (0 = success).
 * @param cookieHi Bits 32–63 of the cookie.
 * @param cookieLo Bits 0–31 of the cookie.
 */
export function setSimpleReplyHeader(
  view: DataView,
  offset: number,
  error: number,
  cookieHi: number,
  cookieLo: number,
): void {
  view.setUint32(offset, NBD_SIMPLE_REPLY_MAGIC);
  view.setUint32(offset + 4, error);
  view.setUint32(offset + 8, cookieHi);
  view.setUint32(offset + 12, cookieLo);
}

/**
 * Reads a simple reply header.
 *
 * @param view The source.
 * @param offset Byte offset in `view`.
 * @returns The fields, or `null` when the magic is wrong.
 */
export function decodeSimpleReply(view: DataView, offset: number): NbdSimpleReply | null {
  if (view.getUint32(offset) !== NBD_SIMPLE_REPLY_MAGIC) return null;
  return { error: view.getUint32(offset + 4), cookie: view.getBigUint64(offset + 8) };
}

/** A decoded structured reply chunk header. */
export interface NbdChunkHeader {
  /** Chunk flags (`NBD_REPLY_FLAG_DONE`). */
  flags: number;
  /** Chunk type (`NBD_REPLY_TYPE_*`). */
  type: number;
  /** The cookie of the request. */
  cookie: bigint;
  /** Length of the payload that follows. */
  length: number;
}

/**
 * Writes the 20-byte structured reply chunk header (server side).
 *
 * @param view The destination.
 * @param offset Byte offset in `view`.
 * @param value The fields.
 */
export function encodeChunkHeader(view: DataView, offset: number, value: NbdChunkHeader): void {
  const c = BigInt.asUintN(64, value.cookie);
  setChunkHeader(
    view,
    offset,
    value.flags,
    value.type,
    Number(c >> 32n),
    Number(c & 0xffffffffn),
    value.length,
  );
}

/**
 * The allocation-free form of {@linkcode encodeChunkHeader}: the cookie as two u32 halves.
 *
 * @param view The destination.
 * @param offset Byte offset in `view`.
 * @param flags Chunk flags (`NBD_REPLY_FLAG_DONE`).
 * @param type Chunk type (`NBD_REPLY_TYPE_*`).
 * @param cookieHi Bits 32–63 of the cookie.
 * @param cookieLo Bits 0–31 of the cookie.
 * @param length Length of the payload that follows.
 */
export function setChunkHeader(
  view: DataView,
  offset: number,
  flags: number,
  type: number,
  cookieHi: number,
  cookieLo: number,
  length: number,
): void {
  view.setUint32(offset, NBD_STRUCTURED_REPLY_MAGIC);
  view.setUint16(offset + 4, flags);
  view.setUint16(offset + 6, type);
  view.setUint32(offset + 8, cookieHi);
  view.setUint32(offset + 12, cookieLo);
  view.setUint32(offset + 16, length);
}

/**
 * Reads a structured reply chunk header.
 *
 * @param view The source.
 * @param offset Byte offset in `view`.
 * @returns The fields, or `null` when the magic is wrong.
 */
export function decodeChunkHeader(view: DataView, offset: number): NbdChunkHeader | null {
  if (view.getUint32(offset) !== NBD_STRUCTURED_REPLY_MAGIC) return null;
  return {
    flags: view.getUint16(offset + 4),
    type: view.getUint16(offset + 6),
    cookie: view.getBigUint64(offset + 8),
    length: view.getUint32(offset + 16),
  };
}

/** Size of the fixed part of an OFFSET_DATA payload (the u64 offset). */
export const NBD_OFFSET_DATA_HEADER_SIZE = 8;
/** Size of an OFFSET_HOLE payload (u64 offset, u32 size). */
export const NBD_OFFSET_HOLE_SIZE = 12;
/** Size of the fixed part of an ERROR payload (u32 error, u16 message length). */
export const NBD_ERROR_HEADER_SIZE = 6;

/**
 * Reads the offset at the start of an OFFSET_DATA payload; the data follows it.
 *
 * @param view The source.
 * @param offset Byte offset in `view`.
 * @returns The export offset of the data.
 */
export function decodeOffsetData(view: DataView, offset: number): number {
  return getU64(view, offset);
}

/** A decoded OFFSET_HOLE payload. */
export interface NbdOffsetHole {
  /** Export offset of the hole. */
  offset: number;
  /** Hole size in bytes. */
  size: number;
}

/**
 * Reads an OFFSET_HOLE payload.
 *
 * @param view The source.
 * @param offset Byte offset in `view`.
 * @returns The hole.
 */
export function decodeOffsetHole(view: DataView, offset: number): NbdOffsetHole {
  return { offset: getU64(view, offset), size: view.getUint32(offset + 8) };
}

/**
 * Writes an OFFSET_HOLE payload (server side).
 *
 * @param view The destination.
 * @param offset Byte offset in `view`.
 * @param value The hole.
 */
export function encodeOffsetHole(view: DataView, offset: number, value: NbdOffsetHole): void {
  setU64(view, offset, value.offset);
  view.setUint32(offset + 8, value.size);
}

/** The fixed part of a decoded ERROR / ERROR_OFFSET payload. */
export interface NbdErrorChunk {
  /** The NBD error value. */
  error: number;
  /** Length of the UTF-8 message that follows. */
  messageLength: number;
}

/**
 * Reads the fixed part of an ERROR / ERROR_OFFSET payload (u32 error, u16 message length);
 * the message (and for ERROR_OFFSET a u64 offset) follows.
 *
 * @param view The source.
 * @param offset Byte offset in `view`.
 * @returns The error and message length.
 */
export function decodeErrorChunk(view: DataView, offset: number): NbdErrorChunk {
  return { error: view.getUint32(offset), messageLength: view.getUint16(offset + 4) };
}

/**
 * Writes the fixed part of an ERROR payload (server side).
 *
 * @param view The destination.
 * @param offset Byte offset in `view`.
 * @param value The error and message length.
 */
export function encodeErrorChunk(view: DataView, offset: number, value: NbdErrorChunk): void {
  view.setUint32(offset, value.error);
  view.setUint16(offset + 4, value.messageLength);
}

/**
 * Reads a big-endian u64 as a number (exact below 2^53).
 *
 * @param view The source.
 * @param offset Byte offset in `view`.
 * @returns The value.
 */
export function getU64(view: DataView, offset: number): number {
  return view.getUint32(offset) * 0x1_0000_0000 + view.getUint32(offset + 4);
}

/**
 * Writes a safe non-negative integer as a big-endian u64 without making a bigint.
 *
 * @param view The destination.
 * @param offset Byte offset in `view`.
 * @param value A safe integer ≥ 0.
 */
export function setU64(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, Math.floor(value / 0x1_0000_0000));
  view.setUint32(offset + 4, value >>> 0);
}
