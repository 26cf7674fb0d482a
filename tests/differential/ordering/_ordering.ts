/**
 * The issue #14 ordering corpus: program generation, the outcome format of
 * `ordering_runner.c`, the corpus file format, and a replay of one program through the model.
 *
 * A program is one line of space-separated tokens (the runner's input): `wO.L` writes L KiB at
 * O KiB (every byte `'A' + sqe index`), `rO.L` reads L KiB at O KiB, `F` fsync, `A` fallocate
 * 0..16 KiB mode 0, `N` nop; a suffix `!` sets IOSQE_ASYNC, `+` IOSQE_IO_LINK. Each run starts
 * from a fresh 4096-byte file of `'a'` and submits every SQE in one `io_uring_enter`.
 *
 * An outcome (the runner's output, and {@linkcode modelOutcome}'s) is
 * `CQES|READS|FILE`: CQES the CQEs in posting order as `index:res` joined by `,`; READS for each
 * read `index=` and the bytes it read run-length encoded (`c*n` joined by `.`, NUL as `0`),
 * joined by `;`; FILE the file's final contents the same way.
 *
 * @module
 */

import { IOSQE_ASYNC, IOSQE_IO_LINK, O_RDWR } from "@ublk-ts/uapi";
import { prepFallocate, prepFsync, prepNop, prepRead, prepWrite, Ring } from "@ublk-ts/ring";
import { ModelKernel, type PuntFile } from "@ublk-ts/model";
import { allocIoMemory } from "@ublk-ts/rsrc";

/** The file systems the corpus is recorded on. */
export type CorpusFs = "ext4" | "tmpfs";

/** One program of a corpus with what the kernel did over all runs. */
export interface CorpusProgram {
  /** The program line. */
  p: string;
  /** Every outcome seen with how many runs gave it, most frequent first. */
  o: [string, number][];
  /** One outcome in every run. */
  stable: boolean;
}

/** A recorded corpus file (corpus_ext4.json, corpus_tmpfs.json). */
export interface Corpus {
  /** What this file is. */
  about: string;
  /** The file system of the directory the runs used. */
  fs: CorpusFs;
  /** That directory. */
  dir: string;
  /** `uname -r` of the recording machine. */
  kernel: string;
  /** The generator's seed. */
  seed: number;
  /** Runs per program (pass-major; summed over merged recordings, gen_corpus.ts --merge). */
  passes: number;
  /** When it was recorded (ISO 8601; merged recordings: each, joined by ", "). */
  recorded: string;
  /** The programs. */
  programs: CorpusProgram[];
}

/** mulberry32: a small seeded PRNG returning floats in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * One random program of 2..6 requests whose ranges overlap: offsets and lengths are whole KiB
 * inside the first 12 KiB (the file starts at 4 KiB, so reads and writes cross its end), with
 * some IOSQE_ASYNC and some links (a trailing `+` leaves a dangling link head).
 *
 * @param rand The PRNG.
 * @returns The program line.
 */
export function generateProgram(rand: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const n = 2 + Math.floor(rand() * 5);
  const toks: string[] = [];
  for (let i = 0; i < n; i++) {
    const k = rand();
    let t: string;
    if (k < 0.38 || k >= 0.76) {
      const off = pick([0, 0, 2, 4, 4, 4, 6, 8]);
      const len = pick([1, 2, 4, 4, 4, 6, 8]);
      t = `${k < 0.38 ? "w" : "r"}${off}.${len}`;
    } else if (k < 0.5) t = "F";
    else if (k < 0.58) t = "A";
    else t = "N";
    if (rand() < 0.12) t += "!";
    if (rand() < 0.18) t += "+";
    toks.push(t);
  }
  return toks.join(" ");
}

/** A parsed program token. */
export interface Op {
  /** `w`, `r`, `F`, `A` or `N`. */
  op: string;
  /** Offset in bytes (reads and writes). */
  off: number;
  /** Length in bytes (reads and writes). */
  len: number;
  /** IOSQE_* flags. */
  flags: number;
}

/**
 * Parses a program line.
 *
 * @param line The program.
 * @returns Its requests.
 */
export function parseProgram(line: string): Op[] {
  return line.trim().split(/\s+/).map((t) => {
    const m = /^([wrFAN])(?:(\d+)\.(\d+))?([!+]*)$/.exec(t);
    if (!m) throw new Error(`Cannot parse ordering program token "${t}" in "${line}"`);
    let flags = 0;
    if (m[4]!.includes("!")) flags |= IOSQE_ASYNC;
    if (m[4]!.includes("+")) flags |= IOSQE_IO_LINK;
    return { op: m[1]!, off: Number(m[2] ?? 0) * 1024, len: Number(m[3] ?? 0) * 1024, flags };
  });
}

