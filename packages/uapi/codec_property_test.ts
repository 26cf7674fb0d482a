import assert from "node:assert/strict";
import fc from "fast-check";
import * as uapi from "./mod.ts";

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const s32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const s64 = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });
// Plain-object records: the codecs return ordinary objects, fast-check's default is null-proto.
function rec<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true }) as unknown as fc.Arbitrary<T>;
}
const arr = <T>(a: fc.Arbitrary<T>, n: number): fc.Arbitrary<T[]> =>
  fc.array(a, { minLength: n, maxLength: n });

interface Codec<T> {
  readonly SIZE: number;
  encode(view: DataView, o: number, v: T): void;
  decode(view: DataView, o: number): T;
}

/** decode(encode(x)) == x at a random offset inside a larger buffer. */
function roundTrip<T>(name: string, codec: Codec<T>, arb: fc.Arbitrary<T>): void {
  Deno.test(`\`${name}.decode()\` inverts \`encode()\``, () => {
    fc.assert(
      fc.property(arb, fc.integer({ min: 0, max: 64 }), (v, at) => {
        const view = new DataView(new ArrayBuffer(codec.SIZE + 128));
        codec.encode(view, at, v);
        assert.deepEqual(codec.decode(view, at), v);
      }),
    );
  });
}

/** encode(decode(bytes)) == bytes: the codec carries every byte of the struct. */
function bytesRoundTrip<T>(name: string, codec: Codec<T>): void {
  Deno.test(`\`${name}.encode()\` reproduces any bytes \`decode()\` read`, () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: codec.SIZE, maxLength: codec.SIZE }), (bytes) => {
        const v = codec.decode(new DataView(bytes.buffer), 0);
        const out = new Uint8Array(codec.SIZE);
        codec.encode(new DataView(out.buffer), 0, v);
        assert.deepEqual(out, bytes);
      }),
    );
  });
}

const sqe = rec({
  opcode: u8,
  flags: u8,
  ioprio: u16,
  fd: s32,
  off: u64,
  addr: u64,
  len: u32,
  opFlags: u32,
  userData: u64,
  bufIndex: u16,
  personality: u16,
  spliceFdIn: s32,
  addr3: u64,
  pad2: u64,
});
roundTrip("IoUringSqe", uapi.IoUringSqe, sqe);
roundTrip(
  "IoUringCqe",
  uapi.IoUringCqe,
  rec({ userData: u64, res: s32, flags: u32 }),
);
roundTrip(
  "UblksrvCtrlCmd",
  uapi.UblksrvCtrlCmd,
  rec({
    devId: u32,
    queueId: u16,
    len: u16,
    addr: u64,
    data: u64,
    devPathLen: u16,
    pad: u16,
    reserved: u32,
  }),
);
roundTrip(
  "UblksrvCtrlDevInfo",
  uapi.UblksrvCtrlDevInfo,
  rec({
    nrHwQueues: u16,
    queueDepth: u16,
    state: u16,
    pad0: u16,
    maxIoBufBytes: u32,
    devId: u32,
    ublksrvPid: s32,
    pad1: u32,
    flags: u64,
    ublksrvFlags: u64,
    ownerUid: u32,
    ownerGid: u32,
    reserved1: u64,
    reserved2: u64,
  }),
);
roundTrip(
  "UblksrvIoDesc",
  uapi.UblksrvIoDesc,
  rec({ opFlags: u32, nrSectors: u32, startSector: u64, addr: u64 }),
);
roundTrip(
  "UblksrvIoCmd",
  uapi.UblksrvIoCmd,
  rec({ qId: u16, tag: u16, result: s32, addr: u64 }),
);
roundTrip(
  "UblkBatchIo",
  uapi.UblkBatchIo,
  rec({
    qId: u16,
    flags: u16,
    nrElem: u16,
    elemBytes: u8,
    reserved: u8,
    reserved2: u64,
  }),
);
roundTrip(
  "UblkElemHeader",
  uapi.UblkElemHeader,
  rec({ tag: u16, bufIndex: u16, result: s32 }),
);
roundTrip(
  "UblkAutoBufReg",
  uapi.UblkAutoBufReg,
  rec({ index: u16, flags: u8, reserved0: u8, reserved1: u32 }),
);
roundTrip(
  "UblkShmemBufReg",
  uapi.UblkShmemBufReg,
  rec({ addr: u64, len: u32, flags: u32 }),
);

