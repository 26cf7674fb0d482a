// The same `Ring` + `prep*` calls of @ublk-ts/ring, run on the real kernel.
import assert from "node:assert/strict";
import {
  fixed,
  Iovecs,
  prepCancel,
  prepFallocate,
  prepFsync,
  prepLinkTimeout,
  prepNop,
  prepRead,
  prepReadFixed,
  prepReadv,
  prepRecv,
  prepSend,
  prepTimeout,
  prepWrite,
  prepWriteFixed,
  prepWritev,
  Ring,
  timespec,
} from "@ublk-ts/ring";
import {
  ECANCELED,
  ETIME,
  IORING_OP_FUSED_CMD,
  IORING_OP_NOP,
  IORING_OP_READ,
  IORING_OP_SEND_ZC,
  IORING_SETUP_CQE32,
  IORING_SETUP_SQE128,
  IOSQE_IO_LINK,
} from "@ublk-ts/uapi";
import type { IoUringCqeValue } from "@ublk-ts/uapi";
import { bySeq, ignore, nativeKernel, shmPath } from "./_test_util.ts";

const O_RDWR_CREAT = 0o102;

async function reap(ring: Ring, n: number): Promise<IoUringCqeValue[]> {
  const out: IoUringCqeValue[] = [];
  while (out.length < n) {
    const w = await ring.kernelRing.wait(n - out.length);
    assert.equal(w, 0);
    for (let c = ring.copyCqe(); c; c = ring.copyCqe()) out.push(c);
  }
  return out;
}

Deno.test({ name: "`Ring` on NativeKernel: prepNop round trip", ignore }, async () => {
  using ring = Ring.create(nativeKernel(), 8);
  for (let i = 0; i < 8; i++) prepNop(ring.getSqe()!, { userData: BigInt(i) });
  assert.equal(ring.getSqe(), null);
  assert.equal(await ring.submitAndWait(8), 8);
  assert.deepEqual(
    await reap(ring, 8),
    Array.from({ length: 8 }, (_, i) => ({ userData: BigInt(i), res: 0, flags: 0 })),
  );
  // The SQ wraps: another round through the same slots.
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 5; i++) prepNop(ring.getSqe()!, { userData: 100n + BigInt(i) });
    assert.equal(ring.submit(), 5);
    assert.equal((await reap(ring, 5)).length, 5);
  }
});

Deno.test(
  { name: "`Ring` on NativeKernel: read/write/readv/writev/fsync/fallocate", ignore },
  async () => {
    const kernel = nativeKernel();
    const path = shmPath("ring");
    const fd = kernel.open(path, O_RDWR_CREAT, 0o600);
    try {
      using ring = Ring.create(kernel, 16);
      const src = new Uint8Array(4096).map((_, i) => i & 0xff);
      prepWrite(ring.getSqe()!, fd, src, { offset: 0, userData: 1n, flags: IOSQE_IO_LINK });
      prepFsync(ring.getSqe()!, fd, { datasync: true, userData: 2n, flags: IOSQE_IO_LINK });
      prepFallocate(ring.getSqe()!, fd, {
        offset: 4096,
        len: 4096,
        userData: 3n,
        flags: IOSQE_IO_LINK,
      });
      const a = new Uint8Array(100), b = new Uint8Array(200);
      prepReadv(ring.getSqe()!, fd, new Iovecs(ring, [a, b]), { offset: 4000, userData: 4n });
      ring.submit();
      assert.deepEqual(await reap(ring, 4), [
        { userData: 1n, res: 4096, flags: 0 },
        { userData: 2n, res: 0, flags: 0 },
        { userData: 3n, res: 0, flags: 0 },
        { userData: 4n, res: 300, flags: 0 },
      ]);
      assert.deepEqual(a.subarray(0, 96), src.subarray(4000));
      assert.ok(b.every((x) => x === 0));
      prepWritev(
        ring.getSqe()!,
        fd,
        new Iovecs(ring, [src.subarray(0, 10), src.subarray(20, 30)]),
        {
          offset: 8192,
          userData: 5n,
          flags: IOSQE_IO_LINK,
        },
      );
      const back = new Uint8Array(20);
      prepRead(ring.getSqe()!, fd, back, { offset: 8192, userData: 6n });
      ring.submit();
      assert.deepEqual(await reap(ring, 2), [
        { userData: 5n, res: 20, flags: 0 },
        { userData: 6n, res: 20, flags: 0 },
      ]);
      assert.deepEqual([...back], [...src.subarray(0, 10), ...src.subarray(20, 30)]);
    } finally {
      kernel.closeFd(fd);
      await Deno.remove(path);
    }
  },
);

Deno.test(
  {
    name: "`Iovecs`: a zero-length entry keeps its base; readv on the real kernel skips it",
    ignore,
  },
  async () => {
    const kernel = nativeKernel();
    const path = shmPath("iov0");
    const fd = kernel.open(path, O_RDWR_CREAT, 0o600);
    try {
      using ring = Ring.create(kernel, 4);
      const src = new Uint8Array(300).map((_, i) => (i * 7) & 0xff);
      prepWrite(ring.getSqe()!, fd, src, { offset: 0, userData: 1n });
      ring.submit();
      await reap(ring, 1);
      const mem = new Uint8Array(512);
      const a = mem.subarray(0, 100), empty = mem.subarray(150, 150), b = mem.subarray(200, 400);
      const iov = new Iovecs(ring, [a, empty, b]);
      const dv = new DataView(iov.bytes.buffer);
      assert.equal(
        dv.getBigUint64(16, true),
        ring.addressOf(mem) + 150n,
        "iov_base of the empty entry",
      );
      assert.equal(dv.getBigUint64(24, true), 0n);
      // Only a view of an empty ArrayBuffer (no address) is NULL.
      assert.equal(
        new DataView(new Iovecs(ring, [new Uint8Array(0)]).bytes.buffer).getBigUint64(0, true),
        0n,
      );
      prepReadv(ring.getSqe()!, fd, iov, { offset: 0, userData: 2n });
      ring.submit();
      assert.deepEqual(await reap(ring, 1), [{ userData: 2n, res: 300, flags: 0 }]);
      assert.deepEqual(a, src.subarray(0, 100));
      assert.deepEqual(b, src.subarray(100, 300));
    } finally {
      kernel.closeFd(fd);
      Deno.removeSync(path);
    }
  },
);

