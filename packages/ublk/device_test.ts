import assert from "node:assert/strict";
import { ModelKernel } from "@ublk-ts/model";
import { installUblk } from "@ublk-ts/ublk-drv";
import { RamDiskTarget } from "@ublk-ts/testing";
import { ENOENT, ErrnoError, UBLK_F_NEED_GET_DATA, UBLK_F_RFC_FUSED_ZC } from "@ublk-ts/uapi";
import type { BlockDevice, Kernel } from "@ublk-ts/ring";
import { createDevice } from "./mod.ts";

Deno.test("`createDevice()` refuses contradictory buffer-mode flags before it touches the kernel", async () => {
  const kernel = new ModelKernel();
  installUblk(kernel);
  await assert.rejects(
    createDevice(kernel, new RamDiskTarget(1 << 20), { zeroCopy: true, needGetData: true }),
    (e: unknown) => e instanceof TypeError && /NEED_GET_DATA/.test(e.message),
  );
  await assert.rejects(
    createDevice(kernel, new RamDiskTarget(1 << 20), {
      flags: UBLK_F_RFC_FUSED_ZC | UBLK_F_NEED_GET_DATA,
    }),
    TypeError,
  );
  // Nothing was added: the first device gets id 0.
  await using dev = await createDevice(kernel, new RamDiskTarget(1 << 20));
  assert.equal(dev.id, 0);
});

Deno.test("`createDevice()` on a kernel without a ublk driver fails with ENOENT from open", async () => {
  await assert.rejects(
    createDevice(new ModelKernel(), new RamDiskTarget(1 << 20)),
    (e: unknown) => e instanceof ErrnoError && e.errno === ENOENT,
  );
});

Deno.test("`UblkDevice.bdev` is the kernel's client of /dev/ublkbN, and a clear TypeError without one", async () => {
  const kernel = new ModelKernel();
  installUblk(kernel);
  await using dev = await createDevice(kernel, new RamDiskTarget(1 << 20));
  assert.equal(dev.blockPath, "/dev/ublkb0");
  const bdev: BlockDevice = dev.bdev;
  assert.equal(bdev, kernel.blockDevice("/dev/ublkb0"));
  assert.equal(bdev.size, 1 << 20);
  // The same device seen through a kernel that offers no in-process block device client.
  const bare: Kernel = {
    name: "bare",
    setup: (e, o) => kernel.setup(e, o),
    addressOf: (b) => kernel.addressOf(b),
    open: (p, f, m) => kernel.open(p, f, m),
    closeFd: (fd) => kernel.closeFd(fd),
    mmap: (fd, off, len, prot) => kernel.mmap(fd, off, len, prot),
    munmap: (m) => kernel.munmap(m),
  };
  await using dev2 = await createDevice(bare, new RamDiskTarget(1 << 20), { depth: 4 });
  assert.throws(() => dev2.bdev, /Cannot use \/dev\/ublkb1 in process/);
  // Served all the same: read it through the model's client.
  const buf = new Uint8Array(4096);
  assert.equal(await kernel.blockDevice("/dev/ublkb1")!.read(0, buf), 4096);
});
