// Sync and native backends give the same CQEs and bytes for fused programs: the slaves of the
// model's FUSED_CMD run on the real io_uring (addresses into the lent segments, vectored when
// they span several) when the model kernel's I/O backend is `@ublk-ts/native`'s.
//
// Skipped, with the reason printed, when `@ublk-ts/native` exports no I/O backend for the
// model or liburing cannot be loaded.
import assert from "node:assert/strict";
import type { IoBackend } from "@ublk-ts/ring";
import { runFusedProgram } from "../_random_program.ts";

/** Releases a backend's own resources (its ring), whatever it calls that. */
function dispose(b: IoBackend): void {
  const d = b as unknown as { [Symbol.dispose]?: () => void; shutdown?: () => void };
  if (d[Symbol.dispose]) d[Symbol.dispose]!();
  else d.shutdown?.();
}

async function nativeBackend(): Promise<{ make: (() => IoBackend) | null; why: string }> {
  let mod: Record<string, unknown>;
  try {
    mod = await import("@ublk-ts/native") as Record<string, unknown>;
  } catch (e) {
    return { make: null, why: `@ublk-ts/native does not load: ${e}` };
  }
  for (const [name, v] of Object.entries(mod)) {
    if (typeof v !== "function" || !/Backend$/.test(name)) continue;
    const Ctor = v as new () => IoBackend;
    try {
      const b = new Ctor();
      if (typeof b.read === "function" && typeof b.readv === "function") {
        dispose(b);
        return { make: () => new Ctor(), why: "" };
      }
    } catch (e) {
      return { make: null, why: `${name} is unavailable: ${e}` };
    }
  }
  return { make: null, why: "@ublk-ts/native exports no I/O backend yet" };
}

const native = await nativeBackend();
if (native.make === null) console.log(`skipping native fused parity: ${native.why}`);

Deno.test({
  name: "fused programs give the same CQEs and bytes on the sync and native backends",
  ignore: native.make === null,
  async fn(): Promise<void> {
    for (let i = 0; i < 200; i++) {
      const seed = 0x5eed0000 + i;
      try {
        const sync = await runFusedProgram(seed, { serial: true });
        const backend = native.make!();
        try {
          const nat = await runFusedProgram(seed, { serial: true, backend });
          assert.deepEqual(nat.cqes, sync.cqes, "CQEs");
          assert.deepEqual(nat.buf, sync.buf, "buffer bytes");
          assert.deepEqual(nat.file, sync.file, "file bytes");
        } finally {
          dispose(backend);
        }
      } catch (e) {
        console.error(`native parity failed: replay with seed ${seed}`);
        throw e;
      }
    }
  },
});
