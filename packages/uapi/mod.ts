/**
 * `@ublk-ts/uapi`: the io_uring and ublk uapi as TypeScript — every constant under its kernel
 * name, and zero-copy codecs of the C structs over caller-owned memory, checked against the
 * kernel headers. No dependencies, no `Deno.*` calls.
 *
 * @example Write an SQE
 * ```ts
 * import assert from "node:assert/strict";
 * import { IoUringSqe, IORING_OP_READ } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(64));
 * IoUringSqe.setOpcode(view, 0, IORING_OP_READ);
 * assert.equal(IoUringSqe.opcode(view, 0), 22);
 * ```
 *
 * @module
 */
export * from "./io_uring.ts";
export * from "./errno.ts";
export * from "./sqe.ts";
export * from "./cqe.ts";
