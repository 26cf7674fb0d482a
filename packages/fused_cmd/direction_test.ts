import assert from "node:assert/strict";
import {
  IO_URING_F_FUSED_READ,
  IO_URING_F_FUSED_WRITE,
  IORING_OP_FUSED_CMD,
  IORING_OP_READ,
  IORING_OP_READ_FIXED,
  IORING_OP_READV,
  IORING_OP_RECV,
  IORING_OP_RECVMSG,
  IORING_OP_SEND,
  IORING_OP_SEND_ZC,
  IORING_OP_URING_CMD,
  IORING_OP_WRITE,
  IORING_OP_WRITE_FIXED,
  IORING_OP_WRITEV,
} from "@ublk-ts/uapi";
import { FUSED_SLAVE_OPS, fusedBufDir, isFusedSlaveOp } from "./direction.ts";

Deno.test("`isFusedSlaveOp()` accepts exactly READ, WRITE, SEND, RECV and SEND_ZC", () => {
  const yes = [];
  for (let op = 0; op < 256; op++) if (isFusedSlaveOp(op)) yes.push(op);
  assert.deepEqual(yes, [22, 23, 26, 27, 47]);
  assert.deepEqual([...FUSED_SLAVE_OPS].sort((a, b) => a - b), yes);
  for (
    const op of [
      IORING_OP_READ_FIXED,
      IORING_OP_WRITE_FIXED,
      IORING_OP_URING_CMD,
      IORING_OP_FUSED_CMD,
      IORING_OP_READV,
    ]
  ) {
    assert.equal(isFusedSlaveOp(op), false, `op ${op}`);
  }
});

Deno.test("`fusedBufDir()` says FUSED_WRITE for ops that fill the buffer", () => {
  for (
    const op of [
      IORING_OP_READ,
      IORING_OP_RECV,
      IORING_OP_READV,
      IORING_OP_READ_FIXED,
      IORING_OP_RECVMSG,
    ]
  ) {
    assert.equal(fusedBufDir(op), IO_URING_F_FUSED_WRITE, `op ${op}`);
  }
});

Deno.test("`fusedBufDir()` says FUSED_READ for ops that drain the buffer", () => {
  for (
    const op of [
      IORING_OP_WRITE,
      IORING_OP_SEND,
      IORING_OP_SEND_ZC,
      IORING_OP_WRITEV,
      IORING_OP_WRITE_FIXED,
    ]
  ) {
    assert.equal(fusedBufDir(op), IO_URING_F_FUSED_READ, `op ${op}`);
  }
  assert.equal(IO_URING_F_FUSED_WRITE, 1 << 11);
  assert.equal(IO_URING_F_FUSED_READ, 1 << 12);
});
