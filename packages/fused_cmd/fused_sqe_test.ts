import assert from "node:assert/strict";
import {
  IORING_OP_FUSED_CMD,
  IORING_OP_NOP,
  IORING_OP_READ,
  IORING_OP_READ_FIXED,
  IORING_OP_SEND_ZC,
  IORING_OP_URING_CMD,
  IORING_OP_WRITE,
  IORING_OP_WRITE_FIXED,
  IORING_RECVSEND_FIXED_BUF,
  IORING_SETUP_SQE128,
  IOSQE_BUFFER_SELECT,
  IOSQE_CQE_SKIP_SUCCESS,
  IOSQE_FIXED_FILE,
  IOSQE_IO_LINK,
  IoUringSqe,
} from "@ublk-ts/uapi";
import { isFusedSlaveOp } from "./direction.ts";
import {
  checkFusedSqe,
  FUSED_CMD_OFFSET,
  FUSED_SLAVE_OFFSET,
  FusedPrepCheck,
  writeFusedSqe,
} from "./fused_sqe.ts";

function slot(): { bytes: Uint8Array; view: DataView } {
  const bytes = new Uint8Array(256).fill(0xee);
  return { bytes, view: new DataView(bytes.buffer) };
}

function good(bytes: Uint8Array, view: DataView, o = 0): void {
  writeFusedSqe(bytes, view, o, {
    fd: 3,
    cmdOp: 0x23,
    cmd: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]),
    flags: IOSQE_CQE_SKIP_SUCCESS,
    fixed: true,
    userData: 0x1111n,
  }, {
    opcode: IORING_OP_READ,
    fd: 7,
    addr: 4096,
    len: 512,
    off: 1n << 40n,
    flags: IOSQE_IO_LINK,
    opFlags: 0x10,
    userData: 0x2222n,
  });
}

Deno.test("`writeFusedSqe()` writes the master in bytes 0..63", () => {
  const { bytes, view } = slot();
  good(bytes, view, 128);
  const m = IoUringSqe.decode(view, 128);
  assert.equal(m.opcode, IORING_OP_FUSED_CMD);
  assert.equal(m.flags, IOSQE_CQE_SKIP_SUCCESS | IOSQE_FIXED_FILE);
  assert.equal(m.fd, 3);
  assert.equal(IoUringSqe.cmdOp(view, 128), 0x23);
  assert.equal(view.getUint32(128 + IoUringSqe.OFFSET_PAD1, true), 0, "__pad1");
  assert.equal(m.opFlags, 0, "uring_cmd_flags");
  assert.equal(m.userData, 0x1111n);
  assert.deepEqual(
    [...bytes.subarray(128 + FUSED_CMD_OFFSET, 128 + 64)],
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16],
  );
  // bytes before the slot untouched
  assert.equal(bytes[127], 0xee);
});

Deno.test("`writeFusedSqe()` writes the slave in bytes 64..127", () => {
  const { bytes, view } = slot();
  good(bytes, view);
  const s = IoUringSqe.decode(view, FUSED_SLAVE_OFFSET);
  assert.equal(s.opcode, IORING_OP_READ);
  assert.equal(s.flags, IOSQE_IO_LINK);
  assert.equal(s.fd, 7);
  assert.equal(s.addr, 4096n);
  assert.equal(s.len, 512);
  assert.equal(s.off, 1n << 40n);
  assert.equal(s.opFlags, 0x10);
  assert.equal(s.userData, 0x2222n);
  assert.equal(s.bufIndex, 0);
  assert.equal(s.addr3, 0n);
  assert.equal(bytes[128], 0xee, "next slot untouched");
});

Deno.test("`writeFusedSqe()` zero-fills a short payload and rejects a long one", () => {
  const { bytes, view } = slot();
  writeFusedSqe(bytes, view, 0, { fd: 1, cmdOp: 1, cmd: new Uint8Array([9]), userData: 0n }, {
    opcode: IORING_OP_WRITE,
    fd: 2,
    addr: 0n,
    len: 1,
    userData: 0n,
  });
  assert.deepEqual([...bytes.subarray(FUSED_CMD_OFFSET, 64)], [9, ...new Array(15).fill(0)]);
  assert.throws(
    () =>
      writeFusedSqe(bytes, view, 0, { fd: 1, cmdOp: 1, cmd: new Uint8Array(17), userData: 0n }, {
        opcode: IORING_OP_WRITE,
        fd: 2,
        addr: 0,
        len: 1,
        userData: 0n,
      }),
    RangeError,
  );
  assert.throws(
    () =>
      writeFusedSqe(bytes, view, 200, { fd: 1, cmdOp: 1, userData: 0n }, {
        opcode: IORING_OP_WRITE,
        fd: 2,
        addr: 0,
        len: 1,
        userData: 0n,
      }),
    RangeError,
  );
});

