import assert from "node:assert/strict";
import * as errno from "@ublk-ts/uapi/errno";
import { UBLK_IO_RES_ABORT } from "@ublk-ts/uapi";
import { RawIoRing } from "./_test_util.ts";
import { ModelKernel } from "@ublk-ts/model";
import {
  UBLK_F_NEED_GET_DATA,
  UBLK_F_USER_COPY,
  UBLK_IO_OP_READ,
  UBLK_U_IO_COMMIT_AND_FETCH_REQ,
  UBLK_U_IO_FETCH_REQ,
  UblksrvIoDesc,
  ublkUserCopyPos,
} from "@ublk-ts/uapi";
import { UblkCtrl } from "@ublk-ts/ublk";
import { allocIoMemory } from "@ublk-ts/rsrc";
import { installUblk, UblkDriver } from "./driver.ts";

// Results as the kernel posts them: negative errno.
const EACCES = -errno.EACCES, EINVAL = -errno.EINVAL, ABORT = UBLK_IO_RES_ABORT;

interface Setup {
  ctrl: UblkCtrl;
  info: Awaited<ReturnType<UblkCtrl["addDev"]>>;
  raw: RawIoRing;
  drv: UblkDriver;
}

async function setup(depth = 2): Promise<Setup> {
  const kernel = new ModelKernel();
  installUblk(kernel, { nrCpuIds: 4 });
  const ctrl = UblkCtrl.open(kernel);
  const info = await ctrl.addDev({
    queueDepth: depth,
    nrHwQueues: 1,
    flags: UBLK_F_USER_COPY | UBLK_F_NEED_GET_DATA,
  });
  await ctrl.setParams({ devSize: 1 << 20 });
  const fd = kernel.open(`/dev/ublkc${info.devId}`, 2);
  const raw = new RawIoRing(kernel, [fd]);
  const drv = UblkDriver.of(kernel)!;
  return { ctrl, info, raw, drv };
}

Deno.test("USER_COPY: granted, reported, and NEED_GET_DATA is cleared", async () => {
  const { ctrl, info } = await setup();
  assert.notEqual(info.flags & UBLK_F_USER_COPY, 0n);
  assert.equal(info.flags & UBLK_F_NEED_GET_DATA, 0n);
  assert.notEqual((await ctrl.getFeatures()) & UBLK_F_USER_COPY, 0n);
  ctrl.close();
});

Deno.test("USER_COPY: FETCH and COMMIT must carry addr 0", async () => {
  const { raw, ctrl } = await setup(2);
  assert.equal(raw.ioCmd(UBLK_U_IO_FETCH_REQ, 0, 0, 0x1000n), EINVAL);
  assert.equal(raw.ioCmd(UBLK_U_IO_FETCH_REQ, 0, 0, 0n), undefined); // pending
  assert.equal(raw.ioCmd(UBLK_U_IO_FETCH_REQ, 0, 1, 0n), undefined);
  ctrl.close();
});

Deno.test("USER_COPY: pread/pwrite errno paths and data integrity through the block device", async () => {
  const { raw, ctrl, drv, info } = await setup(2);
  const bdev = () => drv.blockDevice(info.devId)!;
  const small = allocIoMemory(512);
  // Before the device runs: the device is DEAD, -EACCES.
  assert.equal(raw.pread(small, ublkUserCopyPos(0, 0, 0)), EACCES);
  assert.equal(raw.ioCmd(UBLK_U_IO_FETCH_REQ, 0, 0, 0n), undefined);
  assert.equal(raw.ioCmd(UBLK_U_IO_FETCH_REQ, 0, 1, 0n), undefined);
  await ctrl.start();
  // No request on tag 0 yet: -EINVAL; bad queue / tag: -EINVAL.
  assert.equal(raw.pread(small, ublkUserCopyPos(0, 0, 0)), EINVAL);
  assert.equal(raw.pread(small, ublkUserCopyPos(1, 0, 0)), EINVAL);
  assert.equal(raw.pread(small, ublkUserCopyPos(0, 2, 0)), EINVAL);

  // A WRITE request on tag 0: the server reads its pages.
  const data = allocIoMemory(8192);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + 3) & 0xff;
  const pw = bdev().write(4096, data);
  raw.reap();
  assert.equal(raw.results.get(2), 0); // FETCH of tag 0 completed
  const iod = new DataView(drv.device(info.devId)!.queueDescriptors(0) as ArrayBuffer);
  assert.equal(iod.getBigUint64(UblksrvIoDesc.OFFSET_ADDR, true), 0n);
  const got = allocIoMemory(8192);
  assert.equal(raw.pread(got.subarray(0, 4096), ublkUserCopyPos(0, 0, 0)), 4096);
  assert.equal(raw.pread(got.subarray(4096), ublkUserCopyPos(0, 0, 4096)), 4096);
  assert.deepEqual(got, data);
  // Reading past the end copies what is left; the end itself gives 0; beyond it -EINVAL.
  assert.equal(raw.pread(small, ublkUserCopyPos(0, 0, 8192 - 100)), 100);
  assert.equal(raw.pread(small, ublkUserCopyPos(0, 0, 8192)), 0);
  assert.equal(raw.pread(small, ublkUserCopyPos(0, 0, 8193)), EINVAL);
  // Wrong direction: writing into a WRITE request is -EACCES.
  assert.equal(raw.pwrite(small, ublkUserCopyPos(0, 0, 0)), EACCES);
  // COMMIT with an address is refused under USER_COPY; with 0 it completes the write.
  assert.equal(raw.ioCmd(UBLK_U_IO_COMMIT_AND_FETCH_REQ, 0, 0, 0x1000n, 8192), EINVAL);
  assert.equal(raw.ioCmd(UBLK_U_IO_COMMIT_AND_FETCH_REQ, 0, 0, 0n, 8192), undefined);
  assert.equal(await pw, 8192);
  // The committed request is gone: its tag reads -EINVAL again.
  assert.equal(raw.pread(small, ublkUserCopyPos(0, 0, 0)), EINVAL);

  // A READ request: the server writes the data it read back into the request pages.
  const out = allocIoMemory(8192);
  const pr = bdev().read(4096, out);
  raw.reap();
  const tag = raw.results.get(3) === 0 ? 1 : 0; // the FETCH of tag 1 (seq 3) or the re-arm
  const rop = iod.getUint32(tag * UblksrvIoDesc.SIZE + UblksrvIoDesc.OFFSET_OP_FLAGS, true) & 0xff;
  assert.equal(rop, UBLK_IO_OP_READ);
  assert.equal(raw.pread(small, ublkUserCopyPos(0, tag, 0)), EACCES); // wrong direction
  assert.equal(raw.pwrite(got.subarray(0, 4096), ublkUserCopyPos(0, tag, 0)), 4096);
  assert.equal(raw.pwrite(got.subarray(4096), ublkUserCopyPos(0, tag, 4096)), 4096);
  assert.equal(raw.ioCmd(UBLK_U_IO_COMMIT_AND_FETCH_REQ, 0, tag, 0n, 8192), undefined);
  assert.equal(await pr, 8192);
  assert.deepEqual(out, data);

  assert.equal(await ctrl.command(0xc0207507), 0); // STOP_DEV
  raw.reap();
  assert.ok([...raw.results.values()].includes(ABORT));
  ctrl.close();
});