const basic = rec({
  attrs: u32,
  logicalBsShift: u8,
  physicalBsShift: u8,
  ioOptShift: u8,
  ioMinShift: u8,
  maxSectors: u32,
  chunkSectors: u32,
  devSectors: u64,
  virtBoundaryMask: u64,
});
const discard = rec({
  discardAlignment: u32,
  discardGranularity: u32,
  maxDiscardSectors: u32,
  maxWriteZeroesSectors: u32,
  maxDiscardSegments: u16,
  reserved0: u16,
});
const devt = rec({ charMajor: u32, charMinor: u32, diskMajor: u32, diskMinor: u32 });
const zoned = rec({
  maxOpenZones: u32,
  maxActiveZones: u32,
  maxZoneAppendSectors: u32,
  reserved: arr(u8, 20),
});
const dma = rec({ alignment: u32, pad: arr(u8, 4) });
const seg = rec({
  segBoundaryMask: u64,
  maxSegmentSize: u32,
  maxSegments: u16,
  pad: arr(u8, 2),
});
const integrity = rec({
  flags: u32,
  maxIntegritySegments: u16,
  intervalExp: u8,
  metadataSize: u8,
  piOffset: u8,
  csumType: u8,
  tagSize: u8,
  pad: arr(u8, 5),
});
roundTrip("UblkParamBasic", uapi.UblkParamBasic, basic);
roundTrip("UblkParamDiscard", uapi.UblkParamDiscard, discard);
roundTrip("UblkParamDevt", uapi.UblkParamDevt, devt);
roundTrip("UblkParamZoned", uapi.UblkParamZoned, zoned);
roundTrip("UblkParamDmaAlign", uapi.UblkParamDmaAlign, dma);
roundTrip("UblkParamSegment", uapi.UblkParamSegment, seg);
roundTrip("UblkParamIntegrity", uapi.UblkParamIntegrity, integrity);

