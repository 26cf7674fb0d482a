/**
 * `NativeUnavailableError`: native mode cannot be used here.
 *
 * @module
 */

/** Why native mode is unavailable. */
export type NativeUnavailableReason =
  /** No liburing could be opened (missing file, wrong path, wrong architecture). */
  | "library"
  /** The process lacks `--allow-ffi` (the `cause` is Deno's `NotCapable`/`PermissionDenied`). */
  | "permission"
  /** The library opened but lacks a required symbol. */
  | "symbol";

/** Options of {@linkcode NativeUnavailableError}. */
export interface NativeUnavailableErrorOptions extends ErrorOptions {
  /** Why native mode is unavailable. */
  reason: NativeUnavailableReason;
}

/**
 * Native mode (liburing through `Deno.dlopen`) is unavailable: the library is missing, or the
 * process may not use FFI. Callers catch it to fall back to the model kernel; `cause` holds the
 * original error and `reason` says which case it is.
 *
 * @example Fall back to the model
 * ```ts
 * import assert from "node:assert/strict";
 * import { NativeUnavailableError } from "@ublk-ts/native";
 * const e = new NativeUnavailableError("Cannot load liburing: not found", { reason: "library" });
 * assert.ok(e instanceof Error);
 * assert.equal(e.reason, "library");
 * ```
 */
export class NativeUnavailableError extends Error {
  /** Why native mode is unavailable. */
  readonly reason: NativeUnavailableReason;

  /**
   * Builds the error.
   *
   * @param message What failed, sentence case, no final period.
   * @param options The reason and the original error.
   */
  constructor(message: string, options: NativeUnavailableErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "NativeUnavailableError";
    this.reason = options.reason;
  }
}
