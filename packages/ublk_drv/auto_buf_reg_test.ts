import assert from "node:assert/strict";
import * as errno from "@ublk-ts/uapi/errno";
import { drain, RawIoRing } from "./_test_util.ts";
import { ModelKernel } from "@ublk-ts/model";
import {
  IORING_OP_READ_FIXED,
  IORING_OP_WRITE_FIXED,
  UBLK_AUTO_BUF_REG_FALLBACK,
  UBLK_F_AUTO_BUF_REG,
  UBLK_F_NEED_GET_DATA,
  UBLK_F_SUPPORT_ZERO_COPY,
  UBLK_IO_F_NEED_REG_BUF,
  UBLK_U_IO_COMMIT_AND_FETCH_REQ,
  UBLK_U_IO_FETCH_REQ,
  UBLK_U_IO_REGISTER_IO_BUF,
  UBLK_U_IO_UNREGISTER_IO_BUF,
  UblkAutoBufReg,
  UblksrvIoDesc,
} from "@ublk-ts/uapi";
import { UblkCtrl } from "@ublk-ts/ublk";
import { allocIoMemory } from "@ublk-ts/rsrc";
import { installUblk, UblkDriver } from "./driver.ts";
import type { UblkBlockDevice } from "./block_device.ts";

// Results as the kernel posts them: negative errno.
const EFAULT = -errno.EFAULT, EBUSY = -errno.EBUSY, EINVAL = -errno.EINVAL, EIO = -errno.EIO;
const TABLE = 4;

/** `ublk_auto_buf_reg` packed for the SQE's own `addr`. */
function reg(index: number, flags = 0, reserved0 = 0, reserved1 = 0): bigint {
  return UblkAutoBufReg.toSqeAddr({ index, flags, reserved0, reserved1 });
}

/** Tag-only io commands on queue 0; `fixedIo` from offset 0 of the buffer. */
class Raw extends RawIoRing {
  constructor(kernel: ModelKernel, charFd: number, fileFd: number) {
    super(kernel, [charFd, fileFd], TABLE);
  }
  /** An io command; `sqeAddr` goes into the SQE's `addr`, `addr` into `ublksrv_io_cmd.addr`. */
  cmd(op: number, tag: number, sqeAddr = 0n, result = 0, addr = 0n): number | undefined {
    return this.ioCmd(op, 0, tag, addr, result, sqeAddr);
  }
  /** READ_FIXED / WRITE_FIXED on the file from offset 0 of buffer `index`. */
  io(op: number, index: number, len: number, off: number): number | undefined {
    return this.fixedIo(op, index, 0, len, off);
  }
}

interface Setup {
  kernel: ModelKernel;
  ctrl: UblkCtrl;
  raw: Raw;
  bdev: UblkBlockDevice;
  opFlags: (tag: number) => number;
  path: string;
  close: () => Promise<void>;
}

/** A started-later device (depth `depth`, AUTO_BUF_REG | ZERO_COPY) and a raw server ring. */
async function setup(depth: number): Promise<Setup> {
  const path = await Deno.makeTempFile({ prefix: "ublk_autoreg_" });
  const kernel = new ModelKernel();
  installUblk(kernel, { nrCpuIds: 4 });
  const ctrl = UblkCtrl.open(kernel);
  const info = await ctrl.addDev({
    queueDepth: depth,
    nrHwQueues: 1,
    flags: UBLK_F_AUTO_BUF_REG | UBLK_F_SUPPORT_ZERO_COPY,
  });
  assert.notEqual(info.flags & UBLK_F_AUTO_BUF_REG, 0n);
  await ctrl.setParams({ devSize: 1 << 20 });
  const charFd = kernel.open(`/dev/ublkc${info.devId}`, 2);
  const fileFd = kernel.open(path, 2);
  assert.ok(fileFd >= 0);
  const raw = new Raw(kernel, charFd, fileFd);
  const drv = UblkDriver.of(kernel)!;
  const desc = drv.device(info.devId)!.queueDescriptors(0);
  assert.ok(desc instanceof ArrayBuffer);
  const iod = new DataView(desc);
  return {
    kernel,
    ctrl,
    raw,
    get bdev() {
      return drv.blockDevice(info.devId)!;
    },
    opFlags: (tag) => iod.getUint32(tag * UblksrvIoDesc.SIZE + UblksrvIoDesc.OFFSET_OP_FLAGS, true),
    path,
    close: async () => {
      assert.equal(await ctrl.command(0xc0207507), 0); // STOP_DEV
      ctrl.close();
      await Deno.remove(path);
    },
  };
}

