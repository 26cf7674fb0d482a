/**
 * Compares two {@linkcode Outcome}s of one program: results and contents exactly, CQEs as a
 * multiset, and CQE order only where the program defines it (inside a link chain, and around
 * an IO_DRAIN request).
 *
 * @module
 */

import {
  IORING_OP_LINK_TIMEOUT,
  IORING_OP_NOP,
  IOSQE_CQE_SKIP_SUCCESS,
  IOSQE_IO_DRAIN,
  IOSQE_IO_HARDLINK,
  IOSQE_IO_LINK,
} from "@ublk-ts/uapi";
import type { Cqe, Outcome } from "./_runner.ts";
import type { Program, SqeSpec } from "./_program.ts";

/** One difference between the two kernels. */
export interface Difference {
  /** What differs: "setup", "register", "submit", "cqes", "order", "file", "buf", "sqLeft", "timeout". */
  kind: string;
  /** Details, naming the values on both sides. */
  detail: string;
}

function cqeKey(c: Cqe): string {
  return `ud=${c.ud} res=${c.res} flags=${c.flags}`;
}

/**
 * Whether the SQE fails in io_init_req (as the generator and corpus make them): IO_DRAIN once
 * CQE_SKIP_SUCCESS was used (-EOPNOTSUPP), an opcode that does not exist (≥ 100: the
 * generator's are 200..249), ioprio on NOP, a personality, unknown SQE flags (-EINVAL).
 */
function failsInit(s: SqeSpec, skipSeen: boolean): boolean {
  const flags = s.flags ?? 0;
  return ((flags & IOSQE_IO_DRAIN) !== 0 && skipSeen) || s.op >= 100 ||
    (s.op === IORING_OP_NOP && (s.ioprio ?? 0) !== 0) || (s.personality ?? 0) !== 0 ||
    (flags & ~0x7f) !== 0;
}

/** Pairs of user_data whose CQE order the program defines. */
export function orderedPairs(program: Program): [bigint, bigint][] {
  const pairs: [bigint, bigint][] = [];
  const seen: bigint[] = [];
  // Once CQE_SKIP_SUCCESS was used, IO_DRAIN fails at once (-EOPNOTSUPP) and orders nothing.
  let skipSeen = false;
  const drains = new Set<bigint>();
  // Requests of a chain with a member that fails init complete at once (io_queue_sqe_fallback
  // fails the head, the rest fails as task work), even while a drain is pending: their order
  // against the drain request is a race in the kernel (it punts the drain to io-wq).
  const initFailed = new Set<bigint>();
  for (const batch of program.batches) {
    let chain: bigint[] = [];
    let members: bigint[] = [];
    let chainFails = false;
    const endChain = (): void => {
      for (let i = 0; i < chain.length; i++) {
        for (let j = i + 1; j < chain.length; j++) pairs.push([chain[i]!, chain[j]!]);
      }
      if (chainFails) { for (const u of members) initFailed.add(u); }
      chain = [];
      members = [];
      chainFails = false;
    };
    for (const s of batch.sqes) {
      const ud = BigInt(s.ud);
      const flags = s.flags ?? 0;
      // The kernel checks the request's own CQE_SKIP_SUCCESS before its IO_DRAIN.
      if (flags & IOSQE_CQE_SKIP_SUCCESS) skipSeen = true;
      if ((flags & IOSQE_IO_DRAIN) && !skipSeen) {
        drains.add(ud);
        for (const e of seen) pairs.push([e, ud]);
      }
      if (failsInit(s, skipSeen)) chainFails = true;
      if (s.op !== IORING_OP_LINK_TIMEOUT) chain.push(ud);
      members.push(ud);
      if (!(flags & (IOSQE_IO_LINK | IOSQE_IO_HARDLINK))) endChain();
      seen.push(ud);
    }
    endChain();
  }
  // After a drain request, later requests start only once it completed.
  const all = program.batches.flatMap((b) => b.sqes);
  all.forEach((s, i) => {
    if (drains.has(BigInt(s.ud))) {
      for (const t of all.slice(i + 1)) {
        if (!initFailed.has(BigInt(t.ud))) pairs.push([BigInt(s.ud), BigInt(t.ud)]);
      }
    }
  });
  return pairs;
}

