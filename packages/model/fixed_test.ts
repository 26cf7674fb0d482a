import assert from "node:assert/strict";
import { ErrnoError, IORING_REGISTER_FILES_SKIP } from "@ublk-ts/uapi";
import { O_RDWR } from "@ublk-ts/ring";
import { prepRead, prepReadFixed, prepRecv, prepWriteFixed } from "@ublk-ts/ring";
import { fixed } from "@ublk-ts/ring";
import { reap, reapByUd, reapN, setup, tmpFile } from "./_test_util.ts";

Deno.test("prepReadFixed()/prepWriteFixed() use a registered buffer at any sub-range", () => {
  const path = tmpFile("0123456789");
  const { kernel, ring } = setup();
  const fd = kernel.open(path, O_RDWR);
  const big = new Uint8Array(64);
  assert.equal(ring.registerBuffers([new Uint8Array(8), big]), 0);
  prepReadFixed(ring.getSqe()!, fd, big.subarray(10, 14), { bufIndex: 1, offset: 2, userData: 1n });
  ring.submit();
  assert.deepEqual(reap(ring), [[1, 4, 0]]);
  assert.equal(new TextDecoder().decode(big.subarray(10, 14)), "2345");
  big.set([65, 66], 20);
  prepWriteFixed(ring.getSqe()!, fd, big.subarray(20, 22), { bufIndex: 1, userData: 2n });
  ring.submit();
  assert.deepEqual(reap(ring), [[2, 2, 0]]);
  assert.equal(Deno.readTextFileSync(path), "AB23456789");
  ring.close();
  Deno.removeSync(path);
});

Deno.test("READ_FIXED outside the buffer, on an empty slot, or unregistered gives -EFAULT", () => {
  const path = tmpFile("0123456789");
  const { kernel, ring } = setup();
  const fd = kernel.open(path, O_RDWR);
  const reg = new Uint8Array(8);
  const other = new Uint8Array(8);
  prepReadFixed(ring.getSqe()!, fd, reg, { bufIndex: 0, userData: 1n });
  assert.equal(ring.submit(), 1);
  ring.registerBuffersSparse(2);
  ring.registerBuffersUpdate(0, [reg]);
  prepReadFixed(ring.getSqe()!, fd, other, { bufIndex: 0, userData: 2n });
  prepReadFixed(ring.getSqe()!, fd, reg, { bufIndex: 1, userData: 3n });
  prepReadFixed(ring.getSqe()!, fd, reg, { bufIndex: 5, userData: 4n });
  prepReadFixed(ring.getSqe()!, fd, reg, { bufIndex: 0, userData: 5n });
  assert.equal(ring.submit(), 4);
  assert.deepEqual(reap(ring), [[1, -14, 0], [2, -14, 0], [3, -14, 0], [4, -14, 0], [5, 8, 0]]);
  ring.close();
  Deno.removeSync(path);
});

Deno.test("buffer registration errors: EBUSY twice, ENXIO unregistering none, EFAULT empty", () => {
  const { ring } = setup();
  assert.throws(
    () => ring.unregisterBuffers(),
    (e) => e instanceof ErrnoError && e.code === "ENXIO",
  );
  assert.throws(() => ring.registerBuffers([new Uint8Array(0)]), /EFAULT/);
  assert.throws(() => ring.registerBuffers([]), /EINVAL/);
  ring.registerBuffers([new Uint8Array(4)]);
  assert.throws(() => ring.registerBuffers([new Uint8Array(4)]), /EBUSY/);
  assert.equal(ring.unregisterBuffers(), 0);
  assert.throws(() => ring.registerBuffersUpdate(0, [new Uint8Array(1)]), /ENXIO/);
  ring.close();
});

Deno.test("a Fixed target sets IOSQE_FIXED_FILE and reads through the registered slot", () => {
  const path = tmpFile("fixed!");
  const { kernel, ring } = setup();
  const fd = kernel.open(path, O_RDWR);
  assert.equal(ring.registerFiles([-1, fd]), 0);
  const buf = new Uint8Array(6);
  const sqe = ring.getSqe()!;
  prepRead(sqe, fixed(1), buf, { userData: 1n });
  assert.equal(sqe.flags & 1, 1);
  prepRead(ring.getSqe()!, fixed(0), buf, { userData: 2n });
  prepRead(ring.getSqe()!, fixed(7), buf, { userData: 3n });
  ring.submit();
  assert.deepEqual(reapByUd(ring), [[1, 6, 0], [2, -9, 0], [3, -9, 0]]);
  assert.equal(new TextDecoder().decode(buf), "fixed!");
  ring.close();
  Deno.removeSync(path);
});

Deno.test("file registration: bad fd EBADF, update with skip and -1, sparse", () => {
  const path = tmpFile("x");
  const { kernel, ring } = setup();
  const fd = kernel.open(path, O_RDWR);
  assert.throws(() => ring.registerFiles([fd, 999]), /EBADF/);
  assert.throws(() => ring.registerFiles([ring.fd]), /EBADF/);
  assert.equal(ring.registerFilesSparse(4), 0);
  assert.equal(ring.registerFilesUpdate(0, [fd, IORING_REGISTER_FILES_SKIP, fd]), 3);
  assert.throws(() => ring.registerFilesUpdate(3, [fd, fd]), /EINVAL/);
  const buf = new Uint8Array(1);
  prepRead(ring.getSqe()!, fixed(2), buf, { userData: 1n });
  prepRead(ring.getSqe()!, fixed(1), buf, { userData: 2n });
  ring.submit();
  assert.deepEqual(reapByUd(ring), [[1, 1, 0], [2, -9, 0]]);
  assert.equal(ring.registerFilesUpdate(2, [-1]), 1);
  prepRead(ring.getSqe()!, fixed(2), buf, { userData: 3n });
  ring.submit();
  assert.deepEqual(reap(ring), [[3, -9, 0]]);
  assert.equal(ring.unregisterFiles(), 0);
  assert.throws(() => ring.unregisterFiles(), /ENXIO/);
  ring.close();
  Deno.removeSync(path);
});

Deno.test("a registered file stays usable after close(fd) and by in-flight requests after unregister", async () => {
  const { kernel, ring } = setup();
  const [a, b] = kernel.socketpair();
  ring.registerFiles([a]);
  assert.equal(kernel.closeFd(a), 0);
  const buf = new Uint8Array(2);
  prepRecv(ring.getSqe()!, fixed(0), buf, { userData: 1n });
  ring.submit();
  assert.equal(ring.unregisterFiles(), 0);
  kernel.fileOf(b)!.socket!.send(new Uint8Array([4, 2]));
  assert.deepEqual(await reapN(ring, 1), [[1, 2, 0]]);
  assert.deepEqual([...buf], [4, 2]);
  ring.close();
});

Deno.test("unregisterBuffers() frees a buffer once the request that used it completed", () => {
  const path = tmpFile("abcd");
  const { kernel, ring } = setup();
  const fd = kernel.open(path, O_RDWR);
  const reg = new Uint8Array(4);
  ring.registerBuffers([reg]);
  const table = (ring.kernelRing as unknown as { buffers: { liveCount: number } }).buffers;
  assert.equal(table.liveCount, 1);
  prepReadFixed(ring.getSqe()!, fd, reg, { bufIndex: 0, userData: 1n });
  ring.submit();
  ring.unregisterBuffers();
  assert.equal(table.liveCount, 0);
  assert.deepEqual(reap(ring), [[1, 4, 0]]);
  ring.close();
  Deno.removeSync(path);
});
