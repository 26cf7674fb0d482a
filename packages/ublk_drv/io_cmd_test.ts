import assert from "node:assert/strict";
import * as errno from "@ublk-ts/uapi/errno";
import { UBLK_IO_RES_ABORT } from "@ublk-ts/uapi";
import { RawIoRing } from "./_test_util.ts";
import { ModelKernel } from "@ublk-ts/model";
import {
  UBLK_IO_COMMIT_AND_FETCH_REQ,
  UBLK_IO_FETCH_REQ,
  UBLK_IO_FUSED_SUBMIT_IO,
  UBLK_IO_NEED_GET_DATA,
  UBLK_IO_OP_READ,
  UBLK_U_IO_COMMIT_AND_FETCH_REQ,
  UBLK_U_IO_FETCH_REQ,
  UblksrvIoDesc,
} from "@ublk-ts/uapi";
import { UblkCtrl } from "@ublk-ts/ublk";
import { installUblk, UblkDriver } from "./driver.ts";
import { MAX_CMD_BUF } from "./_device.ts";

// Results as the kernel posts them: negative errno.
const EPERM = -errno.EPERM,
  EBUSY = -errno.EBUSY,
  EINVAL = -errno.EINVAL,
  EOPNOTSUPP = -errno.EOPNOTSUPP,
  ABORT = UBLK_IO_RES_ABORT;

/** The io commands of these tests carry a buffer address unless told otherwise. */
class Raw extends RawIoRing {
  constructor(readonly kernel: ModelKernel, fd: number) {
    super(kernel, [fd]);
  }
  /** Sends a command; returns its result if it completed at once, else undefined. */
  send(op: number, qid: number, tag: number, addr = 0x1000n, result = 0): number | undefined {
    return this.ioCmd(op, qid, tag, addr, result);
  }
}

interface Setup {
  kernel: ModelKernel;
  ctrl: UblkCtrl;
  info: Awaited<ReturnType<UblkCtrl["addDev"]>>;
  fd: number;
  raw: Raw;
  addr: bigint;
  buf: Uint8Array;
}

async function setup(depth = 2, queues = 1): Promise<Setup> {
  const kernel = new ModelKernel();
  installUblk(kernel, { nrCpuIds: 4 });
  const ctrl = UblkCtrl.open(kernel);
  const info = await ctrl.addDev({ queueDepth: depth, nrHwQueues: queues });
  const fd = kernel.open(`/dev/ublkc${info.devId}`, 2);
  const buf = new Uint8Array(info.maxIoBufBytes);
  return { kernel, ctrl, info, fd, raw: new Raw(kernel, fd), addr: kernel.addressOf(buf), buf };
}

Deno.test("io commands: q_id and tag out of range, unknown op, bad ioctl type", async () => {
  const { raw, ctrl } = await setup();
  assert.equal(raw.send(UBLK_U_IO_FETCH_REQ, 1, 0), EINVAL);
  assert.equal(raw.send(UBLK_U_IO_FETCH_REQ, 0, 2), EINVAL);
  assert.equal(raw.send(0xc010752f, 0, 0), EINVAL); // unknown nr
  assert.equal(raw.send(0xc0104120, 0, 0), EOPNOTSUPP); // type 'A'
  // Without a fused flag, FUSED_SUBMIT_IO is just an unknown io command.
  assert.equal(raw.send(UBLK_IO_FUSED_SUBMIT_IO, 0, 0), EINVAL);
  ctrl.close();
});

Deno.test("io commands: FETCH state machine (active tag, no buffer, queue ready)", async () => {
  const { raw, ctrl } = await setup();
  assert.equal(raw.send(UBLK_U_IO_FETCH_REQ, 0, 0, 0n), EINVAL); // no buffer, no NEED_GET_DATA
  assert.equal(raw.send(UBLK_U_IO_FETCH_REQ, 0, 0), undefined); // pending
  assert.equal(raw.send(UBLK_U_IO_FETCH_REQ, 0, 0), EBUSY); // tag already active
  assert.equal(raw.send(UBLK_IO_FETCH_REQ, 0, 1), undefined); // legacy opcode
  // Queue ready: FETCH is refused; COMMIT of a tag the server does not own too.
  assert.equal(raw.send(UBLK_U_IO_FETCH_REQ, 0, 1), EBUSY);
  assert.equal(raw.send(UBLK_U_IO_COMMIT_AND_FETCH_REQ, 0, 0), EBUSY);
  assert.equal(raw.send(UBLK_IO_NEED_GET_DATA, 0, 0), EBUSY);
  // STOP aborts the pending FETCHes.
  assert.equal(await ctrl.command(0xc0207507), 0);
  raw.reap();
  assert.equal(raw.results.get(2), ABORT);
  assert.equal(raw.results.get(4), ABORT);
  ctrl.close();
});

