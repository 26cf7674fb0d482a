import assert from "node:assert/strict";
import { ModelKernel } from "@ublk-ts/model";
import {
  UBLK_CMD_ADD_DEV,
  UBLK_CMD_GET_DEV_INFO,
  UBLK_F_CMD_IOCTL_ENCODE,
  UBLK_F_NEED_GET_DATA,
  UBLK_F_RFC_FUSED_ZC,
  UBLK_F_SUPPORT_ZERO_COPY,
  UBLK_F_USER_COPY,
  UBLK_F_USER_RECOVERY,
  UBLK_F_ZONED,
  UBLK_PARAM_TYPE_BASIC,
  UBLK_PARAM_TYPE_DEVT,
  UBLK_PARAM_TYPE_DISCARD,
  UBLK_PARAM_TYPE_ZONED,
  UBLK_S_DEV_DEAD,
  UBLK_S_DEV_LIVE,
  UBLK_U_CMD_ADD_DEV,
  UBLK_U_CMD_DEL_DEV,
  UBLK_U_CMD_DEL_DEV_ASYNC,
  UBLK_U_CMD_GET_DEV_INFO,
  UBLK_U_CMD_GET_FEATURES,
  UBLK_U_CMD_GET_PARAMS,
  UBLK_U_CMD_SET_PARAMS,
  UBLK_U_CMD_START_DEV,
  UBLK_U_CMD_STOP_DEV,
  UblkParamBasic,
  UblkParams,
  type UblkParamsValue,
  UblksrvCtrlDevInfo,
} from "@ublk-ts/uapi";
import { encodeTargetParams, UblkCtrl } from "@ublk-ts/ublk";
import { installUblk, UBLK_CHAR_MAJOR, UBLK_DISK_MAJOR, UblkDriver } from "./driver.ts";
import { UblkQueue } from "@ublk-ts/ublk";
import { prepUringCmd, Ring } from "@ublk-ts/ring";
import { RamDiskTarget } from "@ublk-ts/testing";

const EPERM = -1, ENOENT = -2, EFAULT = -14, EBUSY = -16, EEXIST = -17, ENODEV = -19;
const EINVAL = -22, EACCES = -13, EOPNOTSUPP = -95;

function setup(): { kernel: ModelKernel; ctrl: UblkCtrl } {
  const kernel = new ModelKernel();
  installUblk(kernel, { nrCpuIds: 4 });
  return { kernel, ctrl: UblkCtrl.open(kernel) };
}

function infoBuf(init: Partial<ReturnType<typeof UblksrvCtrlDevInfo.zero>> = {}): Uint8Array {
  const v = { ...UblksrvCtrlDevInfo.zero(), ...init };
  const b = new Uint8Array(64);
  UblksrvCtrlDevInfo.encode(new DataView(b.buffer), 0, v);
  return b;
}

interface ParamsInit {
  len?: number;
  types?: number;
  basic?: Partial<UblkParamsValue["basic"]>;
  discard?: UblkParamsValue["discard"];
}

function params(p: ParamsInit): Uint8Array {
  const v = encodeTargetParams({ devSize: 1 << 20 }, 1 << 19);
  Object.assign(v.basic, p.basic ?? {});
  if (p.types !== undefined) v.types = p.types & 0x7f;
  if (p.discard !== undefined) v.discard = p.discard;
  v.len = UblkParams.SIZE;
  const b = new Uint8Array(UblkParams.SIZE);
  const view = new DataView(b.buffer);
  UblkParams.encode(view, 0, v);
  view.setUint32(UblkParams.OFFSET_LEN, p.len ?? UblkParams.SIZE, true);
  if (p.types !== undefined) view.setUint32(UblkParams.OFFSET_TYPES, p.types, true);
  return b;
}

Deno.test("GET_FEATURES reports the model's flags and checks its length", async () => {
  const { ctrl } = setup();
  const f = await ctrl.getFeatures();
  assert.notEqual(f & UBLK_F_RFC_FUSED_ZC, 0n);
  assert.notEqual(f & UBLK_F_NEED_GET_DATA, 0n);
  assert.notEqual(f & UBLK_F_USER_COPY, 0n);
  assert.notEqual(f & UBLK_F_SUPPORT_ZERO_COPY, 0n); // the 6.15 register design
  const buf = new Uint8Array(16);
  assert.equal(await ctrl.command(UBLK_U_CMD_GET_FEATURES, { buf }), EINVAL);
  assert.equal(await ctrl.command(UBLK_U_CMD_GET_FEATURES, { len: 8, addr: 0n }), EINVAL);
  // GET_FEATURES has no legacy form: 0x13 is an unknown command.
  assert.equal(await ctrl.command(0x13, { buf: buf.subarray(0, 8), devId: 0 }), ENODEV);
  ctrl.close();
});

