/**
 * `@ublk-ts/testing` (unpublished): test doubles — test targets, a model device file for the
 * fused command, a scriptable fake NBD server, and a recording, fault-injecting I/O backend
 * for the model kernel ({@linkcode FaultBackend}).
 *
 * @module
 */
export * from "./test_targets.ts";
export * from "./test_device.ts";
export * from "./nbd_fake_server.ts";
export * from "./fault_backend.ts";
