/**
 * `ublk add/list/del/recover` over the run directory and the daemons: `add` re-spawns the CLI
 * detached as the device's daemon and waits for its first message (the device is live, or the
 * daemon's own error); `list` reads the records and asks live daemons for their state; `del`
 * asks the daemon to delete its device (or cleans the record of a dead one); `recover` gives a
 * device whose daemon died a new daemon (USER_RECOVERY).
 *
 * @module
 */

import {
  ADD_ARG_OPTIONS,
  checkDeviceOptions,
  type DeviceOptions,
  parseStrict,
  UsageError,
} from "./device_options.ts";
import { type CliIo, err, EXIT_INTERRUPTED, oneLine, out } from "./io.ts";
import { controlRequest, readLine } from "./control.ts";
import { parseExportSpec } from "./export.ts";
import {
  daemonAlive,
  type DeviceRecord,
  ensureRunDir,
  logPath,
  readRecord,
  readRecords,
  removeRecord,
  runDir,
} from "./run_dir.ts";
import { formatSize } from "./units.ts";

/** The hidden command of the daemon process. */
const DAEMON_COMMAND = "__daemon";

/** How long `add` waits for its daemon's first message. */
const ADD_TIMEOUT_MS = 120_000;

/** A daemon's first message to the `add` that started it. */
interface Hello {
  ok: boolean;
  error?: string;
  record?: DeviceRecord;
  header?: string;
  detail?: string;
}

/**
 * Checks `--export` before anything starts.
 *
 * @param spec The value.
 * @throws {UsageError} When it is malformed.
 */
export function checkExportSpec(spec: string): void {
  try {
    parseExportSpec(spec, "/unused");
  } catch (e) {
    throw new UsageError(`add: ${oneLine(e)}`);
  }
}

/**
 * The `add` arguments with the loop file and the NBD socket made absolute (the daemon and a
 * later `recover` may run from another directory).
 *
 * @param args The arguments.
 * @param o The checked options.
 * @returns The arguments to hand the daemon.
 */
export function absoluteArgs(args: string[], o: DeviceOptions): string[] {
  const abs = (p: string): string => (p.startsWith("/") ? p : `${Deno.cwd()}/${p}`);
  const outArgs = args.filter((a) => a !== "--json");
  const fixed: string[] = [];
  for (let i = 0; i < outArgs.length; i++) {
    const a = outArgs[i]!;
    if ((a === "-f" || a === "--file" || a === "--unix") && i + 1 < outArgs.length) {
      fixed.push(a, abs(outArgs[++i]!));
    } else if (/^--(file|unix)=/.test(a)) {
      const eq = a.indexOf("=");
      fixed.push(`${a.slice(0, eq)}=${abs(a.slice(eq + 1))}`);
    } else fixed.push(a);
  }
  void o;
  return fixed;
}

/** How to start this CLI again: `deno run -A main.ts`, or the compiled `ublk` binary. */
function selfCommand(): string[] {
  const exe = Deno.execPath();
  const base = exe.slice(exe.lastIndexOf("/") + 1);
  if (!base.startsWith("deno")) return [exe]; // `deno compile`d
  // A bundle is one file (its main module); from source, main.ts sits beside this file.
  const here = import.meta.url;
  const main = here.endsWith("/devices.ts") ? new URL("./main.ts", here).href : Deno.mainModule;
  return [exe, "run", "-A", "--no-prompt", main];
}

function printAdded(hello: Hello, io: CliIo, json: boolean): void {
  const r = hello.record!;
  if (json) {
    out(io, JSON.stringify(r));
    return;
  }
  out(io, `ublkb${r.dev_id}  ${hello.header}`);
  out(io, hello.detail ?? "");
  out(io, `daemon pid ${r.pid}  kernel ${r.kernel}${r.nbd ? `  nbd ${r.nbd}` : ""}`);
}

/**
 * Starts a daemon detached and waits for its first message.
 *
 * @param daemonArgs What follows `__daemon`.
 * @returns The daemon's message.
 */
