/**
 * `@ublk-ts/ring`: the io_uring user API ({@linkcode Ring}, `prep*`), the {@linkcode Kernel}
 * contract, and the pure-TypeScript {@linkcode ModelKernel} with its extension points: the op
 * table ({@linkcode OpDef}, {@linkcode registerOp}), the {@linkcode Request} ops see, device
 * files ({@linkcode DeviceFile}), the {@linkcode AddressSpace}, and I/O backends
 * ({@linkcode IoBackend}).
 *
 * @example NOP round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { ModelKernel, Ring, prepNop } from "@ublk-ts/ring";
 * using ring = Ring.create(new ModelKernel(), 8);
 * prepNop(ring.getSqe()!, { userData: 9n });
 * await ring.submitAndWait(1);
 * assert.deepEqual(ring.copyCqe(), { userData: 9n, res: 0, flags: 0 });
 * ```
 *
 * @module
 */
export * from "./kernel.ts";
export * from "./address_space.ts";
export * from "./lent_buffer.ts";
export * from "./backend.ts";
export * from "./sync_backend.ts";
export * from "./device_file.ts";
export * from "./model_file.ts";
export * from "./socket.ts";
export * from "./request.ts";
export * from "./op_def.ts";
export * from "./model_ring.ts";
export * from "./model_kernel.ts";
export * from "./ops_misc.ts";
export * from "./ops_rw.ts";
export * from "./ops_net.ts";
export * from "./ops_timeout.ts";
export * from "./ops_uring_cmd.ts";
export * from "./ops_cancel.ts";
export * from "./sqe.ts";
export * from "./cqe.ts";
export * from "./probe.ts";
export * from "./ring.ts";
export * from "./prep.ts";
