/**
 * Maps a thrown Deno error to a negative errno.
 *
 * @module
 */

import { EACCES, EBADF, EEXIST, EINVAL, EIO, EISDIR, ENOENT, ENOTDIR } from "@ublk-ts/uapi";

/**
 * The negative errno of an error thrown by a `Deno.*` call ("(os error N)" in its message, or
 * its class).
 *
 * @param e The thrown value.
 * @returns A negative errno (-EIO when unknown).
 */
export function errnoOf(e: unknown): number {
  if (e instanceof Error) {
    const m = /\(os error (\d+)\)/.exec(e.message);
    if (m) return -Number(m[1]);
    if (e instanceof Deno.errors.NotFound) return -ENOENT;
    if (e instanceof Deno.errors.PermissionDenied) return -EACCES;
    if (e instanceof Deno.errors.AlreadyExists) return -EEXIST;
    if (e instanceof Deno.errors.IsADirectory) return -EISDIR;
    if (e instanceof Deno.errors.NotADirectory) return -ENOTDIR;
    if (e instanceof Deno.errors.InvalidData) return -EINVAL;
    if (e instanceof Deno.errors.BadResource) return -EBADF;
  }
  return -EIO;
}
