import assert from "node:assert/strict";
import * as errno from "@ublk-ts/uapi/errno";
import { drain, RawIoRing } from "./_test_util.ts";
import { ModelKernel } from "@ublk-ts/model";
import {
  IORING_OP_READ_FIXED,
  IORING_OP_WRITE_FIXED,
  UBLK_F_NEED_GET_DATA,
  UBLK_F_SUPPORT_ZERO_COPY,
  UBLK_U_IO_COMMIT_AND_FETCH_REQ,
  UBLK_U_IO_FETCH_REQ,
  UBLK_U_IO_REGISTER_IO_BUF,
  UBLK_U_IO_UNREGISTER_IO_BUF,
} from "@ublk-ts/uapi";
import { UblkCtrl } from "@ublk-ts/ublk";
import { allocIoMemory } from "@ublk-ts/rsrc";
import { installUblk, UblkDriver } from "./driver.ts";

// Results as the kernel posts them: negative errno.
const EFAULT = -errno.EFAULT, EBUSY = -errno.EBUSY, EINVAL = -errno.EINVAL;

Deno.test("REGISTER_IO_BUF: errno paths, direction, refcounted completion, data integrity", async () => {
  const path = await Deno.makeTempFile({ prefix: "ublk_regbuf_" });
  try {
    const kernel = new ModelKernel();
    installUblk(kernel, { nrCpuIds: 4 });
    const ctrl = UblkCtrl.open(kernel);
    const info = await ctrl.addDev({
      queueDepth: 1,
      nrHwQueues: 1,
      flags: UBLK_F_SUPPORT_ZERO_COPY | UBLK_F_NEED_GET_DATA,
    });
    assert.notEqual(info.flags & UBLK_F_SUPPORT_ZERO_COPY, 0n);
    assert.equal(info.flags & UBLK_F_NEED_GET_DATA, 0n); // implies user copy
    await ctrl.setParams({ devSize: 1 << 20 });
    const charFd = kernel.open(`/dev/ublkc${info.devId}`, 2);
    const fileFd = kernel.open(path, 2);
    assert.ok(fileFd >= 0);
    const raw = new RawIoRing(kernel, [charFd, fileFd], 4);
    const bdev = UblkDriver.of(kernel)!.blockDevice(info.devId)!;
    assert.equal(raw.ioCmd(UBLK_U_IO_FETCH_REQ, 0, 0, 0x1000n), EINVAL); // addr must be 0
    assert.equal(raw.ioCmd(UBLK_U_IO_FETCH_REQ, 0, 0, 0n), undefined);
    await ctrl.start();

    // WRITE request: the server writes the request pages to the file.
    const data = allocIoMemory(8192);
    for (let i = 0; i < data.length; i++) data[i] = (i * 13 + 1) & 0xff;
    let wDone: number | null = null;
    const pw = bdev.write(4096, data).then((r) => (wDone = r));
    raw.reap();
    assert.equal(raw.results.get(2), 0); // FETCH completed with the request
    assert.equal(raw.ioCmd(UBLK_U_IO_REGISTER_IO_BUF, 0, 0, 4n), EINVAL); // outside the table
    assert.equal(raw.ioCmd(UBLK_U_IO_UNREGISTER_IO_BUF, 0, 0, 0n), EINVAL); // empty slot
    assert.equal(raw.ioCmd(UBLK_U_IO_REGISTER_IO_BUF, 0, 0, 0n), 0);
    assert.equal(raw.ioCmd(UBLK_U_IO_REGISTER_IO_BUF, 0, 0, 0n), EBUSY); // slot in use
    // A WRITE request's pages may only be read from.
    assert.equal(raw.fixedIo(IORING_OP_READ_FIXED, 0, 0, 4096, 0), EFAULT);
    assert.equal(raw.fixedIo(IORING_OP_WRITE_FIXED, 0, 8000, 400, 0), EFAULT); // beyond the end
    assert.equal(raw.fixedIo(IORING_OP_WRITE_FIXED, 0, 0, 4096, 4096), 4096);
    assert.equal(raw.fixedIo(IORING_OP_WRITE_FIXED, 0, 4096, 4096, 8192), 4096); // sub-range
    // Unregistered but not committed: the request does not complete yet.
    assert.equal(raw.ioCmd(UBLK_U_IO_UNREGISTER_IO_BUF, 0, 0, 0n), 0);
    assert.equal(raw.ioCmd(UBLK_U_IO_UNREGISTER_IO_BUF, 0, 0, 0n), EINVAL); // already gone
    await drain();
    assert.equal(wDone, null);
    assert.equal(raw.ioCmd(UBLK_U_IO_COMMIT_AND_FETCH_REQ, 0, 0, 0n, 8192), undefined);
    assert.equal(await pw, 8192);
    assert.deepEqual((await Deno.readFile(path)).subarray(4096, 12288), data);
    // The tag is fetched again (ACTIVE): io commands on it are -EBUSY, as in 6.15.
    assert.equal(raw.ioCmd(UBLK_U_IO_UNREGISTER_IO_BUF, 0, 0, 0n), EBUSY);

    // READ request: the server reads the file into the request pages.
    const out = allocIoMemory(8192);
    const pr = bdev.read(4096, out);
    raw.reap();
    assert.equal(raw.ioCmd(UBLK_U_IO_REGISTER_IO_BUF, 0, 0, 2n), 0);
    // A READ request's pages may only be written into.
    assert.equal(raw.fixedIo(IORING_OP_WRITE_FIXED, 2, 0, 4096, 0), EFAULT);
    assert.equal(raw.fixedIo(IORING_OP_READ_FIXED, 2, 0, 8192, 4096), 8192);
    assert.equal(raw.ioCmd(UBLK_U_IO_UNREGISTER_IO_BUF, 0, 0, 2n), 0);
    assert.equal(raw.ioCmd(UBLK_U_IO_COMMIT_AND_FETCH_REQ, 0, 0, 0n, 8192), undefined);
    assert.equal(await pr, 8192);
    assert.deepEqual(out, data);

    assert.equal(raw.ioCmd(UBLK_U_IO_REGISTER_IO_BUF, 0, 0, 1n), EBUSY); // tag active (fetched)
    assert.equal(await ctrl.command(0xc0207507), 0); // STOP_DEV
    ctrl.close();
  } finally {
    await Deno.remove(path);
  }
});
