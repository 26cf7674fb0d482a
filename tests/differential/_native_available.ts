/**
 * Whether the differential suite can run: it needs liburing (native mode).
 *
 * @module
 */

import { loadNative } from "@ublk-ts/native";

/** Why the suite is skipped, or undefined. */
export const SKIP_REASON: string | undefined = (() => {
  try {
    loadNative();
    return undefined;
  } catch (e) {
    return `skipping differential suite: liburing unavailable (${(e as Error).message})`;
  }
})();
if (SKIP_REASON) console.error(SKIP_REASON);
