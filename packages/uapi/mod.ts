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
 * @example Write a ublk FETCH_REQ command
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   IORING_OP_URING_CMD,
 *   IoUringSqe,
 *   UBLK_U_IO_FETCH_REQ,
 *   UblksrvIoCmd,
 * } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(IoUringSqe.SIZE128));
 * IoUringSqe.setOpcode(view, 0, IORING_OP_URING_CMD);
 * view.setUint32(IoUringSqe.OFFSET_CMD_OP, UBLK_U_IO_FETCH_REQ, true);
 * UblksrvIoCmd.set(view, IoUringSqe.OFFSET_CMD, 0, 3, 0, 0x10000n);
 * assert.equal(IoUringSqe.cmdOp(view, 0), 0xc0107520);
 * assert.equal(UblksrvIoCmd.tag(view, IoUringSqe.OFFSET_CMD), 3);
 * ```
 *
 * @module
 */
// The four entry points (`@ublk-ts/uapi/io-uring`, `/ublk`, `/errno`, `/libc`) and, for
// convenience, everything at once here.
export * from "./io_uring_all.ts";
export * from "./ublk_all.ts";
export * from "./errno.ts";
export * from "./libc.ts";
