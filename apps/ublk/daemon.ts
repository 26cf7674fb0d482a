/**
 * The `ublk` daemon: one process per device. It creates the device (on the real ublk driver
 * when `/dev/ublk-control` exists, else in its own model kernel, whose block device it exports
 * over NBD), writes the device's record in the run directory, serves the control socket
 * (`info`, `del`, `recover`) and runs until `del`, SIGINT or SIGTERM, when it stops and deletes
 * the device and removes the record. `ublk add` re-spawns the CLI detached as a daemon (Deno
 * cannot fork) and waits for its first message; `ublk add --foreground` runs it in the terminal.
 *
 * @module
 */

import {
  ErrnoError,
  O_RDWR,
  UBLK_S_DEV_FAIL_IO,
  UBLK_S_DEV_LIVE,
  UBLK_S_DEV_QUIESCED,
  type UblksrvCtrlDevInfoValue,
} from "@ublk-ts/uapi";
import type { Kernel } from "@ublk-ts/ring";
import type { DeviceOptions } from "./device_options.ts";
import {
  dataModeOf,
  isZeroCopyMode,
  type Target,
  UblkCtrl,
  UblkDevice,
  UblkQueue,
} from "@ublk-ts/ublk";
import {
  describeRunning,
  makeTarget,
  openStack,
  type RunningDevice,
  type Stack,
  stateName,
} from "./stack.ts";
import { featureNames, probeRealUblk } from "./features.ts";
import { type ControlServer, serveControl } from "./control.ts";
import { legTargetStatus, mirrorAddRequest } from "./legs.ts";
import { type NbdExport, parseExportSpec, startExport } from "./export.ts";
import {
  controlPath,
  daemonAlive,
  type DeviceRecord,
  ensureRunDir,
  logPath,
  nbdSocketPath,
  processStart,
  readRecord,
  readRecords,
  removeRecord,
  withRunDirLock,
  writeRecord,
} from "./run_dir.ts";

/** What a daemon is asked to do. */
export interface DaemonOptions {
  /** The checked device options. */
  device: DeviceOptions;
  /** The `add` arguments as given (stored in the record for `recover`). */
  args: string[];
  /** `--export` (model devices): `unix`, `unix:PATH`, `tcp:[HOST:]PORT`. */
  exportSpec: string | undefined;
  /** Use the model even where `/dev/ublk-control` exists. */
  model: boolean;
  /** Recover device N (a new server for a device whose daemon died) instead of adding. */
  recover?: number;
}

/** A running daemon. */
export interface Daemon {
  /** The device record (as written). */
  readonly record: DeviceRecord;
  /** Several lines describing the device. */
  readonly detail: string;
  /** The one-line header (`/dev/ublkb0: 8m, loop …`). */
  readonly header: string;
  /**
   * Resolves when the device was deleted, with why: `"del"` (control socket), `"signal"`
   * (SIGINT/SIGTERM) or `"stop"` ({@linkcode Daemon.stop}).
   */
  readonly done: Promise<string>;
  /** Stops and deletes the device, removes the record. Safe twice. */
  stop(): Promise<void>;
}

/**
 * A new server for an existing device whose server died (USER_RECOVERY), from another process:
 * the device id, the target, START_USER_RECOVERY (retried while the dead server's char device
 * is still being released), a queue per hardware queue on `/dev/ublkcN`, END_USER_RECOVERY.
 *
 * @param stack The stack (its kernel has the device).
 * @param devId The device.
 * @param o The device options (the target to serve it with).
 * @returns The device, served by this process.
 */
