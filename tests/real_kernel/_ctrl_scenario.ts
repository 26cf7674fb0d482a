/**
 * One fixed sequence of `/dev/ublk-control` commands (GET_FEATURES, ADD_DEV, SET_PARAMS,
 * GET_PARAMS, GET_DEV_INFO, GET_DEV_INFO2, STOP_DEV, DEL_DEV and a few misuses) run through
 * {@linkcode UblkCtrl.command} on any kernel — the model with `installUblk`, or the real
 * `ublk_drv` through `@ublk-ts/native` — recording each result code and the fields of the
 * answer that are deterministic, so two runs can be compared step by step.
 *
 * @module
 */

import {
  UBLK_CMD_ADD_DEV,
  UBLK_CMD_DEL_DEV,
  UBLK_CMD_GET_DEV_INFO,
  UBLK_CMD_GET_DEV_INFO2,
  UBLK_CMD_GET_PARAMS,
  UBLK_CMD_GET_QUEUE_AFFINITY,
  UBLK_CMD_SET_PARAMS,
  UBLK_CMD_STOP_DEV,
  UBLK_F_AUTO_BUF_REG,
  UBLK_F_NEED_GET_DATA,
  UBLK_F_RFC_FUSED_ZC,
  UBLK_F_SUPPORT_ZERO_COPY,
  UBLK_F_USER_COPY,
  UBLK_F_USER_RECOVERY,
  UBLK_F_USER_RECOVERY_REISSUE,
  UBLK_PARAM_TYPE_DEVT,
  UBLK_U_CMD_ADD_DEV,
  UBLK_U_CMD_DEL_DEV,
  UBLK_U_CMD_DEL_DEV_ASYNC,
  UBLK_U_CMD_GET_DEV_INFO,
  UBLK_U_CMD_GET_DEV_INFO2,
  UBLK_U_CMD_GET_FEATURES,
  UBLK_U_CMD_GET_PARAMS,
  UBLK_U_CMD_GET_QUEUE_AFFINITY,
  UBLK_U_CMD_SET_PARAMS,
  UBLK_U_CMD_STOP_DEV,
  UblkParams,
  type UblkParamsValue,
  UblksrvCtrlDevInfo,
  type UblksrvCtrlDevInfoValue,
} from "@ublk-ts/uapi";
import { encodeTargetParams, type Kernel, UblkCtrl } from "@ublk-ts/ublk";

/** What one step observed: its result and the answer's fields (strings for bigints). */
export interface StepResult {
  /** Step name (same on every kernel). */
  readonly step: string;
  /** The CQE result. */
  readonly res: number;
  /** Fields of the answer, when the step returns data and succeeded. */
  readonly fields: Readonly<Record<string, number | string>>;
}

/** Options of {@linkcode runCtrlScenario}. */
export interface CtrlScenarioOptions {
  /** Use the legacy opcodes (0x02…) instead of the ioctl-encoded ones (GET_FEATURES has none). */
  legacyOpcodes?: boolean;
  /** Device id to add (default 0: fixed so both kernels answer the same). */
  devId?: number;
  /** Control device path (default `/dev/ublk-control`). */
  path?: string;
}

/** ADD_DEV flag requests whose negotiated `flags` are compared. */
export const FLAG_CASES: readonly (readonly [string, bigint])[] = [
  ["recovery flags", UBLK_F_NEED_GET_DATA | UBLK_F_USER_RECOVERY | UBLK_F_USER_RECOVERY_REISSUE],
  ["zero copy", UBLK_F_SUPPORT_ZERO_COPY],
  ["user copy", UBLK_F_USER_COPY],
  ["auto buf reg", UBLK_F_AUTO_BUF_REG | UBLK_F_SUPPORT_ZERO_COPY],
  ["rfc fused (model-only bit 63)", UBLK_F_RFC_FUSED_ZC],
  ["unknown bit 40", 1n << 40n],
];

/** Queue depth used for ADD_DEV. */
export const SCENARIO_DEPTH = 16;
/** `max_io_buf_bytes` asked for in ADD_DEV (not a page multiple: the driver aligns it). */
export const SCENARIO_MAX_IO = 512 * 1024 + 100;
/** Device size given to SET_PARAMS. */
export const SCENARIO_DEV_SIZE: number = 8 << 20;

function hex(v: bigint): string {
  return "0x" + v.toString(16);
}

function infoFields(v: UblksrvCtrlDevInfoValue): Record<string, number | string> {
  return {
    nrHwQueues: v.nrHwQueues,
    queueDepth: v.queueDepth,
    state: v.state,
    maxIoBufBytes: v.maxIoBufBytes,
    devId: v.devId,
    ublksrvPid: v.ublksrvPid,
    flags: hex(v.flags),
    ublksrvFlags: hex(v.ublksrvFlags),
    ownerUid: v.ownerUid,
    ownerGid: v.ownerGid,
  };
}