async function spawnDaemon(daemonArgs: string[]): Promise<Hello> {
  const dir = ensureRunDir();
  const notify = `${dir}/.notify-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}.sock`;
  const listener = Deno.listen({ transport: "unix", path: notify });
  let timer: ReturnType<typeof setTimeout> | undefined;
  let child: Deno.ChildProcess | undefined;
  try {
    const [cmd, ...pre] = selfCommand();
    child = new Deno.Command(cmd!, {
      args: [...pre, DAEMON_COMMAND, "--notify", notify, ...daemonArgs],
      stdin: "null",
      stdout: "null",
      stderr: "null",
      detached: true,
    }).spawn();
    const hello = (async (): Promise<Hello> => {
      const conn = await listener.accept();
      try {
        const line = await readLine(conn);
        return JSON.parse(line) as Hello;
      } finally {
        conn.close();
      }
    })();
    // A daemon that failed tells why and exits at once: its exit may be seen before its
    // message is read, so the message still wins for a moment after the exit.
    const died = child.status.then(async (s): Promise<Hello> => {
      let grace: ReturnType<typeof setTimeout> | undefined;
      const told = await Promise.race([
        hello,
        new Promise<undefined>((r) => (grace = setTimeout(() => r(undefined), 2000))),
      ]);
      clearTimeout(grace);
      return told ?? {
        ok: false,
        error: `the daemon exited (status ${s.code}${
          s.signal ? `, ${s.signal}` : ""
        }) before the device was live`,
      };
    });
    const late = new Promise<Hello>((resolve) => {
      timer = setTimeout(
        () => resolve({ ok: false, error: `no word from the daemon in ${ADD_TIMEOUT_MS} ms` }),
        ADD_TIMEOUT_MS,
      );
    });
    return await Promise.race([hello, died, late]);
  } finally {
    clearTimeout(timer);
    listener.close();
    try {
      Deno.removeSync(notify);
    } catch {
      // gone
    }
    child?.unref();
  }
}

/**
 * `ublk add`: starts the device's daemon detached and returns once the device is live.
 *
 * @param args The `add` arguments (paths absolute).
 * @param io Output.
 * @param json Print the record as JSON.
 * @returns The exit status.
 */
export async function addDetached(args: string[], io: CliIo, json: boolean): Promise<number> {
  const hello = await spawnDaemon(args);
  if (!hello.ok) {
    err(io, `ublk: add: ${hello.error}`);
    return 1;
  }
  printAdded(hello, io, json);
  return 0;
}

/**
 * `ublk add --foreground`: the daemon runs in this process until Ctrl-C, SIGTERM or `del`.
 *
 * @returns 130 after a signal, 0 after `del`.
 */
export async function addForeground(
  o: DeviceOptions,
  args: string[],
  exportSpec: string | undefined,
  model: boolean,
  io: CliIo,
): Promise<number> {
  const { startDaemon } = await import("./daemon.ts");
  const d = await startDaemon({ device: o, args, exportSpec, model });
  printAdded({ ok: true, record: d.record, header: d.header, detail: d.detail }, io, false);
  err(
    io,
    `ublk: serving /dev/ublkb${d.record.dev_id} until Ctrl-C or 'ublk del -n ${d.record.dev_id}'`,
  );
  const why = await d.done;
  err(io, `ublk: deleted /dev/ublkb${d.record.dev_id}`);
  return why === "signal" ? EXIT_INTERRUPTED : 0;
}

/**
 * The daemon process (`ublk __daemon --notify PATH [--recover N] ADD_ARGS…`).
 *
 * @param args Its arguments.
 * @returns The exit status.
 */
export async function daemonMain(args: string[]): Promise<number> {
  let notify: string | undefined;
  let recoverId: number | undefined;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--notify") notify = args[++i];
    else if (args[i] === "--recover") recoverId = Number(args[++i]);
    else rest.push(args[i]!);
  }
  const tell = async (hello: Hello): Promise<void> => {
    if (notify === undefined) return;
    try {
      const conn = await Deno.connect({ transport: "unix", path: notify });
      const data = new TextEncoder().encode(JSON.stringify(hello) + "\n");
      let off = 0;
      while (off < data.length) off += await conn.write(data.subarray(off));
      conn.close();
    } catch {
      // the add that started us is gone
    }
  };
  let d;
  try {
    const v = parseStrict(rest, ADD_ARG_OPTIONS, "add");
    const o = checkDeviceOptions(v, "add");
    const { startDaemon } = await import("./daemon.ts");
    d = await startDaemon({
      device: o,
      args: rest,
      exportSpec: v.export === undefined ? undefined : String(v.export),
      model: v.model === true,
      ...(recoverId !== undefined ? { recover: recoverId } : {}),
    });
  } catch (e) {
    await tell({ ok: false, error: oneLine(e) });
    return 1;
  }
  await tell({ ok: true, record: d.record, header: d.header, detail: d.detail });
  await d.done;
  return 0;
}

