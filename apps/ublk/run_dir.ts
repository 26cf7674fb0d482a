/**
 * The run directory of the `ublk` daemons (`/run/ublk-ts/` by default, `UBLK_RUN_DIR` to move
 * it; created with mode 0700): one JSON record per device (`ublkbN.json`, written atomically:
 * temp file + rename), the daemon's control socket (`ublkbN.sock`), the model device's NBD
 * export socket (`ublkbN.nbd.sock`) and its log (`ublkbN.log`). A record whose daemon is gone
 * (no such pid, or a pid reused by another process) is stale: `list` shows it as `DEAD`.
 *
 * @module
 */

/** The default run directory. */
export const DEFAULT_RUN_DIR = "/run/ublk-ts";

/** Which kernel a device lives in. */
export type KernelKind = "model" | "real";

/** The target part of a record: its type and options. */
export interface TargetRecord {
  /** `null`, `loop` or `nbd`. */
  type: string;
  /** Target options (file, read_only, host, port, unix…). */
  [option: string]: unknown;
}

/** A device record (`ublkbN.json`), as `list --json` prints it (plus live fields). */
export interface DeviceRecord {
  /** N of `/dev/ublkbN`. */
  dev_id: number;
  /** The daemon's pid. */
  pid: number;
  /** The daemon's start time (field 22 of `/proc/PID/stat`), against pid reuse. */
  pid_start: string;
  /** Model or real kernel. */
  kernel: KernelKind;
  /** The target and its options. */
  target: TargetRecord;
  /** Hardware queues (as negotiated). */
  queues: number;
  /** Tags per queue. */
  depth: number;
  /** Size in bytes. */
  size: number;
  /** UBLK_F_* flag names of the device. */
  flags: string[];
  /** The state when the record was written. */
  state: string;
  /** The daemon's control socket. */
  control: string;
  /** Model devices: the NBD URI of the export. */
  nbd?: string;
  /** The block device node (real devices), or the model's node name. */
  path: string;
  /** The `add` arguments (what `recover` restarts the target with). */
  args: string[];
  /** When the daemon wrote the record (ISO 8601). */
  updated: string;
}

/**
 * The run directory: `UBLK_RUN_DIR` or `/run/ublk-ts`.
 *
 * @returns Its path.
 */
export function runDir(): string {
  return Deno.env.get("UBLK_RUN_DIR") || DEFAULT_RUN_DIR;
}

/**
 * Creates the run directory with mode 0700 if needed (and tightens an existing one we own).
 *
 * @param dir The directory.
 * @returns The directory.
 */
export function ensureRunDir(dir: string = runDir()): string {
  Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = Deno.statSync(dir);
  if (!st.isDirectory) throw new Error(`Cannot use run directory ${dir}: not a directory`);
  if (st.mode !== null && (st.mode & 0o077) !== 0 && st.uid === Deno.uid()) {
    Deno.chmodSync(dir, 0o700);
  }
  return dir;
}

/** The record file of device `id`. */
export function recordPath(dir: string, id: number): string {
  return `${dir}/ublkb${id}.json`;
}

/** The control socket of device `id`. */
export function controlPath(dir: string, id: number): string {
  return `${dir}/ublkb${id}.sock`;
}

/** The NBD export socket of model device `id`. */
export function nbdSocketPath(dir: string, id: number): string {
  return `${dir}/ublkb${id}.nbd.sock`;
}

/** The daemon log of device `id`. */
export function logPath(dir: string, id: number): string {
  return `${dir}/ublkb${id}.log`;
}

/**
 * Writes a record atomically: a temp file in the same directory, then `rename(2)`.
 *
 * @param dir The run directory.
 * @param rec The record.
 */
export function writeRecord(dir: string, rec: DeviceRecord): void {
  const final = recordPath(dir, rec.dev_id);
  const tmp = `${final}.${Deno.pid}.tmp`;
  Deno.writeTextFileSync(tmp, JSON.stringify(rec, null, 2) + "\n", { mode: 0o600 });
  Deno.renameSync(tmp, final);
}

/**
 * Reads one record.
 *
 * @returns The record, or undefined when there is none (or it is unreadable).
 */
export function readRecord(dir: string, id: number): DeviceRecord | undefined {
  try {
    return JSON.parse(Deno.readTextFileSync(recordPath(dir, id))) as DeviceRecord;
  } catch {
    return undefined;
  }
}

/**
 * Every record of the run directory, by device id.
 *
 * @param dir The run directory.
 * @returns The records, lowest id first.
 */
export function readRecords(dir: string = runDir()): DeviceRecord[] {
  const out: DeviceRecord[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch {
    return out;
  }
  for (const e of entries) {
    const m = /^ublkb(\d+)\.json$/.exec(e.name);
    if (!m) continue;
    const r = readRecord(dir, Number(m[1]));
    if (r) out.push(r);
  }
  return out.sort((a, b) => a.dev_id - b.dev_id);
}

/**
 * Removes a device's record, sockets and temp files (not its log).
 *
 * @param dir The run directory.
 * @param id The device id.
 */
export function removeRecord(dir: string, id: number): void {
  for (const p of [recordPath(dir, id), controlPath(dir, id), nbdSocketPath(dir, id)]) {
    try {
      Deno.removeSync(p);
    } catch {
      // already gone
    }
  }
}

/**
 * The start time of a process (field 22 of `/proc/PID/stat`), or undefined when it is gone.
 *
 * @param pid The pid.
 * @returns Its start time in clock ticks since boot, as text.
 */
export function processStart(pid: number): string | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // The command name (field 2) is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] === "Z" || fields[0] === "X") return undefined; // zombie: gone
    return fields[19];
  } catch {
    return undefined;
  }
}

/**
 * Whether a record's daemon is still running (same pid, same start time).
 *
 * @param rec The record.
 * @returns True when it runs.
 */
export function daemonAlive(rec: DeviceRecord): boolean {
  return processStart(rec.pid) === rec.pid_start;
}

/**
 * Runs `body` holding the run directory's lock (`flock` on `.lock`): device id choice and the
 * first record write of one daemon never interleave with another's.
 *
 * @param dir The run directory.
 * @param body The critical section.
 * @returns What `body` returns.
 */
export async function withRunDirLock<T>(dir: string, body: () => Promise<T>): Promise<T> {
  const f = await Deno.open(`${dir}/.lock`, { create: true, write: true, mode: 0o600 });
  try {
    await f.lock(true);
    return await body();
  } finally {
    f.close();
  }
}