Deno.test("AUTO_BUF_REG: ADD_DEV grants bit 11 (clearing NEED_GET_DATA), GET_FEATURES reports it", async () => {
  const kernel = new ModelKernel();
  installUblk(kernel, { nrCpuIds: 4 });
  const ctrl = UblkCtrl.open(kernel);
  assert.notEqual((await ctrl.getFeatures()) & UBLK_F_AUTO_BUF_REG, 0n);
  const a = await ctrl.addDev({
    queueDepth: 1,
    nrHwQueues: 1,
    flags: UBLK_F_AUTO_BUF_REG | UBLK_F_SUPPORT_ZERO_COPY | UBLK_F_NEED_GET_DATA,
  });
  assert.equal(
    a.flags & (UBLK_F_AUTO_BUF_REG | UBLK_F_SUPPORT_ZERO_COPY | UBLK_F_NEED_GET_DATA),
    UBLK_F_AUTO_BUF_REG | UBLK_F_SUPPORT_ZERO_COPY,
  );
  ctrl.close();
  // As the kernel (ublk_ctrl_add_dev), bit 11 does not need bit 0.
  const ctrl2 = UblkCtrl.open(kernel);
  const b = await ctrl2.addDev({ queueDepth: 1, nrHwQueues: 1, flags: UBLK_F_AUTO_BUF_REG });
  assert.equal(b.flags & (UBLK_F_AUTO_BUF_REG | UBLK_F_SUPPORT_ZERO_COPY), UBLK_F_AUTO_BUF_REG);
  ctrl2.close();
});

Deno.test("AUTO_BUF_REG: the request buffer is registered at the index, data both ways, slot free after COMMIT", async () => {
  const s = await setup(1);
  try {
    const { raw } = s;
    assert.equal(raw.cmd(UBLK_U_IO_FETCH_REQ, 0, reg(2)), undefined);
    await s.ctrl.start();

    // WRITE: the driver registered the pages at slot 2 before the FETCH completed.
    const data = allocIoMemory(8192);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + 3) & 0xff;
    let wDone: number | null = null;
    const pw = s.bdev.write(4096, data).then((r) => (wDone = r));
    raw.reap();
    assert.equal(raw.results.get(1), 0);
    assert.equal(s.opFlags(0) & UBLK_IO_F_NEED_REG_BUF, 0);
    assert.equal(raw.io(IORING_OP_READ_FIXED, 2, 4096, 0), EFAULT); // WRITE pages: source only
    assert.equal(raw.io(IORING_OP_WRITE_FIXED, 3, 4096, 0), EFAULT); // empty slot
    assert.equal(raw.io(IORING_OP_WRITE_FIXED, 2, 8192, 4096), 8192);
    await drain();
    assert.equal(wDone, null);
    assert.equal(raw.cmd(UBLK_U_IO_COMMIT_AND_FETCH_REQ, 0, reg(2), 8192), undefined);
    assert.equal(await pw, 8192);
    assert.deepEqual((await Deno.readFile(s.path)).subarray(4096, 12288), data);
    // COMMIT unregistered it: slot 2 is empty while the tag waits for the next request.
    assert.equal(raw.io(IORING_OP_WRITE_FIXED, 2, 512, 0), EFAULT);

    // READ: the file goes straight into the request pages at slot 2.
    const out = allocIoMemory(8192);
    const pr = s.bdev.read(4096, out);
    raw.reap();
    assert.equal(s.opFlags(0) & UBLK_IO_F_NEED_REG_BUF, 0);
    assert.equal(raw.io(IORING_OP_WRITE_FIXED, 2, 4096, 0), EFAULT); // READ pages: dest only
    assert.equal(raw.io(IORING_OP_READ_FIXED, 2, 8192, 4096), 8192);
    assert.equal(raw.cmd(UBLK_U_IO_COMMIT_AND_FETCH_REQ, 0, reg(1), 8192), undefined);
    assert.equal(await pr, 8192);
    assert.deepEqual(out, data);
    assert.equal(raw.io(IORING_OP_READ_FIXED, 2, 512, 0), EFAULT); // unregistered again

    // The next request goes to the index the last COMMIT named (1); the server unregisters it
    // itself before COMMIT, and the driver's own unregistration at COMMIT is no error.
    const out2 = allocIoMemory(4096);
    const pr2 = s.bdev.read(8192, out2);
    raw.reap();
    assert.equal(raw.io(IORING_OP_READ_FIXED, 1, 4096, 8192), 4096);
    assert.equal(raw.cmd(UBLK_U_IO_UNREGISTER_IO_BUF, 0, 0n, 0, 1n), 0);
    assert.equal(raw.cmd(UBLK_U_IO_COMMIT_AND_FETCH_REQ, 0, reg(1), 4096), undefined);
    assert.equal(await pr2, 4096);
    assert.deepEqual(out2, data.subarray(4096));
  } finally {
    await s.close();
  }
});

