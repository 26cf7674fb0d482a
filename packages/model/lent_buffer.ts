/**
 * The shape of a buffer lent to a request (a fused slave's `kbuf`): the same fields as
 * `MappedBuffer` of `@ublk-ts/rsrc` (which satisfies this interface structurally).
 *
 * @module
 */

import { EFAULT } from "@ublk-ts/uapi";

/** A bvec table: `len` bytes starting `offset` bytes into the concatenation of `bvecs`. */
export interface LentBuffer {
  /** Bytes the buffer covers. */
  readonly len: number;
  /** Offset into the first bvec. */
  readonly offset: number;
  /** The segments. */
  readonly bvecs: readonly Uint8Array[];
}

/**
 * Imports `[addr, addr + len)` of a lent buffer as iovecs (sub-views, no copy), as
 * `io_import_kbuf_for_slave` does: -EFAULT when the range leaves `[0, buf.len)`.
 *
 * @param buf The lent buffer.
 * @param addr Offset into it.
 * @param len Length.
 * @param out Array that receives the views (cleared first).
 * @returns 0, or -EFAULT.
 *
 * @example Two segments
 * ```ts
 * import assert from "node:assert/strict";
 * import { importLent } from "@ublk-ts/model";
 * const out: Uint8Array[] = [];
 * const buf = { len: 8, offset: 0, bvecs: [new Uint8Array(4), new Uint8Array(4)] };
 * assert.equal(importLent(buf, 2, 4, out), 0);
 * assert.deepEqual(out.map((v) => v.length), [2, 2]);
 * assert.equal(importLent(buf, 6, 4, out), -14);
 * ```
 */
export function importLent(
  buf: LentBuffer,
  addr: number,
  len: number,
  out: Uint8Array[],
): number {
  if (addr < 0 || addr > buf.len || len > buf.len - addr) {
    out.length = 0;
    return -EFAULT;
  }
  const bvecs = buf.bvecs;
  let skip = buf.offset + addr;
  let left = len;
  let k = 0;
  for (let i = 0; i < bvecs.length && left > 0; i++) {
    const bv = bvecs[i]!;
    if (skip >= bv.length) {
      skip -= bv.length;
      continue;
    }
    const n = Math.min(bv.length - skip, left);
    // A whole segment is passed as is: the common full import makes no view per I/O.
    out[k++] = skip === 0 && n === bv.length ? bv : bv.subarray(skip, skip + n);
    left -= n;
    skip = 0;
  }
  if (out.length !== k) out.length = k;
  return left === 0 ? 0 : -EFAULT;
}
