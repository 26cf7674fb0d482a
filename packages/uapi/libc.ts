/**
 * `@ublk-ts/uapi/libc`: the libc-side names a ublk server needs around io_uring — `open(2)`
 * flags, `fallocate(2)` modes and `RWF_*` (fcntl.ts), `mmap(2)` (mman.ts), and the `_IOC`
 * encoding helpers (ioctl.ts).
 *
 * @module
 */
export * from "./fcntl.ts";
export * from "./mman.ts";
export * from "./ioctl.ts";
