import assert from "node:assert/strict";
import fc from "fast-check";
import {
  decodeChunkHeader,
  decodeErrorChunk,
  decodeInfo,
  decodeOffsetData,
  decodeOffsetHole,
  decodeOptionReplyHeader,
  decodeRequest,
  decodeSimpleReply,
  encodeChunkHeader,
  encodeErrorChunk,
  encodeInfoRequest,
  encodeOffsetHole,
  encodeOptionHeader,
  encodeOptionReplyHeader,
  encodeRequest,
  encodeSimpleReply,
  errnoToNbdError,
  getU64,
  infoRequestLength,
  NBD_CMD_FLAG_FUA,
  NBD_CMD_WRITE,
  NBD_FLAG_SEND_FAST_ZERO,
  NBD_INFO_BLOCK_SIZE,
  NBD_INFO_EXPORT,
  NBD_OPT_GO,
  NBD_REP_ERR_EXT_HEADER_REQD,
  NBD_REP_ERR_UNKNOWN,
  NBD_REP_INFO,
  NBD_REPLY_TYPE_ERROR,
  NBD_REPLY_TYPE_ERROR_OFFSET,
  NBD_REQUEST_SIZE,
  nbdErrorToErrno,
  nbdReplyTypeName,
  setU64,
} from "./nbd_proto.ts";

function hexOf(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

Deno.test("`encodeRequest()` writes the 28-byte big-endian request header", () => {
  const b = new Uint8Array(NBD_REQUEST_SIZE);
  encodeRequest(new DataView(b.buffer), 0, {
    type: NBD_CMD_WRITE,
    flags: NBD_CMD_FLAG_FUA,
    cookie: 0x0102030405060708n,
    offset: 0x1_0000_1000,
    length: 0x10000,
  });
  assert.equal(
    hexOf(b),
    "25609513" + "0001" + "0001" + "0102030405060708" + "0000000100001000" + "00010000",
  );
});

Deno.test("`encodeRequest()` takes a number cookie as tag and part halves", () => {
  const v = new DataView(new ArrayBuffer(NBD_REQUEST_SIZE));
  encodeRequest(v, 0, { type: 0, flags: 0, cookie: 7 * 2 ** 32 + 3, offset: 0, length: 512 });
  assert.equal(v.getUint32(8), 7);
  assert.equal(v.getUint32(12), 3);
  assert.equal(decodeRequest(v, 0)?.cookie, (7n << 32n) | 3n);
});

Deno.test("`decodeRequest()` inverts `encodeRequest()` and rejects a bad magic", () => {
  fc.assert(fc.property(
    fc.integer({ min: 0, max: 0xffff }),
    fc.integer({ min: 0, max: 0xffff }),
    fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    fc.integer({ min: 0, max: 0xffffffff }),
    (type, flags, cookie, offset, length) => {
      const v = new DataView(new ArrayBuffer(40));
      const value = { type, flags, cookie, offset, length };
      encodeRequest(v, 5, value);
      assert.deepEqual(decodeRequest(v, 5), value);
    },
  ));
  assert.equal(decodeRequest(new DataView(new ArrayBuffer(28)), 0), null);
});

Deno.test("`decodeSimpleReply()` and `decodeChunkHeader()` invert their encoders", () => {
  const v = new DataView(new ArrayBuffer(64));
  encodeSimpleReply(v, 3, { error: 28, cookie: 0xfeedn });
  assert.deepEqual(decodeSimpleReply(v, 3), { error: 28, cookie: 0xfeedn });
  assert.equal(decodeChunkHeader(v, 3), null);
  const h = { flags: 1, type: NBD_REPLY_TYPE_ERROR_OFFSET, cookie: (1n << 63n) | 5n, length: 99 };
  encodeChunkHeader(v, 20, h);
  assert.equal(v.getUint32(20), 0x668e33ef);
  assert.deepEqual(decodeChunkHeader(v, 20), h);
  assert.equal(decodeSimpleReply(v, 20), null);
});

Deno.test("`decodeOffsetHole()`, `decodeOffsetData()` and `decodeErrorChunk()` read payloads", () => {
  const v = new DataView(new ArrayBuffer(32));
  encodeOffsetHole(v, 0, { offset: 2 ** 40 + 512, size: 65536 });
  assert.deepEqual(decodeOffsetHole(v, 0), { offset: 2 ** 40 + 512, size: 65536 });
  assert.equal(decodeOffsetData(v, 0), 2 ** 40 + 512);
  encodeErrorChunk(v, 16, { error: 5, messageLength: 7 });
  assert.deepEqual(decodeErrorChunk(v, 16), { error: 5, messageLength: 7 });
  assert.equal(NBD_REPLY_TYPE_ERROR, 32769);
});

Deno.test("`setU64()` and `getU64()` round-trip safe integers", () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (n) => {
    const v = new DataView(new ArrayBuffer(8));
    setU64(v, 0, n);
    assert.equal(v.getBigUint64(0), BigInt(n));
    assert.equal(getU64(v, 0), n);
  }));
});