const sqOff = rec({
  head: u32,
  tail: u32,
  ringMask: u32,
  ringEntries: u32,
  flags: u32,
  dropped: u32,
  array: u32,
  resv1: u32,
  resv2: u64,
});
const cqOff = rec({
  head: u32,
  tail: u32,
  ringMask: u32,
  ringEntries: u32,
  overflow: u32,
  cqes: u32,
  flags: u32,
  resv1: u32,
  resv2: u64,
});
roundTrip("IoSqringOffsets", uapi.IoSqringOffsets, sqOff);
roundTrip("IoCqringOffsets", uapi.IoCqringOffsets, cqOff);
roundTrip(
  "IoUringParams",
  uapi.IoUringParams,
  rec({
    sqEntries: u32,
    cqEntries: u32,
    flags: u32,
    sqThreadCpu: u32,
    sqThreadIdle: u32,
    features: u32,
    wqFd: u32,
    resv: arr(u32, 3),
    sqOff,
    cqOff,
  }),
);
roundTrip(
  "IoUringRsrcRegister",
  uapi.IoUringRsrcRegister,
  rec({ nr: u32, flags: u32, resv2: u64, data: u64, tags: u64 }),
);
roundTrip(
  "IoUringRsrcUpdate2",
  uapi.IoUringRsrcUpdate2,
  rec({ offset: u32, resv: u32, data: u64, tags: u64, nr: u32, resv2: u32 }),
);
roundTrip(
  "IoUringRsrcUpdate",
  uapi.IoUringRsrcUpdate,
  rec({ offset: u32, resv: u32, data: u64 }),
);
roundTrip(
  "IoUringFilesUpdate",
  uapi.IoUringFilesUpdate,
  rec({ offset: u32, resv: u32, fds: u64 }),
);
roundTrip(
  "IoUringNotificationSlot",
  uapi.IoUringNotificationSlot,
  rec({ tag: u64, resv: arr(u64, 3) }),
);
roundTrip(
  "IoUringNotificationRegister",
  uapi.IoUringNotificationRegister,
  rec({ nrSlots: u32, resv: u32, resv2: u64, data: u64, resv3: u64 }),
);
const probeOp = rec({ op: u8, resv: u8, flags: u16, resv2: u32 });
roundTrip("IoUringProbeOp", uapi.IoUringProbeOp, probeOp);
roundTrip(
  "IoUringRestriction",
  uapi.IoUringRestriction,
  rec({ opcode: u16, arg: u8, resv: u8, resv2: arr(u32, 3) }),
);
roundTrip("IoUringBuf", uapi.IoUringBuf, rec({ addr: u64, len: u32, bid: u16, resv: u16 }));
roundTrip(
  "IoUringBufRing",
  uapi.IoUringBufRing,
  rec({ resv1: u64, resv2: u32, resv3: u16, tail: u16 }),
);
roundTrip(
  "IoUringBufReg",
  uapi.IoUringBufReg,
  rec({ ringAddr: u64, ringEntries: u32, bgid: u16, pad: u16, resv: arr(u64, 3) }),
);
roundTrip(
  "IoUringGeteventsArg",
  uapi.IoUringGeteventsArg,
  rec({ sigmask: u64, sigmaskSz: u32, pad: u32, ts: u64 }),
);
const timespec = rec({ tvSec: s64, tvNsec: s64 });
roundTrip("KernelTimespec", uapi.KernelTimespec, timespec);
roundTrip(
  "IoUringSyncCancelReg",
  uapi.IoUringSyncCancelReg,
  rec({ addr: u64, fd: s32, flags: u32, timeout: timespec, pad: arr(u64, 4) }),
);
roundTrip(
  "IoUringFileIndexRange",
  uapi.IoUringFileIndexRange,
  rec({ off: u32, len: u32, resv: u64 }),
);
roundTrip(
  "IoUringRecvmsgOut",
  uapi.IoUringRecvmsgOut,
  rec({ namelen: u32, controllen: u32, payloadlen: u32, flags: u32 }),
);

// Every fixed-size codec carries all of its bytes.
const FIXED: [string, Codec<unknown>][] = [
  ["IoUringSqe", uapi.IoUringSqe],
  ["IoUringCqe", uapi.IoUringCqe],
  ["UblksrvCtrlCmd", uapi.UblksrvCtrlCmd],
  ["UblksrvCtrlDevInfo", uapi.UblksrvCtrlDevInfo],
  ["UblksrvIoDesc", uapi.UblksrvIoDesc],
  ["UblksrvIoCmd", uapi.UblksrvIoCmd],
  ["UblkBatchIo", uapi.UblkBatchIo],
  ["UblkElemHeader", uapi.UblkElemHeader],
  ["UblkAutoBufReg", uapi.UblkAutoBufReg],
  ["UblkShmemBufReg", uapi.UblkShmemBufReg],
  ["UblkParamBasic", uapi.UblkParamBasic],
  ["UblkParamDiscard", uapi.UblkParamDiscard],
  ["UblkParamDevt", uapi.UblkParamDevt],
  ["UblkParamZoned", uapi.UblkParamZoned],
  ["UblkParamDmaAlign", uapi.UblkParamDmaAlign],
  ["UblkParamSegment", uapi.UblkParamSegment],
  ["UblkParamIntegrity", uapi.UblkParamIntegrity],
  ["IoSqringOffsets", uapi.IoSqringOffsets],
  ["IoCqringOffsets", uapi.IoCqringOffsets],
  ["IoUringParams", uapi.IoUringParams],
  ["IoUringRsrcRegister", uapi.IoUringRsrcRegister],
  ["IoUringRsrcUpdate2", uapi.IoUringRsrcUpdate2],
  ["IoUringRsrcUpdate", uapi.IoUringRsrcUpdate],
  ["IoUringFilesUpdate", uapi.IoUringFilesUpdate],
  ["IoUringNotificationSlot", uapi.IoUringNotificationSlot],
  ["IoUringNotificationRegister", uapi.IoUringNotificationRegister],
  ["IoUringProbeOp", uapi.IoUringProbeOp],
  ["IoUringRestriction", uapi.IoUringRestriction],
  ["IoUringBuf", uapi.IoUringBuf],
  ["IoUringBufRing", uapi.IoUringBufRing],
  ["IoUringBufReg", uapi.IoUringBufReg],
  ["IoUringGeteventsArg", uapi.IoUringGeteventsArg],
  ["KernelTimespec", uapi.KernelTimespec],
  ["IoUringSyncCancelReg", uapi.IoUringSyncCancelReg],
  ["IoUringFileIndexRange", uapi.IoUringFileIndexRange],
  ["IoUringRecvmsgOut", uapi.IoUringRecvmsgOut],
];
for (const [name, codec] of FIXED) bytesRoundTrip(name, codec);