async function recoverDevice(
  stack: Stack<Kernel>,
  devId: number,
  o: DeviceOptions,
): Promise<RunningDevice> {
  const kernel = stack.kernel;
  const ctrl = UblkCtrl.open(kernel);
  let target: Target | undefined;
  let fd = -1;
  const queues: UblkQueue[] = [];
  try {
    ctrl.attach(devId);
    const info: UblksrvCtrlDevInfoValue = await ctrl.getInfo();
    if (info.state === UBLK_S_DEV_LIVE) {
      throw new Error(`Cannot recover device ${devId}: it is LIVE (its server runs)`);
    }
    if (info.state !== UBLK_S_DEV_QUIESCED && info.state !== UBLK_S_DEV_FAIL_IO) {
      throw new Error(
        `Cannot recover device ${devId}: state ${
          stateName(info.state)
        } (needs QUIESCED or FAIL_IO: add it with -r 1)`,
      );
    }
    target = await makeTarget(kernel, o);
    await target.init({
      devId: info.devId,
      nrHwQueues: info.nrHwQueues,
      queueDepth: info.queueDepth,
      maxIoBufBytes: info.maxIoBufBytes,
      flags: info.flags,
      dataMode: dataModeOf(info.flags),
      zeroCopy: isZeroCopyMode(dataModeOf(info.flags)),
    });
    await ctrl.startUserRecovery({ retryBusyMs: 30_000 });
    fd = kernel.open(`/dev/ublkc${devId}`, O_RDWR);
    if (fd < 0) throw ErrnoError.fromResult(fd, `open /dev/ublkc${devId}`);
    for (let q = 0; q < info.nrHwQueues; q++) {
      queues.push(new UblkQueue(kernel, info, q, fd, target));
    }
    for (const q of queues) q.start();
    await ctrl.endUserRecovery();
    const device = new UblkDevice(kernel, ctrl, info, target, queues, fd, false);
    const size = stack.real ? Number((await ctrl.getParams()).basic.devSectors) * 512 : 0;
    return stack.wrap(device, target, { ...o, queues: info.nrHwQueues }, size);
  } catch (e) {
    for (const q of queues) q.close();
    if (fd >= 0) kernel.closeFd(fd);
    ctrl.close();
    await target?.close?.();
    throw e;
  }
}

function targetRecord(o: DeviceOptions): DeviceRecord["target"] {
  switch (o.type) {
    case "null":
      return { type: "null", size: o.size ?? null };
    case "loop":
      return {
        type: "loop",
        file: o.file,
        read_only: o.readOnly,
        buffered_io: o.bufferedIo,
      };
    case "nbd":
      return {
        type: "nbd",
        ...(o.unix !== undefined ? { unix: o.unix } : { host: o.host, port: o.port }),
        export_name: o.exportName,
        read_only: o.readOnly,
        ...(o.timeout !== undefined ? { timeout: o.timeout } : {}),
        reconnect: o.reconnect,
      };
    case "stripe":
    case "mirror":
    case "fault_inject":
      return {
        type: o.type,
        legs: o.legs!.legs,
        ...(o.type === "stripe" ? { chunk: o.legs!.chunk } : {}),
      };
  }
}

/**
 * Starts a daemon in this process: creates (or recovers) the device, exports it (model),
 * writes the record, serves the control socket, and stops on SIGINT/SIGTERM.
 *
 * @param d What to run.
 * @returns The running daemon.
 * @throws {Error} What went wrong before the device was live (nothing is left behind).
 */
