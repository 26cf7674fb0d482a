import assert from "node:assert/strict";
import { IOSQE_ASYNC, IOSQE_IO_LINK } from "@ublk-ts/uapi";
import { ModelKernel } from "@ublk-ts/model";
import { prepFallocate, prepFsync, prepRead, prepWrite, Ring } from "@ublk-ts/ring";
import { NativeBackend, NativeFile } from "../native_backend.ts";
import { ignore, shmPath } from "./_test_util.ts";

const O_RDWR_CREAT = 0o102;

Deno.test(
  { name: "`NativeBackend` read/write/readv/writev/fsync/fallocate/size", ignore },
  async () => {
    using backend = new NativeBackend({ entries: 8 });
    const path = shmPath("backend");
    const f = backend.open(path, O_RDWR_CREAT, 0o600);
    assert.ok(f instanceof NativeFile);
    assert.equal(f.fsType, "tmpfs");
    try {
      const src = new Uint8Array(5000).map((_, i) => (i * 3) & 0xff);
      assert.equal(await backend.write(f, src, 100), 5000);
      assert.equal(backend.size(f), 5100);
      const dst = new Uint8Array(6000);
      assert.equal(await backend.read(f, dst, 0), 5100);
      assert.deepEqual(dst.subarray(100, 5100), src);
      const a = new Uint8Array(10), b = new Uint8Array(20);
      assert.equal(await backend.readv(f, [a, b], 100), 30);
      assert.deepEqual([...a, ...b], [...src.subarray(0, 30)]);
      assert.equal(await backend.writev(f, [a, b], 6000), 30);
      assert.equal(backend.size(f), 6030);
      assert.equal(await backend.fsync(f, true), 0);
      assert.equal(await backend.fallocate(f, 0, 0, 10000), 0);
      assert.equal(backend.size(f), 10000);
      assert.equal(await backend.fallocate(f, 0, 0, 0), -22);
      assert.equal(await backend.read(f, dst, 1 << 30), 0);
      assert.equal(backend.open("/nonexistent/x", 0, 0), -2);
    } finally {
      backend.close(f);
      backend.close(f);
      await Deno.remove(path);
    }
  },
);

Deno.test(
  { name: "`NativeBackend` queues beyond its ring size and completes all", ignore },
  async () => {
    using backend = new NativeBackend({ entries: 4 });
    const path = shmPath("backendq");
    const f = backend.open(path, O_RDWR_CREAT, 0o600) as NativeFile;
    try {
      const writes = Array.from({ length: 50 }, (_, i) => {
        const buf = new Uint8Array(512).fill(i);
        return backend.write(f, buf, i * 512);
      });
      const results = await Promise.all(writes);
      assert.deepEqual(results, Array(50).fill(512));
      assert.equal(backend.inflight, 0);
      const all = await Deno.readFile(path);
      for (let i = 0; i < 50; i++) assert.equal(all[i * 512 + 7], i);
    } finally {
      backend.close(f);
      await Deno.remove(path);
    }
  },
);

Deno.test(
  { name: "`NativeBackend` under ModelKernel: Ring ops run on the real kernel", ignore },
  async () => {
    const backend = new NativeBackend();
    const kernel = new ModelKernel({ backend });
    const path = shmPath("modelnative");
    const fd = kernel.open(path, O_RDWR_CREAT, 0o600);
    assert.ok(fd >= 0);
    try {
      using ring = Ring.create(kernel, 8);
      const src = new Uint8Array(4096).fill(0x42);
      const dst = new Uint8Array(8192);
      prepWrite(ring.getSqe()!, fd, src, { offset: 4096, userData: 1n, flags: IOSQE_IO_LINK });
      prepFsync(ring.getSqe()!, fd, { userData: 2n, flags: IOSQE_IO_LINK });
      prepFallocate(ring.getSqe()!, fd, {
        offset: 0,
        len: 16384,
        userData: 3n,
        flags: IOSQE_IO_LINK,
      });
      prepRead(ring.getSqe()!, fd, dst, { offset: 0, userData: 4n, flags: IOSQE_ASYNC });
      await ring.submitAndWait(4);
      const cqes = [];
      for (let c = ring.copyCqe(); c; c = ring.copyCqe()) cqes.push(c);
      while (cqes.length < 4) {
        await ring.kernelRing.wait(1);
        for (let c = ring.copyCqe(); c; c = ring.copyCqe()) cqes.push(c);
      }
      assert.deepEqual(cqes, [
        { userData: 1n, res: 4096, flags: 0 },
        { userData: 2n, res: 0, flags: 0 },
        { userData: 3n, res: 0, flags: 0 },
        { userData: 4n, res: 8192, flags: 0 },
      ]);
      assert.ok(dst.subarray(4096).every((x) => x === 0x42));
      assert.ok(dst.subarray(0, 4096).every((x) => x === 0));
      assert.equal((await Deno.stat(path)).size, 16384);
    } finally {
      kernel.closeFd(fd);
      kernel.close();
      backend.close();
      await Deno.remove(path);
    }
  },
);