function paramsFields(v: UblkParamsValue): Record<string, number | string> {
  const b = v.basic;
  return {
    len: v.len,
    types: v.types,
    attrs: b.attrs,
    logicalBsShift: b.logicalBsShift,
    physicalBsShift: b.physicalBsShift,
    ioOptShift: b.ioOptShift,
    ioMinShift: b.ioMinShift,
    maxSectors: b.maxSectors,
    chunkSectors: b.chunkSectors,
    devSectors: hex(b.devSectors),
    devtPresent: (v.types & UBLK_PARAM_TYPE_DEVT) !== 0 ? 1 : 0,
    devtDiskMajor: v.devt.diskMajor,
    devtDiskMinor: v.devt.diskMinor,
    devtCharMinor: v.devt.charMinor,
  };
}

function infoBuf(v: Partial<UblksrvCtrlDevInfoValue>): Uint8Array {
  const buf = new Uint8Array(UblksrvCtrlDevInfo.SIZE);
  UblksrvCtrlDevInfo.encode(new DataView(buf.buffer), 0, { ...UblksrvCtrlDevInfo.zero(), ...v });
  return buf;
}

function paramsBuf(v: UblkParamsValue): Uint8Array {
  const buf = new Uint8Array(UblkParams.SIZE);
  UblkParams.encode(new DataView(buf.buffer), 0, v);
  return buf.subarray(0, v.len);
}

/**
 * Runs the scenario on `kernel` and returns what every step saw. Never throws for a negative
 * result (that is data); throws only when the control device cannot be opened.
 *
 * @param kernel The kernel (model with the ublk driver, or native on a kernel with ublk_drv).
 * @param options Opcode flavour, device id.
 * @returns The steps, in order.
 */
