/**
 * Byte layouts the native kernel reads or builds in memory it hands to C: liburing 2.3's
 * `struct io_uring` (x86_64), `struct io_uring_params`, and the small register/enter argument
 * structs. Checked against `offsetof` from a C program in `_layout_test.ts`.
 *
 * @module
 */

/** liburing 2.3 `struct io_uring` on x86_64 (216 bytes). */
export const LIBURING_RING = {
  SIZE: 216,
  SQ_KHEAD: 0,
  SQ_KTAIL: 8,
  SQ_KRING_MASK: 16,
  SQ_KRING_ENTRIES: 24,
  SQ_KFLAGS: 32,
  SQ_KDROPPED: 40,
  SQ_ARRAY: 48,
  SQ_SQES: 56,
  SQ_SQE_HEAD: 64,
  SQ_SQE_TAIL: 68,
  SQ_RING_SZ: 72,
  SQ_RING_PTR: 80,
  SQ_RING_MASK: 88,
  SQ_RING_ENTRIES: 92,
  CQ_KHEAD: 104,
  CQ_KTAIL: 112,
  CQ_KOVERFLOW: 144,
  CQ_CQES: 152,
  CQ_RING_SZ: 160,
  CQ_RING_PTR: 168,
  CQ_RING_MASK: 176,
  CQ_RING_ENTRIES: 180,
  FLAGS: 192,
  RING_FD: 196,
  FEATURES: 200,
  ENTER_RING_FD: 204,
  INT_FLAGS: 208,
} as const;

/** `struct io_uring_params` (120 bytes). */
export const PARAMS = {
  SIZE: 120,
  SQ_ENTRIES: 0,
  CQ_ENTRIES: 4,
  FLAGS: 8,
  SQ_THREAD_CPU: 12,
  SQ_THREAD_IDLE: 16,
  FEATURES: 20,
  WQ_FD: 24,
  SQ_OFF: 40,
  CQ_OFF: 80,
} as const;

/** `struct io_uring_getevents_arg` (24 bytes): sigmask, sigmask_sz, pad, ts. */
export const GETEVENTS_ARG = { SIZE: 24, SIGMASK: 0, SIGMASK_SZ: 8, TS: 16 } as const;

/** `struct io_uring_rsrc_register` (32 bytes). */
export const RSRC_REGISTER = { SIZE: 32, NR: 0, FLAGS: 4, DATA: 16, TAGS: 24 } as const;

/** `struct io_uring_rsrc_update2` (32 bytes). */
export const RSRC_UPDATE2 = { SIZE: 32, OFFSET: 0, DATA: 8, TAGS: 16, NR: 24 } as const;

/** `struct io_uring_files_update` (16 bytes). */
export const FILES_UPDATE = { SIZE: 16, OFFSET: 0, FDS: 8 } as const;

/** `struct iovec` (16 bytes). */
export const IOVEC = { SIZE: 16, BASE: 0, LEN: 8 } as const;

/** `struct stat` on x86_64 (144 bytes): only `st_size` is read. */
export const STAT = { SIZE: 144, ST_SIZE: 48 } as const;

/** `struct pollfd` (8 bytes): fd, events, revents. */
export const POLLFD = { SIZE: 8, FD: 0, EVENTS: 4, REVENTS: 6 } as const;

/** `POLLIN` (poll.h): there is data to read. */
export const POLLIN = 1;
