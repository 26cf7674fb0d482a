/**
 * The slice of the model kernel the ublk driver uses, named as the driver's API has always
 * named it. These are the model's own types (`@ublk-ts/model`): a `URING_CMD` request is a
 * {@linkcode Request}, a device file a {@linkcode DeviceFile}; {@linkcode UblkKernelPort} is the
 * part of a `ModelKernel` that `installUblk` calls (a small double in a unit test may stand in).
 *
 * @module
 */

import type { DeviceFile, ModelKernel, Request } from "@ublk-ts/model";
import type { MappedBuffer } from "@ublk-ts/rsrc";

export { ISSUE_QUEUED } from "@ublk-ts/model";

/** A `URING_CMD` (or FUSED_CMD master) request as a device file sees it. */
export type CmdReq = Request;

/** A model device file (`file_operations` with `uring_cmd`, `open`, `release`, `mmap`). */
export type DeviceFileLike = DeviceFile;

/**
 * Hands a request buffer to the slave of a fused master (the RFC's
 * `io_fused_cmd_provide_kbuf`). The implementation submits the slave over `buf`; when the slave
 * completes it calls `done(slaveRes)` (slave_res as RFC v3: the slave's result when it failed or
 * skipped its CQE, else 0). The driver then completes the master.
 *
 * @returns `ISSUE_QUEUED` when the slave was started, or a negative errno.
 */
export type ProvideBuffer = (
  master: Request,
  buf: MappedBuffer,
  done: (slaveRes: number) => void,
) => number;

/**
 * What `installUblk` needs from a kernel: `registerDevice` and `resolve` of a `ModelKernel`;
 * `unregisterDevice` (DEL_DEV removes `/dev/ublkcN`) and `registerBlockDevice` (START_DEV adds
 * `/dev/ublkbN`, its removal drops it) when the kernel has them.
 */
export type UblkKernelPort =
  & Pick<ModelKernel, "registerDevice" | "resolve">
  & Partial<Pick<ModelKernel, "unregisterDevice" | "registerBlockDevice">>;
