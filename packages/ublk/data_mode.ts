/**
 * Data modes: how a request's bytes travel between the block layer and a target.
 *
 * | mode        | flags (ADD_DEV)                                            | kernel | data path |
 * |-------------|------------------------------------------------------------|--------|-----------|
 * | `copy`      | none (NEED_GET_DATA optional)                              | 5.19   | the driver copies into/out of the tag's server buffer (`addr`) |
 * | `user-copy` | UBLK_F_USER_COPY                                           | 6.5    | the server `pread`s/`pwrite`s `/dev/ublkcN` at `ublkUserCopyPos(q, tag, 0)` |
 * | `register`  | UBLK_F_SUPPORT_ZERO_COPY                                   | 6.15   | `UBLK_U_IO_REGISTER_IO_BUF` puts the request pages at `buf_index` = tag; READ_FIXED/WRITE_FIXED; UNREGISTER before COMMIT |
 * | `auto`      | UBLK_F_AUTO_BUF_REG (+ SUPPORT_ZERO_COPY for the fallback) | 6.16   | the driver registers the pages at the index the FETCH/COMMIT SQE's `addr` names; on failure with FALLBACK the server registers (UBLK_IO_F_NEED_REG_BUF) |
 * | `fused`     | UBLK_F_RFC_FUSED_ZC (model only)                           | the 2023 RFC, never merged | `IORING_OP_FUSED_CMD` lends the pages to the slave SQE |
 *
 * Targets see two shapes: `copy`/`user-copy` hand them a filled server buffer (`ctx.buf`),
 * the three zero-copy modes hand them an empty one and `ctx.fused`, which the queue executes
 * in the device's mode.
 *
 * @module
 */

import {
  EOPNOTSUPP,
  UBLK_F_AUTO_BUF_REG,
  UBLK_F_NEED_GET_DATA,
  UBLK_F_RFC_FUSED_ZC,
  UBLK_F_SUPPORT_ZERO_COPY,
  UBLK_F_USER_COPY,
} from "@ublk-ts/uapi";

/** How a device's data moves (see the module table). */
export type DataMode = "copy" | "user-copy" | "register" | "auto" | "fused";

/** Every data mode, in the order tables list them. */
export const DATA_MODES: readonly DataMode[] = ["copy", "user-copy", "fused", "register", "auto"];

/**
 * Whether a mode is zero copy (the target gets no server buffer and moves data with
 * `ctx.fused`).
 *
 * @param mode The mode.
 * @returns True for fused, register and auto.
 */
export function isZeroCopyMode(mode: DataMode): boolean {
  return mode === "fused" || mode === "register" || mode === "auto";
}

/**
 * The data mode negotiated flags put a device in (AUTO_BUF_REG wins over SUPPORT_ZERO_COPY:
 * with both, bit 0 only serves the fallback's manual registration).
 *
 * @param flags `dev_info.flags`.
 * @returns The mode.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { UBLK_F_AUTO_BUF_REG, UBLK_F_SUPPORT_ZERO_COPY, UBLK_F_USER_COPY } from "@ublk-ts/uapi";
 * import { dataModeOf } from "@ublk-ts/ublk";
 * assert.equal(dataModeOf(0n), "copy");
 * assert.equal(dataModeOf(UBLK_F_USER_COPY), "user-copy");
 * assert.equal(dataModeOf(UBLK_F_SUPPORT_ZERO_COPY), "register");
 * assert.equal(dataModeOf(UBLK_F_AUTO_BUF_REG | UBLK_F_SUPPORT_ZERO_COPY), "auto");
 * ```
 */
export function dataModeOf(flags: bigint): DataMode {
  if ((flags & UBLK_F_RFC_FUSED_ZC) !== 0n) return "fused";
  if ((flags & UBLK_F_AUTO_BUF_REG) !== 0n) return "auto";
  if ((flags & UBLK_F_SUPPORT_ZERO_COPY) !== 0n) return "register";
  if ((flags & UBLK_F_USER_COPY) !== 0n) return "user-copy";
  return "copy";
}

/**
 * The UBLK_F_* flags ADD_DEV needs for a mode.
 *
 * @param mode The mode.
 * @param autoFallback With `auto`: ask for UBLK_AUTO_BUF_REG_FALLBACK, which needs
 *   UBLK_F_SUPPORT_ZERO_COPY for the manual registration (as kublk's `--auto_zc_fallback`).
 * @returns The flags.
 */
export function dataModeFlags(mode: DataMode, autoFallback = false): bigint {
  switch (mode) {
    case "copy":
      return 0n;
    case "user-copy":
      return UBLK_F_USER_COPY;
    case "register":
      return UBLK_F_SUPPORT_ZERO_COPY;
    case "auto":
      return UBLK_F_AUTO_BUF_REG | (autoFallback ? UBLK_F_SUPPORT_ZERO_COPY : 0n);
    case "fused":
      return UBLK_F_RFC_FUSED_ZC;
  }
}