export async function runCtrlScenario(
  kernel: Kernel,
  options: CtrlScenarioOptions = {},
): Promise<StepResult[]> {
  const legacy = options.legacyOpcodes === true;
  const devId = options.devId ?? 0;
  const op = (u: number, l: number): number => (legacy ? l : u);
  const out: StepResult[] = [];
  const ctrl = UblkCtrl.open(kernel, options.path === undefined ? {} : { path: options.path });
  const step = async (
    name: string,
    cmdOp: number,
    cmd: Parameters<UblkCtrl["command"]>[1],
    decode?: () => Record<string, number | string>,
  ): Promise<number> => {
    const res = await ctrl.command(cmdOp, cmd);
    out.push({ step: name, res, fields: res >= 0 && decode !== undefined ? decode() : {} });
    return res;
  };
  try {
    // GET_FEATURES (ioctl-encoded only).
    const feat = new Uint8Array(8);
    await step(
      "GET_FEATURES",
      UBLK_U_CMD_GET_FEATURES,
      { devId: -1, buf: feat },
      () => ({ features: hex(new DataView(feat.buffer).getBigUint64(0, true)) }),
    );

    // ADD_DEV misuses first (nothing is created), then the real one.
    const addOp = op(UBLK_U_CMD_ADD_DEV, UBLK_CMD_ADD_DEV);
    const base = {
      nrHwQueues: 1,
      queueDepth: SCENARIO_DEPTH,
      maxIoBufBytes: SCENARIO_MAX_IO,
      devId,
      ublksrvPid: -1,
    };
    await step("ADD_DEV depth 0", addOp, { devId, buf: infoBuf({ ...base, queueDepth: 0 }) });
    await step("ADD_DEV queues 0", addOp, { devId, buf: infoBuf({ ...base, nrHwQueues: 0 }) });
    await step("ADD_DEV id mismatch", addOp, {
      devId,
      buf: infoBuf({ ...base, devId: devId + 1 }),
    });
    await step("ADD_DEV short buffer", addOp, { devId, buf: infoBuf(base), len: 32 });
    const add = infoBuf(base);
    const addRes = await step(
      "ADD_DEV",
      addOp,
      { devId, buf: add },
      () => infoFields(UblksrvCtrlDevInfo.decode(new DataView(add.buffer), 0)),
    );
    await step("ADD_DEV again", addOp, { devId, buf: infoBuf(base) });
    if (addRes < 0) return out;

    // Flag negotiation on scratch devices (added, read back, deleted).
    const delOp = op(UBLK_U_CMD_DEL_DEV, UBLK_CMD_DEL_DEV);
    for (const [name, flags] of FLAG_CASES) {
      const id = devId + 1;
      const b = infoBuf({ ...base, devId: id, flags });
      const r = await step(
        `ADD_DEV ${name}`,
        addOp,
        { devId: id, buf: b },
        () => ({ flags: hex(UblksrvCtrlDevInfo.decode(new DataView(b.buffer), 0).flags) }),
      );
      if (r >= 0) await step(`DEL_DEV ${name}`, delOp, { devId: id });
    }

    // SET_PARAMS: a bad one (logical block 256 bytes), then the target's.
    const setOp = op(UBLK_U_CMD_SET_PARAMS, UBLK_CMD_SET_PARAMS);
    const good = encodeTargetParams({ devSize: SCENARIO_DEV_SIZE }, 512 * 1024);
    const bad = encodeTargetParams({ devSize: SCENARIO_DEV_SIZE }, 512 * 1024);
    bad.basic.logicalBsShift = 8;
    await step("SET_PARAMS bad shift", setOp, { devId, buf: paramsBuf(bad) });
    await step("SET_PARAMS len 0", setOp, { devId, buf: paramsBuf(good), len: 0 });
    await step("SET_PARAMS", setOp, { devId, buf: paramsBuf(good) });

    // GET_PARAMS: the header's len asks for the whole struct.
    const getOp = op(UBLK_U_CMD_GET_PARAMS, UBLK_CMD_GET_PARAMS);
    const gp = new Uint8Array(UblkParams.SIZE);
    new DataView(gp.buffer).setUint32(0, UblkParams.SIZE, true);
    await step(
      "GET_PARAMS",
      getOp,
      { devId, buf: gp },
      () => paramsFields(UblkParams.decode(new DataView(gp.buffer), 0, UblkParams.SIZE)),
    );

    // GET_DEV_INFO / GET_DEV_INFO2 and an absent device.
    const infoOp = op(UBLK_U_CMD_GET_DEV_INFO, UBLK_CMD_GET_DEV_INFO);
    const gi = new Uint8Array(UblksrvCtrlDevInfo.SIZE);
    await step(
      "GET_DEV_INFO",
      infoOp,
      { devId, buf: gi },
      () => infoFields(UblksrvCtrlDevInfo.decode(new DataView(gi.buffer), 0)),
    );
    await step("GET_DEV_INFO short buffer", infoOp, {
      devId,
      buf: new Uint8Array(UblksrvCtrlDevInfo.SIZE),
      len: 32,
    });
    await step("GET_DEV_INFO absent", infoOp, {
      devId: 42,
      buf: new Uint8Array(UblksrvCtrlDevInfo.SIZE),
    });
    const path = new TextEncoder().encode(`/dev/ublkc${devId}`);
    const gi2 = new Uint8Array(path.length + UblksrvCtrlDevInfo.SIZE);
    gi2.set(path);
    await step(
      "GET_DEV_INFO2",
      op(UBLK_U_CMD_GET_DEV_INFO2, UBLK_CMD_GET_DEV_INFO2),
      { devId, buf: gi2, devPathLen: path.length },
      () => infoFields(UblksrvCtrlDevInfo.decode(new DataView(gi2.buffer, path.length), 0)),
    );

    const aff = new Uint8Array(8);
    await step(
      "GET_QUEUE_AFFINITY 0",
      op(UBLK_U_CMD_GET_QUEUE_AFFINITY, UBLK_CMD_GET_QUEUE_AFFINITY),
      { devId, buf: aff, data: 0n },
      () => ({ cpumask: hex(new DataView(aff.buffer).getBigUint64(0, true)) }),
    );
    await step(
      "GET_QUEUE_AFFINITY bad queue",
      op(UBLK_U_CMD_GET_QUEUE_AFFINITY, UBLK_CMD_GET_QUEUE_AFFINITY),
      { devId, buf: new Uint8Array(8), data: 5n },
    );

    // STOP_DEV on a device never started, DEL_DEV, then the device is gone.
    await step("STOP_DEV unstarted", op(UBLK_U_CMD_STOP_DEV, UBLK_CMD_STOP_DEV), { devId });
    await step("DEL_DEV", op(UBLK_U_CMD_DEL_DEV, UBLK_CMD_DEL_DEV), { devId });
    await step("GET_DEV_INFO after DEL_DEV", infoOp, {
      devId,
      buf: new Uint8Array(UblksrvCtrlDevInfo.SIZE),
    });
    await step("DEL_DEV again", op(UBLK_U_CMD_DEL_DEV, UBLK_CMD_DEL_DEV), { devId });

    // DEL_DEV_ASYNC (6.9, ioctl-encoded only: both flavours send it so): on a device nobody
    // opened it frees the id at once, as DEL_DEV does.
    const asyncAdd = await step("ADD_DEV for DEL_DEV_ASYNC", addOp, {
      devId,
      buf: infoBuf(base),
    });
    if (asyncAdd >= 0) {
      await step("DEL_DEV_ASYNC", UBLK_U_CMD_DEL_DEV_ASYNC, { devId });
      await step("GET_DEV_INFO after DEL_DEV_ASYNC", infoOp, {
        devId,
        buf: new Uint8Array(UblksrvCtrlDevInfo.SIZE),
      });
      await step("DEL_DEV_ASYNC again", UBLK_U_CMD_DEL_DEV_ASYNC, { devId });
    }
  } finally {
    ctrl.close();
  }
  return out;
}
