/**
 * `ublk features`: names of the UBLK_F_* bits in a GET_FEATURES mask, and a probe of the real
 * kernel's `/dev/ublk-control`.
 *
 * @module
 */

import * as uapi from "@ublk-ts/uapi";

/** Every `UBLK_F_*` flag of the uapi, by bit: `[name, value]`, lowest bit first. */
export const UBLK_FEATURE_NAMES: readonly (readonly [string, bigint])[] = Object.entries(uapi)
  .filter(([k, v]) => k.startsWith("UBLK_F_") && typeof v === "bigint")
  .map(([k, v]) => [k, v as bigint] as const)
  .sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));

/**
 * The names of the flags set in `mask` (unknown bits as `bit N`).
 *
 * @param mask A UBLK_F_* mask.
 * @returns The names, lowest bit first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { featureNames } from "./features.ts";
 * assert.deepEqual(featureNames(0b101n), ["UBLK_F_SUPPORT_ZERO_COPY", "UBLK_F_NEED_GET_DATA"]);
 * ```
 */
export function featureNames(mask: bigint): string[] {
  const out: string[] = [];
  for (let bit = 0n; bit < 64n; bit++) {
    const v = 1n << bit;
    if ((mask & v) === 0n) continue;
    const known = UBLK_FEATURE_NAMES.find(([, f]) => f === v);
    out.push(known ? known[0] : `bit ${bit}`);
  }
  return out;
}

/** What is known about the real kernel's ublk driver. */
export interface RealUblkProbe {
  /** Whether `/dev/ublk-control` exists. */
  readonly present: boolean;
  /** A sentence for the user. */
  readonly note: string;
}

/**
 * Looks for the real ublk driver (`/dev/ublk-control`).
 *
 * @param path The control device path (default `/dev/ublk-control`).
 * @returns Whether it is there, and a note.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { probeRealUblk } from "./features.ts";
 * assert.equal(probeRealUblk("/nonexistent/ublk-control").present, false);
 * ```
 */
export function probeRealUblk(path = "/dev/ublk-control"): RealUblkProbe {
  try {
    Deno.statSync(path);
  } catch {
    return {
      present: false,
      note: `${path} is absent: this kernel has no ublk driver loaded (modprobe ublk_drv)`,
    };
  }
  return {
    present: true,
    note: `${path} exists, but querying the real driver is not implemented ` +
      `(the ublk driver of this project is the model)`,
  };
}
