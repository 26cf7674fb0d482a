/**
 * `@ublk-ts/ublk`: the ublk driver of the model kernel (`/dev/ublk-control`, `/dev/ublkcN`,
 * the block device front end `/dev/ublkbN`) and the ublk server library (control, queues,
 * the {@linkcode Target} interface).
 *
 * @module
 */
export * from "./target.ts";