// ---- ublk_params: the len/types compatibility rule ----

const TYPES = [
  uapi.UBLK_PARAM_TYPE_BASIC,
  uapi.UBLK_PARAM_TYPE_DISCARD,
  uapi.UBLK_PARAM_TYPE_DEVT,
  uapi.UBLK_PARAM_TYPE_ZONED,
  uapi.UBLK_PARAM_TYPE_DMA_ALIGN,
  uapi.UBLK_PARAM_TYPE_SEGMENT,
  uapi.UBLK_PARAM_TYPE_INTEGRITY,
];
const KEYS = ["basic", "discard", "devt", "zoned", "dma", "seg", "integrity"] as const;
const params = rec({ basic, discard, devt, zoned, dma, seg, integrity });

Deno.test("`UblkParams.decode()` inverts `encode()` for the sub-structs named in types", () => {
  fc.assert(
    fc.property(params, fc.integer({ min: 0, max: 0x7f }), (subs, types) => {
      const p = { len: uapi.UblkParams.lenFor(types), types, ...subs };
      const view = new DataView(new ArrayBuffer(uapi.UblkParams.SIZE));
      if (p.len < uapi.UblkParams.SIZE) view.setUint8(p.len, 0xaa); // must survive
      uapi.UblkParams.encode(view, 0, p);
      if (p.len < uapi.UblkParams.SIZE) assert.equal(view.getUint8(p.len), 0xaa);
      const back = uapi.UblkParams.decode(view, 0);
      assert.equal(back.len, p.len);
      assert.equal(back.types, types);
      const zero = uapi.UblkParams.zero();
      TYPES.forEach((t, i) => {
        const key = KEYS[i];
        assert.deepEqual(back[key], types & t ? p[key] : zero[key], key);
      });
    }),
  );
});

Deno.test("`UblkParams.lenFor()` gives the sizeof of each header era", () => {
  const { lenFor } = uapi.UblkParams;
  const B = uapi.UBLK_PARAM_TYPE_BASIC, D = uapi.UBLK_PARAM_TYPE_DISCARD;
  assert.equal(lenFor(0), 8);
  assert.equal(lenFor(B), 40);
  assert.equal(lenFor(B | D), 64); // 6.1
  assert.equal(lenFor(B | D | uapi.UBLK_PARAM_TYPE_DEVT), 80); // 6.3
  assert.equal(lenFor(B | uapi.UBLK_PARAM_TYPE_ZONED), 112);
  assert.equal(lenFor(0x7f), 152);
  assert.throws(() => lenFor(0x80), RangeError);
});

