import assert from "node:assert/strict";
import {
  IORING_OP_FALLOCATE,
  IORING_OP_FSYNC,
  IORING_OP_NOP,
  IORING_OP_READ,
  IORING_OP_WRITE,
  IOSQE_ASYNC,
} from "@ublk-ts/uapi";
import { postingOrder, puntFileOfMagic, punts, TMPFS_MAGIC } from "./io_wq.ts";

Deno.test("io_wq: punt table measured on 6.18 (ext4 vs tmpfs, IOSQE_ASYNC)", () => {
  assert.equal(punts(IORING_OP_READ, 0, "ext4"), false);
  assert.equal(punts(IORING_OP_WRITE, 0, "ext4"), true);
  assert.equal(punts(IORING_OP_FSYNC, 0, "ext4"), true);
  assert.equal(punts(IORING_OP_FALLOCATE, 0, "ext4"), true);
  assert.equal(punts(IORING_OP_READ, 0, "tmpfs"), true);
  assert.equal(punts(IORING_OP_NOP, 0, "none"), false);
  assert.equal(punts(IORING_OP_NOP, IOSQE_ASYNC, "none"), true);
  assert.equal(puntFileOfMagic(TMPFS_MAGIC), "tmpfs");
  assert.equal(puntFileOfMagic(0xef53), "ext4");
});

Deno.test("io_wq: posting order — inline first, hashed writes overtake unhashed fsync, links follow head", () => {
  const W = { punted: true, hash: 1, after: null };
  const F = { punted: true, hash: null, after: null };
  const N = { punted: false, hash: null, after: null };
  assert.deepEqual(postingOrder([W, N]), [1, 0]); // WN → 10
  assert.deepEqual(postingOrder([W, F, W]), [0, 2, 1]); // WFW → 021
  assert.deepEqual(postingOrder([W, { ...N, after: 0 }, N]), [2, 0, 1]); // W+NN → 201
  assert.deepEqual(postingOrder([N, { ...N, punted: true }, N]), [0, 2, 1]); // NW!N → 021
});
