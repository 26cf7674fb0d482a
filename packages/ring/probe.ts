/**
 * {@linkcode Probe}: the decoded `struct io_uring_probe` (which opcodes a kernel supports).
 *
 * @module
 */

import { IO_URING_OP_SUPPORTED, IoUringProbe, IoUringProbeOp } from "@ublk-ts/uapi";

/** `struct io_uring_probe` (16-byte header + 8 bytes per op). */
export class Probe {
  /** `last_op`. */
  readonly lastOp: number;
  /** `ops_len`. */
  readonly opsLen: number;
  #supported: Set<number> = new Set();

  /**
   * Decodes a filled probe.
   *
   * @param view The `io_uring_probe` memory.
   */
  constructor(view: DataView) {
    this.lastOp = view.getUint8(IoUringProbe.OFFSET_LAST_OP);
    this.opsLen = view.getUint8(IoUringProbe.OFFSET_OPS_LEN);
    for (let i = 0; i < this.opsLen; i++) {
      const o = IoUringProbe.SIZE + i * IoUringProbeOp.SIZE;
      if (view.getUint16(o + IoUringProbeOp.OFFSET_FLAGS, true) & IO_URING_OP_SUPPORTED) {
        this.#supported.add(view.getUint8(o + IoUringProbeOp.OFFSET_OP));
      }
    }
  }

  /**
   * `io_uring_opcode_supported`.
   *
   * @param opcode The opcode.
   * @returns True when supported.
   */
  supports(opcode: number): boolean {
    return this.#supported.has(opcode);
  }

  /**
   * The supported opcodes, ascending.
   *
   * @returns Opcodes.
   */
  supported(): number[] {
    return [...this.#supported].sort((a, b) => a - b);
  }
}