Deno.test("`UblkParams.decode()` of a shorter len leaves newer sub-structs zero", () => {
  const view = new DataView(new ArrayBuffer(uapi.UblkParams.SIZE));
  new Uint8Array(view.buffer).fill(0x5a);
  view.setUint32(0, 64, true); // an old (6.1) server's len
  const p = uapi.UblkParams.decode(view, 0);
  assert.equal(p.len, 64);
  assert.equal(p.basic.attrs, 0x5a5a5a5a);
  assert.equal(p.discard.maxDiscardSegments, 0x5a5a);
  assert.deepEqual(p.devt, uapi.UblkParamDevt.zero());
  assert.deepEqual(p.integrity, uapi.UblkParamIntegrity.zero());
  // An explicit len overrides the stored one.
  assert.deepEqual(uapi.UblkParams.decode(view, 0, 40).discard, uapi.UblkParamDiscard.zero());
});

Deno.test("`UblkParams.encode()` rejects a type that does not fit len", () => {
  const p = uapi.UblkParams.zero();
  p.types = uapi.UBLK_PARAM_TYPE_ZONED;
  p.len = 64;
  const view = new DataView(new ArrayBuffer(uapi.UblkParams.SIZE));
  assert.throws(() => uapi.UblkParams.encode(view, 0, p), RangeError);
  p.len = 4;
  assert.throws(() => uapi.UblkParams.encode(view, 0, p), RangeError);
  p.len = 152;
  p.types = 0x100;
  assert.throws(() => uapi.UblkParams.encode(view, 0, p), RangeError);
});

// ---- probe with its flexible ops[] ----

Deno.test("`IoUringProbe.decode()` inverts `encode()` with ops_len ops", () => {
  fc.assert(
    fc.property(
      fc.array(probeOp, { maxLength: 64 }),
      u8,
      u16,
      arr(u32, 3),
      (ops, lastOp, resv, resv2) => {
        const v = { lastOp, opsLen: ops.length, resv, resv2, ops };
        const view = new DataView(new ArrayBuffer(uapi.IoUringProbe.sizeFor(64)));
        uapi.IoUringProbe.encode(view, 0, v);
        assert.deepEqual(uapi.IoUringProbe.decode(view, 0), v);
      },
    ),
  );
});

Deno.test("`IoUringProbe.supported()` needs op <= last_op, op < ops_len and the flag", () => {
  const view = new DataView(new ArrayBuffer(uapi.IoUringProbe.sizeFor(4)));
  const ops = [0, 1, 2, 3].map((op) => ({
    op,
    resv: 0,
    flags: op === 2 ? 0 : uapi.IO_URING_OP_SUPPORTED,
    resv2: 0,
  }));
  uapi.IoUringProbe.encode(view, 0, { lastOp: 3, opsLen: 4, resv: 0, resv2: [0, 0, 0], ops });
  assert.deepEqual([0, 1, 2, 3, 4].map((op) => uapi.IoUringProbe.supported(view, 0, op)), [
    true,
    true,
    false,
    true,
    false,
  ]);
  view.setUint8(0, 1); // last_op = 1
  assert.equal(uapi.IoUringProbe.supported(view, 0, 3), false);
});

// ---- SQE128 command area and the fused halves ----

Deno.test("SQE128 cmd area holds 80 arbitrary bytes without touching the header", () => {
  fc.assert(
    fc.property(sqe, fc.uint8Array({ minLength: 80, maxLength: 80 }), (v, cmd) => {
      const bytes = new Uint8Array(uapi.IoUringSqe.SIZE128);
      const view = new DataView(bytes.buffer);
      uapi.IoUringSqe.encode(view, 0, v);
      bytes.set(cmd, uapi.IoUringSqe.OFFSET_CMD);
      const back = uapi.IoUringSqe.decode(view, 0);
      // Fields before the cmd area are untouched; addr3/pad2 alias the first 16 cmd bytes.
      assert.equal(back.userData, v.userData);
      assert.equal(back.opcode, v.opcode);
      assert.equal(back.spliceFdIn, v.spliceFdIn);
      assert.deepEqual(bytes.subarray(48, 128), cmd);
      assert.equal(back.addr3, new DataView(cmd.buffer).getBigUint64(0, true));
    }),
  );
});

