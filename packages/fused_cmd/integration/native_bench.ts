// Zero copy vs copy on the model kernel with the native (real io_uring) I/O backend: reads of
// a tmpfs file into caller buffers.
//
//   deno run -A packages/fused_cmd/integration/native_bench.ts [seconds] [segs]  # GB/s, CPU s/GB
//   deno bench -A packages/fused_cmd/integration/native_bench.ts                 # Deno.bench groups
//
// Prints why and does nothing when `@ublk-ts/native` exports no model I/O backend.
import type { IoBackend } from "@ublk-ts/ring";
import { harness, Setup, SIZES } from "../_bench_setup.ts";

const mod = await import("@ublk-ts/native") as Record<string, unknown>;
const entry = Object.entries(mod).find(([n, v]) => typeof v === "function" && /Backend$/.test(n));
const Ctor = entry?.[1] as (new () => IoBackend) | undefined;

if (Ctor === undefined) {
  console.log("native backend: @ublk-ts/native exports no I/O backend yet");
} else if (import.meta.main) {
  await harness(
    `native (${entry![0]})`,
    Number(Deno.args[0] ?? "2"),
    Number(Deno.args[1] ?? "1"),
    () => new Ctor(),
  );
} else {
  for (const [name, size] of SIZES) {
    const s = new Setup(size, 1, 1, new Ctor());
    globalThis.addEventListener("unload", () => s.close());
    Deno.bench({
      name: `native copy read ${name}`,
      group: `native read ${name}`,
      baseline: true,
      n: 1000,
      fn: async (): Promise<void> => await s.copyReadAsync(),
    });
    Deno.bench({
      name: `native fused zero-copy read ${name}`,
      group: `native read ${name}`,
      n: 1000,
      fn: async (): Promise<void> => await s.zcReadAsync(),
    });
  }
}