/** The live view of a record. */
interface Listed {
  rec: DeviceRecord;
  alive: boolean;
  state: string;
  detail?: string;
  /** Composite targets: legs and their states (apps/ublk/legs.ts). */
  legs?: unknown;
}

async function realState(id: number): Promise<string> {
  try {
    const { probeRealUblk } = await import("./features.ts");
    if (!probeRealUblk().present) return "DEAD";
    const { NativeKernel } = await import("@ublk-ts/native");
    const { UblkCtrl } = await import("@ublk-ts/ublk");
    const { stateName } = await import("./stack.ts");
    const ctrl = UblkCtrl.open(new NativeKernel());
    try {
      ctrl.attach(id);
      return stateName((await ctrl.getInfo()).state);
    } finally {
      ctrl.close();
    }
  } catch {
    return "DEAD";
  }
}

async function view(rec: DeviceRecord, verbose: boolean): Promise<Listed> {
  const alive = daemonAlive(rec);
  if (!alive) {
    return { rec, alive, state: rec.kernel === "real" ? await realState(rec.dev_id) : "DEAD" };
  }
  try {
    const r = await controlRequest(rec.control, { cmd: "info" }, 5000);
    if (r.ok) {
      return {
        rec,
        alive,
        state: String(r.state),
        ...(verbose && typeof r.detail === "string" ? { detail: r.detail } : {}),
        ...(r.legs !== undefined ? { legs: r.legs } : {}),
      };
    }
  } catch {
    // the daemon does not answer: show what the record says
  }
  return { rec, alive, state: rec.state };
}

function noDevice(id: number, command: string, io: CliIo): number {
  err(io, `ublk: ${command}: no device ${id} (ENODEV) in ${runDir()}`);
  return 1;
}

/**
 * `ublk list [-n N] [-v] [--json]`.
 *
 * @returns The exit status.
 */
export async function list(
  id: number | undefined,
  verbose: boolean,
  json: boolean,
  io: CliIo,
): Promise<number> {
  let recs = readRecords(runDir());
  if (id !== undefined) {
    recs = recs.filter((r) => r.dev_id === id);
    if (recs.length === 0) return noDevice(id, "list", io);
  }
  const views = await Promise.all(recs.map((r) => view(r, verbose)));
  if (json) {
    out(
      io,
      JSON.stringify(views.map((v) => {
        const { args: _args, pid_start: _ps, ...rest } = v.rec;
        return { ...rest, state: v.state, alive: v.alive, ...(v.legs ? { legs: v.legs } : {}) };
      })),
    );
    return 0;
  }
  if (views.length === 0) {
    out(io, `no devices (run directory ${runDir()})`);
    return 0;
  }
  for (const v of views) {
    const r = v.rec;
    const t = r.target;
    const where = t.type === "loop"
      ? ` ${t.file}`
      : t.type === "nbd"
      ? ` ${t.unix !== undefined ? `unix:${t.unix}` : `${t.host}:${t.port}`}`
      : Array.isArray(t.legs)
      ? ` ${t.legs.join(" + ")}`
      : "";
    out(
      io,
      `ublkb${r.dev_id}  ${v.state}  ${t.type}${where}  ${formatSize(r.size)}  ${r.queues} queue${
        r.queues === 1 ? "" : "s"
      } x ${r.depth}  ${r.kernel}  pid ${r.pid}${v.alive ? "" : " (dead)"}${
        r.nbd ? `  ${r.nbd}` : ""
      }`,
    );
    if (verbose) {
      if (v.detail) { for (const l of v.detail.split("\n")) out(io, `    ${l}`); }
      out(io, `    flags ${r.flags.join(" ") || "none"}`);
      out(io, `    log ${logPath(runDir(), r.dev_id)}`);
    }
  }
  return 0;
}

