/**
 * Replays the recorded ordering corpora through the model and classifies the differences
 * (used by replay.ts and replay_test.ts).
 *
 * @module
 */

import { IOSQE_ASYNC, IOSQE_IO_LINK } from "@ublk-ts/uapi";
import {
  type Corpus,
  type CorpusFs,
  loadCorpus,
  ModelReplayer,
  parseProgram,
} from "./_ordering.ts";

/** One stable program the model replays to another outcome. */
export interface Mismatch {
  /** The program. */
  p: string;
  /** The kernel's (only) outcome. */
  kernel: string;
  /** The model's. */
  model: string;
  /** What differs ({@linkcode classify}). */
  pattern: string;
}

/** The replay of one corpus. */
export interface ReplayCounts {
  /** File system. */
  fs: CorpusFs;
  /** Programs in the corpus. */
  programs: number;
  /** Kernel runs recorded (programs × passes). */
  runs: number;
  /** Programs with one outcome over all runs. */
  stable: number;
  /** Stable programs the model replays to that outcome. */
  matched: number;
  /** Racy programs. */
  racy: number;
  /** Racy programs whose model outcome is one the kernel gave. */
  racySeen: number;
  /** The stable programs the model gets wrong. */
  mismatches: Mismatch[];
}

/**
 * The io-wq class of each request of a program: `link member`, `dangling head` (a link never
 * terminated), `IOSQE_ASYNC`, else by op: `inline NOP`, `read` (inline on ext4, punted on
 * tmpfs), `write` (punted after the inline attempt: hashed), `fsync`, `fallocate`.
 */
function classes(p: string, fs: CorpusFs): string[] {
  const ops = parseProgram(p);
  let chainStart = -1;
  return ops.map((o, i) => {
    const member = i > 0 && (ops[i - 1]!.flags & IOSQE_IO_LINK) !== 0;
    if (!member) chainStart = i;
    let end = i;
    while (end < ops.length && (ops[end]!.flags & IOSQE_IO_LINK)) end++;
    if (member) return "link member";
    if (end >= ops.length && chainStart === i) return "dangling head";
    if (o.flags & IOSQE_ASYNC) return "IOSQE_ASYNC";
    return { N: "inline NOP", r: `${fs === "ext4" ? "inline" : "punted"} read`, w: "write" }[
      o.op as "N" | "r" | "w"
    ] ?? (o.op === "F" ? "fsync" : "fallocate");
  });
}

/**
 * A short name for how the model's outcome differs from the kernel's: which part differs (CQE
 * order, a result, what a read saw, the file), and for an order difference the io-wq classes
 * of the first two requests whose CQEs the model posts the other way round.
 *
 * @param fs The file system.
 * @param p The program.
 * @param kernel The kernel's outcome.
 * @param model The model's.
 * @returns The pattern.
 */
export function classify(fs: CorpusFs, p: string, kernel: string, model: string): string {
  const [kc, kr, kf] = kernel.split("|");
  const [mc, mr, mf] = model.split("|");
  const parts: string[] = [];
  const kcq = kc!.split(",").map((s) => s.split(":"));
  const mcq = mc!.split(",").map((s) => s.split(":"));
  const kres = new Map(kcq.map(([i, r]) => [i!, r!]));
  const mres = new Map(mcq.map(([i, r]) => [i!, r!]));
  const kinds = classes(p, fs);
  if ([...kres].some(([i, r]) => mres.get(i) !== r)) parts.push("res");
  const ko = kcq.map(([i]) => Number(i));
  const mo = mcq.map(([i]) => Number(i));
  const at = ko.findIndex((x, j) => x !== mo[j]);
  if (at >= 0) {
    const early = mo[at]!;
    const late = ko[at]!;
    parts.push(`order: model ${kinds[early]} before ${kinds[late]}`);
  }
  if (kr !== mr) parts.push("read data");
  if (kf !== mf) parts.push("file");
  return parts.join("; ") || "same";
}

/**
 * Replays one corpus through a model replayer.
 *
 * @param replayer The replayer.
 * @param corpus The corpus.
 * @returns Counts and the stable mismatches.
 */
export function replayCorpus(replayer: ModelReplayer, corpus: Corpus): ReplayCounts {
  const out: ReplayCounts = {
    fs: corpus.fs,
    programs: corpus.programs.length,
    runs: corpus.programs.reduce((n, p) => n + p.o.reduce((m, [, c]) => m + c, 0), 0),
    stable: 0,
    matched: 0,
    racy: 0,
    racySeen: 0,
    mismatches: [],
  };
  for (const prog of corpus.programs) {
    const got = replayer.run(prog.p, corpus.fs);
    if (!prog.stable) {
      out.racy++;
      if (prog.o.some(([o]) => o === got)) out.racySeen++;
      continue;
    }
    out.stable++;
    const want = prog.o[0]![0];
    if (got === want) out.matched++;
    else {
      out.mismatches.push({
        p: prog.p,
        kernel: want,
        model: got,
        pattern: classify(corpus.fs, prog.p, want, got),
      });
    }
  }
  return out;
}

/**
 * Replays both checked-in corpora.
 *
 * @returns The counts per file system.
 */
export function replayAll(): ReplayCounts[] {
  const replayer = new ModelReplayer();
  try {
    return (["ext4", "tmpfs"] as const).map((fs) => replayCorpus(replayer, loadCorpus(fs)));
  } finally {
    replayer.close();
  }
}

/**
 * One line of counts.
 *
 * @param c The counts.
 * @returns `fs: programs, runs, stable, matched, …`.
 */
export function formatCounts(c: ReplayCounts): string {
  return `${c.fs}: ${c.programs} programs, ${c.runs} runs, ${c.stable} stable, ${c.matched} ` +
    `matched (${c.stable - c.matched} mismatches); ${c.racy} racy, model outcome among the ` +
    `kernel's ${c.racySeen}`;
}

/**
 * The mismatches grouped by pattern, most frequent first, with up to `examples` programs each.
 *
 * @param c The counts.
 * @param examples Programs shown per pattern.
 * @returns Lines.
 */
export function formatMismatches(c: ReplayCounts, examples = 3): string[] {
  const groups = new Map<string, Mismatch[]>();
  for (const m of c.mismatches) groups.set(m.pattern, [...(groups.get(m.pattern) ?? []), m]);
  const lines: string[] = [];
  for (const [pattern, ms] of [...groups].sort((a, b) => b[1].length - a[1].length)) {
    lines.push(`  ${ms.length} × ${pattern}`);
    for (const m of ms.slice(0, examples)) {
      lines.push(`      ${m.p}`, `        kernel ${m.kernel}`, `        model  ${m.model}`);
    }
  }
  return lines;
}
