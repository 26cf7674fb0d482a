export * from "./null.ts";
export * from "./loop.ts";
export * from "./nbd_target.ts";
export * from "./stripe.ts";
export * from "./mirror.ts";
export * from "./fault_inject.ts";
