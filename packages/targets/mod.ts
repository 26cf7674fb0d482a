export * from "./null.ts";
export * from "./loop.ts";
export * from "./nbd_target.ts";
