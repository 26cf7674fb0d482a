// Sync and native backends give the same CQEs and bytes for fused programs: the slaves of the
// model's FUSED_CMD run on the real io_uring (addresses into the lent segments, vectored when
// they span several) when the model kernel's I/O backend is `@ublk-ts/native`'s.
//
// Skipped, with the reason printed, when `@ublk-ts/native` exports no I/O backend for the
// model or liburing cannot be loaded.
import assert from "node:assert/strict";
import type { IoBackend } from "@ublk-ts/ring";
import { MappedBuffer } from "@ublk-ts/rsrc";
import { liveFusedCommands } from "../fused_cmd.ts";
import { runFusedProgram } from "../_random_program.ts";
import { assertPair, type Cqe, fixture, flat, lendMaster, rwSlave } from "../_test_util.ts";

/** Releases a backend's own resources (its ring): `[Symbol.dispose]`, or `close()` with no file. */
function dispose(b: IoBackend): void {
  const d = b as unknown as { [Symbol.dispose]?: () => void; close: (f?: unknown) => void };
  if (d[Symbol.dispose]) d[Symbol.dispose]!();
  else if (d.close.length === 0) d.close();
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
        assert.equal(backend.name, "native");
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

Deno.test({
  name: "concurrent fused reads into disjoint sub-ranges match on the sync and native backends",
  ignore: native.make === null,
  async fn(): Promise<void> {
    const content = new Uint8Array(1 << 20).map((_, i) => (i * 2654435761) >>> 24);
    const run = async (backend?: IoBackend): Promise<{ cqes: Cqe[]; bytes: Uint8Array }> => {
      const f = fixture({ fileBytes: content, backend });
      try {
        // 3 segments, 16 slaves of 12 KiB each, several spanning two segments (vectored)
        const segs = [new Uint8Array(70000), new Uint8Array(60000), new Uint8Array(66608)];
        const buf = MappedBuffer.fromSegments(segs);
        f.dev.add(1, buf, "dest");
        for (let i = 0; i < 16; i++) {
          f.ring.fused(
            lendMaster(f.devFd, 1, BigInt(100 + i)),
            rwSlave(
              false,
              f.fileFd,
              i * 12288,
              12288,
              BigInt(((i * 7) % 16) * 65536),
              BigInt(200 + i),
            ),
          );
        }
        f.ring.submit();
        const cqes = await f.ring.reapN(32);
        for (let i = 0; i < 16; i++) assertPair(cqes, BigInt(100 + i), BigInt(200 + i), 12288, 0);
        assert.equal(buf.leases, 0);
        return { cqes, bytes: flat(buf) };
      } finally {
        f.close();
        assert.equal(liveFusedCommands(f.kernel), 0);
      }
    };
    const sync = await run();
    const backend = native.make!();
    try {
      const nat = await run(backend);
      const key = (c: Cqe): string => `${c.userData}:${c.res}:${c.flags}`;
      assert.deepEqual(nat.cqes.map(key).sort(), sync.cqes.map(key).sort());
      assert.deepEqual(nat.bytes, sync.bytes);
      for (let i = 0; i < 16; i++) {
        const src = ((i * 7) % 16) * 65536;
        assert.deepEqual(
          nat.bytes.subarray(i * 12288, (i + 1) * 12288),
          content.subarray(src, src + 12288),
        );
      }
    } finally {
      dispose(backend);
    }
  },
});
