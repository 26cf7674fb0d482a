/**
 * File constants: `open(2)` flags (`<fcntl.h>`, x86_64 values), `fallocate(2)` modes
 * (`linux/falloc.h`) and the per-I/O `RWF_*` flags of `preadv2`/`pwritev2` and the
 * `rw_flags` of io_uring READ/WRITE SQEs (`linux/fs.h`).
 *
 * @module
 */

/** `O_ACCMODE`: the access-mode bits of the open flags. */
export const O_ACCMODE = 0o3;
/** `O_RDONLY`. */
export const O_RDONLY = 0o0;
/** `O_WRONLY`. */
export const O_WRONLY = 0o1;
/** `O_RDWR`. */
export const O_RDWR = 0o2;
/** `O_CREAT`. */
export const O_CREAT = 0o100;
/** `O_EXCL`. */
export const O_EXCL = 0o200;
/** `O_NOCTTY`. */
export const O_NOCTTY = 0o400;
/** `O_TRUNC`. */
export const O_TRUNC = 0o1000;
/** `O_APPEND`. */
export const O_APPEND = 0o2000;
/** `O_NONBLOCK`. */
export const O_NONBLOCK = 0o4000;
/** `O_DSYNC` (x86_64). */
export const O_DSYNC = 0o10000;
/** `O_DIRECT` (x86_64). */
export const O_DIRECT = 0o40000;
/** `O_DIRECTORY` (x86_64). */
export const O_DIRECTORY = 0o200000;
/** `O_NOFOLLOW` (x86_64). */
export const O_NOFOLLOW = 0o400000;
/** `O_NOATIME`. */
export const O_NOATIME = 0o1000000;
/** `O_CLOEXEC`. */
export const O_CLOEXEC = 0o2000000;
/** `O_SYNC` (x86_64: `__O_SYNC | O_DSYNC`). */
export const O_SYNC = 0o4010000;
/** `O_PATH`. */
export const O_PATH = 0o10000000;

/** `FALLOC_FL_KEEP_SIZE`: do not change the file size. */
export const FALLOC_FL_KEEP_SIZE = 0x01;
/** `FALLOC_FL_PUNCH_HOLE`: deallocate the range (with KEEP_SIZE). */
export const FALLOC_FL_PUNCH_HOLE = 0x02;
/** `FALLOC_FL_NO_HIDE_STALE`: reserved codepoint. */
export const FALLOC_FL_NO_HIDE_STALE = 0x04;
/** `FALLOC_FL_COLLAPSE_RANGE`: remove the range, shifting what follows down. */
export const FALLOC_FL_COLLAPSE_RANGE = 0x08;
/** `FALLOC_FL_ZERO_RANGE`: make the range read as zeroes, keeping it allocated. */
export const FALLOC_FL_ZERO_RANGE = 0x10;
/** `FALLOC_FL_INSERT_RANGE`: insert a hole, shifting what follows up. */
export const FALLOC_FL_INSERT_RANGE = 0x20;
/** `FALLOC_FL_UNSHARE_RANGE`: unshare shared (reflinked) blocks. */
export const FALLOC_FL_UNSHARE_RANGE = 0x40;

/** `RWF_HIPRI`: high-priority (polled) request. */
export const RWF_HIPRI = 0x01;
/** `RWF_DSYNC`: per-I/O `O_DSYNC`. */
export const RWF_DSYNC = 0x02;
/** `RWF_SYNC`: per-I/O `O_SYNC`. */
export const RWF_SYNC = 0x04;
/** `RWF_NOWAIT`: fail with -EAGAIN rather than block. */
export const RWF_NOWAIT = 0x08;
/** `RWF_APPEND`: per-I/O `O_APPEND`. */
export const RWF_APPEND = 0x10;
/**
 * `RWF_NOAPPEND`: per-I/O negation of `O_APPEND` (Linux 6.9+, present in the 6.18 kernel's
 * `include/uapi/linux/fs.h`; newer than the installed 6.1 `<linux/fs.h>`, which lacks it).
 */
export const RWF_NOAPPEND = 0x20;
