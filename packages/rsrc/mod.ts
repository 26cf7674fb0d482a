import { X } from "@ublk-ts/uapi";
export const Y: number = X + 1;
