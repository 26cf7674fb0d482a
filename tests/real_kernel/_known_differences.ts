/**
 * Differences between a real `ublk_drv` (Debian's 6.12 and the newest Debian kernel) and the
 * model driver that are known and explained; the probe fails on any other, and
 * `model_vs_recording_test.ts` fails when an explained difference no longer happens.
 *
 * `intended`: the model differs on purpose (the RFC fused zero copy under its model-only bit 63;
 * a feature newer than the kernel compared with). `model`: the model lacks something the real
 * driver has (reported, not hidden). An entry may hold only for a range of kernel versions.
 *
 * Feature and flag words are compared bit by bit ("features bit N", "flags bit N"); those
 * differences are explained by {@linkcode FEATURE_SINCE} (the release that added each bit) and
 * {@linkcode MODEL_LACKS} (bits the model does not implement), so one table serves every kernel.
 *
 * @module
 */

import type { KnownDifference } from "./_compare.ts";

/** The release that introduced each `UBLK_F_*` bit (bit 0 only works from 6.15). */
export const FEATURE_SINCE: Readonly<Record<number, string>> = {
  0: "6.15", // SUPPORT_ZERO_COPY: masked off before 6.15, then REGISTER_IO_BUF
  1: "6.0",
  2: "6.0",
  3: "6.0",
  4: "6.0",
  5: "6.2",
  6: "6.2",
  7: "6.5",
  8: "6.6",
  9: "6.13",
  10: "6.16",
  11: "6.16",
  12: "6.16",
  13: "6.16",
  14: "6.17",
  15: "7.0",
  16: "7.0",
  17: "7.0",
  18: "7.0",
  19: "7.1",
  20: "7.3",
};

/** `UBLK_F_*` bits the model driver does not implement, with why. */
export const MODEL_LACKS: Readonly<Record<number, string>> = {
  8: "UBLK_F_ZONED is not implemented by the model (zoned params get -EOPNOTSUPP)",
  10: "UBLK_F_UPDATE_SIZE is not implemented by the model",
  12: "UBLK_F_QUIESCE is not implemented by the model",
  13: "UBLK_F_PER_IO_DAEMON is not implemented by the model (one server task per queue)",
  14: "UBLK_F_BUF_REG_OFF_DAEMON is not implemented by the model",
  15: "UBLK_F_BATCH_IO is not implemented by the model",
  16: "UBLK_F_INTEGRITY is not implemented by the model",
  17: "UBLK_F_SAFE_STOP_DEV is not implemented by the model",
  18: "UBLK_F_NO_AUTO_PART_SCAN is not implemented by the model",
  19: "UBLK_F_SHMEM_ZC is not implemented by the model",
  20: "UBLK_F_IO_DESC_SIZE is not implemented by the model",
};

/**
 * Flags a real driver adds to every device it creates, by the release that started to
 * (seen: 0x2000 on 6.16, 0x6000 on 6.17/6.18, 0x26000 on 7.2/7.3).
 */
export const DRIVER_ADDED_FLAGS: Readonly<Record<number, string>> = {
  13: "6.16",
  14: "6.17",
  17: "7.0",
};

/** Differences that are not a feature or flag bit. */
const OTHER: readonly KnownDifference[] = [
  {
    step: "recovery",
    field: "stateAfterRingsDie",
    kind: "model",
    since: "6.16",
    why: "with the queue rings closed but /dev/ublkcN still open, the device stays LIVE from " +
      "6.16 on (the driver quiesces when the char device closes); the model quiesces at once " +
      "as 6.12 does",
  },
];

/**
 * Parses the leading `major.minor[.patch]` of a kernel release or version string.
 *
 * @param release A string such as `7.3.4+deb13-cloud-amd64` or `6.16`.
 * @returns The numbers, e.g. `[7, 3, 4]`.
 */
export function parseVersion(release: string): number[] {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release);
  if (m === null) throw new RangeError(`Not a kernel version: ${release}`);
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

/**
 * Orders two kernel versions.
 *
 * @returns Negative when `a` is older than `b`, 0 when equal, positive when newer.
 */
export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a), y = parseVersion(b);
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}

function applies(k: KnownDifference, release: string): boolean {
  if (k.since !== undefined && compareVersions(release, k.since) < 0) return false;
  if (k.until !== undefined && compareVersions(release, k.until) >= 0) return false;
  return true;
}

/**
 * The known differences for one real kernel.
 *
 * @param release The real kernel's release (`Deno.osRelease()` in the VM, or a recording's).
 * @param fields The bit-split field names to explain (default `features` and `flags`).
 * @returns Entries for every bit difference that is explained on that kernel, plus the others.
 */
export function knownDifferencesFor(
  release: string,
  fields: readonly string[] = ["features", "flags"],
): KnownDifference[] {
  const out: KnownDifference[] = OTHER.filter((k) => applies(k, release));
  for (const field of fields) {
    for (const [b, since] of Object.entries(FEATURE_SINCE)) {
      const bit = Number(b);
      const lacks = MODEL_LACKS[bit];
      if (compareVersions(release, since) < 0) {
        // The kernel predates the bit: the model may have it (and grant it).
        if (lacks === undefined) {
          out.push({
            step: "*",
            field: `${field} bit ${bit}`,
            kind: "intended",
            onlyIn: "model",
            why: `bit ${bit} came in ${since}, after ${release}; the model implements it`,
          });
        }
      } else if (lacks !== undefined) {
        const added = DRIVER_ADDED_FLAGS[bit];
        const always = added !== undefined && compareVersions(release, added) >= 0;
        out.push({
          step: "*",
          field: `${field} bit ${bit}`,
          kind: "model",
          onlyIn: "real",
          why: field === "features"
            ? lacks
            : always
            ? `${lacks}; the real driver adds it to every device`
            : `${lacks}; the real driver grants it when asked`,
        });
      }
    }
    out.push({
      step: "*",
      field: `${field} bit 63`,
      kind: "intended",
      onlyIn: "model",
      why: "UBLK_F_RFC_FUSED_ZC (bit 63) is the model's own flag for the RFC fused zero copy; " +
        "no real driver has it",
    });
  }
  return out;
}
