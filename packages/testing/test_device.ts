/**
 * {@linkcode TestDevice}: a small model device file, in the spirit of `/dev/null`'s
 * `uring_cmd`, that lends buffers to fused commands so `IORING_OP_FUSED_CMD` can be used and
 * tested without ublk. It doubles as the reference example of the device side of the RFC
 * (what the ublk driver's `ublk_handle_fused_cmd` does).
 *
 * @module
 */

import {
  EINVAL,
  EOPNOTSUPP,
  IO_URING_F_FUSED,
  IO_URING_F_FUSED_READ,
  IO_URING_F_FUSED_WRITE,
} from "@ublk-ts/uapi";
import type { MappedBuffer } from "@ublk-ts/rsrc";
import { type DeviceFile, ISSUE_QUEUED, type Request } from "@ublk-ts/model";
import { provideFusedBuffer } from "@ublk-ts/fused-cmd";

/** `cmd_op` of {@linkcode TestDevice}: lend the buffer named by the payload's key. */
export const TEST_DEV_CMD_LEND = 0x23;

/**
 * Which slaves a buffer accepts, as ublk's `ublk_check_fused_buf_dir`:
 * - `"dest"`: only slaves that write into it (FUSED_WRITE: READ, RECV) — a ublk READ request;
 * - `"source"`: only slaves that read from it (FUSED_READ: WRITE, SEND, SEND_ZC) — a ublk WRITE;
 * - `"any"`: both (no rule);
 * - `"none"`: none (a request without data, such as FLUSH): always -EINVAL.
 */
export type TestBufferDir = "dest" | "source" | "any" | "none";

/** One `uringCmd` call as the device saw it. */
export interface TestDeviceCall {
  /** `cmd_op`. */
  cmdOp: number;
  /** The key in the payload (u32 at payload offset 0). */
  key: number;
  /** The issue flags (IO_URING_F_*), including the fused direction bit. */
  issueFlags: number;
  /** What `uringCmd` returned (`ISSUE_QUEUED` when it lent the buffer). */
  ret: number;
}

/** Options of {@linkcode TestDevice}. */
export interface TestDeviceOptions {
  /** Lend from a microtask instead of during issue (the master stays queued meanwhile). */
  deferLend?: boolean;
  /** Record every call in {@linkcode TestDevice.calls}. Default true. */
  record?: boolean;
}

/**
 * Writes a {@linkcode TestDevice} command payload: the buffer key as a u32 at offset 0.
 *
 * @param key The buffer key.
 * @param out 16 bytes to fill (allocated when absent).
 * @returns `out`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { testDeviceCmd } from "@ublk-ts/testing";
 * assert.deepEqual([...testDeviceCmd(258).subarray(0, 4)], [2, 1, 0, 0]);
 * ```
 */
export function testDeviceCmd(key: number, out: Uint8Array = new Uint8Array(16)): Uint8Array {
  out.fill(0);
  new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(0, key >>> 0, true);
  return out;
}

interface Entry {
  buf: MappedBuffer;
  dir: TestBufferDir;
}

/**
 * A device file that lends registered buffers to fused commands.
 *
 * - A plain `URING_CMD` (no fused issue flag) completes with 0, as `/dev/null` does.
 * - A `FUSED_CMD` with a `cmd_op` other than {@linkcode TEST_DEV_CMD_LEND`: -EOPNOTSUPP.
 * - Unknown key, a `"none"` buffer, or a slave whose direction the buffer's rule refuses:
 *   -EINVAL (the master fails, no slave CQE).
 * - Otherwise the buffer is lent with {@linkcode provideFusedBuffer}; when the slave is done
 *   the device records the slave result and completes the master with it.
 *
 * @example Lend a buffer to a fused READ
 * ```ts
 * import assert from "node:assert/strict";
 * import { TestDevice } from "@ublk-ts/testing";
 * import { MappedBuffer } from "@ublk-ts/rsrc";
 * const dev = new TestDevice();
 * dev.add(1, MappedBuffer.fromBytes(new Uint8Array(4096)), "dest");
 * assert.equal(dev.has(1), true);
 * // kernel.registerDevice("/dev/fused-test", dev); then open it and submit FUSED_CMD SQEs
 * ```
 */
export class TestDevice implements DeviceFile {
  /** Every call, when recording. */
  readonly calls: TestDeviceCall[] = [];
  /** Slave results (`slave_res`) seen in completion order, when recording. */
  readonly slaveResults: number[] = [];
  /** Masters whose slave is done. */
  slavesDone = 0;
  readonly #bufs: Map<number, Entry> = new Map();
  readonly #defer: boolean;
  readonly #record: boolean;
  readonly #done: (master: Request, slaveRes: number) => void;

  /**
   * A device with no buffers.
   *
   * @param options Lend timing and recording.
   */
  constructor(options: TestDeviceOptions = {}) {
    this.#defer = options.deferLend ?? false;
    this.#record = options.record ?? true;
    this.#done = (master: Request, slaveRes: number): void => {
      this.slavesDone++;
      if (this.#record) this.slaveResults.push(slaveRes);
      master.cmdDone(slaveRes);
    };
  }

  /**
   * Makes `buf` available under `key` with a direction rule.
   *
   * @param key The key fused commands name in their payload.
   * @param buf The buffer.
   * @param dir Which slaves it accepts.
   */
  add(key: number, buf: MappedBuffer, dir: TestBufferDir): void {
    this.#bufs.set(key >>> 0, { buf, dir });
  }

  /**
   * Removes a key (leases already taken stay valid).
   *
   * @param key The key.
   * @returns True when it was there.
   */
  remove(key: number): boolean {
    return this.#bufs.delete(key >>> 0);
  }

  /**
   * Whether `key` is registered.
   *
   * @param key The key.
   * @returns True when registered.
   */
  has(key: number): boolean {
    return this.#bufs.has(key >>> 0);
  }

  /**
   * `->uring_cmd()`.
   *
   * @param req The request.
   * @param issueFlags IO_URING_F_* flags.
   * @returns 0, a negative errno, or `ISSUE_QUEUED`.
   */
  uringCmd(req: Request, issueFlags: number): number {
    const key = req.sqe.getUint32(req.cmdOff, true);
    const ret = this.#handle(req, issueFlags, key);
    if (this.#record) this.calls.push({ cmdOp: req.cmdOp, key, issueFlags, ret });
    return ret;
  }

  #handle(req: Request, issueFlags: number, key: number): number {
    const fused = issueFlags & IO_URING_F_FUSED;
    if (fused === 0) return 0;
    if (req.cmdOp !== TEST_DEV_CMD_LEND) return -EOPNOTSUPP;
    const e = this.#bufs.get(key);
    if (e === undefined) return -EINVAL;
    switch (e.dir) {
      case "none":
        return -EINVAL;
      case "dest":
        if (fused !== IO_URING_F_FUSED_WRITE) return -EINVAL;
        break;
      case "source":
        if (fused !== IO_URING_F_FUSED_READ) return -EINVAL;
        break;
    }
    if (this.#defer) {
      queueMicrotask(() => {
        provideFusedBuffer(req, e.buf, this.#done);
      });
      return ISSUE_QUEUED;
    }
    return provideFusedBuffer(req, e.buf, this.#done);
  }
}
