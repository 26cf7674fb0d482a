/**
 * `@ublk-ts/uapi/ublk`: everything of `linux/ublk_cmd.h` — control and io command numbers,
 * feature flags, states, and the codecs of `ublksrv_ctrl_cmd`, `ublksrv_ctrl_dev_info`,
 * `ublksrv_io_desc`, `ublksrv_io_cmd`, `ublk_params`, `ublk_auto_buf_reg`, batch, shmem and
 * user-copy positions.
 *
 * @module
 */
export * from "./ublk_cmd.ts";
export * from "./ublksrv_ctrl_cmd.ts";
export * from "./ublksrv_io_cmd.ts";
export * from "./ublksrv_io_desc.ts";
export * from "./ublk_batch.ts";
export * from "./ublksrv_ctrl_dev_info.ts";
export * from "./ublk_params.ts";
export * from "./ublk_auto_buf_reg.ts";
export * from "./ublk_shmem.ts";
export * from "./ublk_user_copy.ts";
