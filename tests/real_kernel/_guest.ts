/**
 * Helpers of the guest-side probes that drive the `ublk` CLI and real clients as separate
 * processes (`cli_probe.ts`, `matrix_probe.ts`): running a command, the CLI with a run
 * directory of its own, `list --json`, and small waits on paths and processes.
 *
 * @module
 */

/** What a finished process printed. */
export interface Out {
  code: number;
  out: string;
  err: string;
}

/** One element of `ublk list --json` (the fields the probes read). */
export interface Listed {
  dev_id: number;
  state: string;
  kernel: string;
  pid: number;
  size: number;
  alive: boolean;
  path: string;
}

const dec = new TextDecoder();

/** Runs `cmd` to its end, stdin closed, with `UBLK_RUN_DIR` set when given. */
export async function run(cmd: string, args: string[], runDir?: string): Promise<Out> {
  const o = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    ...(runDir !== undefined ? { env: { UBLK_RUN_DIR: runDir } } : {}),
  }).output();
  return { code: o.code, out: dec.decode(o.stdout).trim(), err: dec.decode(o.stderr).trim() };
}

/** Starts `cmd` and leaves it running (fio under a kill); `done` has its output. */
export function spawn(cmd: string, args: string[]): { done: Promise<Out>; pid: number } {
  const child = new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const done = child.output().then((o) => ({
    code: o.code,
    out: dec.decode(o.stdout).trim(),
    err: dec.decode(o.stderr).trim(),
  }));
  return { done, pid: child.pid };
}

/** The bundled `ublk` CLI with a run directory of its own, and its `list --json`. */
export function guestCli(bundle: string, runDir: string): {
  ublk: (...args: string[]) => Promise<Out>;
  list: () => Promise<Listed[]>;
} {
  const ublk = (...args: string[]): Promise<Out> =>
    run(Deno.execPath(), ["run", "-A", "--no-prompt", bundle, ...args], runDir);
  const list = async (): Promise<Listed[]> => {
    const r = await ublk("list", "--json");
    if (r.code !== 0) throw new Error(`ublk list --json: exit ${r.code}: ${r.err}`);
    return JSON.parse(r.out) as Listed[];
  };
  return { ublk, list };
}

/** Whether `path` exists. */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Whether process `pid` runs (not a zombie). */
export function alive(pid: number): boolean {
  try {
    return !/\) [ZX] /.test(Deno.readTextFileSync(`/proc/${pid}/stat`));
  } catch {
    return false;
  }
}

/** Polls `what` every 50 ms; false after `ms`. */
export async function waitFor(
  what: () => boolean | Promise<boolean>,
  ms: number,
): Promise<boolean> {
  const end = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/** Resolves with the promise's value, or `undefined` after `ms`. */
export function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms))),
  ]);
}

/** The first index where `a` and `b` differ, or -1 when equal. */
export function firstDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}
