// Zero copy vs copy: reads of a tmpfs (/dev/shm) file into caller buffers on the model
// kernel's sync backend (see integration/native_bench.ts for the native backend).
//
// - copy: READ into a server buffer, then copy into the caller's buffer (ublk copy mode);
// - zero copy: FUSED_CMD whose slave READ goes straight into the caller's (lent) buffer.
//
//   deno bench -A packages/fused_cmd/fused_cmd_bench.ts                  # Deno.bench groups
//   deno run -A packages/fused_cmd/fused_cmd_bench.ts [seconds] [segs]   # GB/s + CPU s/GB table
import { harness, Setup, SIZES } from "./_bench_setup.ts";

if (import.meta.main) {
  await harness("sync", Number(Deno.args[0] ?? "2"), Number(Deno.args[1] ?? "1"));
} else {
  for (const [name, size] of SIZES) {
    const s = new Setup(size, 1, 1);
    globalThis.addEventListener("unload", () => s.close());
    Deno.bench({
      name: `copy read ${name}`,
      group: `read ${name}`,
      baseline: true,
      n: 2000,
      fn: () => s.copyRead(),
    });
    Deno.bench({
      name: `fused zero-copy read ${name}`,
      group: `read ${name}`,
      n: 2000,
      fn: () => s.zcRead(),
    });
  }
}
