/**
 * `@ublk-ts/nbd`: the NBD protocol (constants, request and reply codecs, structured replies),
 * the handshake, and an NBD client over a stream.
 *
 * @module
 */
export * from "./nbd_proto.ts";
export * from "./nbd_error.ts";
export * from "./nbd_stream.ts";
export * from "./nbd_reply.ts";
export * from "./nbd_handshake.ts";
export * from "./nbd_client.ts";
export * from "./nbd_server.ts";