function firstIndex(cqes: Cqe[]): Map<bigint, number> {
  const m = new Map<bigint, number>();
  cqes.forEach((c, i) => {
    if (!m.has(c.ud)) m.set(c.ud, i);
  });
  return m;
}

function bytesDiff(a: Uint8Array, b: Uint8Array): string | undefined {
  if (a.length !== b.length) return `size ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return `byte ${i}: ${a[i]} vs ${b[i]}`;
  }
  return undefined;
}

/** The differences between `a` (native) and `b` (model). */
export function compareOutcomes(program: Program, a: Outcome, b: Outcome): Difference[] {
  const d: Difference[] = [];
  if (a.setupError !== b.setupError) {
    d.push({ kind: "setup", detail: `${a.setupError ?? "ok"} vs ${b.setupError ?? "ok"}` });
    return d;
  }
  if (a.registers.join() !== b.registers.join()) {
    d.push({ kind: "register", detail: `[${a.registers}] vs [${b.registers}]` });
  }
  if (a.submits.join() !== b.submits.join()) {
    d.push({ kind: "submit", detail: `[${a.submits}] vs [${b.submits}]` });
  }
  if (a.sqLeft !== b.sqLeft) d.push({ kind: "sqLeft", detail: `${a.sqLeft} vs ${b.sqLeft}` });
  if (a.timedOut !== b.timedOut) {
    d.push({ kind: "timeout", detail: `${a.timedOut} vs ${b.timedOut}` });
  }
  const ka = a.cqes.map(cqeKey).sort();
  const kb = b.cqes.map(cqeKey).sort();
  if (ka.join("|") !== kb.join("|")) {
    const onlyA = ka.filter((k) => !kb.includes(k));
    const onlyB = kb.filter((k) => !ka.includes(k));
    d.push({
      kind: "cqes",
      detail: `native only [${onlyA.join("; ")}] model only [${onlyB.join("; ")}] ` +
        `(counts ${ka.length} vs ${kb.length})`,
    });
  }
  const ia = firstIndex(a.cqes);
  const ib = firstIndex(b.cqes);
  // A drain request that failed (at init: bad opcode, drain disabled) orders nothing.
  const failed = new Set(a.cqes.filter((c) => c.res < 0).map((c) => c.ud));
  const drainUds = new Set(
    program.batches.flatMap((bt) => bt.sqes).filter((s) => (s.flags ?? 0) & IOSQE_IO_DRAIN)
      .map((s) => BigInt(s.ud)),
  );
  for (const [x, y] of orderedPairs(program)) {
    if ((drainUds.has(x) && failed.has(x)) || (drainUds.has(y) && failed.has(y))) continue;
    const ax = ia.get(x), ay = ia.get(y), bx = ib.get(x), by = ib.get(y);
    if (ax === undefined || ay === undefined || bx === undefined || by === undefined) continue;
    if ((ax < ay) !== (bx < by)) {
      d.push({ kind: "order", detail: `ud ${x} before ${y}: native ${ax < ay}, model ${bx < by}` });
    }
  }
  a.files.forEach((f, i) => {
    const m = bytesDiff(f, b.files[i] ?? new Uint8Array(0));
    if (m) d.push({ kind: "file", detail: `file ${i}: ${m}` });
  });
  a.bufs.forEach((f, i) => {
    const m = bytesDiff(f, b.bufs[i] ?? new Uint8Array(0));
    if (m) d.push({ kind: "buf", detail: `buf ${i}: ${m}` });
  });
  return d;
}

/** One line per difference. */
export function formatDifferences(d: Difference[]): string {
  return d.map((x) => `  ${x.kind}: ${x.detail}`).join("\n");
}