Deno.test("AUTO_BUF_REG: slot busy with FALLBACK → delivered with NEED_REG_BUF, the server registers by hand", async () => {
  const s = await setup(1);
  try {
    const { raw } = s;
    // Occupy slot 1 with a user buffer.
    const user = allocIoMemory(4096);
    assert.equal(raw.ring.registerBuffersUpdate(1, [user]), 1);
    assert.equal(raw.cmd(UBLK_U_IO_FETCH_REQ, 0, reg(1, UBLK_AUTO_BUF_REG_FALLBACK)), undefined);
    await s.ctrl.start();
    const data = allocIoMemory(4096);
    data.fill(0x5a);
    const pw = s.bdev.write(0, data);
    raw.reap();
    assert.equal(raw.results.get(1), 0); // delivered
    assert.notEqual(s.opFlags(0) & UBLK_IO_F_NEED_REG_BUF, 0);
    // Slot 1 still holds the user buffer (nothing was registered over it).
    assert.equal(raw.cmd(UBLK_U_IO_REGISTER_IO_BUF, 0, 0n, 0, 1n), EBUSY);
    // Register by hand at slot 3, write, unregister, commit.
    assert.equal(raw.cmd(UBLK_U_IO_REGISTER_IO_BUF, 0, 0n, 0, 3n), 0);
    assert.equal(raw.io(IORING_OP_WRITE_FIXED, 3, 4096, 0), 4096);
    assert.equal(raw.cmd(UBLK_U_IO_UNREGISTER_IO_BUF, 0, 0n, 0, 3n), 0);
    assert.equal(raw.cmd(UBLK_U_IO_COMMIT_AND_FETCH_REQ, 0, reg(2), 4096), undefined);
    assert.equal(await pw, 4096);
    assert.deepEqual((await Deno.readFile(s.path)).subarray(0, 4096), data);
    // Slot 2 is free: the next request is registered there, without NEED_REG_BUF.
    const out = allocIoMemory(4096);
    const pr = s.bdev.read(0, out);
    raw.reap();
    assert.equal(s.opFlags(0) & UBLK_IO_F_NEED_REG_BUF, 0);
    // The user buffer survived the COMMIT (the driver unregisters only what it registered).
    assert.equal(raw.cmd(UBLK_U_IO_REGISTER_IO_BUF, 0, 0n, 0, 1n), EBUSY);
    assert.equal(raw.io(IORING_OP_READ_FIXED, 2, 4096, 0), 4096);
    assert.equal(raw.cmd(UBLK_U_IO_COMMIT_AND_FETCH_REQ, 0, reg(2), 4096), undefined);
    assert.equal(await pr, 4096);
    assert.deepEqual(out, data);
  } finally {
    await s.close();
  }
});

