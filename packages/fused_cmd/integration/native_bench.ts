// Zero copy vs copy on the model kernel with the native (real io_uring) I/O backend: reads of
// a tmpfs file into caller buffers, throughput and CPU-seconds per GB side by side.
//
//   deno run -A packages/fused_cmd/integration/native_bench.ts [seconds] [segs]
//
// Prints why and exits when `@ublk-ts/native` exports no model I/O backend.
import type { IoBackend } from "@ublk-ts/ring";
import { harness } from "../_bench_setup.ts";

const mod = await import("@ublk-ts/native") as Record<string, unknown>;
const entry = Object.entries(mod).find(([n, v]) => typeof v === "function" && /Backend$/.test(n));
if (entry === undefined) {
  console.log("native backend: @ublk-ts/native exports no I/O backend yet");
} else {
  const Ctor = entry[1] as new () => IoBackend;
  await harness(
    `native (${entry[0]})`,
    Number(Deno.args[0] ?? "2"),
    Number(Deno.args[1] ?? "1"),
    () => new Ctor(),
  );
}