Deno.test("`encodeInfoRequest()` lays out name and info requests", () => {
  const name = new TextEncoder().encode("disk");
  const len = infoRequestLength(name, 2);
  assert.equal(len, 4 + 4 + 2 + 4);
  const b = new Uint8Array(16 + len);
  const v = new DataView(b.buffer);
  encodeOptionHeader(v, 0, NBD_OPT_GO, len);
  assert.equal(encodeInfoRequest(v, 16, name, [NBD_INFO_EXPORT, NBD_INFO_BLOCK_SIZE]), len);
  assert.equal(
    hexOf(b),
    "49484156454f5054" + "00000007" + "0000000e" + "00000004" + "6469736b" + "0002" + "0000" +
      "0003",
  );
});

Deno.test("`decodeInfo()` reads EXPORT and BLOCK_SIZE and rejects short payloads", () => {
  const v = new DataView(new ArrayBuffer(32));
  v.setUint16(0, NBD_INFO_EXPORT);
  v.setBigUint64(2, 1n << 36n);
  v.setUint16(10, 0x1234);
  assert.deepEqual(decodeInfo(v, 0, 12), { type: 0, size: 1n << 36n, transmissionFlags: 0x1234 });
  assert.equal(decodeInfo(v, 0, 11), null);
  v.setUint16(0, NBD_INFO_BLOCK_SIZE);
  v.setUint32(2, 512);
  v.setUint32(6, 4096);
  v.setUint32(10, 1 << 25);
  assert.deepEqual(decodeInfo(v, 0, 14), {
    type: 3,
    minBlock: 512,
    preferredBlock: 4096,
    maxPayload: 1 << 25,
  });
  v.setUint16(0, 99);
  assert.deepEqual(decodeInfo(v, 0, 2), { type: 99, unknown: true });
});

Deno.test("`decodeOptionReplyHeader()` inverts `encodeOptionReplyHeader()`", () => {
  const v = new DataView(new ArrayBuffer(20));
  encodeOptionReplyHeader(v, 0, { option: NBD_OPT_GO, type: NBD_REP_INFO, length: 12 });
  assert.deepEqual(decodeOptionReplyHeader(v, 0), {
    magic: 0x3e889045565a9n,
    option: 7,
    type: 3,
    length: 12,
  });
});

Deno.test("`nbdErrorToErrno()` maps the protocol values and unknown ones to -EIO", () => {
  assert.equal(nbdErrorToErrno(0), 0);
  for (
    const [nbd, errno] of [
      [1, -1],
      [5, -5],
      [12, -12],
      [22, -22],
      [28, -28],
      [75, -75],
      [95, -95],
      [108, -108],
    ]
  ) {
    assert.equal(nbdErrorToErrno(nbd!), errno);
  }
  assert.equal(nbdErrorToErrno(2), -5);
  assert.equal(nbdErrorToErrno(0xffffffff), -5);
});

Deno.test("`errnoToNbdError()` keeps protocol values and maps the rest", () => {
  assert.equal(errnoToNbdError(-28), 28);
  assert.equal(errnoToNbdError(-95), 95);
  assert.equal(errnoToNbdError(-30), 1);
  assert.equal(errnoToNbdError(-122), 28);
  assert.equal(errnoToNbdError(-2), 22);
  assert.equal(errnoToNbdError(0), 0);
});

Deno.test("`nbdReplyTypeName()` names error replies and unknown types", () => {
  assert.equal(nbdReplyTypeName(NBD_REP_ERR_UNKNOWN), "NBD_REP_ERR_UNKNOWN");
  assert.equal(nbdReplyTypeName(NBD_REP_ERR_EXT_HEADER_REQD), "NBD_REP_ERR_EXT_HEADER_REQD");
  assert.equal(nbdReplyTypeName(0x80000063), "NBD_REP_0x80000063");
  assert.equal(NBD_FLAG_SEND_FAST_ZERO, 2048);
});