Deno.test({ name: "`Ring` on NativeKernel: registered buffers and files", ignore }, async () => {
  const kernel = nativeKernel();
  const path = shmPath("ringfix");
  const fd = kernel.open(path, O_RDWR_CREAT, 0o600);
  try {
    using ring = Ring.create(kernel, 8);
    const bufs = [new Uint8Array(8192).fill(0x5a), new Uint8Array(8192)];
    assert.equal(ring.registerBuffers(bufs), 0);
    assert.equal(ring.registerFiles([fd]), 0);
    prepWriteFixed(ring.getSqe()!, fixed(0), bufs[0]!.subarray(0, 4096), {
      bufIndex: 0,
      userData: 1n,
      flags: IOSQE_IO_LINK,
    });
    prepReadFixed(ring.getSqe()!, fixed(0), bufs[1]!.subarray(4096), { bufIndex: 1, userData: 2n });
    ring.submit();
    assert.deepEqual(await reap(ring, 2), [
      { userData: 1n, res: 4096, flags: 0 },
      { userData: 2n, res: 4096, flags: 0 },
    ]);
    assert.ok(bufs[1]!.subarray(4096).every((x) => x === 0x5a));
    assert.ok(bufs[1]!.subarray(0, 4096).every((x) => x === 0));
    assert.equal(ring.registerBuffersUpdate(1, [null]), 1);
    prepReadFixed(ring.getSqe()!, fixed(0), bufs[1]!, { bufIndex: 1, userData: 3n });
    ring.submit();
    assert.deepEqual(await reap(ring, 1), [{ userData: 3n, res: -14, flags: 0 }]);
    assert.equal(ring.unregisterBuffers(), 0);
    assert.equal(ring.unregisterFiles(), 0);
  } finally {
    kernel.closeFd(fd);
    await Deno.remove(path);
  }
});

Deno.test(
  { name: "`Ring` on NativeKernel: send/recv, timeout, link timeout, cancel", ignore },
  async () => {
    const kernel = nativeKernel();
    const sv = new Int32Array(2);
    assert.equal(kernel.socketpair(sv), 0);
    try {
      using ring = Ring.create(kernel, 16);
      const msg = new TextEncoder().encode("hello over io_uring");
      const got = new Uint8Array(64);
      prepRecv(ring.getSqe()!, sv[1]!, got, { userData: 2n });
      ring.submit();
      prepSend(ring.getSqe()!, sv[0]!, msg, { userData: 1n });
      ring.submit();
      assert.deepEqual(bySeq(await reap(ring, 2)), [
        { userData: 1n, res: msg.length, flags: 0 },
        { userData: 2n, res: msg.length, flags: 0 },
      ]);
      assert.equal(new TextDecoder().decode(got.subarray(0, msg.length)), "hello over io_uring");
      prepTimeout(ring.getSqe()!, timespec(3), { userData: 3n });
      ring.submit();
      assert.deepEqual(await reap(ring, 1), [{ userData: 3n, res: -ETIME, flags: 0 }]);
      prepRecv(ring.getSqe()!, sv[1]!, got, { userData: 4n, flags: IOSQE_IO_LINK });
      prepLinkTimeout(ring.getSqe()!, timespec(5), { userData: 5n });
      ring.submit();
      assert.deepEqual(bySeq(await reap(ring, 2)), [
        { userData: 4n, res: -ECANCELED, flags: 0 },
        { userData: 5n, res: -ETIME, flags: 0 },
      ]);
      prepRecv(ring.getSqe()!, sv[1]!, got, { userData: 6n });
      ring.submit();
      prepCancel(ring.getSqe()!, 6n, { userData: 7n });
      ring.submit();
      assert.deepEqual(bySeq(await reap(ring, 2)), [
        { userData: 6n, res: -ECANCELED, flags: 0 },
        { userData: 7n, res: 0, flags: 0 },
      ]);
    } finally {
      kernel.closeFd(sv[0]!);
      kernel.closeFd(sv[1]!);
    }
  },
);

Deno.test({ name: "`Ring.probe()` on NativeKernel: real opcodes, no FUSED_CMD", ignore }, () => {
  using ring = Ring.create(nativeKernel(), 2, { flags: IORING_SETUP_SQE128 | IORING_SETUP_CQE32 });
  assert.equal(ring.sqeSize, 128);
  assert.equal(ring.cqeSize, 32);
  const probe = ring.probe();
  assert.ok(probe.supports(IORING_OP_NOP));
  assert.ok(probe.supports(IORING_OP_READ));
  assert.ok(probe.supports(IORING_OP_SEND_ZC));
  // Opcode 49 is READ_MULTISHOT upstream, never the RFC's FUSED_CMD; the probe cannot tell.
  assert.equal(typeof probe.supports(IORING_OP_FUSED_CMD), "boolean");
});
