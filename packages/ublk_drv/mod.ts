/**
 * `@ublk-ts/ublk-drv`: the model ublk driver (`/dev/ublk-control`, `/dev/ublkcN`) installed
 * into a model kernel with {@linkcode installUblk}, and its in-process block device front end
 * (`/dev/ublkbN`).
 *
 * @module
 */
export * from "./driver.ts";
export * from "./block_device.ts";
export type { CmdReq, DeviceFileLike, ProvideBuffer, UblkKernelPort } from "./_port.ts";
