// A seeded fuzzer that reaches the fused command's SUCCESS path (issue 15, item 8): the SQE
// fuzzer of the differential suite never produced a FUSED_CMD that succeeded. Two parts:
//
// 1. Well-formed fused pairs with random faults (bad direction, out-of-range offset/len,
//    unknown key, deferred lends, CQE_SKIP_SUCCESS) checked byte for byte against a copy-based
//    reference (runFusedProgram), counting the pairs whose slave moved data.
// 2. Random programs of fused pairs and NOPs with random IO_LINK/IO_HARDLINK chains, masters
//    whose buffer disappears before the lend (a dead master), and a ring that exits with pairs
//    still in flight. Invariants: no exception escapes; each consumed SQE gets exactly one CQE
//    unless it asked to skip a success; a slave's CQE comes before its master's; no lease
//    outlives its request; no fused command is left live; and a WRITE slave never changes the
//    lent pages (the bytes stay what the reference says).
//
// FUZZ_SEED=<n> replays one seed (printed on failure); FUZZ_RUNS sets the count.
import assert from "node:assert/strict";
import { IOSQE_CQE_SKIP_SUCCESS, IOSQE_IO_HARDLINK, IOSQE_IO_LINK } from "@ublk-ts/uapi";
import { liveFusedCommands } from "./fused_cmd.ts";
import { type Cqe, fixture, flat, lendMaster, rwSlave, segBuffer } from "./_test_util.ts";
import { rng, runFusedProgram } from "./_random_program.ts";

const fixed = Deno.env.get("FUZZ_SEED");
const BASE = fixed !== undefined ? Number(fixed) : 0x15f0_2026;
const RUNS = fixed !== undefined ? 1 : Number(Deno.env.get("FUZZ_RUNS") ?? 300);

Deno.test(`fused fuzz: ${RUNS} reference programs reach the success path`, async () => {
  let successes = 0, failures = 0;
  for (let i = 0; i < RUNS; i++) {
    const seed = (BASE + i) >>> 0;
    try {
      const out = await runFusedProgram(seed);
      // Slave CQEs carry even user_data (runFusedProgram numbers master 2i+1, slave 2i+2).
      for (const c of out.cqes) {
        if (c.userData % 2n === 0n) {
          if (c.res > 0) successes++;
          else if (c.res < 0) failures++;
        }
      }
    } catch (e) {
      console.error(`fused fuzz failed: replay with FUZZ_SEED=${seed}`);
      throw e;
    }
  }
  console.log(
    `fused fuzz: ${successes} slaves moved data, ${failures} failed as the reference said`,
  );
  assert.ok(successes > 0, "no fused command succeeded");
  assert.ok(failures > 0, "no fault was injected");
});

interface Planned {
  kind: "pair" | "nop";
  master: bigint;
  slave: bigint;
  skip: boolean;
  write: boolean;
}