export async function startDaemon(d: DaemonOptions): Promise<Daemon> {
  const dir = ensureRunDir();
  const o = d.device;
  const real = !d.model && probeRealUblk().present;
  const stack = openStack({ native: o.native, real });
  let running: RunningDevice | undefined;
  let nbd: NbdExport | undefined;
  // Assigned once the device is live; stop() (made before) closes it.
  // deno-lint-ignore prefer-const
  let control: ControlServer | undefined;
  let record: DeviceRecord;
  let logFile: Deno.FsFile | undefined;
  const enc = new TextEncoder();
  const log = (msg: string): void => {
    try {
      logFile?.writeSync(enc.encode(`${new Date().toISOString()} ${msg}\n`));
    } catch {
      // the log is best effort
    }
  };
  try {
    running = await withRunDirLock(dir, async () => {
      if (d.recover !== undefined) {
        const old = readRecord(dir, d.recover);
        if (old === undefined) throw new ErrnoError(19, { op: `recover: no device ${d.recover}` });
        if (daemonAlive(old)) {
          throw new Error(
            `Cannot recover device ${d.recover}: its daemon (pid ${old.pid}) is alive`,
          );
        }
        if (!real) {
          throw new Error(
            `Cannot recover model device ${d.recover}: its model kernel died with its daemon (pid ${old.pid}); 'ublk del -n ${d.recover}' removes the record`,
          );
        }
        return await recoverDevice(stack, d.recover, { ...o, devId: d.recover });
      }
      let devId = o.devId;
      const records = readRecords(dir);
      const taken = new Set(records.map((r) => r.dev_id));
      if (devId >= 0 && taken.has(devId)) {
        const r = records.find((x) => x.dev_id === devId)!;
        throw new ErrnoError(17, {
          op: `add: device ${devId} exists (${
            daemonAlive(r) ? `daemon pid ${r.pid}` : "DEAD: 'ublk del -n " + devId + "' cleans it"
          })`,
        });
      }
      if (devId < 0 && !real) {
        devId = 0;
        while (taken.has(devId)) devId++;
      }
      return await stack.addDevice({ ...o, devId });
    });
    const id = running.devId;
    logFile = Deno.openSync(logPath(dir, id), { create: true, append: true, mode: 0o600 });
    const device = running.device;
    if (!real) {
      const spec = parseExportSpec(d.exportSpec ?? "unix", nbdSocketPath(dir, id));
      nbd = await startExport(device.bdev, spec, `ublk-ts model /dev/ublkb${id}`);
    }
    let state = UBLK_S_DEV_LIVE;
    try {
      state = (await device.ctrl.getInfo()).state;
    } catch {
      // keep LIVE: START_DEV succeeded
    }
    record = {
      dev_id: id,
      pid: Deno.pid,
      pid_start: processStart(Deno.pid) ?? "",
      kernel: real ? "real" : "model",
      target: targetRecord(o),
      queues: device.info.nrHwQueues,
      depth: device.info.queueDepth,
      size: running.size,
      flags: featureNames(device.info.flags),
      state: stateName(state),
      control: controlPath(dir, id),
      ...(nbd ? { nbd: nbd.uri } : {}),
      path: `/dev/ublkb${id}`,
      args: d.args,
      updated: new Date().toISOString(),
    };
  } catch (e) {
    await nbd?.close().catch(() => {});
    await running?.delete().catch(() => {});
    await stack.close().catch(() => {});
    logFile?.close();
    throw e;
  }
  const dev = running;
  const rec = record;
  let stopping: Promise<void> | undefined;
  let resolveDone!: (why: string) => void;
  const done = new Promise<string>((r) => (resolveDone = r));
  let why = "stop";
  const onSignal = (): void => {
    log("signal: stopping");
    why = "signal";
    void stop();
  };
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      Deno.removeSignalListener("SIGINT", onSignal);
      Deno.removeSignalListener("SIGTERM", onSignal);
      control?.close();
      await nbd?.close().catch((e) => log(`export close: ${e}`));
      try {
        await dev.delete();
        log(`deleted /dev/ublkb${dev.devId}`);
      } catch (e) {
        log(`delete: ${e instanceof Error ? e.message : e}`);
      }
      await stack.close().catch(() => {});
      removeRecord(dir, dev.devId);
      logFile?.close();
      resolveDone(why);
    })();
    return stopping;
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  control = serveControl(controlPath(dir, dev.devId), async (req) => {
    switch (req.cmd) {
      case "info": {
        const info = await dev.device.ctrl.getInfo();
        return {
          reply: {
            ok: true,
            state: stateName(info.state),
            detail: dev.describe(info.state),
            ...(real ? {} : { inflight: dev.device.bdev.inflight }),
            ...(legTargetStatus(dev.device.target)
              ? { legs: legTargetStatus(dev.device.target) }
              : {}),
          },
        };
      }
      case "mirror-add":
        return { reply: await mirrorAddRequest(dev.device.target, stack.kernel, req, o) };
      case "del":
        why = "del";
        await stop();
        return { reply: { ok: true } };
      case "recover": {
        if (real) {
          throw new Error(
            `Cannot recover device ${dev.devId}: its daemon (pid ${Deno.pid}) serves it; recover is for a device whose daemon died`,
          );
        }
        if (!o.userRecovery) {
          throw new Error(`Cannot recover device ${dev.devId}: it was added without -r 1`);
        }
        // The model's server dies inside the daemon (its kernel lives on) and a new one takes
        // over with USER_RECOVERY.
        // The old server's target goes with it (a loop target's file lock is released),
        // then the new server opens its own.
        dev.device.kill();
        await dev.device.target.close?.();
        const fresh = await makeTarget(stack.kernel, o);
        try {
          await dev.device.recover(fresh);
        } catch (e) {
          await fresh.close?.();
          throw e;
        }
        const info = await dev.device.ctrl.getInfo();
        log(`recovered: ${stateName(info.state)}`);
        writeRecord(dir, {
          ...rec,
          state: stateName(info.state),
          updated: new Date().toISOString(),
        });
        return { reply: { ok: true, state: stateName(info.state) } };
      }
      default:
        throw new Error(`Cannot do '${String((req as { cmd: unknown }).cmd)}'`);
    }
  });
  writeRecord(dir, rec);
  log(`${d.recover !== undefined ? "recovered" : "added"} ${rec.path} pid ${Deno.pid}`);
  return {
    record: rec,
    header: describeRunning(dev, o),
    detail: dev.describe(UBLK_S_DEV_LIVE),
    done,
    stop,
  };
}
