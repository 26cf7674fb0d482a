import assert from "node:assert/strict";
import * as uapi from "./mod.ts";

// Values from SPEC.md §1 and §5 for names the installed 6.1 header does not define
// (the RFC's never-merged ones and the kernel-internal issue flags).
const SPEC_VALUES: Record<string, number> = {
  IORING_OP_FUSED_CMD: 49,
  IORING_SETUP_FUSED_REQ: 1 << 14,
  IORING_FEAT_FUSED_REQ: 1 << 14,
  IORING_URING_CMD_FUSED_SPLIT_SQE: 1 << 1,
  IORING_URING_CMD_FUSED_BUF: 1 << 1,
  IO_URING_F_SQE128: 1 << 8,
  IO_URING_F_CQE32: 1 << 9,
  IO_URING_F_IOPOLL: 1 << 10,
  IO_URING_F_FUSED_WRITE: 1 << 11,
  IO_URING_F_FUSED_READ: 1 << 12,
  IO_URING_F_FUSED: (1 << 11) | (1 << 12),
  IO_URING_F_FUSED_BUF_DEST: 1 << 11,
  IO_URING_F_FUSED_BUF_SRC: 1 << 12,
  UBLK_IO_FUSED_SUBMIT_IO: 0x23,
};

Deno.test("RFC and internal io_uring constants match SPEC.md", () => {
  const exported = uapi as unknown as Record<string, unknown>;
  for (const [name, want] of Object.entries(SPEC_VALUES)) assert.equal(exported[name], want, name);
});

Deno.test("`IORING_OP_NAMES` names every opcode up to FUSED_CMD", () => {
  assert.equal(uapi.IORING_OP_NAMES.length, uapi.IORING_OP_FUSED_CMD + 1);
  assert.equal(uapi.IORING_OP_NAMES[uapi.IORING_OP_READ], "READ");
  assert.equal(uapi.IORING_OP_NAMES[uapi.IORING_OP_URING_CMD], "URING_CMD");
  assert.equal(uapi.IORING_OP_NAMES[uapi.IORING_OP_FUSED_CMD], "FUSED_CMD");
  const exported = uapi as unknown as Record<string, unknown>;
  uapi.IORING_OP_NAMES.forEach((name, op) => assert.equal(exported[`IORING_OP_${name}`], op));
});

Deno.test("SQE128 command area is 80 bytes from offset 48", () => {
  assert.equal(uapi.IoUringSqe.OFFSET_CMD, 48);
  assert.equal(uapi.IoUringSqe.CMD_SIZE_SQE128, uapi.IoUringSqe.SIZE128 - 48);
  assert.equal(uapi.IoUringSqe.CMD_SIZE_SQE128, 80);
  assert.equal(uapi.IoUringSqe.CMD_SIZE, 16);
});
