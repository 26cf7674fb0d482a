/**
 * {@linkcode BufDesc}: how a ublk server hands request data to the driver — copy through a
 * server buffer, automatic registration of the request buffer in the ring's buffer table
 * (UBLK_F_AUTO_BUF_REG), or zero copy through fused commands (UBLK_F_RFC_FUSED_ZC) —
 * and {@linkcode validateCompatibility}, which checks a mode against the device flags before
 * anything is submitted.
 *
 * @module
 */

import {
  EINVAL,
  EOPNOTSUPP,
  UBLK_F_AUTO_BUF_REG,
  UBLK_F_NEED_GET_DATA,
  UBLK_F_RFC_FUSED_ZC,
  UBLK_F_SUPPORT_ZERO_COPY,
  UBLK_F_USER_COPY,
} from "@ublk-ts/uapi";

/** Copy mode: the driver copies between the request pages and this server buffer (`addr`). */
export interface CopyBufDesc {
  /** Discriminant. */
  readonly kind: "copy";
  /** The server's per-tag buffer. */
  readonly buf: Uint8Array;
}

/** Auto-register mode: the driver registers the request buffer at `index` of the ring's table. */
export interface AutoRegBufDesc {
  /** Discriminant. */
  readonly kind: "auto-register";
  /** Buffer-table slot (u16). */
  readonly index: number;
  /** `UBLK_AUTO_BUF_REG_*` flags (u8). */
  readonly flags: number;
}

/** Zero-copy mode: the server lends the request buffer to fused slaves (IORING_OP_FUSED_CMD). */
export interface ZeroCopyBufDesc {
  /** Discriminant. */
  readonly kind: "zero-copy";
}

/** A buffer mode, discriminated by `kind`. */
export type BufDesc = CopyBufDesc | AutoRegBufDesc | ZeroCopyBufDesc;

/** The `kind` of a {@linkcode BufDesc}. */
export type BufMode = BufDesc["kind"];

const ZERO_COPY: ZeroCopyBufDesc = Object.freeze({ kind: "zero-copy" });

/**
 * A copy-mode descriptor.
 *
 * @param buf The server buffer.
 * @returns The descriptor.
 */
export function copyBufDesc(buf: Uint8Array): CopyBufDesc {
  return { kind: "copy", buf };
}

/**
 * An auto-register descriptor.
 *
 * @param index The buffer-table slot.
 * @param flags `UBLK_AUTO_BUF_REG_*` flags. Default 0.
 * @returns The descriptor.
 */
export function autoRegBufDesc(index: number, flags = 0): AutoRegBufDesc {
  return { kind: "auto-register", index, flags };
}

/**
 * The zero-copy descriptor (a shared frozen object).
 *
 * @returns The descriptor.
 */
export function zeroCopyBufDesc(): ZeroCopyBufDesc {
  return ZERO_COPY;
}

/**
 * Checks device flags for contradictions: UBLK_F_RFC_FUSED_ZC excludes
 * UBLK_F_NEED_GET_DATA and UBLK_F_USER_COPY; UBLK_F_AUTO_BUF_REG excludes the same two (the
 * data never passes through a server buffer, so there is nothing to get or copy).
 *
 * @param flags `dev_info.flags`.
 * @returns 0, or -EINVAL.
 */
export function validateFlags(flags: bigint): number {
  const excl = UBLK_F_NEED_GET_DATA | UBLK_F_USER_COPY;
  if ((flags & UBLK_F_RFC_FUSED_ZC) !== 0n && (flags & excl) !== 0n) return -EINVAL;
  if ((flags & UBLK_F_AUTO_BUF_REG) !== 0n && (flags & excl) !== 0n) return -EINVAL;
  return 0;
}

/**
 * The buffer mode that device flags call for.
 *
 * @param flags `dev_info.flags`.
 * @returns The mode; -EINVAL for contradictory flags; -EOPNOTSUPP for UBLK_F_USER_COPY (the
 *   server copies with pread/pwrite on the char device, which no {@linkcode BufDesc} covers).
 */
export function bufModeFor(flags: bigint): BufMode | number {
  const r = validateFlags(flags);
  if (r < 0) return r;
  if ((flags & UBLK_F_AUTO_BUF_REG) !== 0n) return "auto-register";
  if ((flags & UBLK_F_RFC_FUSED_ZC) !== 0n) return "zero-copy";
  // USER_COPY and the upstream register design (bit 0) have no BufDesc here.
  if ((flags & (UBLK_F_USER_COPY | UBLK_F_SUPPORT_ZERO_COPY)) !== 0n) return -EOPNOTSUPP;
  return "copy";
}

/**
 * Checks that a buffer mode fits a device, before any submit (libublk's
 * `validate_compatibility`).
 *
 * - copy: the device has none of UBLK_F_RFC_FUSED_ZC, UBLK_F_USER_COPY,
 *   UBLK_F_AUTO_BUF_REG, and the buffer is not empty.
 * - auto-register: the device has UBLK_F_AUTO_BUF_REG; `index` is a u16, `flags` a u8.
 * - zero-copy: the device has UBLK_F_RFC_FUSED_ZC and not UBLK_F_AUTO_BUF_REG.
 *
 * @param desc The mode.
 * @param flags `dev_info.flags`.
 * @returns 0; -EINVAL for contradictory flags or bad descriptor fields; -EOPNOTSUPP when the
 *   device flags do not offer the mode.
 *
 * @example Zero copy needs the flag
 * ```ts
 * import assert from "node:assert/strict";
 * import { UBLK_F_RFC_FUSED_ZC } from "@ublk-ts/uapi";
 * import { validateCompatibility, zeroCopyBufDesc } from "@ublk-ts/rsrc";
 * assert.equal(validateCompatibility(zeroCopyBufDesc(), UBLK_F_RFC_FUSED_ZC), 0);
 * assert.equal(validateCompatibility(zeroCopyBufDesc(), 0n), -95); // -EOPNOTSUPP
 * ```
 */
export function validateCompatibility(desc: BufDesc, flags: bigint): number {
  const r = validateFlags(flags);
  if (r < 0) return r;
  switch (desc.kind) {
    case "copy": {
      const other = UBLK_F_RFC_FUSED_ZC | UBLK_F_SUPPORT_ZERO_COPY | UBLK_F_USER_COPY |
        UBLK_F_AUTO_BUF_REG;
      if ((flags & other) !== 0n) return -EOPNOTSUPP;
      if (!(desc.buf instanceof Uint8Array) || desc.buf.length === 0) return -EINVAL;
      return 0;
    }
    case "auto-register": {
      if ((flags & UBLK_F_AUTO_BUF_REG) === 0n) return -EOPNOTSUPP;
      const { index, flags: f } = desc;
      if (!Number.isInteger(index) || index < 0 || index > 0xffff) return -EINVAL;
      if (!Number.isInteger(f) || f < 0 || f > 0xff) return -EINVAL;
      return 0;
    }
    case "zero-copy":
      if ((flags & UBLK_F_RFC_FUSED_ZC) === 0n) return -EOPNOTSUPP;
      if ((flags & UBLK_F_AUTO_BUF_REG) !== 0n) return -EOPNOTSUPP;
      return 0;
    default:
      return -EINVAL;
  }
}