Deno.test("fused master (0..63, cmd at 48) and slave (64..127) are independent SQEs", () => {
  fc.assert(
    fc.property(
      sqe,
      sqe,
      rec({ qId: u16, tag: u16, result: s32, addr: u64 }),
      fc.integer({ min: 0, max: 7 }),
      (master, slave, ioCmd, slot) => {
        const ring = new DataView(new ArrayBuffer(8 * uapi.FusedSqe.SIZE));
        const at = slot * uapi.IoUringSqe.SIZE128;
        uapi.IoUringSqe.encode(ring, at, master);
        uapi.IoUringSqe.encode(ring, uapi.FusedSqe.slaveOffset(at), slave);
        uapi.UblksrvIoCmd.encode(ring, uapi.FusedSqe.masterCmdOffset(at), ioCmd);
        const m = uapi.IoUringSqe.decode(ring, at);
        // The 16-byte cmd overwrites exactly addr3 + pad2 of the master, nothing else.
        assert.deepEqual({ ...m, addr3: 0n, pad2: 0n }, { ...master, addr3: 0n, pad2: 0n });
        assert.deepEqual(uapi.IoUringSqe.decode(ring, uapi.FusedSqe.slaveOffset(at)), slave);
        assert.deepEqual(uapi.UblksrvIoCmd.decode(ring, uapi.FusedSqe.masterCmdOffset(at)), ioCmd);
        const bytes = new Uint8Array(ring.buffer);
        const cmd = uapi.FusedSqe.masterCmd(bytes, at);
        assert.equal(cmd.length, uapi.FusedSqe.MASTER_CMD_SIZE);
        assert.equal(cmd.byteOffset, at + 48);
      },
    ),
  );
});

// ---- ring counters ----

Deno.test("`u32Sub()` counts entries across the 2^32 wrap", () => {
  fc.assert(
    fc.property(u32, fc.integer({ min: 0, max: 1 << 20 }), (head, n) => {
      const tail = uapi.u32Add(head, n);
      assert.ok(tail >= 0 && tail <= 0xffffffff);
      assert.equal(uapi.u32Sub(tail, head), n);
      assert.equal(tail, (head + n) % 2 ** 32);
    }),
  );
  assert.equal(uapi.u32Sub(2, 0xffffffff), 3);
});

Deno.test("`ringIndex()` matches counter modulo ring size", () => {
  fc.assert(
    fc.property(u32, fc.integer({ min: 0, max: 15 }), (c, shift) => {
      const entries = 1 << shift;
      assert.equal(uapi.ringIndex(c, entries - 1), c % entries);
    }),
  );
});

// ---- packing helpers ----

Deno.test("`UblkAutoBufReg.fromSqeAddr()` inverts `toSqeAddr()`", () => {
  fc.assert(
    fc.property(rec({ index: u16, flags: u8, reserved0: u8, reserved1: u32 }), (v) => {
      const addr = uapi.UblkAutoBufReg.toSqeAddr(v);
      assert.ok(addr >= 0n && addr < 1n << 64n);
      assert.deepEqual(uapi.UblkAutoBufReg.fromSqeAddr(addr), v);
      // The packing is the struct's little-endian bytes read as one u64.
      const view = new DataView(new ArrayBuffer(8));
      uapi.UblkAutoBufReg.encode(view, 0, v);
      assert.equal(view.getBigUint64(0, true), addr);
    }),
  );
});

Deno.test("`UblkShmemBufReg.zcIndex()`/`zcOffset()` invert `zcAddr()`", () => {
  fc.assert(
    fc.property(u16, u32, (index, offset) => {
      const addr = uapi.UblkShmemBufReg.zcAddr(index, offset);
      assert.equal(uapi.UblkShmemBufReg.zcIndex(addr), index);
      assert.equal(uapi.UblkShmemBufReg.zcOffset(addr), offset);
      assert.equal(addr >> 48n, 0n);
    }),
  );
});