Deno.test("ADD_DEV allocates ids, negotiates flags, clamps queues and aligns the buffer", async () => {
  const { kernel, ctrl } = setup();
  const a = await ctrl.addDev({
    nrHwQueues: 8,
    queueDepth: 64,
    maxIoBufBytes: 100_000,
    flags: UBLK_F_ZONED | UBLK_F_USER_RECOVERY | (1n << 40n),
  });
  assert.equal(a.devId, 0);
  assert.equal(a.nrHwQueues, 4); // nr_cpu_ids
  assert.equal(a.maxIoBufBytes, 98304);
  assert.equal(a.state, UBLK_S_DEV_DEAD);
  assert.equal(a.flags & (UBLK_F_ZONED | (1n << 40n)), 0n);
  assert.notEqual(a.flags & UBLK_F_CMD_IOCTL_ENCODE, 0n);
  assert.notEqual(a.flags & UBLK_F_USER_RECOVERY, 0n);
  const c2 = UblkCtrl.open(kernel);
  const b = await c2.addDev({ flags: UBLK_F_RFC_FUSED_ZC | UBLK_F_NEED_GET_DATA });
  assert.equal(b.devId, 1);
  assert.notEqual(b.flags & UBLK_F_RFC_FUSED_ZC, 0n);
  assert.equal(b.flags & UBLK_F_NEED_GET_DATA, 0n); // RFC: zero copy clears NEED_GET_DATA
  const c3 = UblkCtrl.open(kernel);
  await assert.rejects(c3.addDev({ devId: 1 }), (e: Error & { errno?: number }) => e.errno === 17);
  const d = await c3.addDev({ devId: 7 });
  assert.equal(d.devId, 7);
  assert.ok(kernel.open("/dev/ublkc7", 2) >= 0);
  for (const c of [ctrl, c2, c3]) c.close();
});

Deno.test("ADD_DEV rejects bad depth, queues, lengths, queue_id and id mismatches", async () => {
  const { ctrl } = setup();
  const add = (init: Parameters<typeof infoBuf>[0], extra: Record<string, unknown> = {}) =>
    ctrl.command(UBLK_U_CMD_ADD_DEV, { buf: infoBuf(init), devId: -1, ...extra });
  const ok = { nrHwQueues: 1, queueDepth: 32, maxIoBufBytes: 65536, devId: 0xffffffff };
  assert.equal(await add({ ...ok, queueDepth: 0 }), EINVAL);
  assert.equal(await add({ ...ok, queueDepth: 4097 }), EINVAL);
  assert.equal(await add({ ...ok, nrHwQueues: 0 }), EINVAL);
  assert.equal(await add({ ...ok, nrHwQueues: 4097 }), EINVAL);
  assert.equal(await add(ok, { queueId: 0 }), EINVAL);
  assert.equal(await add(ok, { len: 32 }), EINVAL);
  assert.equal(await add(ok, { addr: 0n, len: 64 }), EINVAL);
  assert.equal(await add(ok, { addr: 0x9999_0000_0000n, len: 64 }), EFAULT);
  assert.equal(await add({ ...ok, devId: 3 }), EINVAL); // header dev_id -1, info dev_id 3
  assert.equal(await add({ ...ok, queueDepth: 4096 }), 0);
  // legacy ADD_DEV (0x04) works as well
  assert.equal(await ctrl.command(UBLK_CMD_ADD_DEV, { buf: infoBuf(ok), devId: -1 }), 0);
  ctrl.close();
});

Deno.test("control commands: unknown device -ENODEV, unknown op -EOPNOTSUPP, bad type", async () => {
  const { ctrl } = setup();
  assert.equal(await ctrl.command(UBLK_U_CMD_GET_DEV_INFO, { devId: 5 }), ENODEV);
  await ctrl.addDev();
  assert.equal(await ctrl.command(0xc0207530), EOPNOTSUPP);
  assert.equal(await ctrl.command(0x30), EOPNOTSUPP);
  assert.equal(await ctrl.command(0xc0204102), EOPNOTSUPP); // type 'A'
  assert.equal(await ctrl.command(UBLK_U_CMD_GET_DEV_INFO, { buf: new Uint8Array(32) }), EINVAL);
  const buf = new Uint8Array(64);
  assert.equal(await ctrl.command(UBLK_CMD_GET_DEV_INFO, { buf }), 0); // legacy
  assert.equal(UblksrvCtrlDevInfo.devId(new DataView(buf.buffer), 0), 0);
  ctrl.close();
});

