import assert from "node:assert/strict";
import { IORING_OP_READ, IORING_OP_READV, IORING_OP_WRITE, IORING_OP_WRITEV } from "@ublk-ts/uapi";
import { ignore, nativeKernel, shmPath, TestRing } from "./_test_util.ts";

const O_RDWR_CREAT = 0o102;

Deno.test(
  { name: "`NativeRing` WRITE then READ round trip on a /dev/shm file", ignore },
  async () => {
    const kernel = nativeKernel();
    const path = shmPath("rw");
    const fd = kernel.open(path, O_RDWR_CREAT, 0o600);
    assert.ok(fd >= 0, `open failed ${fd}`);
    try {
      using kr = kernel.setup(8);
      const ring = new TestRing(kr);
      const src = new Uint8Array(8192).map((_, i) => (i * 7 + 3) & 0xff);
      const dst = new Uint8Array(8192);
      ring.push({
        opcode: IORING_OP_WRITE,
        fd,
        addr: kernel.addressOf(src),
        len: src.length,
        off: 4096n,
        userData: 1n,
      });
      ring.submit();
      assert.deepEqual(await ring.reap(1), [{ userData: 1n, res: 8192, flags: 0 }]);
      // A read crossing EOF is short; one past EOF returns 0.
      ring.push({
        opcode: IORING_OP_READ,
        fd,
        addr: kernel.addressOf(dst),
        len: 8192,
        off: 8192n,
        userData: 2n,
      });
      ring.push({
        opcode: IORING_OP_READ,
        fd,
        addr: kernel.addressOf(dst),
        len: 10,
        off: 1n << 20n,
        userData: 3n,
      });
      ring.submit();
      const cqes = await ring.reap(2);
      assert.deepEqual(cqes, [
        { userData: 2n, res: 4096, flags: 0 },
        { userData: 3n, res: 0, flags: 0 },
      ]);
      assert.deepEqual(dst.subarray(0, 4096), src.subarray(4096));
      assert.equal((await Deno.stat(path)).size, 12288);
      const file = await Deno.readFile(path);
      assert.deepEqual(file.subarray(4096), src);
      assert.ok(file.subarray(0, 4096).every((b) => b === 0));
    } finally {
      kernel.closeFd(fd);
      await Deno.remove(path);
    }
  },
);

Deno.test({ name: "`NativeRing` WRITEV/READV with two iovecs", ignore }, async () => {
  const kernel = nativeKernel();
  const path = shmPath("rwv");
  const fd = kernel.open(path, O_RDWR_CREAT, 0o600);
  try {
    using kr = kernel.setup(4);
    const ring = new TestRing(kr);
    const a = new Uint8Array(100).fill(0xaa);
    const b = new Uint8Array(28).fill(0xbb);
    const iov = new DataView(new ArrayBuffer(32));
    iov.setBigUint64(0, kernel.addressOf(a), true);
    iov.setBigUint64(8, 100n, true);
    iov.setBigUint64(16, kernel.addressOf(b), true);
    iov.setBigUint64(24, 28n, true);
    const iovAddr = kernel.addressOf(new Uint8Array(iov.buffer));
    ring.push({ opcode: IORING_OP_WRITEV, fd, addr: iovAddr, len: 2, off: 0n, userData: 1n });
    ring.submit();
    assert.deepEqual(await ring.reap(1), [{ userData: 1n, res: 128, flags: 0 }]);
    a.fill(0);
    b.fill(0);
    ring.push({ opcode: IORING_OP_READV, fd, addr: iovAddr, len: 2, off: 50n, userData: 2n });
    ring.submit();
    assert.deepEqual(await ring.reap(1), [{ userData: 2n, res: 78, flags: 0 }]);
    assert.ok(a.subarray(0, 50).every((x) => x === 0xaa));
    assert.ok(a.subarray(50, 78).every((x) => x === 0xbb));
    assert.ok(a.subarray(78).every((x) => x === 0));
    assert.ok(b.every((x) => x === 0));
  } finally {
    kernel.closeFd(fd);
    await Deno.remove(path);
  }
});

Deno.test({ name: "`NativeRing` READ on a bad fd completes with -EBADF", ignore }, async () => {
  using kr = nativeKernel().setup(4);
  const ring = new TestRing(kr);
  ring.push({ opcode: IORING_OP_READ, fd: 9999, addr: 0n, len: 0, userData: 7n });
  ring.submit();
  assert.deepEqual(await ring.reap(1), [{ userData: 7n, res: -9, flags: 0 }]);
});

Deno.test(
  { name: "`NativeKernel` libc helpers: open errors, pread/pwrite, ftruncate", ignore },
  async () => {
    const kernel = nativeKernel();
    assert.equal(kernel.open("/nonexistent/x", 0), -2);
    assert.equal(kernel.closeFd(99999), -9);
    const path = shmPath("libc");
    const fd = kernel.open(path, O_RDWR_CREAT, 0o600);
    try {
      assert.equal(kernel.pwrite(fd, new Uint8Array([1, 2, 3]), 10), 3);
      const got = new Uint8Array(5);
      assert.equal(kernel.pread(fd, got, 9), 4);
      assert.deepEqual([...got], [0, 1, 2, 3, 0]);
      assert.equal(kernel.ftruncate(fd, 4096), 0);
      assert.equal((await Deno.stat(path)).size, 4096);
      assert.equal(kernel.pread(99999, got, 0), -9);
    } finally {
      assert.equal(kernel.closeFd(fd), 0);
      await Deno.remove(path);
    }
  },
);
