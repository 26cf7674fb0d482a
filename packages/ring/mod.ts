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
 * import { ModelKernel } from "@ublk-ts/model";
 * import { Ring } from "@ublk-ts/ring";
 * import { prepNop } from "@ublk-ts/ring";
 * using ring = Ring.create(new ModelKernel(), 8);
 * prepNop(ring.getSqe()!, { userData: 9n });
 * await ring.submitAndWait(1);
 * assert.deepEqual(ring.copyCqe(), { userData: 9n, res: 0, flags: 0 });
 * ```
 *
 * ## Extending the model kernel
 *
 * - **Ops**: `registerOp(opcode, def)` (or `new ModelKernel({ ops })` with a private
 *   `OpTable`). `prep(req, sqe, off)` decodes and checks; `issue(req, issueFlags)` returns a
 *   result or `ISSUE_QUEUED` and completes later with `req.complete(res, cflags)`.
 * - **Second request from one SQE** (fused slaves): `ring.allocReq()`, then
 *   `ring.initReq(slave, sqe, off + 64, true)` (runs the slave op's own prep; -EINVAL when the
 *   op lacks `fusedSlave`), later `ring.issueReq(slave)` or `ring.freeReq(slave)`. Set
 *   `slave.kbuf` to lend a buffer (data ops then treat `addr` as an offset into it, -EFAULT
 *   outside). `slave.onComplete.push(hook)` runs before its CQE; complete the master from
 *   `ring.queueTaskWork(...)` so its CQE follows the slave's.
 * - **Device files**: `kernel.registerDevice(path, dev)`; URING_CMD on an fd of that path calls
 *   `dev.uringCmd(req, issueFlags)`; set `req.cancel` to be told on ring exit / ASYNC_CANCEL.
 * - **I/O backends**: `new ModelKernel({ backend })` with an {@linkcode IoBackend}.
 *
 * @module
 */
export * from "./kernel.ts";
export * from "./backend.ts";
export * from "./sqe.ts";
export * from "./cqe.ts";
export * from "./probe.ts";
export * from "./ring.ts";
export * from "./prep.ts";
export type { IoUringCqeValue } from "@ublk-ts/uapi";
