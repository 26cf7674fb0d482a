import assert from "node:assert/strict";
import {
  IORING_OP_NOP,
  IORING_OP_READ,
  IORING_OP_READ_FIXED,
  IORING_OP_SEND_ZC,
  IORING_OP_URING_CMD,
  IORING_OP_WRITE_FIXED,
  IORING_REGISTER_BUFFERS,
  IORING_REGISTER_BUFFERS2,
  IORING_REGISTER_BUFFERS_UPDATE,
  IORING_REGISTER_FILES,
  IORING_REGISTER_FILES2,
  IORING_REGISTER_FILES_UPDATE,
  IORING_REGISTER_FILES_UPDATE2,
  IORING_REGISTER_PROBE,
  IORING_RSRC_REGISTER_SPARSE,
  IORING_UNREGISTER_BUFFERS,
  IORING_UNREGISTER_FILES,
  IOSQE_FIXED_FILE,
} from "@ublk-ts/uapi";
import { bySeq, ignore, nativeKernel, shmPath, TestRing } from "./_test_util.ts";

const O_RDWR_CREAT = 0o102;

Deno.test(
  { name: "`NativeRing.register()` buffers + READ_FIXED/WRITE_FIXED", ignore },
  async () => {
    const kernel = nativeKernel();
    const path = shmPath("fixed");
    const fd = kernel.open(path, O_RDWR_CREAT, 0o600);
    try {
      using kr = kernel.setup(8);
      const ring = new TestRing(kr);
      const bufs = [new Uint8Array(4096).fill(0x11), new Uint8Array(4096)];
      assert.equal(kr.register(IORING_REGISTER_BUFFERS, { buffers: bufs }), 0);
      ring.push({
        opcode: IORING_OP_WRITE_FIXED,
        fd,
        addr: kernel.addressOf(bufs[0]!),
        len: 4096,
        bufIndex: 0,
        userData: 1n,
      });
      ring.push({
        opcode: IORING_OP_READ_FIXED,
        fd,
        addr: kernel.addressOf(bufs[1]!) + 100n,
        len: 50,
        off: 10n,
        bufIndex: 1,
        userData: 2n,
        flags: 0,
      });
      // Without a link the two may complete in any order; the write runs first in practice
      // (inline on tmpfs), but compare as a set to be safe.
      ring.submit();
      const cqes = await ring.reap(2);
      cqes.sort((x, y) => Number(x.userData - y.userData));
      assert.deepEqual(cqes, [{ userData: 1n, res: 4096, flags: 0 }, {
        userData: 2n,
        res: 50,
        flags: 0,
      }]);
      assert.ok(bufs[1]!.subarray(100, 150).every((b) => b === 0x11));
      // Outside the registered buffer: -EFAULT.
      ring.push({
        opcode: IORING_OP_READ_FIXED,
        fd,
        addr: kernel.addressOf(bufs[1]!) + 4000n,
        len: 200,
        bufIndex: 1,
        userData: 3n,
      });
      ring.push({ opcode: IORING_OP_READ_FIXED, fd, addr: 0n, len: 1, bufIndex: 7, userData: 4n });
      ring.submit();
      const bad = await ring.reap(2);
      assert.deepEqual(bad, [{ userData: 3n, res: -14, flags: 0 }, {
        userData: 4n,
        res: -14,
        flags: 0,
      }]);
      assert.equal(kr.register(IORING_UNREGISTER_BUFFERS, {}), 0);
      assert.equal(kr.register(IORING_UNREGISTER_BUFFERS, {}), -6);
    } finally {
      kernel.closeFd(fd);
      await Deno.remove(path);
    }
  },
);

Deno.test({ name: "`NativeRing.register()` sparse buffers + BUFFERS_UPDATE", ignore }, async () => {
  const kernel = nativeKernel();
  using kr = kernel.setup(4);
  const ring = new TestRing(kr);
  assert.equal(
    kr.register(IORING_REGISTER_BUFFERS2, { flags: IORING_RSRC_REGISTER_SPARSE, nr: 4 }),
    0,
  );
  const buf = new Uint8Array(512);
  assert.equal(kr.register(IORING_REGISTER_BUFFERS_UPDATE, { offset: 2, buffers: [buf] }), 1);
  const fd = kernel.open("/dev/zero", 0);
  try {
    buf.fill(9);
    ring.push({
      opcode: IORING_OP_READ_FIXED,
      fd,
      addr: kernel.addressOf(buf),
      len: 512,
      bufIndex: 2,
      userData: 1n,
    });
    ring.push({
      opcode: IORING_OP_READ_FIXED,
      fd,
      addr: kernel.addressOf(buf),
      len: 512,
      bufIndex: 1,
      userData: 2n,
    });
    ring.submit();
    assert.deepEqual(bySeq(await ring.reap(2)), [
      { userData: 1n, res: 512, flags: 0 },
      { userData: 2n, res: -14, flags: 0 },
    ]);
    assert.ok(buf.every((b) => b === 0));
  } finally {
    kernel.closeFd(fd);
  }
});

