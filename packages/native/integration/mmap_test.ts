// `NativeKernel.mmap` / `munmap` (the Kernel contract's mapping of device regions) on a
// /dev/shm file.
import assert from "node:assert/strict";
import { EBADF, EINVAL, PROT_READ } from "@ublk-ts/uapi";
import { O_RDONLY, O_RDWR } from "@ublk-ts/ring";
import { ignore, nativeKernel, shmPath } from "./_test_util.ts";

const O_CREAT = 0o100;

Deno.test(
  { name: "`NativeKernel.mmap()` maps a file region read-only and shared; munmap", ignore },
  async () => {
    const kernel = nativeKernel();
    const path = shmPath("mmap");
    const wfd = kernel.open(path, O_RDWR | O_CREAT, 0o600);
    assert.ok(wfd >= 0, `open failed ${wfd}`);
    const rfd = kernel.open(path, O_RDONLY);
    assert.ok(rfd >= 0, `open failed ${rfd}`);
    try {
      const src = new Uint8Array(3 * 4096).map((_, i) => (i * 13 + 5) & 0xff);
      assert.equal(kernel.pwrite(wfd, src, 0), src.length);
      // The second page, from a read-only fd.
      const m = kernel.mmap(rfd, 4096, 4096, PROT_READ);
      assert.ok(m instanceof ArrayBuffer, `mmap failed ${m}`);
      assert.equal(m.byteLength, 4096);
      const view = new Uint8Array(m);
      assert.deepEqual(view, src.subarray(4096, 8192));
      // MAP_SHARED: a later write to the file shows through the mapping.
      assert.equal(kernel.pwrite(wfd, new Uint8Array([0xee, 0xef]), 4096 + 10), 2);
      assert.deepEqual([...view.subarray(9, 13)], [src[4096 + 9], 0xee, 0xef, src[4096 + 12]]);
      assert.equal(kernel.munmap(m), 0);
      // The mapping is detached: the old view throws instead of faulting.
      assert.equal(m.byteLength, 0);
      assert.equal(view.byteLength, 0);
      assert.throws(() => new Uint8Array(m, 0, 1), TypeError);
      assert.equal(kernel.munmap(m), -EINVAL);
      assert.equal(kernel.munmap(new ArrayBuffer(4096)), -EINVAL);
    } finally {
      kernel.closeFd(rfd);
      kernel.closeFd(wfd);
      await Deno.remove(path);
    }
  },
);

Deno.test({ name: "`NativeKernel.mmap()` of a bad fd is -EBADF", ignore }, () => {
  const kernel = nativeKernel();
  assert.equal(kernel.mmap(99999, 0, 4096, PROT_READ), -EBADF);
  assert.equal(kernel.mmap(-1, 0, 4096, PROT_READ), -EBADF);
});
