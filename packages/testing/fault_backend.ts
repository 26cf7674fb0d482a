/**
 * {@linkcode FaultBackend}: an I/O backend for the model kernel that forwards every call to a
 * real backend ({@linkcode SyncBackend} by default), records it, and lets a test fail it or cut
 * it short. The SQEs are still decoded by the model kernel's own ops, so a target test over it
 * checks what the target asked the kernel for, not what a second interpreter thinks it meant.
 *
 * @module
 */

import type { BackendFile, IoBackend, IoResult } from "@ublk-ts/ring";
import { SyncBackend } from "@ublk-ts/model";

/** One call the model kernel made on a regular file. */
export interface BackendCall {
  /** The operation (`readv`/`writev` are recorded as `read`/`write`). */
  readonly op: "read" | "write" | "fsync" | "fallocate";
  /** The file's path. */
  readonly path: string;
  /** File offset (0 for fsync). */
  readonly off: number;
  /** Bytes (read/write/fallocate; 0 for fsync). */
  readonly len: number;
  /** FALLOC_FL_* mode (fallocate; 0 otherwise). */
  readonly mode: number;
  /** fdatasync rather than fsync (fsync; false otherwise). */
  readonly datasync: boolean;
}

/**
 * Decides the fate of one call: `undefined` runs it; a negative errno fails it without running
 * it; for read/write a number `0 ≤ n < len` runs only the first `n` bytes (a short transfer).
 */
export type BackendFault = (call: BackendCall) => number | undefined;

function trim(bufs: readonly Uint8Array[], n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const b of bufs) {
    if (n <= 0) break;
    out.push(b.length <= n ? b : b.subarray(0, n));
    n -= b.length;
  }
  return out;
}

/**
 * A recording, fault-injecting backend.
 *
 * @example Fail every fdatasync
 * ```ts
 * import assert from "node:assert/strict";
 * import { ModelKernel } from "@ublk-ts/model";
 * import { FaultBackend } from "@ublk-ts/testing";
 * const backend = new FaultBackend();
 * backend.fault = (c) => c.op === "fsync" ? -28 : undefined;
 * const kernel = new ModelKernel({ backend });
 * assert.equal(kernel.backend, backend);
 * ```
 */
export class FaultBackend implements IoBackend {
  /** The inner backend's name with a `fault:` prefix. */
  readonly name: string;
  /** Every read/write/fsync/fallocate call, in order. */
  readonly calls: BackendCall[] = [];
  /** Every `open(2)` that reached the backend: path and O_* flags. */
  readonly opens: { path: string; flags: number }[] = [];
  /** The fault rule (none by default). */
  fault: BackendFault | null = null;
  readonly #inner: IoBackend;

  /**
   * Wraps a backend.
   *
   * @param inner The backend that does the I/O (default a {@linkcode SyncBackend}).
   */
  constructor(inner: IoBackend = new SyncBackend()) {
    this.#inner = inner;
    this.name = `fault:${inner.name}`;
  }

  #decide(call: BackendCall): number | undefined {
    this.calls.push(call);
    return this.fault?.(call);
  }

  /** Calls of one operation. */
  callsOf(op: BackendCall["op"]): BackendCall[] {
    return this.calls.filter((c) => c.op === op);
  }

  open(path: string, flags: number, mode: number): BackendFile | number {
    this.opens.push({ path, flags });
    return this.#inner.open(path, flags, mode);
  }

  close(file: BackendFile): void {
    this.#inner.close(file);
  }

  #call(op: "read" | "write", file: BackendFile, off: number, len: number): BackendCall {
    return { op, path: file.path, off, len, mode: 0, datasync: false };
  }

  read(file: BackendFile, buf: Uint8Array, off: number): IoResult {
    const f = this.#decide(this.#call("read", file, off, buf.length));
    if (f !== undefined && f < 0) return f;
    return this.#inner.read(file, f === undefined ? buf : buf.subarray(0, f), off);
  }

  readv(file: BackendFile, bufs: readonly Uint8Array[], off: number): IoResult {
    const len = bufs.reduce((n, b) => n + b.length, 0);
    const f = this.#decide(this.#call("read", file, off, len));
    if (f !== undefined && f < 0) return f;
    return this.#inner.readv(file, f === undefined ? bufs : trim(bufs, f), off);
  }

  write(file: BackendFile, buf: Uint8Array, off: number): IoResult {
    const f = this.#decide(this.#call("write", file, off, buf.length));
    if (f !== undefined && f < 0) return f;
    return this.#inner.write(file, f === undefined ? buf : buf.subarray(0, f), off);
  }

  writev(file: BackendFile, bufs: readonly Uint8Array[], off: number): IoResult {
    const len = bufs.reduce((n, b) => n + b.length, 0);
    const f = this.#decide(this.#call("write", file, off, len));
    if (f !== undefined && f < 0) return f;
    return this.#inner.writev(file, f === undefined ? bufs : trim(bufs, f), off);
  }

  fsync(file: BackendFile, datasync: boolean): IoResult {
    const call = { op: "fsync", path: file.path, off: 0, len: 0, mode: 0, datasync } as const;
    const f = this.#decide(call);
    if (f !== undefined && f < 0) return f;
    return this.#inner.fsync(file, datasync);
  }

  fallocate(file: BackendFile, mode: number, off: number, len: number): IoResult {
    const call = { op: "fallocate", path: file.path, off, len, mode, datasync: false } as const;
    const f = this.#decide(call);
    if (f !== undefined && f < 0) return f;
    return this.#inner.fallocate(file, mode, off, len);
  }

  size(file: BackendFile): number {
    return this.#inner.size(file);
  }
}