Deno.test(
  { name: "`NativeRing.register()` files + FIXED_FILE, update, sparse", ignore },
  async () => {
    const kernel = nativeKernel();
    const path = shmPath("files");
    await Deno.writeFile(path, new TextEncoder().encode("hello fixed files"));
    const fd = kernel.open(path, 0);
    try {
      using kr = kernel.setup(4);
      const ring = new TestRing(kr);
      assert.equal(kr.register(IORING_REGISTER_FILES, { fds: [-1, fd] }), 0);
      const dst = new Uint8Array(5);
      ring.push({
        opcode: IORING_OP_READ,
        fd: 1,
        flags: IOSQE_FIXED_FILE,
        addr: kernel.addressOf(dst),
        len: 5,
        off: 6n,
        userData: 1n,
      });
      ring.push({
        opcode: IORING_OP_READ,
        fd: 0,
        flags: IOSQE_FIXED_FILE,
        addr: kernel.addressOf(dst),
        len: 5,
        userData: 2n,
      });
      ring.push({
        opcode: IORING_OP_READ,
        fd: 5,
        flags: IOSQE_FIXED_FILE,
        addr: kernel.addressOf(dst),
        len: 5,
        userData: 3n,
      });
      ring.submit();
      assert.deepEqual(bySeq(await ring.reap(3)), [
        { userData: 1n, res: 5, flags: 0 },
        { userData: 2n, res: -9, flags: 0 },
        { userData: 3n, res: -9, flags: 0 },
      ]);
      assert.equal(new TextDecoder().decode(dst), "fixed");
      assert.equal(kr.register(IORING_REGISTER_FILES_UPDATE, { offset: 0, fds: [fd] }), 1);
      assert.equal(kr.register(IORING_REGISTER_FILES_UPDATE2, { offset: 1, fds: [-1] }), 1);
      ring.push({
        opcode: IORING_OP_READ,
        fd: 0,
        flags: IOSQE_FIXED_FILE,
        addr: kernel.addressOf(dst),
        len: 5,
        userData: 4n,
      });
      ring.push({
        opcode: IORING_OP_READ,
        fd: 1,
        flags: IOSQE_FIXED_FILE,
        addr: kernel.addressOf(dst),
        len: 5,
        userData: 5n,
      });
      ring.submit();
      assert.deepEqual(bySeq(await ring.reap(2)), [
        { userData: 4n, res: 5, flags: 0 },
        { userData: 5n, res: -9, flags: 0 },
      ]);
      assert.equal(new TextDecoder().decode(dst), "hello");
      assert.equal(kr.register(IORING_UNREGISTER_FILES, {}), 0);
      assert.equal(
        kr.register(IORING_REGISTER_FILES2, { flags: IORING_RSRC_REGISTER_SPARSE, nr: 8 }),
        0,
      );
      assert.equal(kr.register(IORING_REGISTER_FILES, { fds: [fd] }), -16);
    } finally {
      kernel.closeFd(fd);
      await Deno.remove(path);
    }
  },
);

Deno.test(
  { name: "`NativeRing.register()` PROBE reports NOP, READ, URING_CMD, SEND_ZC", ignore },
  () => {
    using kr = nativeKernel().setup(2);
    const ops = 64;
    const probe = new DataView(new ArrayBuffer(16 + ops * 8));
    assert.equal(kr.register(IORING_REGISTER_PROBE, { probe }), 0);
    const lastOp = probe.getUint8(0);
    const opsLen = probe.getUint8(1);
    assert.ok(lastOp >= IORING_OP_SEND_ZC, `last_op ${lastOp}`);
    assert.ok(opsLen > IORING_OP_SEND_ZC);
    const supported = (op: number): boolean => (probe.getUint16(16 + op * 8 + 2, true) & 1) !== 0;
    for (const op of [IORING_OP_NOP, IORING_OP_READ, IORING_OP_URING_CMD, IORING_OP_SEND_ZC]) {
      assert.ok(supported(op), `op ${op}`);
      assert.equal(probe.getUint8(16 + op * 8), op);
    }
    // A probe that is not zeroed is refused.
    assert.equal(kr.register(IORING_REGISTER_PROBE, { probe }), -22);
    assert.equal(kr.register(IORING_REGISTER_PROBE, {}), -22);
  },
);
