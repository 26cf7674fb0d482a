// Start and stop real NBD servers from Debian (nbdkit, qemu-nbd) on unix sockets or loopback
// TCP ports for the NBD client tests. Never any non-loopback address.

/** Whether a program is on PATH. */
export function have(prog: string): boolean {
  try {
    const out = new Deno.Command("sh", { args: ["-c", `command -v ${prog}`], stdout: "null" })
      .outputSync();
    return out.success;
  } catch {
    return false;
  }
}

/** A running server process. */
export interface Peer {
  /** Unix socket path (when started with one). */
  socket?: string;
  /** Loopback TCP port (when started with one). */
  port?: number;
  /** The nbd URI for libnbd tools (nbdcopy, nbdinfo). */
  uri: string;
  /** The child process. */
  child: Deno.ChildProcess;
  /** Sends a signal (default SIGTERM) and waits for the exit. Safe to call twice. */
  stop(signal?: Deno.Signal): Promise<void>;
}

/** A free loopback TCP port (bound and released). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function waitConnectable(
  child: Deno.ChildProcess,
  target: { path: string } | { port: number },
): Promise<void> {
  const status = child.status.then(() => "exited" as const);
  for (let i = 0; i < 200; i++) {
    try {
      const c = "path" in target
        ? await Deno.connect({ transport: "unix", path: target.path })
        : await Deno.connect({ hostname: "127.0.0.1", port: target.port });
      c.close();
      return;
    } catch { /* not yet */ }
    const r = await Promise.race([status, new Promise((r) => setTimeout(() => r("wait"), 25))]);
    if (r === "exited") throw new Error("Server exited before it listened");
  }
  throw new Error("Server did not start listening within 5 s");
}

function spawn(cmd: string, args: string[]): { child: Deno.ChildProcess; stop: Peer["stop"] } {
  const child = new Deno.Command(cmd, { args, stdin: "null", stdout: "null", stderr: "piped" })
    .spawn();
  // Drain stderr so the child never blocks on a full pipe; keep it for failures.
  const err = new Response(child.stderr).text();
  let stopped: Promise<void> | null = null;
  const stop = (signal: Deno.Signal = "SIGTERM"): Promise<void> => {
    if (stopped === null) {
      stopped = (async () => {
        try {
          child.kill(signal);
        } catch { /* already gone */ }
        await child.status;
        await err;
      })();
    }
    return stopped;
  };
  return { child, stop };
}

/**
 * Starts `nbdkit -f` with `args` (plugin, filters, parameters) on a fresh unix socket in
 * `dir`, or on a loopback TCP port when `tcp` is set.
 */
export async function startNbdkit(
  dir: string,
  args: string[],
  options: { tcp?: boolean; readonly?: boolean } = {},
): Promise<Peer> {
  const base = ["-f", ...(options.readonly ? ["-r"] : [])];
  if (options.tcp) {
    const port = freePort();
    const p = spawn("nbdkit", [...base, "-i", "127.0.0.1", "-p", String(port), ...args]);
    await waitConnectable(p.child, { port }).catch(async (e) => {
      await p.stop();
      throw e;
    });
    return { port, uri: `nbd://127.0.0.1:${port}/`, ...p };
  }
  const socket = `${dir}/nbdkit-${crypto.randomUUID().slice(0, 8)}.sock`;
  const p = spawn("nbdkit", [...base, "-U", socket, ...args]);
  await waitConnectable(p.child, { path: socket }).catch(async (e) => {
    await p.stop();
    throw e;
  });
  return { socket, uri: `nbd+unix:///?socket=${socket}`, ...p };
}

/** Starts `qemu-nbd -t -k SOCKET -f raw IMG` (persistent, structured replies capable). */
export async function startQemuNbd(
  dir: string,
  image: string,
  extra: string[] = [],
): Promise<Peer> {
  const socket = `${dir}/qemu-nbd-${crypto.randomUUID().slice(0, 8)}.sock`;
  const p = spawn("qemu-nbd", ["-t", "-k", socket, "-f", "raw", ...extra, image]);
  await waitConnectable(p.child, { path: socket }).catch(async (e) => {
    await p.stop();
    throw e;
  });
  return { socket, uri: `nbd+unix:///?socket=${socket}`, ...p };
}

/** Copies a whole export to a file with libnbd's nbdcopy (an independent client). */
export async function nbdcopyTo(uri: string, out: string): Promise<void> {
  const r = await new Deno.Command("nbdcopy", { args: [uri, out], stdout: "null", stderr: "piped" })
    .output();
  if (!r.success) throw new Error(`nbdcopy failed: ${new TextDecoder().decode(r.stderr)}`);
}
