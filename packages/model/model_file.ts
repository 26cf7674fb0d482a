/**
 * An open file of the model kernel (the analogue of `struct file`): a regular file through the
 * I/O backend, a directory, a device file, a socket, or a ring. Reference counted: the fd table
 * and every registered-file slot hold one reference.
 *
 * @module
 */

import type { BackendFile, IoBackend, IoResult } from "@ublk-ts/ring";
import type { DeviceFile } from "./device_file.ts";
import type { PuntFile } from "./io_wq.ts";

/** What kind of object an open file is. */
export type ModelFileKind = "file" | "dir" | "device" | "socket" | "ring";

/**
 * A stream socket as the model sees it. `recv` with `waitAll` waits for `buf.length` bytes or
 * EOF; results are byte counts or negative errno, never thrown.
 */
export interface ModelSocket {
  /** SEND_ZC works on it (TCP); AF_UNIX sockets give -EOPNOTSUPP as Linux. */
  readonly zerocopy: boolean;
  /**
   * Sends bytes.
   *
   * @param buf Bytes.
   * @returns Bytes sent, or a negative errno.
   */
  send(buf: Uint8Array): IoResult;
  /**
   * Receives bytes (at least one, or 0 at EOF).
   *
   * @param buf Destination.
   * @param waitAll MSG_WAITALL.
   * @param nonblock MSG_DONTWAIT: -EAGAIN instead of waiting when nothing is there.
   * @returns Bytes received, or a negative errno.
   */
  recv(buf: Uint8Array, waitAll: boolean, nonblock?: boolean): IoResult;
  /**
   * Bytes that can be received without waiting (for IORING_CQE_F_SOCK_NONEMPTY). Optional.
   *
   * @returns The count.
   */
  pending?(): number;
  /**
   * Withdraws the one pending operation on `buf` (it never resolves), so a cancelled request
   * consumes no later data. Optional: a socket that cannot withdraw lets it run.
   */
  cancelOp?(buf: Uint8Array): void;
  /** Cancels pending sends/receives (they resolve -ECANCELED) without closing. */
  cancel(): void;
  /** Closes the socket. */
  close(): void;
}

/** Options of {@linkcode ModelFile}. */
export interface ModelFileInit {
  /** The kind. */
  kind: ModelFileKind;
  /** Path (or a description for sockets). */
  path: string;
  /** Open flags. */
  flags: number;
  /** Backend and its file, for regular files. */
  backend?: IoBackend;
  /** The backend's handle. */
  handle?: BackendFile;
  /** The device, for device files. */
  device?: DeviceFile;
  /** The socket, for sockets. */
  socket?: ModelSocket;
}

/**
 * An open file.
 *
 * @example A device file
 * ```ts
 * import assert from "node:assert/strict";
 * import { ModelFile } from "@ublk-ts/model";
 * const f = new ModelFile({ kind: "device", path: "/dev/x", flags: 2, device: { uringCmd: () => 0 } });
 * assert.equal(f.refs, 1);
 * f.put();
 * assert.equal(f.refs, 0);
 * ```
 */
export class ModelFile {
  /** The kind. */
  readonly kind: ModelFileKind;
  /** Path. */
  readonly path: string;
  /** Open flags. */
  readonly flags: number;
  /** Backend (regular files). */
  readonly backend: IoBackend | null;
  /** Backend handle (regular files). */
  readonly handle: BackendFile | null;
  /** Device (device files). */
  readonly device: DeviceFile | null;
  /** Socket (sockets). */
  readonly socket: ModelSocket | null;
  /** File position (`f_pos`), used by offset -1 reads and writes. */
  pos = 0;
  /** References. */
  refs = 1;
  /** Driver-private data (device files). */
  privateData: unknown = null;
  /**
   * Overrides the io-wq punt class of this file (`io_wq.ts`): null (default) derives it from the
   * kind and, for regular files, the backend's file system type.
   */
  punt: PuntFile | null = null;

  /**
   * Builds an open file with one reference.
   *
   * @param init What it is.
   */
  constructor(init: ModelFileInit) {
    this.kind = init.kind;
    this.path = init.path;
    this.flags = init.flags;
    this.backend = init.backend ?? null;
    this.handle = init.handle ?? null;
    this.device = init.device ?? null;
    this.socket = init.socket ?? null;
  }

  /** Takes a reference. */
  get(): void {
    this.refs++;
  }

  /** Drops a reference; the last one releases the file (backend close, device release). */
  put(): void {
    if (this.refs <= 0) return;
    if (--this.refs > 0) return;
    if (this.handle && this.backend) this.backend.close(this.handle);
    this.device?.release?.(this);
    this.socket?.close();
  }
}