Deno.test("`ublkUserCopyPos()` packs q_id, tag and offset into disjoint bits", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 4095 }),
      u16,
      fc.integer({ min: 0, max: (1 << 25) - 1 }),
      (q, tag, off) => {
        const rel = uapi.ublkUserCopyPos(q, tag, off) - BigInt(uapi.UBLKSRV_IO_BUF_OFFSET);
        assert.equal(Number(rel & uapi.UBLK_IO_BUF_BITS_MASK), off);
        assert.equal(Number((rel >> BigInt(uapi.UBLK_TAG_OFF)) & uapi.UBLK_TAG_BITS_MASK), tag);
        assert.equal(Number((rel >> BigInt(uapi.UBLK_QID_OFF)) & uapi.UBLK_QID_BITS_MASK), q);
        assert.equal(
          uapi.ublkUserCopyPos(q, tag, off, true) & uapi.UBLKSRV_IO_INTEGRITY_FLAG,
          uapi.UBLKSRV_IO_INTEGRITY_FLAG,
        );
      },
    ),
  );
  assert.throws(() => uapi.ublkUserCopyPos(4096, 0, 0), RangeError);
  assert.throws(() => uapi.ublkUserCopyPos(0, 0, 1 << 25), RangeError);
});

Deno.test("`_IOC()` round-trips through `_IOC_DIR/TYPE/NR/SIZE`", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 3 }),
      u8,
      u8,
      fc.integer({ min: 0, max: 0x3fff }),
      (dir, type, nr, size) => {
        const v = uapi._IOC(dir, type, nr, size);
        assert.ok(v >= 0 && v <= 0xffffffff);
        assert.deepEqual(
          [uapi._IOC_DIR(v), uapi._IOC_TYPE(v), uapi._IOC_NR(v), uapi._IOC_SIZE(v)],
          [dir, type, nr, size],
        );
      },
    ),
  );
  assert.throws(() => uapi._IOC(4, 0, 0, 0), RangeError);
  assert.throws(() => uapi._IOWR(0x75, 0x20, 1 << 14), RangeError);
});

// ---- number accessors of u64 hot fields agree with the bigint ones ----

Deno.test("`*Number()` u64 accessors agree with the bigint accessors below 2^53", () => {
  type Get = (v: DataView, o: number) => bigint;
  type GetN = (v: DataView, o: number) => number;
  type SetN = (v: DataView, o: number, x: number) => void;
  const pairs: [string, Get, GetN, SetN][] = [
    ["sqe.off", uapi.IoUringSqe.off, uapi.IoUringSqe.offNumber, uapi.IoUringSqe.setOffNumber],
    ["sqe.addr", uapi.IoUringSqe.addr, uapi.IoUringSqe.addrNumber, uapi.IoUringSqe.setAddrNumber],
    [
      "io_cmd.addr",
      uapi.UblksrvIoCmd.addr,
      uapi.UblksrvIoCmd.addrNumber,
      uapi.UblksrvIoCmd.setAddrNumber,
    ],
    [
      "io_desc.start_sector",
      uapi.UblksrvIoDesc.startSector,
      uapi.UblksrvIoDesc.startSectorNumber,
      uapi.UblksrvIoDesc.setStartSectorNumber,
    ],
    [
      "io_desc.addr",
      uapi.UblksrvIoDesc.addr,
      uapi.UblksrvIoDesc.addrNumber,
      uapi.UblksrvIoDesc.setAddrNumber,
    ],
  ];
  fc.assert(
    fc.property(fc.maxSafeNat(), fc.integer({ min: 0, max: 64 }), (x, at) => {
      for (const [name, get, getN, setN] of pairs) {
        const view = new DataView(new ArrayBuffer(256));
        setN(view, at, x);
        assert.equal(get(view, at), BigInt(x), name);
        assert.equal(getN(view, at), x, name);
      }
    }),
  );
});
