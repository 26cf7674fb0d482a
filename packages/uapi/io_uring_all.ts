/**
 * `@ublk-ts/uapi/io-uring`: everything of `linux/io_uring.h` (constants, the SQE/CQE codecs,
 * `io_uring_params`, registration, probe, buffer rings, restrictions…) and the 2023 RFC's
 * never-merged `IORING_OP_FUSED_CMD` constants, without the ublk and libc names.
 *
 * @module
 */
export * from "./io_uring.ts";
export * from "./sqe.ts";
export * from "./cqe.ts";
export * from "./params.ts";
export * from "./rsrc.ts";
export * from "./notification.ts";
export * from "./probe.ts";
export * from "./restriction.ts";
export * from "./buf_ring.ts";
export * from "./getevents_arg.ts";
export * from "./sync_cancel.ts";
export * from "./file_index_range.ts";
export * from "./recvmsg_out.ts";
export * from "./ring_counter.ts";
export * from "./fused.ts";
