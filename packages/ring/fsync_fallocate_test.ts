import assert from "node:assert/strict";
import { O_RDONLY, O_RDWR } from "./kernel.ts";
import { prepFallocate, prepFsync } from "./prep.ts";
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, FALLOC_FL_ZERO_RANGE } from "./sync_backend.ts";
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
  bad.view.setUint32(bad.offset + 28, 2, true);
  ring.submit();
  const bad2 = ring.getSqe()!;
  prepFsync(bad2, fd, { userData: 4n });
  bad2.view.setBigUint64(bad2.offset + 16, 8n, true);
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

Deno.test("FALLOCATE PUNCH_HOLE|KEEP_SIZE and ZERO_RANGE zero the range", () => {
  const path = tmpFile(new Uint8Array(16).fill(7));
  const { kernel, ring } = setup();
  const fd = kernel.open(path, O_RDWR);
  prepFallocate(ring.getSqe()!, fd, {
    offset: 2,
    len: 3,
    mode: FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
    userData: 1n,
  });
  prepFallocate(ring.getSqe()!, fd, {
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
  const got = Deno.readFileSync(path);
  assert.equal(got.length, 20);
  assert.deepEqual([...got], [7, 7, 0, 0, 0, 7, 7, 7, 7, 7, 7, 7, 0, 0, 0, 0, 0, 0, 0, 0]);
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
