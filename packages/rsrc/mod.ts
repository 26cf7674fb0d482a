/**
 * `@ublk-ts/rsrc`: registered resources of io_uring, without a ring. {@linkcode MappedBuffer}
 * is the RFC's `io_mapped_buf` — an immutable bvec table lent to fused commands, imported by
 * byte range without copying into a {@linkcode BvecIter}. {@linkcode BufferTable} and
 * {@linkcode FileTable} are a ring's registered buffers and files (register, sparse, update,
 * unregister), whose entries are reference counted ({@linkcode RsrcNode}) so that they outlive
 * unregistration while requests use them. {@linkcode BufDesc} names a ublk server's buffer
 * mode and {@linkcode validateCompatibility} checks it against the device flags.
 * {@linkcode allocIoMemory} is the one allocator of I/O memory: page-aligned in real memory.
 *
 * @example Lend a two-page request buffer to a fused slave
 * ```ts
 * import assert from "node:assert/strict";
 * import { BvecIter, ITER_SOURCE, MappedBuffer } from "@ublk-ts/rsrc";
 * let done = false;
 * const buf = MappedBuffer.fromSegments([new Uint8Array(4096), new Uint8Array(4096)], {
 *   onLastRelease: () => (done = true),
 * });
 * buf.acquire();
 * const it = new BvecIter();
 * assert.equal(buf.importRange(4000, 200, ITER_SOURCE, it), 0);
 * assert.equal(it.nrSegs, 2);
 * buf.release();
 * assert.ok(done);
 * ```
 *
 * @module
 */
export * from "./bvec_iter.ts";
export * from "./mapped_buffer.ts";
export * from "./rsrc_node.ts";
export * from "./buffer_table.ts";
export * from "./file_table.ts";
export * from "./buf_desc.ts";
export * from "./io_memory.ts";