Deno.test("`checkFusedSqe()` passes a well-formed pair", () => {
  const { bytes, view } = slot();
  good(bytes, view);
  assert.equal(checkFusedSqe(view, 0, IORING_SETUP_SQE128, isFusedSlaveOp), FusedPrepCheck.OK);
});

Deno.test("`checkFusedSqe()` checks SQE128 first", () => {
  const { bytes, view } = slot();
  good(bytes, view);
  view.setUint32(IoUringSqe.OFFSET_PAD1, 1, true); // also a bad __pad1
  assert.equal(checkFusedSqe(view, 0, 0, isFusedSlaveOp), FusedPrepCheck.NOT_SQE128);
});

Deno.test("`checkFusedSqe()` checks __pad1 before uring_cmd_flags", () => {
  const { bytes, view } = slot();
  good(bytes, view);
  view.setUint32(IoUringSqe.OFFSET_PAD1, 0x80000000, true);
  view.setUint32(IoUringSqe.OFFSET_URING_CMD_FLAGS, 1, true);
  assert.equal(checkFusedSqe(view, 0, IORING_SETUP_SQE128, isFusedSlaveOp), FusedPrepCheck.PAD1);
  view.setUint32(IoUringSqe.OFFSET_PAD1, 0, true);
  assert.equal(
    checkFusedSqe(view, 0, IORING_SETUP_SQE128, isFusedSlaveOp),
    FusedPrepCheck.URING_CMD_FLAGS,
  );
});

Deno.test("`checkFusedSqe()` rejects nested FUSED_CMD and URING_CMD slaves", () => {
  for (const op of [IORING_OP_FUSED_CMD, IORING_OP_URING_CMD]) {
    const { bytes, view } = slot();
    good(bytes, view);
    view.setUint8(FUSED_SLAVE_OFFSET + IoUringSqe.OFFSET_OPCODE, op);
    view.setUint8(FUSED_SLAVE_OFFSET + IoUringSqe.OFFSET_FLAGS, IOSQE_BUFFER_SELECT);
    assert.equal(
      checkFusedSqe(view, 0, IORING_SETUP_SQE128, () => true),
      FusedPrepCheck.SLAVE_OPCODE,
    );
  }
});

Deno.test("`checkFusedSqe()` rejects buffer select before the op-table bit", () => {
  const { bytes, view } = slot();
  good(bytes, view);
  view.setUint8(FUSED_SLAVE_OFFSET + IoUringSqe.OFFSET_FLAGS, IOSQE_BUFFER_SELECT);
  assert.equal(
    checkFusedSqe(view, 0, IORING_SETUP_SQE128, () => false),
    FusedPrepCheck.SLAVE_BUFFER_SELECT,
  );
});

Deno.test("`checkFusedSqe()` rejects ops that are not fused slaves", () => {
  for (const op of [IORING_OP_NOP, IORING_OP_READ_FIXED, IORING_OP_WRITE_FIXED, 200]) {
    const { bytes, view } = slot();
    good(bytes, view);
    view.setUint8(FUSED_SLAVE_OFFSET + IoUringSqe.OFFSET_OPCODE, op);
    assert.equal(
      checkFusedSqe(view, 0, IORING_SETUP_SQE128, isFusedSlaveOp),
      FusedPrepCheck.NOT_FUSED_SLAVE,
      `op ${op}`,
    );
  }
});

Deno.test("`checkFusedSqe()` rejects SEND_ZC with IORING_RECVSEND_FIXED_BUF", () => {
  const { bytes, view } = slot();
  good(bytes, view);
  view.setUint8(FUSED_SLAVE_OFFSET + IoUringSqe.OFFSET_OPCODE, IORING_OP_SEND_ZC);
  assert.equal(checkFusedSqe(view, 0, IORING_SETUP_SQE128, isFusedSlaveOp), FusedPrepCheck.OK);
  view.setUint16(FUSED_SLAVE_OFFSET + IoUringSqe.OFFSET_IOPRIO, IORING_RECVSEND_FIXED_BUF, true);
  assert.equal(
    checkFusedSqe(view, 0, IORING_SETUP_SQE128, isFusedSlaveOp),
    FusedPrepCheck.SLAVE_FIXED_BUF,
  );
});

Deno.test("`writeFusedSqe()` writes a number addr above 4 GiB like the bigint", () => {
  const a = slot();
  const b = slot();
  const slave = { opcode: IORING_OP_READ, fd: 1, len: 1, userData: 0n };
  writeFusedSqe(a.bytes, a.view, 0, { fd: 1, cmdOp: 1, userData: 0n }, {
    ...slave,
    addr: 2 ** 40 + 5,
  });
  writeFusedSqe(b.bytes, b.view, 0, { fd: 1, cmdOp: 1, userData: 0n }, {
    ...slave,
    addr: (1n << 40n) + 5n,
  });
  assert.equal(IoUringSqe.addr(a.view, FUSED_SLAVE_OFFSET), (1n << 40n) + 5n);
  assert.deepEqual(a.bytes, b.bytes);
});
