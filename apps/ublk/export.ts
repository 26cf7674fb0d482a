/**
 * The NBD export of a model device's block device (`ublk add` on a machine without a ublk
 * driver): the daemon serves `/dev/ublkbN` of its model kernel through `serveNbd` of
 * `@ublk-ts/nbd` on a Unix socket in the run directory (default) or on TCP
 * (`--export tcp:127.0.0.1:PORT`), so `qemu-img`, `nbdinfo`, `nbdcopy` and `fio --ioengine=nbd`
 * reach it.
 *
 * @module
 */

import type { BlockDevice } from "@ublk-ts/ring";

/** Where to export: a Unix socket path, or a TCP address. */
export type ExportSpec =
  | { readonly kind: "unix"; readonly path: string }
  | { readonly kind: "tcp"; readonly hostname: string; readonly port: number };

/** A running export. */
export interface NbdExport {
  /** `nbd+unix:///?socket=PATH` or `nbd://HOST:PORT`. */
  readonly uri: string;
  /** Stops serving (open connections end). */
  close(): Promise<void>;
}

/**
 * Parses `--export`: `unix:PATH`, `tcp:HOST:PORT` or `tcp:PORT` (127.0.0.1).
 *
 * @param text The value.
 * @param defaultUnix The default Unix socket path (for `unix` without a path).
 * @returns The spec.
 * @throws {RangeError} On anything else.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseExportSpec } from "./export.ts";
 * assert.deepEqual(parseExportSpec("tcp:127.0.0.1:10809", "/x"), { kind: "tcp", hostname: "127.0.0.1", port: 10809 });
 * ```
 */
export function parseExportSpec(text: string, defaultUnix: string): ExportSpec {
  if (text === "unix") return { kind: "unix", path: defaultUnix };
  if (text.startsWith("unix:") && text.length > 5) return { kind: "unix", path: text.slice(5) };
  const m = /^tcp:(?:([^:]+):)?(\d+)$/.exec(text);
  if (m) {
    const port = Number(m[2]);
    if (port >= 0 && port <= 65535) {
      return { kind: "tcp", hostname: m[1] ?? "127.0.0.1", port };
    }
  }
  throw new RangeError(
    `Cannot use --export '${text}': expected unix, unix:PATH, tcp:PORT or tcp:HOST:PORT`,
  );
}

/** The options serveNbd of `@ublk-ts/nbd` takes (the part we pass). */
interface ServeOptions {
  exportName?: string;
  description?: string;
}

/** What serveNbd of `@ublk-ts/nbd` returns (the part we use). */
interface NbdServerHandle {
  readonly uri?: string;
  close(): Promise<void>;
}

type ServeNbd = (
  bdev: BlockDevice,
  listener: Deno.Listener,
  options?: ServeOptions,
) => NbdServerHandle | Promise<NbdServerHandle>;

/**
 * Starts the NBD export of a block device.
 *
 * @param bdev The block device.
 * @param spec Where.
 * @param description The export's description.
 * @returns The export.
 * @throws {Error} When the socket cannot be bound or `@ublk-ts/nbd` has no `serveNbd`.
 */
export async function startExport(
  bdev: BlockDevice,
  spec: ExportSpec,
  description: string,
): Promise<NbdExport> {
  // Looked up at run time: the export server is a newer part of @ublk-ts/nbd.
  const nbd = await import("@ublk-ts/nbd") as unknown as Record<string, unknown>;
  const serve = nbd.serveNbd as ServeNbd | undefined;
  if (typeof serve !== "function") {
    throw new Error("Cannot export over NBD: this build of @ublk-ts/nbd has no serveNbd");
  }
  let listener: Deno.Listener;
  let uri: string;
  if (spec.kind === "unix") {
    try {
      Deno.removeSync(spec.path);
    } catch {
      // none
    }
    listener = Deno.listen({ transport: "unix", path: spec.path });
    uri = `nbd+unix:///?socket=${spec.path}`;
  } else {
    listener = Deno.listen({ hostname: spec.hostname, port: spec.port });
    const addr = listener.addr as Deno.NetAddr;
    uri = `nbd://${spec.hostname}:${addr.port}`;
  }
  let handle: NbdServerHandle;
  try {
    handle = await serve(bdev, listener, { description });
  } catch (e) {
    listener.close();
    throw e;
  }
  return {
    uri: handle.uri ?? uri,
    async close(): Promise<void> {
      await handle.close();
      if (spec.kind === "unix") {
        try {
          Deno.removeSync(spec.path);
        } catch {
          // gone
        }
      }
    },
  };
}
