// The driver's hooks into the model kernel: `kernel.mmap` of /dev/ublkcN (the DeviceFile
// `mmap` hook), `/dev/ublkbN` registered with `kernel.registerBlockDevice` from START_DEV to
// DEL_DEV, and START_USER_RECOVERY's -EBUSY until the dead server's char device is released.
import assert from "node:assert/strict";
import { ModelKernel } from "@ublk-ts/model";
import {
  EBADF,
  EBUSY,
  EINVAL,
  ENODEV,
  EPERM,
  IORING_SETUP_SQE128,
  PROT_READ,
  PROT_WRITE,
  UBLK_F_USER_RECOVERY,
  UBLK_U_CMD_START_USER_RECOVERY,
  UBLK_U_IO_FETCH_REQ,
  ublkQueueDescOffset,
  ublkQueueDescSize,
  UblksrvIoCmd,
} from "@ublk-ts/uapi";
import { fixed, O_CREAT, O_RDWR, prepUringCmd, Ring } from "@ublk-ts/ring";
import { UblkCtrl } from "@ublk-ts/ublk";
import { installUblk, UblkDriver } from "./driver.ts";
import { UblkBlockDevice } from "./block_device.ts";

/** FETCHes every tag of every queue on its own ring (the char device as fixed file 0). */
function fetchAll(
  kernel: ModelKernel,
  fd: number,
  queues: number,
  depth: number,
  addr: bigint,
): Ring {
  const ring = Ring.create(kernel, 64, { flags: IORING_SETUP_SQE128 });
  assert.equal(ring.registerFiles([fd]), 0);
  for (let q = 0; q < queues; q++) {
    for (let tag = 0; tag < depth; tag++) {
      const cmd = new Uint8Array(UblksrvIoCmd.SIZE);
      UblksrvIoCmd.set(new DataView(cmd.buffer), 0, q, tag, 0, addr);
      prepUringCmd(ring.getSqe()!, fixed(0), UBLK_U_IO_FETCH_REQ, { cmd, userData: 1n });
    }
  }
  ring.submit();
  return ring;
}

interface Setup {
  kernel: ModelKernel;
  ctrl: UblkCtrl;
  info: Awaited<ReturnType<UblkCtrl["addDev"]>>;
  fd: number;
  addr: bigint;
  buf: Uint8Array;
}

async function setup(depth: number, queues: number, flags = 0n): Promise<Setup> {
  const kernel = new ModelKernel();
  installUblk(kernel, { nrCpuIds: 4 });
  const ctrl = UblkCtrl.open(kernel);
  const info = await ctrl.addDev({ queueDepth: depth, nrHwQueues: queues, flags });
  const fd = kernel.open(`/dev/ublkc${info.devId}`, O_RDWR);
  assert.ok(fd >= 0);
  const buf = new Uint8Array(info.maxIoBufBytes);
  return { kernel, ctrl, info, fd, addr: kernel.addressOf(buf), buf };
}

Deno.test("kernel.mmap of /dev/ublkcN maps the queue's descriptor area, read only", async () => {
  const { kernel, ctrl, info, fd } = await setup(200, 2);
  const dev = UblkDriver.of(kernel)!.device(info.devId)!;
  const len = ublkQueueDescSize(200);
  const q0 = kernel.mmap(fd, ublkQueueDescOffset(0), len, PROT_READ);
  const q1 = kernel.mmap(fd, ublkQueueDescOffset(1), len, PROT_READ);
  assert.ok(q0 instanceof ArrayBuffer && q1 instanceof ArrayBuffer);
  assert.equal(q0, dev.queueDescriptors(0));
  assert.equal(q1, dev.queueDescriptors(1));
  assert.equal(q0.byteLength, len);
  // ublk_ch_mmap refuses VM_WRITE
  assert.equal(kernel.mmap(fd, ublkQueueDescOffset(0), len, PROT_READ | PROT_WRITE), -EPERM);
  assert.equal(kernel.mmap(fd, ublkQueueDescOffset(2), len, PROT_READ), -EINVAL); // no queue 2
  assert.equal(kernel.mmap(fd, ublkQueueDescOffset(0), len - 4096, PROT_READ), -EINVAL);
  assert.equal(kernel.mmap(999, ublkQueueDescOffset(0), len, PROT_READ), -EBADF);
  const path = Deno.makeTempFileSync({ dir: "/dev/shm", prefix: "ublk-mmap-" });
  try {
    const file = kernel.open(path, O_RDWR | O_CREAT);
    assert.ok(file >= 0);
    assert.equal(kernel.mmap(file, 0, len, PROT_READ), -ENODEV);
    kernel.closeFd(file);
  } finally {
    Deno.removeSync(path);
  }
  assert.equal(kernel.munmap(q0), 0);
  assert.equal(kernel.munmap(q1), 0);
  kernel.closeFd(fd);
  ctrl.close();
});

Deno.test("START_DEV registers /dev/ublkbN with the kernel; DEL_DEV unregisters it", async () => {
  const { kernel, ctrl, info, fd, addr } = await setup(2, 1);
  const path = `/dev/ublkb${info.devId}`;
  assert.equal(kernel.blockDevice(path), undefined, "no disk before START_DEV");
  await ctrl.setParams({ devSize: 1 << 20 });
  const ring = fetchAll(kernel, fd, 1, 2, addr);
  await ctrl.start();
  const bdev = kernel.blockDevice(path);
  assert.ok(bdev instanceof UblkBlockDevice);
  assert.equal(bdev, UblkDriver.of(kernel)!.blockDevice(info.devId));
  assert.equal(bdev.present, true);
  assert.equal(bdev.size, 1 << 20);
  await ctrl.stop();
  // the gendisk is gone: a client still holding it sees -ENODEV
  assert.equal(bdev.present, false);
  assert.equal(await bdev.read(0, new Uint8Array(512)), -ENODEV);
  ring.close();
  kernel.closeFd(fd);
  await ctrl.del();
  assert.equal(kernel.blockDevice(path), undefined, "unregistered at DEL_DEV");
  ctrl.close();
});

Deno.test("START_USER_RECOVERY fails -EBUSY until the dead server's char device is released", async () => {
  const { kernel, ctrl, info, fd, addr } = await setup(2, 1, UBLK_F_USER_RECOVERY);
  await ctrl.setParams({ devSize: 1 << 20 });
  const ring = fetchAll(kernel, fd, 1, 2, addr);
  await ctrl.start();
  ring.close(); // the server's ring exits: its FETCHes are cancelled, the device quiesces
  const dev = UblkDriver.of(kernel)!.device(info.devId)!;
  assert.equal(dev.isOpen, true);
  assert.equal(await ctrl.command(UBLK_U_CMD_START_USER_RECOVERY), -EBUSY);
  assert.equal(await ctrl.command(UBLK_U_CMD_START_USER_RECOVERY), -EBUSY, "still open");
  kernel.closeFd(fd); // the last reference goes: ublk_ch_release
  assert.equal(dev.isOpen, false);
  assert.equal(await ctrl.command(UBLK_U_CMD_START_USER_RECOVERY), 0);
  ctrl.close();
  kernel.close();
});