/**
 * Run-length encodes bytes as the runner does: `c*n` joined by `.`, NUL as `0`.
 *
 * @param b The bytes.
 * @returns The encoding ("" for none).
 */
export function rle(b: Uint8Array): string {
  const parts: string[] = [];
  for (let i = 0; i < b.length;) {
    let j = i;
    while (j < b.length && b[j] === b[i]) j++;
    parts.push(`${b[i] ? String.fromCharCode(b[i]!) : "0"}*${j - i}`);
    i = j;
  }
  return parts.join(".");
}

const PAGE = 4096;

/** A model kernel and ring reused across replays (like the runner's one ring). */
export class ModelReplayer {
  readonly #kernel = new ModelKernel();
  readonly #ring = Ring.create(this.#kernel, 64);
  readonly #bufs = Array.from({ length: 8 }, () => allocIoMemory(16384));
  readonly #path: string;

  /** @param dir Directory for the scratch file. */
  constructor(dir = "/dev/shm") {
    this.#path = Deno.makeTempFileSync({ dir, prefix: "h14_replay_" });
  }

  /**
   * Runs a program once through the model on a fresh 4096-byte file of 'a' whose punt class is
   * `fs`, all SQEs in one submit.
   *
   * @param line The program.
   * @param fs The punt class of the file.
   * @returns The outcome in the runner's format.
   */
  run(line: string, fs: PuntFile): string {
    const ops = parseProgram(line);
    if (ops.length > this.#bufs.length) throw new Error(`Program too long: "${line}"`);
    Deno.writeFileSync(this.#path, new Uint8Array(PAGE).fill(0x61));
    const k = this.#kernel;
    const fd = k.open(this.#path, O_RDWR);
    if (fd < 0) throw new Error(`Cannot open ${this.#path}: ${fd}`);
    try {
      k.fileOf(fd)!.punt = fs;
      const ring = this.#ring;
      ops.forEach((o, i) => {
        const buf = this.#bufs[i]!;
        buf.fill(o.op === "w" ? 0x41 + i : 0);
        const sqe = ring.getSqe();
        if (!sqe) throw new Error("SQ full");
        const common = { userData: BigInt(i), flags: o.flags };
        switch (o.op) {
          case "w":
            prepWrite(sqe, fd, buf.subarray(0, o.len), { ...common, offset: o.off });
            break;
          case "r":
            prepRead(sqe, fd, buf.subarray(0, o.len), { ...common, offset: o.off });
            break;
          case "F":
            prepFsync(sqe, fd, common);
            break;
          case "A":
            prepFallocate(sqe, fd, { ...common, offset: 0, len: 16384 });
            break;
          default:
            prepNop(sqe, common);
        }
      });
      ring.submit();
      const res: number[] = [];
      const cqes: string[] = [];
      for (;;) {
        const c = ring.copyCqe();
        if (c === null) break;
        res[Number(c.userData)] = c.res;
        cqes.push(`${c.userData}:${c.res}`);
      }
      if (cqes.length !== ops.length) {
        throw new Error(`"${line}": ${cqes.length} CQEs after submit, expected ${ops.length}`);
      }
      const reads = ops.flatMap((o, i) =>
        o.op === "r" ? [`${i}=${rle(this.#bufs[i]!.subarray(0, Math.max(0, res[i]!)))}`] : []
      );
      return `${cqes.join(",")}|${reads.join(";")}|${rle(Deno.readFileSync(this.#path))}`;
    } finally {
      k.closeFd(fd);
    }
  }

  /** Closes the ring and removes the scratch file. */
  close(): void {
    this.#ring.close();
    Deno.removeSync(this.#path);
  }
}

/**
 * Reads a corpus file next to this module.
 *
 * @param fs Which one.
 * @returns The corpus.
 */
export function loadCorpus(fs: CorpusFs): Corpus {
  return JSON.parse(Deno.readTextFileSync(corpusPath(fs)));
}

/**
 * The path of a corpus file.
 *
 * @param fs Which one.
 * @returns Its path.
 */
export function corpusPath(fs: CorpusFs): string {
  return new URL(`./corpus_${fs}.json`, import.meta.url).pathname;
}
