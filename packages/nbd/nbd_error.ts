/**
 * {@linkcode NbdError}: a handshake failure that is about the NBD protocol rather than the
 * operating system (a refused option, an unknown export, an oldstyle or non-NBD server).
 *
 * @module
 */

/** Options of {@linkcode NbdError}. */
export interface NbdErrorOptions extends ErrorOptions {
  /** The option reply type that caused the error (`NBD_REP_ERR_*`), if any. */
  replyType?: number;
  /** The protocol name of that reply type, such as "NBD_REP_ERR_UNKNOWN". */
  replyName?: string;
}

/**
 * An NBD protocol failure during the handshake.
 *
 * Transmission-phase failures never throw: requests resolve to a negative errno.
 *
 * @example Catch a refused export
 * ```ts
 * import assert from "node:assert/strict";
 * import { NbdError } from "@ublk-ts/nbd";
 * const e = new NbdError("Export \"x\" is unknown", { replyName: "NBD_REP_ERR_UNKNOWN" });
 * assert.equal(e.replyName, "NBD_REP_ERR_UNKNOWN");
 * ```
 */
export class NbdError extends Error {
  /** The option reply type (`NBD_REP_ERR_*`), when a server reply caused the error. */
  readonly replyType: number | undefined;
  /** The protocol name of {@linkcode NbdError.replyType}. */
  readonly replyName: string | undefined;

  /**
   * Builds the error.
   *
   * @param message A sentence-case message without a final period.
   * @param options The reply type and name, and a cause.
   */
  constructor(message: string, options?: NbdErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "NbdError";
    this.replyType = options?.replyType;
    this.replyName = options?.replyName;
  }
}
