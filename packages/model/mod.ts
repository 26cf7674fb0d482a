/**
 * `@ublk-ts/model`: the pure-TypeScript io_uring kernel, {@linkcode ModelKernel}, with its
 * extension points: the op table ({@linkcode OpDef}, one per kernel instance), the
 * {@linkcode Request} ops see, device files ({@linkcode DeviceFile}), the
 * {@linkcode AddressSpace}, sockets, and the sync I/O backend.
 *
 * @module
 */
export * from "./address_space.ts";
export * from "./lent_buffer.ts";
export * from "./sync_backend.ts";
export * from "./device_file.ts";
export * from "./model_file.ts";
export * from "./socket.ts";
export * from "./request.ts";
export * from "./op_def.ts";
export * from "./ops.ts";
export * from "./model_ring.ts";
export * from "./model_kernel.ts";
export * from "./ops_misc.ts";
export * from "./ops_rw.ts";
export * from "./ops_net.ts";
export * from "./ops_timeout.ts";
export * from "./ops_uring_cmd.ts";
export * from "./ops_cancel.ts";
export type { PuntFile } from "./io_wq.ts";