Deno.test("AUTO_BUF_REG: registration failure without FALLBACK fails the request, the server never sees it", async () => {
  const s = await setup(1);
  try {
    const { raw } = s;
    const user = allocIoMemory(4096);
    assert.equal(raw.ring.registerBuffersUpdate(1, [user]), 1);
    assert.equal(raw.cmd(UBLK_U_IO_FETCH_REQ, 0, reg(1)), undefined);
    await s.ctrl.start();
    const data = allocIoMemory(4096);
    assert.equal(await s.bdev.write(0, data), EIO); // slot busy
    raw.reap();
    assert.equal(raw.results.get(1), undefined); // the FETCH is still pending
    // Free the slot: the same pending FETCH takes the next request.
    assert.equal(raw.ring.registerBuffersUpdate(1, [null]), 1);
    data.fill(0x33);
    const pw = s.bdev.write(4096, data);
    raw.reap();
    assert.equal(raw.results.get(1), 0);
    assert.equal(s.opFlags(0) & UBLK_IO_F_NEED_REG_BUF, 0);
    assert.equal(raw.io(IORING_OP_WRITE_FIXED, 1, 4096, 4096), 4096);
    // Index outside the table, no FALLBACK: the next request fails as well.
    assert.equal(raw.cmd(UBLK_U_IO_COMMIT_AND_FETCH_REQ, 0, reg(TABLE), 4096), undefined);
    assert.equal(await pw, 4096);
    assert.deepEqual((await Deno.readFile(s.path)).subarray(4096, 8192), data);
    const seqBefore = raw.nextSeq;
    assert.equal(await s.bdev.read(0, allocIoMemory(4096)), EIO);
    raw.reap();
    assert.equal(raw.results.get(seqBefore - 1), undefined); // that COMMIT's fetch still pending
  } finally {
    await s.close();
  }
});

Deno.test("AUTO_BUF_REG: reserved bits, unknown flags and a non-zero ublksrv_io_cmd.addr are -EINVAL", async () => {
  const s = await setup(2);
  try {
    const { raw } = s;
    assert.equal(raw.cmd(UBLK_U_IO_FETCH_REQ, 0, reg(0, 0, 1)), EINVAL); // reserved0
    assert.equal(raw.cmd(UBLK_U_IO_FETCH_REQ, 0, reg(0, 0, 0, 1)), EINVAL); // reserved1
    assert.equal(raw.cmd(UBLK_U_IO_FETCH_REQ, 0, reg(0, 2)), EINVAL); // unknown flag
    assert.equal(raw.cmd(UBLK_U_IO_FETCH_REQ, 0, reg(0), 0, 0x1000n), EINVAL); // cmd addr
    assert.equal(raw.cmd(UBLK_U_IO_FETCH_REQ, 0, reg(0)), undefined);
    assert.equal(raw.cmd(UBLK_U_IO_FETCH_REQ, 1, reg(1)), undefined);
    await s.ctrl.start();
    const data = allocIoMemory(4096);
    data.fill(0x77);
    const pw = s.bdev.write(0, data);
    raw.reap();
    const tag = raw.results.get(5) === 0 ? 0 : 1;
    assert.equal(raw.io(IORING_OP_WRITE_FIXED, tag, 4096, 0), 4096);
    // A bad ublk_auto_buf_reg at COMMIT: the result is still committed (as the kernel), the
    // command fails with -EINVAL, and the buffer was unregistered.
    assert.equal(raw.cmd(UBLK_U_IO_COMMIT_AND_FETCH_REQ, tag, reg(tag, 0, 0, 5), 4096), EINVAL);
    assert.equal(await pw, 4096);
    assert.equal(raw.io(IORING_OP_WRITE_FIXED, tag, 512, 0), EFAULT);
    assert.deepEqual((await Deno.readFile(s.path)).subarray(0, 4096), data);
  } finally {
    await s.close();
  }
});
