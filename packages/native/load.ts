/**
 * `loadNative()`: opens liburing and libc through `Deno.dlopen`, lazily and once.
 *
 * @module
 */

import { LIBC_SYMBOLS, type LibcLibrary, LIBURING_SYMBOLS, type LiburingLibrary } from "./_ffi.ts";
import { NativeUnavailableError } from "./native_unavailable_error.ts";

export type { LibcLibrary, LiburingLibrary } from "./_ffi.ts";

/** The libraries native mode runs on. */
export interface NativeLibrary {
  /** The liburing that was opened (a path or a soname). */
  readonly path: string;
  /** liburing's symbols (see `_ffi.ts` for the C signatures). */
  readonly liburing: LiburingLibrary["symbols"];
  /** libc's symbols. */
  readonly libc: LibcLibrary["symbols"];
  /** Reads this thread's `errno`. */
  errno(): number;
}

/** Options of {@linkcode loadNative}. */
export interface LoadNativeOptions {
  /**
   * The liburing to open. Default: the `LIBURING_PATH` environment variable when set (and then
   * only it), else `liburing-ffi.so.2`, then `liburing.so.2`.
   */
  path?: string;
}

/** Sonames tried in order when no path is given. */
export const LIBURING_CANDIDATES: readonly string[] = ["liburing-ffi.so.2", "liburing.so.2"];

const cache = new Map<string, NativeLibrary>();

function isPermissionError(e: unknown): boolean {
  return e instanceof Deno.errors.PermissionDenied ||
    ((Deno.errors as Record<string, unknown>).NotCapable !== undefined &&
      e instanceof (Deno.errors as unknown as { NotCapable: ErrorConstructor }).NotCapable);
}

function envPath(): string | undefined {
  try {
    const p = Deno.env.get("LIBURING_PATH");
    return p === undefined || p === "" ? undefined : p;
  } catch {
    // Without --allow-env the override cannot be read: behave as if it were unset.
    return undefined;
  }
}

function wrap(e: unknown, what: string): NativeUnavailableError {
  if (e instanceof NativeUnavailableError) return e;
  if (isPermissionError(e)) {
    return new NativeUnavailableError(`Cannot load ${what}: FFI is not permitted (--allow-ffi)`, {
      reason: "permission",
      cause: e,
    });
  }
  const msg = e instanceof Error ? e.message : String(e);
  const reason = /symbol/i.test(msg) ? "symbol" : "library";
  return new NativeUnavailableError(`Cannot load ${what}: ${msg}`, { reason, cause: e });
}

/**
 * Opens liburing and libc through `Deno.dlopen` (never at import; the result is cached per
 * path). Order: `options.path`, else `LIBURING_PATH` (when set, only it is tried), else
 * `liburing-ffi.so.2`, then `liburing.so.2`.
 *
 * Errors: every failure is a {@linkcode NativeUnavailableError}, never a crash or a console
 * print. A missing `--allow-ffi` is wrapped too (`reason: "permission"`, `cause` is Deno's
 * `NotCapable`/`PermissionDenied`), so one `catch` serves the fall back to the model kernel;
 * callers that must not fall back silently on a permission problem test `reason`.
 *
 * @param options Which liburing to open.
 * @returns The opened libraries.
 * @throws {NativeUnavailableError} when liburing or libc cannot be opened.
 *
 * @example Load or fall back
 * ```ts ignore
 * import { loadNative, NativeUnavailableError } from "@ublk-ts/native";
 * try {
 *   const lib = loadNative();
 *   console.log(`native mode on ${lib.path}`);
 * } catch (e) {
 *   if (!(e instanceof NativeUnavailableError)) throw e;
 *   console.log(`model mode: ${e.message}`);
 * }
 * ```
 */
export function loadNative(options: LoadNativeOptions = {}): NativeLibrary {
  const explicit = options.path ?? envPath();
  const key = explicit ?? "";
  const hit = cache.get(key);
  if (hit) return hit;
  const candidates = explicit === undefined ? LIBURING_CANDIDATES : [explicit];
  let liburing: LiburingLibrary | undefined;
  let path = "";
  let firstError: unknown;
  for (const candidate of candidates) {
    try {
      liburing = Deno.dlopen(candidate, LIBURING_SYMBOLS);
      path = candidate;
      break;
    } catch (e) {
      if (isPermissionError(e)) throw wrap(e, `liburing (${candidate})`);
      // Keep the most telling error: a missing symbol beats a missing file.
      if (firstError === undefined || /symbol/i.test(String(e))) firstError = e;
    }
  }
  if (liburing === undefined) throw wrap(firstError, `liburing (${candidates.join(", ")})`);
  let libc: LibcLibrary;
  try {
    libc = Deno.dlopen("libc.so.6", LIBC_SYMBOLS);
  } catch (e) {
    liburing.close();
    throw wrap(e, "libc (libc.so.6)");
  }
  const libcSymbols = libc.symbols;
  let errnoView: Deno.UnsafePointerView | undefined;
  const lib: NativeLibrary = {
    path,
    liburing: liburing.symbols,
    libc: libcSymbols,
    errno(): number {
      if (errnoView === undefined) {
        const p = libcSymbols.__errno_location();
        if (p === null) return 0;
        errnoView = new Deno.UnsafePointerView(p);
      }
      return errnoView.getInt32(0);
    },
  };
  cache.set(key, lib);
  return lib;
}
