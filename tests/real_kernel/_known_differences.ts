/**
 * Differences between the real `ublk_drv` (Debian 12's 6.12) and the model driver that are
 * known and explained; the probe fails on any other. `intended`: the model differs on purpose
 * (the RFC fused zero copy, a newer kernel's feature). `model`: the model lacks something the
 * real driver has (reported, not hidden).
 *
 * @module
 */

import type { KnownDifference } from "./_compare.ts";

/** The explained differences. */
export const KNOWN_DIFFERENCES: readonly KnownDifference[] = [
  {
    step: "GET_FEATURES",
    field: "features bit 0",
    kind: "intended",
    why: "UBLK_F_SUPPORT_ZERO_COPY means the RFC fused zero copy in the model; 6.12 has none " +
      "(6.15 added a different, buffer-registration zero copy)",
  },
  {
    step: "GET_FEATURES",
    field: "features bit 9",
    kind: "intended",
    why: "UBLK_F_USER_RECOVERY_FAIL_IO is newer than 6.12; the model implements it",
  },
  {
    step: "GET_FEATURES",
    field: "features bit 7",
    kind: "model",
    why: "UBLK_F_USER_COPY (pread/pwrite on /dev/ublkcN) is not implemented by the model",
  },
  {
    step: "GET_FEATURES",
    field: "features bit 8",
    kind: "model",
    why: "UBLK_F_ZONED is not implemented by the model (zoned params get -EOPNOTSUPP)",
  },
  {
    step: "ADD_DEV zero copy",
    field: "flags",
    kind: "intended",
    why: "the model grants UBLK_F_SUPPORT_ZERO_COPY (RFC fused); 6.12 masks it off",
  },
  {
    step: "ADD_DEV user copy",
    field: "flags",
    kind: "model",
    why: "the model masks off UBLK_F_USER_COPY, which 6.12 grants",
  },
];
