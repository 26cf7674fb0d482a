/**
 * `@ublk-ts/ublk`: the ublk driver of the model kernel (`/dev/ublk-control`, `/dev/ublkcN`,
 * the block device front end `/dev/ublkbN`) and the ublk server library (control client,
 * queues, the {@linkcode Target} interface, {@linkcode createDevice}).
 *
 * @example A RAM disk served in process
 * ```ts
 * import assert from "node:assert/strict";
 * import { ModelKernel } from "@ublk-ts/model";
 * import { createDevice } from "@ublk-ts/ublk";
 * import { installUblk } from "@ublk-ts/ublk-drv";
 * import { RamDiskTarget } from "@ublk-ts/testing";
 * const kernel = new ModelKernel();
 * installUblk(kernel);
 * await using dev = await createDevice(kernel, new RamDiskTarget(1 << 20), { depth: 8 });
 * assert.equal(await dev.bdev.write(0, new Uint8Array(4096).fill(7)), 4096);
 * const buf = new Uint8Array(4096);
 * assert.equal(await dev.bdev.read(0, buf), 4096);
 * assert.equal(buf[4095], 7);
 * ```
 *
 * @module
 */
export * from "./target.ts";
export * from "./ctrl.ts";
export * from "./queue.ts";
export * from "./device.ts";
export * from "./data_mode.ts";
// The types of the public API that come from the packages below (so `deno doc` and users see
// them through this entry point): the Kernel contract of @ublk-ts/ring and uapi value types.
export type {
  BlockDevice,
  CqRingOffsets,
  Kernel,
  KernelRing,
  RegisterArg,
  SetupOptions,
  SqRingOffsets,
} from "@ublk-ts/ring";
export type {
  UblkParamBasicValue,
  UblkParamDevtValue,
  UblkParamDiscardValue,
  UblkParamDmaAlignValue,
  UblkParamIntegrityValue,
  UblkParamSegmentValue,
  UblkParamsValue,
  UblkParamZonedValue,
  UblksrvCtrlDevInfoValue,
} from "@ublk-ts/uapi";