async function waitGone(rec: DeviceRecord, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (daemonAlive(rec)) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

async function deleteDead(rec: DeviceRecord): Promise<string> {
  if (rec.kernel === "real") {
    try {
      const { probeRealUblk } = await import("./features.ts");
      if (probeRealUblk().present) {
        const { NativeKernel } = await import("@ublk-ts/native");
        const { UblkCtrl } = await import("@ublk-ts/ublk");
        const ctrl = UblkCtrl.open(new NativeKernel());
        try {
          ctrl.attach(rec.dev_id);
          await ctrl.stop().catch(() => {});
          await ctrl.del();
        } finally {
          ctrl.close();
        }
      }
    } catch {
      // already gone from the kernel
    }
  }
  removeRecord(runDir(), rec.dev_id);
  return `its daemon (pid ${rec.pid}) was dead: record removed`;
}

async function delOne(rec: DeviceRecord, async: boolean, io: CliIo): Promise<boolean> {
  if (!daemonAlive(rec)) {
    err(io, `ublk: deleted /dev/ublkb${rec.dev_id} (${await deleteDead(rec)})`);
    return true;
  }
  // A real device stopped (its node gone) whose DEL_DEV has not returned is waiting for the
  // last opener of /dev/ublkbN to close it (ublk_ctrl_del_dev waits until the device is freed):
  // say so every 5 s and keep waiting, as the kernel does (--async does not wait).
  let ticker: ReturnType<typeof setInterval> | undefined;
  let waited = 0;
  const startedAt = Date.now();
  if (!async && rec.kernel === "real") {
    ticker = setInterval(() => {
      if (!nodeExists(rec.path)) {
        waited = Date.now() - startedAt;
        err(
          io,
          `ublk: del: ${rec.path} is stopped; DEL_DEV waits until its last opener closes it (${
            Math.round(waited / 1000)
          } s; 'ublk del --async' does not wait)`,
        );
      }
    }, 5_000);
  }
  try {
    const r = await controlRequest(rec.control, { cmd: "del" }, async ? 300 : 60_000, () =>
      // keep waiting while the kernel holds DEL_DEV for an opener
      !async && rec.kernel === "real" && !nodeExists(rec.path));
    if (!r.ok) {
      err(io, `ublk: del: device ${rec.dev_id}: ${r.error}`);
      return false;
    }
  } catch (e) {
    if (!async) {
      // No answer on the control socket: SIGTERM does the same clean-up.
      try {
        Deno.kill(rec.pid, "SIGTERM");
      } catch {
        // gone meanwhile
      }
      if (!(await waitGone(rec, 30_000))) {
        err(
          io,
          `ublk: del: device ${rec.dev_id}: ${oneLine(e)}; SIGTERM did not end pid ${rec.pid}`,
        );
        return false;
      }
    }
  } finally {
    clearInterval(ticker);
  }
  if (!async) await waitGone(rec, 10_000);
  err(io, `ublk: deleted /dev/ublkb${rec.dev_id}${async ? " (asynchronously)" : ""}`);
  return true;
}

function nodeExists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * `ublk del -n N | -a [--async]`.
 *
 * @returns The exit status.
 */
export async function del(id: number | undefined, async: boolean, io: CliIo): Promise<number> {
  const dir = runDir();
  let recs: DeviceRecord[];
  if (id !== undefined) {
    const r = readRecord(dir, id);
    if (!r) return noDevice(id, "del", io);
    recs = [r];
  } else recs = readRecords(dir);
  let ok = true;
  for (const r of recs) ok = (await delOne(r, async, io)) && ok;
  return ok ? 0 : 1;
}

/**
 * `ublk recover -n N`.
 *
 * @returns The exit status.
 */
export async function recover(id: number, io: CliIo): Promise<number> {
  const dir = runDir();
  const rec = readRecord(dir, id);
  if (!rec) return noDevice(id, "recover", io);
  if (daemonAlive(rec)) {
    if (rec.kernel === "real") {
      err(
        io,
        `ublk: recover: device ${id}: its daemon (pid ${rec.pid}) is alive: nothing to recover`,
      );
      return 1;
    }
    const r = await controlRequest(rec.control, { cmd: "recover" }, 60_000);
    if (!r.ok) {
      err(io, `ublk: recover: ${r.error}`);
      return 1;
    }
    out(io, `ublkb${id}  ${r.state}  recovered by a new server in daemon pid ${rec.pid}`);
    return 0;
  }
  if (rec.kernel === "model") {
    err(
      io,
      `ublk: recover: model device ${id} died with its daemon (pid ${rec.pid}; the model kernel lived in it): 'ublk del -n ${id}' removes it`,
    );
    return 1;
  }
  const hello = await spawnDaemon(["--recover", String(id), ...rec.args]);
  if (!hello.ok) {
    err(io, `ublk: recover: ${hello.error}`);
    return 1;
  }
  const r = hello.record!;
  out(io, `ublkb${id}  ${r.state}  recovered by daemon pid ${r.pid}`);
  return 0;
}
