/**
 * Device files of the model kernel: what `/dev/ublk-control` and `/dev/ublkcN` implement so
 * that `URING_CMD` SQEs on their fds reach them (the analogue of `file_operations.uring_cmd`).
 *
 * @module
 */

import type { ModelFile } from "./model_file.ts";
import type { Request } from "./request.ts";

/**
 * A character device of the model. `uringCmd` is called at issue with the request (its
 * `cmdOp`, `cmdOff` into `sqe`, `userData`, …) and the IO_URING_F_* issue flags.
 *
 * - Return a result (≥ 0) or a negative errno to complete the command now.
 * - Return {@linkcode ISSUE_QUEUED} to keep it in flight; complete it later with
 *   `req.cmdDone(res, res2)` (or `req.complete(res)`). Set `req.cancel` to be told when the
 *   command must go away (ring exit, ASYNC_CANCEL): the callback must complete it (the ublk
 *   driver completes pending FETCH commands with UBLK_IO_RES_ABORT). A queued command without
 *   `cancel` is completed with -ECANCELED on ring exit.
 */
export interface DeviceFile {
  /**
   * `->uring_cmd()`.
   *
   * @param req The request (opcode URING_CMD, or FUSED_CMD for a fused master).
   * @param issueFlags IO_URING_F_* flags (SQE128, CQE32, FUSED_*).
   * @returns A result, a negative errno, or {@linkcode ISSUE_QUEUED}.
   */
  uringCmd(req: Request, issueFlags: number): number;
  /**
   * `->open()`: called when the device is opened.
   *
   * @param file The new open file.
   * @returns 0, or a negative errno to fail the open.
   */
  open?(file: ModelFile): number;
  /**
   * `->release()`: called when the last reference to the open file goes.
   *
   * @param file The file.
   */
  release?(file: ModelFile): void;
  /**
   * `->read_iter()` by position (optional; READ on the fd).
   *
   * @param file The file.
   * @param buf Destination.
   * @param off Byte offset.
   * @returns Bytes, or a negative errno.
   */
  read?(file: ModelFile, buf: Uint8Array, off: number): number;
  /**
   * `->write_iter()` by position (optional; WRITE on the fd).
   *
   * @param file The file.
   * @param buf Source.
   * @param off Byte offset.
   * @returns Bytes, or a negative errno.
   */
  write?(file: ModelFile, buf: Uint8Array, off: number): number;
  /**
   * `->mmap()`: a shared mapping of `[offset, offset + length)` of the device.
   *
   * @param file The open file.
   * @param offset Byte offset.
   * @param length Bytes.
   * @param prot PROT_* flags.
   * @returns The memory, or a negative errno.
   */
  mmap?(file: ModelFile, offset: number, length: number, prot: number): ArrayBuffer | number;
}

/**
 * What an op's `issue` (or a device's `uringCmd`) returns to keep the request in flight
 * (`-EIOCBQUEUED`); the request then completes through `req.complete()`.
 */
export const ISSUE_QUEUED: number = -529;
