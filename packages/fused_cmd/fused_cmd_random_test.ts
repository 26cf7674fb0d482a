// 1,000 seeded random fused programs against a plain copy-based reference: same CQEs, same
// buffer bytes, same file bytes, and every lease returned (see _random_program.ts). Set
// FUSED_SEED to replay one program (the seed is printed on failure), FUSED_RANDOM=1 to run
// 1,000 fresh seeds instead of the fixed ones.
import { runFusedProgram } from "./_random_program.ts";

Deno.test("1,000 random fused programs match a copy-based reference", async () => {
  const fixed = Deno.env.get("FUSED_SEED");
  // A fixed base keeps CI deterministic; FUSED_RANDOM=1 explores fresh seeds.
  const base = fixed !== undefined
    ? Number(fixed)
    : Deno.env.get("FUSED_RANDOM")
    ? (Date.now() ^ (Math.random() * 2 ** 31)) >>> 0
    : 0x20230301;
  const runs = fixed !== undefined ? 1 : 1000;
  for (let i = 0; i < runs; i++) {
    const seed = (base + i) >>> 0;
    try {
      await runFusedProgram(seed);
    } catch (e) {
      console.error(`fused program failed: replay with FUSED_SEED=${seed}`);
      throw e;
    }
  }
});
