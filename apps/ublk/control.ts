/**
 * The daemon's control socket: one JSON request line per connection, one JSON reply line.
 * Requests: `{"cmd":"info"}` (live detail for `list -v`), `{"cmd":"del"}` (stop and delete the
 * device; the daemon exits after replying), `{"cmd":"recover"}` (model devices: a new server
 * takes over the device through USER_RECOVERY).
 *
 * @module
 */

/** A control request. */
export interface ControlRequest {
  /** What to do (`mirror-add`: apps/ublk/legs.ts). */
  cmd: "info" | "del" | "recover" | "mirror-add";
  /** Request fields (`mirror-add`: `leg`, `replace`). */
  [field: string]: unknown;
}

/** A control reply. */
export interface ControlReply {
  /** Whether it worked. */
  ok: boolean;
  /** The error, one line, when not ok. */
  error?: string;
  /** Reply data. */
  [field: string]: unknown;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * Reads one newline-terminated line (without the newline) from `conn`; what the peer sent
 * before closing when it closes first.
 *
 * @param conn The connection.
 * @param limit Longest line accepted.
 * @returns The line.
 * @throws {RangeError} When the line is longer than `limit`.
 */
export async function readLine(conn: Deno.Conn, limit = 1 << 20): Promise<string> {
  const buf = new Uint8Array(4096);
  let text = "";
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) return text;
    text += dec.decode(buf.subarray(0, n), { stream: true });
    const nl = text.indexOf("\n");
    if (nl >= 0) return text.slice(0, nl);
    if (text.length > limit) throw new RangeError("Cannot read control message: too long");
  }
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

/**
 * Sends one request to a daemon and waits for its reply.
 *
 * @param path The control socket.
 * @param req The request.
 * @param timeoutMs How long to wait for the reply (default 30 s).
 * @param keepWaiting Asked when the time is up: true waits on (checked again every second).
 * @returns The reply.
 * @throws {Error} When the daemon cannot be reached or does not answer in time.
 */
export async function controlRequest(
  path: string,
  req: ControlRequest,
  timeoutMs = 30_000,
  keepWaiting?: () => boolean,
): Promise<ControlReply> {
  const conn = await Deno.connect({ transport: "unix", path });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const work = (async () => {
      await writeAll(conn, enc.encode(JSON.stringify(req) + "\n"));
      const line = await readLine(conn);
      if (line === "") {
        throw new Error(`Cannot ${req.cmd}: the daemon closed ${path} without a reply`);
      }
      return JSON.parse(line) as ControlReply;
    })();
    const timeout = new Promise<never>((_, reject) => {
      const expire = (): void => {
        // the caller knows the daemon is busy for a reason (e.g. DEL_DEV waiting for openers)
        if (keepWaiting?.() === true) {
          timer = setTimeout(expire, 1_000);
          return;
        }
        reject(new Error(`Cannot ${req.cmd}: no reply on ${path} within ${timeoutMs} ms`));
      };
      timer = setTimeout(expire, timeoutMs);
    });
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // closed
    }
  }
}

/** A running control server. */
export interface ControlServer {
  /** Stops accepting and closes the socket (removes the path). */
  close(): void;
}

/**
 * Serves control requests on a Unix socket.
 *
 * @param path The socket path (an old one is replaced).
 * @param handle Answers a request; `after` runs once the reply is sent.
 * @returns The server.
 */
export function serveControl(
  path: string,
  handle: (req: ControlRequest) => Promise<{ reply: ControlReply; after?: () => void }>,
): ControlServer {
  try {
    Deno.removeSync(path);
  } catch {
    // none
  }
  const listener = Deno.listen({ transport: "unix", path });
  Deno.chmodSync(path, 0o600);
  let closed = false;
  (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return;
      }
      (async () => {
        let after: (() => void) | undefined;
        try {
          const line = await readLine(conn);
          let reply: ControlReply;
          try {
            const req = JSON.parse(line) as ControlRequest;
            const r = await handle(req);
            reply = r.reply;
            after = r.after;
          } catch (e) {
            reply = { ok: false, error: e instanceof Error ? e.message : String(e) };
          }
          await writeAll(conn, enc.encode(JSON.stringify(reply) + "\n"));
        } catch {
          // the client went away
        } finally {
          try {
            conn.close();
          } catch {
            // closed
          }
          after?.();
        }
      })();
    }
  })();
  return {
    close(): void {
      if (closed) return;
      closed = true;
      try {
        listener.close();
      } catch {
        // closed
      }
      try {
        Deno.removeSync(path);
      } catch {
        // gone
      }
    },
  };
}