async function chainProgram(seed: number): Promise<{ ok: number; cancelled: number }> {
  const r = rng(seed);
  const int = (n: number): number => Math.floor(r() * n);
  const content = new Uint8Array(16384).map(() => int(256));
  const deferLend = r() < 0.5;
  const f = fixture({ device: { deferLend }, fileBytes: content, entries: 64 });
  const first = 101 + int(3000);
  const { buf } = segBuffer([first, 1 + int(3000), 4096], 0x5a, int(100));
  const before = flat(buf);
  const dirs = ["any", "dest", "source"] as const;
  f.dev.add(1, buf, dirs[int(dirs.length)]!);
  const plan: Planned[] = [];
  let ud = 1n;
  const n = 2 + int(12);
  const onlyWrites = r() < 0.5;
  for (let i = 0; i < n; i++) {
    const link = r() < 0.4 ? (r() < 0.5 ? IOSQE_IO_LINK : IOSQE_IO_HARDLINK) : 0;
    const skip = r() < 0.2;
    if (r() < 0.25) {
      const u = ud++;
      f.ring.nop(u, link | (skip ? IOSQE_CQE_SKIP_SUCCESS : 0));
      plan.push({ kind: "nop", master: u, slave: -1n, skip, write: false });
      continue;
    }
    const write = onlyWrites || r() < 0.5;
    const len = int(buf.len + 64);
    const addr = r() < 0.8 ? int(Math.max(1, buf.len - len + 1)) : buf.len + int(64);
    const key = r() < 0.1 ? 9 : 1; // 9: no such buffer (the master fails)
    const m = ud++, s = ud++;
    f.ring.fused(
      lendMaster(f.devFd, key, m),
      rwSlave(
        write,
        f.fileFd,
        addr,
        len,
        BigInt(int(content.length)),
        s,
        link | (skip ? IOSQE_CQE_SKIP_SUCCESS : 0),
      ),
    );
    plan.push({ kind: "pair", master: m, slave: s, skip, write });
  }
  // A dead master: the buffer is withdrawn before a deferred lend runs.
  const withdraw = deferLend && r() < 0.3;
  const exitEarly = r() < 0.25;
  const got: Cqe[] = [];
  try {
    const submitted = f.ring.submit();
    assert.ok(submitted > 0 && submitted <= plan.length, `submitted ${submitted}`);
    if (withdraw) f.dev.remove(1);
    if (!exitEarly) {
      for (let spins = 0; liveFusedCommands(f.kernel) > 0; spins++) {
        if (spins > 5000) throw new Error("fused commands did not finish");
        await new Promise((res) => setTimeout(res, 0));
      }
      got.push(...f.ring.reap());
    }
  } finally {
    // Ring exit, possibly with pairs still in flight.
    f.close();
  }
  assert.equal(liveFusedCommands(f.kernel), 0, "a fused command outlived the ring");
  assert.equal(buf.leases, 0, "a lease outlived its request");
  // WRITE slaves only read the lent pages (READ slaves may fill them).
  if (onlyWrites) assert.deepEqual(flat(buf), before, "a WRITE slave changed the lent pages");
  let ok = 0, cancelled = 0;
  if (!exitEarly) {
    const count = new Map<bigint, number>();
    for (const c of got) count.set(c.userData, (count.get(c.userData) ?? 0) + 1);
    for (const [u, k] of count) assert.equal(k, 1, `user_data ${u} got ${k} CQEs`);
    const res = new Map(got.map((c) => [c.userData, c.res]));
    const at = new Map(got.map((c, i) => [c.userData, i]));
    for (const p of plan) {
      if (p.kind === "nop") {
        if (!p.skip) assert.ok(res.has(p.master), `NOP ${p.master} has no CQE`);
        continue;
      }
      // The master always completes unless it was skipped on success; a failure always posts.
      const mr = res.get(p.master), sr = res.get(p.slave);
      if (sr === undefined && !p.skip) {
        // No slave CQE: the master was refused (or cancelled) before the slave was issued.
        assert.ok(mr !== undefined && mr < 0, `pair ${p.master}: no slave CQE and master ${mr}`);
      }
      if (sr !== undefined && mr !== undefined) {
        assert.ok(at.get(p.slave)! < at.get(p.master)!, `pair ${p.master}: slave after master`);
      }
      if (sr !== undefined && sr > 0) ok++;
      if (mr === -125 || sr === -125) cancelled++;
    }
  }
  return { ok, cancelled };
}

Deno.test(`fused fuzz: ${RUNS} linked programs with dead masters and ring exits keep the invariants`, async () => {
  let ok = 0, cancelled = 0;
  for (let i = 0; i < RUNS; i++) {
    const seed = (BASE + 7919 * i) >>> 0;
    try {
      const o = await chainProgram(seed);
      ok += o.ok;
      cancelled += o.cancelled;
    } catch (e) {
      console.error(`fused chain fuzz failed: replay with FUZZ_SEED=${seed}`);
      throw e;
    }
  }
  console.log(`fused chain fuzz: ${ok} slaves moved data, ${cancelled} cancelled by a link`);
  assert.ok(ok > 0, "no linked fused command succeeded");
  assert.ok(cancelled > 0, "no chain was cancelled");
});
