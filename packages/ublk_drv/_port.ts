/**
 * The slice of the model kernel the ublk driver uses, as structural types: a `URING_CMD`
 * request (what `@ublk-ts/ring`'s `Request` offers a device file), a device file, and the
 * kernel hooks (device registration, address resolution, fused buffer hand-off). Structural so
 * the driver can be unit-tested with small doubles and adapts to the ring's classes without
 * importing their internals.
 *
 * @module
 */

import type { MappedBuffer } from "@ublk-ts/rsrc";

/** `-EIOCBQUEUED`: the device keeps the command in flight (ring's `ISSUE_QUEUED`). */
export const ISSUE_QUEUED = -529;

/** A `URING_CMD` (or FUSED_CMD master) request as a device file sees it. */
export interface CmdReq {
  /** `cmd_op`. */
  cmdOp: number;
  /** The SQE memory. */
  sqe: DataView;
  /** Byte offset of the `cmd[]` payload in `sqe`. */
  cmdOff: number;
  /** Called when the command must go away (ring exit, cancel); must complete it. */
  cancel: ((req: never) => void) | null;
  /**
   * `io_uring_cmd_done(cmd, res, res2)`.
   *
   * @param res Result.
   * @param res2 Second result.
   */
  cmdDone(res: number, res2?: bigint): void;
}

/** A model device file (`file_operations` with `uring_cmd`). */
export interface DeviceFileLike {
  /**
   * `->uring_cmd()`.
   *
   * @param req The command.
   * @param issueFlags IO_URING_F_* flags.
   * @returns A result, a negative errno, or {@linkcode ISSUE_QUEUED}.
   */
  uringCmd(req: CmdReq, issueFlags: number): number;
  /**
   * `->open()`.
   *
   * @param file The open file.
   * @returns 0 or a negative errno.
   */
  open?(file: unknown): number;
  /**
   * `->release()`.
   *
   * @param file The file.
   */
  release?(file: unknown): void;
}

/**
 * Hands a request buffer to the slave of a fused master (the RFC's
 * `io_fused_cmd_provide_kbuf`). The implementation submits the slave over `buf`; when the slave
 * completes it calls `done(slaveRes)` (slave_res as RFC v3: the slave's result when it failed or
 * skipped its CQE, else 0). The driver then completes the master.
 *
 * @returns {@linkcode ISSUE_QUEUED} when the slave was started, or a negative errno.
 */
export type ProvideBuffer = (
  master: CmdReq,
  buf: MappedBuffer,
  done: (slaveRes: number) => void,
) => number;

/** What `installUblk` needs from a kernel. */
export interface UblkKernelPort {
  /**
   * Makes `path` open `device`.
   *
   * @param path E.g. `/dev/ublk-control`.
   * @param device The device file.
   */
  registerDevice(path: string, device: DeviceFileLike): void;
  /**
   * Removes a device path (DEL_DEV removes `/dev/ublkcN`). Optional.
   *
   * @param path The path.
   */
  unregisterDevice?(path: string): void;
  /**
   * Bytes `[addr, addr + len)` of the address space, or a negative errno (-EFAULT).
   *
   * @param addr Address.
   * @param len Length.
   * @returns A view or -EFAULT.
   */
  resolve(addr: bigint, len: number): Uint8Array | number;
}