Deno.test("GET_DEV_INFO2 checks the char device path", async () => {
  const { ctrl } = setup();
  await ctrl.addDev();
  const info = await ctrl.getInfo(true);
  assert.equal(info.devId, 0);
  const path = new TextEncoder().encode("/dev/ublkc9");
  const buf = new Uint8Array(path.length + 64);
  buf.set(path);
  assert.equal(
    await ctrl.command(0x80207512, { buf, devPathLen: path.length }),
    ENOENT,
  );
  assert.equal(await ctrl.command(0x80207512, { buf, devPathLen: 0 }), EINVAL);
  const c2 = UblkCtrl.open(ctrl.kernel);
  await c2.addDev({ devId: 9 });
  // device 0 asked with device 9's path
  assert.equal(await ctrl.command(0x80207512, { buf, devPathLen: path.length }), EPERM);
  ctrl.close();
  c2.close();
});

Deno.test("GET_QUEUE_AFFINITY maps CPUs to queues and checks its arguments", async () => {
  const { ctrl } = setup();
  await ctrl.addDev({ nrHwQueues: 2 });
  assert.deepEqual([...await ctrl.getQueueAffinity(0)], [0b0101, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual([...await ctrl.getQueueAffinity(1)], [0b1010, 0, 0, 0, 0, 0, 0, 0]);
  const q = (buf: Uint8Array | undefined, data: bigint, extra = {}) =>
    ctrl.command(0x80207501, { buf, data, ...extra });
  assert.equal(await q(new Uint8Array(4), 0n), EINVAL); // not a multiple of 8
  assert.equal(await q(new Uint8Array(8), 2n), EINVAL); // no such queue
  assert.equal(await q(undefined, 0n, { len: 8, addr: 0n }), EINVAL);
  ctrl.close();
});

Deno.test("SET_PARAMS follows the len/types rule and validates", async () => {
  const { ctrl } = setup();
  await ctrl.addDev({ maxIoBufBytes: 1 << 19 });
  const set = (b: Uint8Array, extra = {}) =>
    ctrl.command(UBLK_U_CMD_SET_PARAMS, { buf: b, ...extra });
  assert.equal(await set(params({}), { len: 8 }), EINVAL);
  assert.equal(await set(params({ len: 200 })), EINVAL); // ph.len > header len
  assert.equal(await set(params({ len: 0 })), EINVAL);
  assert.equal(await set(params({ types: 0 })), EINVAL);
  assert.equal(await set(params({ types: UBLK_PARAM_TYPE_DISCARD })), EINVAL); // no BASIC
  assert.equal(
    await set(params({ types: UBLK_PARAM_TYPE_BASIC | UBLK_PARAM_TYPE_DEVT })),
    EINVAL,
  );
  assert.equal(await set(params({ basic: { logicalBsShift: 13, physicalBsShift: 13 } })), EINVAL);
  assert.equal(await set(params({ basic: { logicalBsShift: 8 } })), EINVAL);
  assert.equal(await set(params({ basic: { logicalBsShift: 12, physicalBsShift: 9 } })), EINVAL);
  assert.equal(await set(params({ basic: { maxSectors: 1025 } })), EINVAL);
  const disc = { ...UblkParams.zero().discard, maxDiscardSectors: 8, maxDiscardSegments: 2 };
  assert.equal(
    await set(params({ types: UBLK_PARAM_TYPE_BASIC | UBLK_PARAM_TYPE_DISCARD, discard: disc })),
    EINVAL,
  );
  assert.equal(
    await set(params({ types: UBLK_PARAM_TYPE_BASIC | UBLK_PARAM_TYPE_ZONED })),
    EOPNOTSUPP,
  );
  // A failed SET_PARAMS clears types: GET_PARAMS shows only DEVT.
  let got = await ctrl.getParams();
  assert.equal(got.types, UBLK_PARAM_TYPE_DEVT);
  // Unknown type bits are dropped; a longer len is clamped to sizeof.
  assert.equal(await set(params({ types: UBLK_PARAM_TYPE_BASIC | 0x80 })), 0);
  got = await ctrl.getParams();
  assert.equal(got.types, UBLK_PARAM_TYPE_BASIC | UBLK_PARAM_TYPE_DEVT);
  assert.equal(got.basic.devSectors, 2048n);
  assert.equal(got.devt.charMajor, UBLK_CHAR_MAJOR);
  assert.equal(got.devt.charMinor, 0);
  assert.equal(got.devt.diskMajor, 0);
  ctrl.close();
});

Deno.test("GET_PARAMS copies only ph.len bytes and checks the header", async () => {
  const { ctrl } = setup();
  await ctrl.addDev();
  await ctrl.setParams({ devSize: 1 << 20 });
  const buf = new Uint8Array(UblkParams.SIZE).fill(0xee);
  const v = new DataView(buf.buffer);
  const basicEnd = UblkParams.OFFSET_BASIC + UblkParamBasic.SIZE; // 40: header + basic only
  v.setUint32(UblkParams.OFFSET_LEN, basicEnd, true);
  assert.equal(await ctrl.command(UBLK_U_CMD_GET_PARAMS, { buf }), 0);
  const devSectors = UblkParams.OFFSET_BASIC + UblkParamBasic.OFFSET_DEV_SECTORS;
  assert.equal(v.getBigUint64(devSectors, true), 2048n);
  assert.equal(buf[UblkParams.OFFSET_DISCARD], 0xee); // discard untouched
  v.setUint32(UblkParams.OFFSET_LEN, 0, true);
  assert.equal(await ctrl.command(UBLK_U_CMD_GET_PARAMS, { buf }), EINVAL);
  v.setUint32(UblkParams.OFFSET_LEN, 64, true);
  assert.equal(
    await ctrl.command(UBLK_U_CMD_GET_PARAMS, { buf: buf.subarray(0, basicEnd) }),
    EINVAL,
  );
  assert.equal(
    await ctrl.command(UBLK_U_CMD_GET_PARAMS, { buf: buf.subarray(0, UblkParams.OFFSET_BASIC) }),
    EINVAL,
  );
  ctrl.close();
});

Deno.test("START_DEV waits for every FETCH, goes LIVE, and refuses a second start", async () => {
  const { kernel, ctrl } = setup();
  const info = await ctrl.addDev({ nrHwQueues: 2, queueDepth: 4 });
  assert.equal(await ctrl.command(UBLK_U_CMD_START_DEV, { data: 0n }), EINVAL); // pid
  const target = new RamDiskTarget(1 << 20);
  await ctrl.setParams({ devSize: target.mem.length });
  let started = false;
  const p = ctrl.start(1234).then(() => (started = true));
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(started, false);
  const fd = kernel.open("/dev/ublkc0", 2);
  assert.ok(fd >= 0);
  assert.equal(kernel.open("/dev/ublkc0", 2), EBUSY); // single opener
  const q0 = new UblkQueue(kernel, info, 0, fd, target);
  q0.start();
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(started, false); // queue 1 not fetched yet
  const q1 = new UblkQueue(kernel, info, 1, fd, target);
  q1.start();
  await p;
  const live = await ctrl.getInfo();
  assert.equal(live.state, UBLK_S_DEV_LIVE);
  assert.equal(live.ublksrvPid, 1234);
  assert.equal(await ctrl.command(UBLK_U_CMD_START_DEV, { data: 1n }), EEXIST);
  assert.equal(await ctrl.command(UBLK_U_CMD_SET_PARAMS, { buf: params({}) }), EACCES);
  const got = await ctrl.getParams();
  assert.equal(got.devt.diskMajor, UBLK_DISK_MAJOR);
  assert.equal(await ctrl.command(UBLK_U_CMD_STOP_DEV), 0);
  await Promise.all([q0.done, q1.done]);
  assert.equal((await ctrl.getInfo()).state, UBLK_S_DEV_DEAD);
  // the disk is gone: params may change again
  assert.equal(await ctrl.command(UBLK_U_CMD_SET_PARAMS, { buf: params({}) }), 0);
  q0.close();
  q1.close();
  kernel.closeFd(fd);
  assert.equal(await ctrl.command(UBLK_U_CMD_DEL_DEV), 0);
  assert.equal(await ctrl.command(UBLK_U_CMD_GET_DEV_INFO, { buf: new Uint8Array(64) }), ENODEV);
  ctrl.close();
});

Deno.test("START_DEV without params fails -EINVAL; STOP_DEV of a dead device is 0", async () => {
  const { kernel, ctrl } = setup();
  const info = await ctrl.addDev({ queueDepth: 2 });
  const fd = kernel.open("/dev/ublkc0", 2);
  const q = new UblkQueue(kernel, info, 0, fd, new RamDiskTarget(4096));
  q.start();
  assert.equal(await ctrl.command(UBLK_U_CMD_START_DEV, { data: 1n }), EINVAL);
  assert.equal(await ctrl.command(UBLK_U_CMD_STOP_DEV), 0);
  await q.done; // pending FETCHes were aborted
  q.close();
  kernel.closeFd(fd);
  assert.equal(await ctrl.command(UBLK_U_CMD_DEL_DEV), 0);
  ctrl.close();
});

Deno.test("DEL_DEV waits until the char device is closed", async () => {
  const { kernel, ctrl } = setup();
  await ctrl.addDev();
  const fd = kernel.open("/dev/ublkc0", 2);
  let deleted = false;
  const p = ctrl.del().then(() => (deleted = true));
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(deleted, false);
  assert.equal(kernel.open("/dev/ublkc0", 2), ENOENT); // the path is gone already
  kernel.closeFd(fd);
  await p;
  assert.equal(UblkDriver.of(kernel)!.deviceIds.length, 0);
  ctrl.close();
});

Deno.test("DEL_DEV_ASYNC returns at once; the id is freed when the char device closes", async () => {
  const { kernel, ctrl } = setup();
  await ctrl.addDev();
  const fd = kernel.open("/dev/ublkc0", 2);
  assert.equal(await ctrl.command(UBLK_U_CMD_DEL_DEV_ASYNC), 0);
  assert.equal(kernel.open("/dev/ublkc0", 2), ENOENT); // the node is gone already
  assert.deepEqual(UblkDriver.of(kernel)!.deviceIds, [0]); // the id is still taken
  kernel.closeFd(fd);
  assert.equal(UblkDriver.of(kernel)!.deviceIds.length, 0);
  // Unopened: freed at once, as DEL_DEV (both seen on 6.12.117 and 7.3.4, ctrl_*.json).
  await ctrl.addDev();
  assert.equal(await ctrl.command(UBLK_U_CMD_DEL_DEV_ASYNC), 0);
  assert.equal(await ctrl.command(UBLK_U_CMD_DEL_DEV_ASYNC), ENODEV);
  ctrl.close();
});

Deno.test("user recovery commands refuse devices without recovery or still live", async () => {
  const { ctrl } = setup();
  await ctrl.addDev();
  await assert.rejects(ctrl.startUserRecovery(), (e: Error & { errno?: number }) => e.errno === 22);
  ctrl.close();
});

Deno.test("asyncDispose stops and deletes the device it added", async () => {
  const { kernel } = setup();
  {
    await using c = UblkCtrl.open(kernel);
    await c.addDev();
  }
  assert.equal(UblkDriver.of(kernel)!.deviceIds.length, 0);
});

Deno.test("control commands need an SQE128 ring; ADD_DEV stops at 64 devices with -EACCES", async () => {
  const { kernel, ctrl } = setup();
  const fd = kernel.open("/dev/ublk-control", 2);
  const ring = Ring.create(kernel, 4);
  prepUringCmd(ring.getSqe()!, fd, UBLK_U_CMD_GET_FEATURES);
  ring.submit();
  assert.equal((await ring.waitCqe()).res, EINVAL);
  ring.close();
  kernel.closeFd(fd);
  for (let i = 0; i < 64; i++) {
    assert.equal(
      await ctrl.command(UBLK_U_CMD_ADD_DEV, {
        buf: infoBuf({ nrHwQueues: 1, queueDepth: 1, devId: 0xffffffff }),
        devId: -1,
      }),
      0,
    );
  }
  assert.equal(
    await ctrl.command(UBLK_U_CMD_ADD_DEV, {
      buf: infoBuf({ nrHwQueues: 1, queueDepth: 1, devId: 0xffffffff }),
      devId: -1,
    }),
    EACCES,
  );
  ctrl.close();
});

Deno.test("a pending START_DEV is cancelled when its ring closes; another client can start", async () => {
  const { kernel, ctrl } = setup();
  const info = await ctrl.addDev({ queueDepth: 2 });
  await ctrl.setParams({ devSize: 1 << 20 });
  const first = ctrl.command(UBLK_U_CMD_START_DEV, { data: 1n });
  await new Promise((r) => setTimeout(r, 2));
  ctrl.close();
  assert.ok((await first) < 0);
  const c2 = UblkCtrl.open(kernel);
  c2.attach(info.devId);
  const fd = kernel.open("/dev/ublkc0", 2);
  const q = new UblkQueue(kernel, info, 0, fd, new RamDiskTarget(1 << 20));
  q.start();
  await c2.start(77);
  assert.equal((await c2.getInfo()).ublksrvPid, 77);
  await c2.stop();
  await q.done;
  q.close();
  kernel.closeFd(fd);
  await c2.del();
  c2.close();
});
