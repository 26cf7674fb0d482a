/**
 * Differences between a real `ublk_drv` and the model driver in the zero-copy differential
 * (`_zc_scenario.ts`) that are known and explained, by kernel version. The probe fails on any
 * other, and `zc_vs_recording_test.ts` fails when an explained difference no longer happens.
 * Steps are named `<case> <step>` (e.g. `register W: REGISTER_IO_BUF of an idle tag`).
 *
 * @module
 */

import type { KnownDifference } from "./_compare.ts";
import { compareVersions } from "./_known_differences.ts";

/** Every known difference, with the kernel versions it holds for. */
export const ZC_KNOWN: readonly KnownDifference[] = (() => {
  // Seen on 6.12.117; 7.3.4 answers as the model (the kernels between are not recorded).
  const until = "7.3";
  const overRead = "user-copy W: pread from the middle, asking past the end";
  const why612 = "6.12 reports a user-copy pread that runs past the request's end as if every " +
    "byte asked for were copied (8192) although it copies only the 4096 bytes the request has " +
    "(from the right offset; the rest of the buffer is untouched); 7.3.4 returns 4096, as the model";
  return [
    {
      step: "copy W: pread of the request",
      field: "res",
      kind: "model",
      until,
      why: "a user-copy pread on a device without UBLK_F_USER_COPY: -EINVAL on 6.12, -EACCES " +
        "on 7.3.4 (the model follows 7.3.4)",
    },
    { step: overRead, field: "res", kind: "model", until, why: why612 },
    { step: overRead, field: "matches", kind: "model", until, why: why612 },
    { step: overRead, field: "after", kind: "model", until, why: why612 },
  ];
})();

/**
 * The known differences for one real kernel.
 *
 * @param release The real kernel's release (`Deno.osRelease()` in the VM, or a recording's).
 * @returns The entries that hold on that kernel.
 */
export function zcKnownDifferencesFor(release: string): KnownDifference[] {
  return ZC_KNOWN.filter((k) =>
    (k.since === undefined || compareVersions(release, k.since) >= 0) &&
    (k.until === undefined || compareVersions(release, k.until) < 0)
  );
}
