/**
 * `@ublk-ts/testing` (unpublished): test doubles — test targets, a model device file for the
 * fused command, a scriptable fake NBD server.
 *
 * @module
 */
export * from "./test_targets.ts";
export * from "./test_device.ts";
export * from "./nbd_fake_server.ts";
