import assert from "node:assert/strict";
import {
  IORING_OP_FALLOCATE,
  IORING_OP_FSYNC,
  IORING_OP_NOP,
  IORING_OP_READ,
  IORING_OP_WRITE,
  IOSQE_ASYNC,
} from "@ublk-ts/uapi";
import { IoWqList, puntFileOfMagic, punts, TMPFS_MAGIC } from "./io_wq.ts";

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

Deno.test("io_wq: IoWqList keeps unhashed work in order (A w → 0,1: no hashed-first)", () => {
  const l = new IoWqList<number>();
  l.enqueue(0, null);
  l.enqueue(1, "ino");
  assert.deepEqual([l.take(), l.take(), l.take()], [[0], [1], null]);
});

Deno.test("io_wq: IoWqList inserts hashed work after the last of its hash (WFW → 0,2 then 1)", () => {
  const l = new IoWqList<number>();
  l.enqueue(0, "ino");
  l.enqueue(1, null);
  l.enqueue(2, "ino");
  l.enqueue(3, "other");
  assert.equal(l.length, 4);
  // A worker takes a hashed item with its whole chain; later work of the hash is appended.
  assert.deepEqual(l.take(), [0, 2]);
  l.enqueue(4, "ino");
  assert.deepEqual([l.take(), l.take(), l.take(), l.take()], [[1], [3], [4], null]);
});
