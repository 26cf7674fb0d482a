import assert from "node:assert/strict";
import { O_RDONLY, O_RDWR } from "@ublk-ts/ring";
import { IOSQE_CQE_SKIP_SUCCESS, IOSQE_IO_LINK, IoUringSqe } from "@ublk-ts/uapi";
import { prepFallocate, prepFsync, prepNop } from "@ublk-ts/ring";
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, FALLOC_FL_ZERO_RANGE } from "@ublk-ts/uapi";
import { reap, setup, tmpFile } from "./_test_util.ts";

Deno.test("prepFsync() and datasync complete with 0; bad fields fail -EINVAL", () => {
  const path = tmpFile("data");
  const { kernel, ring } = setup();
  const fd = kernel.open(path, O_RDWR);
  prepFsync(ring.getSqe()!, fd, { userData: 1n });
  prepFsync(ring.getSqe()!, fd, { datasync: true, userData: 2n });
  ring.submit();
  const bad = ring.getSqe()!;
  prepFsync(bad, fd, { userData: 3n });
  bad.view.setUint32(bad.offset + IoUringSqe.OFFSET_FSYNC_FLAGS, 2, true); // unknown fsync_flags
  ring.submit();
  const bad2 = ring.getSqe()!;
  prepFsync(bad2, fd, { userData: 4n });
  bad2.view.setBigUint64(bad2.offset + IoUringSqe.OFFSET_ADDR, 8n, true); // addr must be 0
  ring.submit();
  assert.deepEqual(reap(ring), [[1, 0, 0], [2, 0, 0], [3, -22, 0], [4, -22, 0]]);
  ring.close();
  Deno.removeSync(path);
});

Deno.test("FALLOCATE mode 0 extends, KEEP_SIZE does not", () => {
  const path = tmpFile("abc");
  const { kernel, ring } = setup();
  const fd = kernel.open(path, O_RDWR);
  prepFallocate(ring.getSqe()!, fd, {
    offset: 0,
    len: 100,
    mode: FALLOC_FL_KEEP_SIZE,
    userData: 1n,
  });
  ring.submit();
  assert.equal(Deno.statSync(path).size, 3);
  prepFallocate(ring.getSqe()!, fd, { offset: 10, len: 100, userData: 2n });
  ring.submit();
  assert.deepEqual(reap(ring), [[1, 0, 0], [2, 0, 0]]);
  assert.equal(Deno.statSync(path).size, 110);
  assert.equal(new TextDecoder().decode(Deno.readFileSync(path).subarray(0, 3)), "abc");
  ring.close();
  Deno.removeSync(path);
});

Deno.test("FALLOCATE PUNCH_HOLE|KEEP_SIZE zeroes; ZERO_RANGE zeroes and extends on ext4", () => {
  const path = tmpFile(new Uint8Array(16).fill(7));
  const ext4 = Deno.makeTempFileSync({ dir: "/tmp", prefix: "ring_test_" });
  Deno.writeFileSync(ext4, new Uint8Array(16).fill(7));
  const { kernel, ring } = setup();
  const fd = kernel.open(path, O_RDWR);
  const efd = kernel.open(ext4, O_RDWR);
  prepFallocate(ring.getSqe()!, fd, {
    offset: 2,
    len: 3,
    mode: FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
    userData: 1n,
  });
  prepFallocate(ring.getSqe()!, efd, {
    offset: 12,
    len: 8,
    mode: FALLOC_FL_ZERO_RANGE,
    userData: 2n,
  });
  prepFallocate(ring.getSqe()!, fd, {
    offset: 0,
    len: 1,
    mode: FALLOC_FL_PUNCH_HOLE,
    userData: 3n,
  });
  ring.submit();
  assert.deepEqual(reap(ring), [[1, 0, 0], [2, 0, 0], [3, -95, 0]]);
  assert.deepEqual([...Deno.readFileSync(path)], [7, 7, 0, 0, 0, ...new Array(11).fill(7)]);
  const got = Deno.readFileSync(ext4);
  assert.deepEqual([...got], [...new Array(12).fill(7), 0, 0, 0, 0, 0, 0, 0, 0]);
  ring.close();
  Deno.removeSync(path);
  Deno.removeSync(ext4);
});

Deno.test("FALLOCATE ZERO_RANGE on tmpfs fails -EOPNOTSUPP and changes nothing (as shmem)", () => {
  const path = tmpFile(new Uint8Array(4).fill(7));
  const { kernel, ring } = setup();
  const fd = kernel.open(path, O_RDWR);
  prepFallocate(ring.getSqe()!, fd, {
    offset: 0,
    len: 8,
    mode: FALLOC_FL_ZERO_RANGE,
    userData: 1n,
  });
  ring.submit();
  assert.deepEqual(reap(ring), [[1, -95, 0]]);
  assert.deepEqual([...Deno.readFileSync(path)], [7, 7, 7, 7]);
  ring.close();
  Deno.removeSync(path);
});

Deno.test("FSYNC/FALLOCATE errors never break a link and obey CQE_SKIP_SUCCESS (no req_set_fail)", () => {
  const path = tmpFile("abc");
  const { kernel, ring } = setup();
  const fd = kernel.open(path, O_RDWR);
  prepFallocate(ring.getSqe()!, fd, { len: 0, userData: 1n, flags: IOSQE_IO_LINK });
  prepNop(ring.getSqe()!, { userData: 2n });
  prepFallocate(ring.getSqe()!, fd, { len: 0, userData: 3n, flags: IOSQE_CQE_SKIP_SUCCESS });
  ring.submit();
  assert.deepEqual(reap(ring), [[1, -22, 0], [2, 0, 0]]);
  ring.close();
  Deno.removeSync(path);
});

Deno.test("FALLOCATE on a read-only fd fails -EBADF and with len 0 -EINVAL", () => {
  const path = tmpFile("abc");
  const { kernel, ring } = setup();
  const fd = kernel.open(path, O_RDONLY);
  prepFallocate(ring.getSqe()!, fd, { len: 10, userData: 1n });
  const rw = kernel.open(path, O_RDWR);
  prepFallocate(ring.getSqe()!, rw, { len: 0, userData: 2n });
  ring.submit();
  assert.deepEqual(reap(ring), [[1, -9, 0], [2, -22, 0]]);
  ring.close();
  Deno.removeSync(path);
});