Deno.test("io commands: COMMIT of a tag not owned by the server is -EINVAL", async () => {
  const { raw, ctrl, addr } = await setup(2);
  assert.equal(raw.send(UBLK_U_IO_FETCH_REQ, 0, 0, addr), undefined);
  // tag 1 never fetched: not active, not owned
  assert.equal(raw.send(UBLK_U_IO_COMMIT_AND_FETCH_REQ, 0, 1, addr), EINVAL);
  assert.equal(raw.send(UBLK_IO_COMMIT_AND_FETCH_REQ, 0, 1, addr), EINVAL);
  // NEED_GET_DATA without the flag set by the driver
  assert.equal(raw.send(UBLK_IO_NEED_GET_DATA, 0, 1, addr), EINVAL);
  ctrl.close();
});

Deno.test("io commands: a full request cycle by hand (FETCH, dispatch, COMMIT)", async () => {
  const { raw, ctrl, kernel, info, addr, buf } = await setup(1);
  await ctrl.setParams({ devSize: 1 << 20 });
  assert.equal(raw.send(UBLK_U_IO_FETCH_REQ, 0, 0, addr), undefined);
  await ctrl.start();
  const dev = UblkDriver.of(kernel)!.device(info.devId)!;
  const bdev = UblkDriver.of(kernel)!.blockDevice(info.devId)!;
  const out = new Uint8Array(1024);
  const p = bdev.read(4096, out);
  raw.reap();
  assert.equal(raw.results.get(1), 0); // FETCH completed: a request for tag 0
  const iod = new DataView(dev.mapQueue(0, 4096, false) as ArrayBuffer);
  assert.equal(iod.getUint32(UblksrvIoDesc.OFFSET_OP_FLAGS, true), UBLK_IO_OP_READ);
  assert.equal(iod.getUint32(UblksrvIoDesc.OFFSET_NR_SECTORS, true), 2);
  assert.equal(iod.getBigUint64(UblksrvIoDesc.OFFSET_START_SECTOR, true), 8n);
  assert.equal(iod.getBigUint64(UblksrvIoDesc.OFFSET_ADDR, true), addr);
  buf.fill(0x5a, 0, 1024);
  assert.equal(raw.send(UBLK_U_IO_COMMIT_AND_FETCH_REQ, 0, 0, addr, 1024), undefined);
  assert.equal(await p, 1024);
  assert.ok(out.every((b) => b === 0x5a));
  assert.equal(raw.send(UBLK_U_IO_COMMIT_AND_FETCH_REQ, 0, 0, addr, 0), EBUSY); // active again
  assert.equal(await ctrl.command(0xc0207507), 0);
  raw.reap();
  assert.equal(raw.results.get(2), ABORT);
  ctrl.close();
});

Deno.test("mmap of the descriptor area: read only, queue offsets, exact length", async () => {
  const { ctrl, kernel, info } = await setup(200, 2);
  const dev = UblkDriver.of(kernel)!.device(info.devId)!;
  const len = 8192; // round_up(200 * 24, 4096)
  assert.equal(dev.mapQueue(0, len, true), EPERM);
  assert.ok(dev.mapQueue(0, len, false) instanceof ArrayBuffer);
  assert.ok(dev.mapQueue(MAX_CMD_BUF, len, false) instanceof ArrayBuffer);
  assert.notEqual(dev.mapQueue(0, len, false), dev.mapQueue(MAX_CMD_BUF, len, false));
  assert.equal(MAX_CMD_BUF, 98304);
  assert.equal(dev.mapQueue(2 * MAX_CMD_BUF, len, false), EINVAL); // no queue 2
  assert.equal(dev.mapQueue(4096, len, false), dev.mapQueue(0, len, false)); // q_id = off / slot
  assert.equal(dev.mapQueue(100, len, false), EINVAL); // not page aligned
  assert.equal(dev.mapQueue(0, 4096, false), EINVAL); // wrong length
  assert.equal(dev.mapQueue(-4096, len, false), EINVAL);
  assert.equal(dev.queueDescriptors(1), dev.mapQueue(MAX_CMD_BUF, len, false));
  assert.equal(dev.queueDescriptors(2), EINVAL);
  ctrl.close();
});