/** UBLK_F_* names as ublk_cmd.h spells them, for messages. */
function flagNames(flags: bigint): string {
  const names: [bigint, string][] = [
    [UBLK_F_SUPPORT_ZERO_COPY, "UBLK_F_SUPPORT_ZERO_COPY"],
    [UBLK_F_USER_COPY, "UBLK_F_USER_COPY"],
    [UBLK_F_AUTO_BUF_REG, "UBLK_F_AUTO_BUF_REG"],
    [UBLK_F_RFC_FUSED_ZC, "UBLK_F_RFC_FUSED_ZC"],
    [UBLK_F_NEED_GET_DATA, "UBLK_F_NEED_GET_DATA"],
  ];
  return names.filter(([b]) => (flags & b) !== 0n).map(([, n]) => n).join(" and ");
}

/** What to suggest on a kernel whose features lack a mode. */
function suggestion(features: bigint): string {
  if ((features & UBLK_F_AUTO_BUF_REG) !== 0n) return "this kernel has AUTO_BUF_REG; use --auto-zc";
  if ((features & UBLK_F_SUPPORT_ZERO_COPY) !== 0n) {
    return "this kernel has SUPPORT_ZERO_COPY; use --zc-mode register";
  }
  if ((features & UBLK_F_USER_COPY) !== 0n) return "this kernel has USER_COPY; use -u";
  return "this kernel has copy mode only";
}

/**
 * Checks a mode against GET_FEATURES before ADD_DEV (the real driver silently drops flags it
 * does not know, so asking first is the only way to refuse with a reason).
 *
 * @param mode The mode.
 * @param features The driver's GET_FEATURES answer.
 * @param autoFallback With `auto`, whether the fallback is wanted.
 * @param kernelName How to name the kernel in the message (e.g. "6.12"); default "this kernel".
 * @returns Null when the kernel has the mode, else the one-line reason.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { UBLK_F_USER_COPY } from "@ublk-ts/uapi";
 * import { dataModeRefusal } from "@ublk-ts/ublk";
 * assert.equal(
 *   dataModeRefusal("register", UBLK_F_USER_COPY, false, "6.12"),
 *   "zero copy needs UBLK_F_SUPPORT_ZERO_COPY: this kernel (6.12) has USER_COPY; use -u",
 * );
 * ```
 */
export function dataModeRefusal(
  mode: DataMode,
  features: bigint,
  autoFallback = false,
  kernelName?: string,
): string | null {
  const missing = dataModeFlags(mode, autoFallback) & ~features;
  if (missing === 0n) return null;
  const what = mode === "user-copy"
    ? "user copy"
    : mode === "fused"
    ? "fused zero copy (the RFC)"
    : mode === "auto"
    ? (autoFallback ? "auto buffer registration with fallback" : "auto buffer registration")
    : "zero copy";
  let hint = suggestion(features);
  if (kernelName !== undefined) hint = hint.replace("this kernel", `this kernel (${kernelName})`);
  if (mode === "fused") hint = "it exists only in the model kernel (--model)";
  return `${what} needs ${flagNames(missing)}: ${hint}`;
}

/**
 * Picks the best zero copy the features offer (kublk's `-z`, extended): AUTO_BUF_REG, then
 * SUPPORT_ZERO_COPY, then the model's RFC fused command.
 *
 * @param features The driver's GET_FEATURES answer.
 * @returns The mode, or null when the kernel has no zero copy.
 */
export function bestZeroCopy(features: bigint): DataMode | null {
  if ((features & UBLK_F_AUTO_BUF_REG) !== 0n) return "auto";
  if ((features & UBLK_F_SUPPORT_ZERO_COPY) !== 0n) return "register";
  if ((features & UBLK_F_RFC_FUSED_ZC) !== 0n) return "fused";
  return null;
}

/** A data mode the kernel does not have: the message is the one-line reason. */
export class DataModeError extends Error {
  /** EOPNOTSUPP. */
  readonly errno: number = EOPNOTSUPP;
  /** The refused mode. */
  readonly mode: DataMode;

  /**
   * A refusal of `mode`.
   *
   * @param mode The refused mode.
   * @param message The reason (from {@linkcode dataModeRefusal}).
   */
  constructor(mode: DataMode, message: string) {
    super(message);
    this.name = "DataModeError";
    this.mode = mode;
  }
}

/**
 * Throws the refusal of {@linkcode dataModeRefusal} as a {@linkcode DataModeError}.
 *
 * @param mode The mode.
 * @param features GET_FEATURES.
 * @param autoFallback With `auto`, whether the fallback is wanted.
 * @param kernelName The kernel's name for the message.
 * @throws {DataModeError} With the one-line reason.
 */
export function assertDataMode(
  mode: DataMode,
  features: bigint,
  autoFallback = false,
  kernelName?: string,
): void {
  const r = dataModeRefusal(mode, features, autoFallback, kernelName);
  if (r !== null) throw new DataModeError(mode, r);
}
