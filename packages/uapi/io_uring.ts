/**
 * io_uring uapi constants under their kernel names (`linux/io_uring.h`), checked
 * against the installed header by `header_test.ts`, plus the RFC's never-merged
 * `IORING_OP_FUSED_CMD` and the kernel-internal issue flags the RFC used.
 *
 * @example Test a CQE flag
 * ```ts
 * import assert from "node:assert/strict";
 * import { IORING_CQE_F_MORE, IORING_CQE_F_NOTIF, IORING_OP_NAMES, IORING_OP_SEND_ZC } from "@ublk-ts/uapi";
 * const flags = IORING_CQE_F_NOTIF;
 * assert.equal(flags & IORING_CQE_F_MORE, 0);
 * assert.equal(IORING_OP_NAMES[IORING_OP_SEND_ZC], "SEND_ZC");
 * ```
 *
 * @module
 */

// ---- enum io_uring_op ----

/** `IORING_OP_NOP` = 0. */
export const IORING_OP_NOP = 0;
/** `IORING_OP_READV` = 1. */
export const IORING_OP_READV = 1;
/** `IORING_OP_WRITEV` = 2. */
export const IORING_OP_WRITEV = 2;
/** `IORING_OP_FSYNC` = 3. */
export const IORING_OP_FSYNC = 3;
/** `IORING_OP_READ_FIXED` = 4. */
export const IORING_OP_READ_FIXED = 4;
/** `IORING_OP_WRITE_FIXED` = 5. */
export const IORING_OP_WRITE_FIXED = 5;
/** `IORING_OP_POLL_ADD` = 6. */
export const IORING_OP_POLL_ADD = 6;
/** `IORING_OP_POLL_REMOVE` = 7. */
export const IORING_OP_POLL_REMOVE = 7;
/** `IORING_OP_SYNC_FILE_RANGE` = 8. */
export const IORING_OP_SYNC_FILE_RANGE = 8;
/** `IORING_OP_SENDMSG` = 9. */
export const IORING_OP_SENDMSG = 9;
/** `IORING_OP_RECVMSG` = 10. */
export const IORING_OP_RECVMSG = 10;
/** `IORING_OP_TIMEOUT` = 11. */
export const IORING_OP_TIMEOUT = 11;
/** `IORING_OP_TIMEOUT_REMOVE` = 12. */
export const IORING_OP_TIMEOUT_REMOVE = 12;
/** `IORING_OP_ACCEPT` = 13. */
export const IORING_OP_ACCEPT = 13;
/** `IORING_OP_ASYNC_CANCEL` = 14. */
export const IORING_OP_ASYNC_CANCEL = 14;
/** `IORING_OP_LINK_TIMEOUT` = 15. */
export const IORING_OP_LINK_TIMEOUT = 15;
/** `IORING_OP_CONNECT` = 16. */
export const IORING_OP_CONNECT = 16;
/** `IORING_OP_FALLOCATE` = 17. */
export const IORING_OP_FALLOCATE = 17;
/** `IORING_OP_OPENAT` = 18. */
export const IORING_OP_OPENAT = 18;
/** `IORING_OP_CLOSE` = 19. */
export const IORING_OP_CLOSE = 19;
/** `IORING_OP_FILES_UPDATE` = 20. */
export const IORING_OP_FILES_UPDATE = 20;
/** `IORING_OP_STATX` = 21. */
export const IORING_OP_STATX = 21;
/** `IORING_OP_READ` = 22. */
export const IORING_OP_READ = 22;
/** `IORING_OP_WRITE` = 23. */
export const IORING_OP_WRITE = 23;
/** `IORING_OP_FADVISE` = 24. */
export const IORING_OP_FADVISE = 24;
/** `IORING_OP_MADVISE` = 25. */
export const IORING_OP_MADVISE = 25;
/** `IORING_OP_SEND` = 26. */
export const IORING_OP_SEND = 26;
/** `IORING_OP_RECV` = 27. */
export const IORING_OP_RECV = 27;
/** `IORING_OP_OPENAT2` = 28. */
export const IORING_OP_OPENAT2 = 28;
/** `IORING_OP_EPOLL_CTL` = 29. */
export const IORING_OP_EPOLL_CTL = 29;
/** `IORING_OP_SPLICE` = 30. */
export const IORING_OP_SPLICE = 30;
/** `IORING_OP_PROVIDE_BUFFERS` = 31. */
export const IORING_OP_PROVIDE_BUFFERS = 31;
/** `IORING_OP_REMOVE_BUFFERS` = 32. */
export const IORING_OP_REMOVE_BUFFERS = 32;
/** `IORING_OP_TEE` = 33. */
export const IORING_OP_TEE = 33;
/** `IORING_OP_SHUTDOWN` = 34. */
export const IORING_OP_SHUTDOWN = 34;
/** `IORING_OP_RENAMEAT` = 35. */
export const IORING_OP_RENAMEAT = 35;
/** `IORING_OP_UNLINKAT` = 36. */
export const IORING_OP_UNLINKAT = 36;
/** `IORING_OP_MKDIRAT` = 37. */
export const IORING_OP_MKDIRAT = 37;
/** `IORING_OP_SYMLINKAT` = 38. */
export const IORING_OP_SYMLINKAT = 38;
/** `IORING_OP_LINKAT` = 39. */
export const IORING_OP_LINKAT = 39;
/** `IORING_OP_MSG_RING` = 40. */
export const IORING_OP_MSG_RING = 40;
/** `IORING_OP_FSETXATTR` = 41. */
export const IORING_OP_FSETXATTR = 41;
/** `IORING_OP_SETXATTR` = 42. */
export const IORING_OP_SETXATTR = 42;
/** `IORING_OP_FGETXATTR` = 43. */
export const IORING_OP_FGETXATTR = 43;
/** `IORING_OP_GETXATTR` = 44. */
export const IORING_OP_GETXATTR = 44;
/** `IORING_OP_SOCKET` = 45. */
export const IORING_OP_SOCKET = 45;
/** `IORING_OP_URING_CMD` = 46. */
export const IORING_OP_URING_CMD = 46;
/** `IORING_OP_SEND_ZC` = 47. */
export const IORING_OP_SEND_ZC = 47;
/** `IORING_OP_SENDMSG_ZC` = 48. */
export const IORING_OP_SENDMSG_ZC = 48;
/** `IORING_OP_LAST` of the 6.1 header: one past the last upstream opcode there. */
export const IORING_OP_LAST = 49;
/**
 * `IORING_OP_FUSED_CMD` = 49: the 2023 RFC's fused command (right after SENDMSG_ZC).
 * Never merged upstream; 49 was later used for another opcode. Only the model kernel knows it.
 */
export const IORING_OP_FUSED_CMD = 49;

/** Opcode names by number, for messages and probes (49 is the RFC's FUSED_CMD). */
export const IORING_OP_NAMES: readonly string[] = [
  "NOP",
  "READV",
  "WRITEV",
  "FSYNC",
  "READ_FIXED",
  "WRITE_FIXED",
  "POLL_ADD",
  "POLL_REMOVE",
  "SYNC_FILE_RANGE",
  "SENDMSG",
  "RECVMSG",
  "TIMEOUT",
  "TIMEOUT_REMOVE",
  "ACCEPT",
  "ASYNC_CANCEL",
  "LINK_TIMEOUT",
  "CONNECT",
  "FALLOCATE",
  "OPENAT",
  "CLOSE",
  "FILES_UPDATE",
  "STATX",
  "READ",
  "WRITE",
  "FADVISE",
  "MADVISE",
  "SEND",
  "RECV",
  "OPENAT2",
  "EPOLL_CTL",
  "SPLICE",
  "PROVIDE_BUFFERS",
  "REMOVE_BUFFERS",
  "TEE",
  "SHUTDOWN",
  "RENAMEAT",
  "UNLINKAT",
  "MKDIRAT",
  "SYMLINKAT",
  "LINKAT",
  "MSG_RING",
  "FSETXATTR",
  "SETXATTR",
  "FGETXATTR",
  "GETXATTR",
  "SOCKET",
  "URING_CMD",
  "SEND_ZC",
  "SENDMSG_ZC",
  "FUSED_CMD",
];

// ---- SQE flags (sqe->flags) ----
/** `IOSQE_FIXED_FILE` = 1 << 0. */
export const IOSQE_FIXED_FILE = 1;
/** `IOSQE_IO_DRAIN` = 1 << 1. */
export const IOSQE_IO_DRAIN = 2;
/** `IOSQE_IO_LINK` = 1 << 2. */
export const IOSQE_IO_LINK = 4;
/** `IOSQE_IO_HARDLINK` = 1 << 3. */
export const IOSQE_IO_HARDLINK = 8;
/** `IOSQE_ASYNC` = 1 << 4. */
export const IOSQE_ASYNC = 16;
/** `IOSQE_BUFFER_SELECT` = 1 << 5. */
export const IOSQE_BUFFER_SELECT = 32;
/** `IOSQE_CQE_SKIP_SUCCESS` = 1 << 6. */
export const IOSQE_CQE_SKIP_SUCCESS = 64;

// ---- SQE flag bit numbers ----
/** `IOSQE_FIXED_FILE_BIT` = 0. */
export const IOSQE_FIXED_FILE_BIT = 0;
/** `IOSQE_IO_DRAIN_BIT` = 1. */
export const IOSQE_IO_DRAIN_BIT = 1;
/** `IOSQE_IO_LINK_BIT` = 2. */
export const IOSQE_IO_LINK_BIT = 2;
/** `IOSQE_IO_HARDLINK_BIT` = 3. */
export const IOSQE_IO_HARDLINK_BIT = 3;
/** `IOSQE_ASYNC_BIT` = 4. */
export const IOSQE_ASYNC_BIT = 4;
/** `IOSQE_BUFFER_SELECT_BIT` = 5. */
export const IOSQE_BUFFER_SELECT_BIT = 5;
/** `IOSQE_CQE_SKIP_SUCCESS_BIT` = 6. */
export const IOSQE_CQE_SKIP_SUCCESS_BIT = 6;

// ---- setup flags (io_uring_params.flags) ----
/** `IORING_SETUP_IOPOLL` = 1 << 0. */
export const IORING_SETUP_IOPOLL = 1;
/** `IORING_SETUP_SQPOLL` = 1 << 1. */
export const IORING_SETUP_SQPOLL = 2;
/** `IORING_SETUP_SQ_AFF` = 1 << 2. */
export const IORING_SETUP_SQ_AFF = 4;
/** `IORING_SETUP_CQSIZE` = 1 << 3. */
export const IORING_SETUP_CQSIZE = 8;
/** `IORING_SETUP_CLAMP` = 1 << 4. */
export const IORING_SETUP_CLAMP = 16;
/** `IORING_SETUP_ATTACH_WQ` = 1 << 5. */
export const IORING_SETUP_ATTACH_WQ = 32;
/** `IORING_SETUP_R_DISABLED` = 1 << 6. */
export const IORING_SETUP_R_DISABLED = 64;
/** `IORING_SETUP_SUBMIT_ALL` = 1 << 7. */
export const IORING_SETUP_SUBMIT_ALL = 128;
/** `IORING_SETUP_COOP_TASKRUN` = 1 << 8. */
export const IORING_SETUP_COOP_TASKRUN = 256;
/** `IORING_SETUP_TASKRUN_FLAG` = 1 << 9. */
export const IORING_SETUP_TASKRUN_FLAG = 512;
/** `IORING_SETUP_SQE128` = 1 << 10. */
export const IORING_SETUP_SQE128 = 1024;
/** `IORING_SETUP_CQE32` = 1 << 11. */
export const IORING_SETUP_CQE32 = 2048;
/** `IORING_SETUP_SINGLE_ISSUER` = 1 << 12. */
export const IORING_SETUP_SINGLE_ISSUER = 4096;
/** `IORING_SETUP_DEFER_TASKRUN` = 1 << 13. */
export const IORING_SETUP_DEFER_TASKRUN = 8192;

/**
 * `IORING_SETUP_FUSED_REQ` = 1 << 14: RFC v6 only (never merged; upstream later used bit 14 for
 * NO_MMAP). This project implements the v1 SQE128 form and does not accept it.
 */
export const IORING_SETUP_FUSED_REQ = 1 << 14;

// ---- features (io_uring_params.features) ----
/** `IORING_FEAT_SINGLE_MMAP` = 1 << 0. */
export const IORING_FEAT_SINGLE_MMAP = 1;
/** `IORING_FEAT_NODROP` = 1 << 1. */
export const IORING_FEAT_NODROP = 2;
/** `IORING_FEAT_SUBMIT_STABLE` = 1 << 2. */
export const IORING_FEAT_SUBMIT_STABLE = 4;
/** `IORING_FEAT_RW_CUR_POS` = 1 << 3. */
export const IORING_FEAT_RW_CUR_POS = 8;
/** `IORING_FEAT_CUR_PERSONALITY` = 1 << 4. */
export const IORING_FEAT_CUR_PERSONALITY = 16;
/** `IORING_FEAT_FAST_POLL` = 1 << 5. */
export const IORING_FEAT_FAST_POLL = 32;
/** `IORING_FEAT_POLL_32BITS` = 1 << 6. */
export const IORING_FEAT_POLL_32BITS = 64;
/** `IORING_FEAT_SQPOLL_NONFIXED` = 1 << 7. */
export const IORING_FEAT_SQPOLL_NONFIXED = 128;
/** `IORING_FEAT_EXT_ARG` = 1 << 8. */
export const IORING_FEAT_EXT_ARG = 256;
/** `IORING_FEAT_NATIVE_WORKERS` = 1 << 9. */
export const IORING_FEAT_NATIVE_WORKERS = 512;
/** `IORING_FEAT_RSRC_TAGS` = 1 << 10. */
export const IORING_FEAT_RSRC_TAGS = 1024;
/** `IORING_FEAT_CQE_SKIP` = 1 << 11. */
export const IORING_FEAT_CQE_SKIP = 2048;
/** `IORING_FEAT_LINKED_FILE` = 1 << 12. */
export const IORING_FEAT_LINKED_FILE = 4096;
/**
 * `IORING_FEAT_FUSED_REQ` = 1 << 14: RFC v6 only, reported with `IORING_SETUP_FUSED_REQ`.
 * Never merged.
 */
export const IORING_FEAT_FUSED_REQ = 1 << 14;

// ---- CQE flags ----
/** `IORING_CQE_F_BUFFER` = 1 << 0. */
export const IORING_CQE_F_BUFFER = 1;
/** `IORING_CQE_F_MORE` = 1 << 1. */
export const IORING_CQE_F_MORE = 2;
/** `IORING_CQE_F_SOCK_NONEMPTY` = 1 << 2. */
export const IORING_CQE_F_SOCK_NONEMPTY = 4;
/** `IORING_CQE_F_NOTIF` = 1 << 3. */
export const IORING_CQE_F_NOTIF = 8;

/** `IORING_CQE_BUFFER_SHIFT` = 16: the buffer id sits in the upper 16 bits of cqe->flags. */
export const IORING_CQE_BUFFER_SHIFT = 16;

// ---- io_uring_enter flags ----
/** `IORING_ENTER_GETEVENTS` = 1 << 0. */
export const IORING_ENTER_GETEVENTS = 1;
/** `IORING_ENTER_SQ_WAKEUP` = 1 << 1. */
export const IORING_ENTER_SQ_WAKEUP = 2;
/** `IORING_ENTER_SQ_WAIT` = 1 << 2. */
export const IORING_ENTER_SQ_WAIT = 4;
/** `IORING_ENTER_EXT_ARG` = 1 << 3. */
export const IORING_ENTER_EXT_ARG = 8;
/** `IORING_ENTER_REGISTERED_RING` = 1 << 4. */
export const IORING_ENTER_REGISTERED_RING = 16;

// ---- SQ ring flags (sq_off.flags) ----
/** `IORING_SQ_NEED_WAKEUP` = 1 << 0. */
export const IORING_SQ_NEED_WAKEUP = 1;
/** `IORING_SQ_CQ_OVERFLOW` = 1 << 1. */
export const IORING_SQ_CQ_OVERFLOW = 2;
/** `IORING_SQ_TASKRUN` = 1 << 2. */
export const IORING_SQ_TASKRUN = 4;

// ---- CQ ring flags (cq_off.flags) ----
/** `IORING_CQ_EVENTFD_DISABLED` = 1 << 0. */
export const IORING_CQ_EVENTFD_DISABLED = 1;

// ---- io_uring_register opcodes ----
/** `IORING_REGISTER_BUFFERS` = 0. */
export const IORING_REGISTER_BUFFERS = 0;
/** `IORING_UNREGISTER_BUFFERS` = 1. */
export const IORING_UNREGISTER_BUFFERS = 1;
/** `IORING_REGISTER_FILES` = 2. */
export const IORING_REGISTER_FILES = 2;
/** `IORING_UNREGISTER_FILES` = 3. */
export const IORING_UNREGISTER_FILES = 3;
/** `IORING_REGISTER_EVENTFD` = 4. */
export const IORING_REGISTER_EVENTFD = 4;
/** `IORING_UNREGISTER_EVENTFD` = 5. */
export const IORING_UNREGISTER_EVENTFD = 5;
/** `IORING_REGISTER_FILES_UPDATE` = 6. */
export const IORING_REGISTER_FILES_UPDATE = 6;
/** `IORING_REGISTER_EVENTFD_ASYNC` = 7. */
export const IORING_REGISTER_EVENTFD_ASYNC = 7;
/** `IORING_REGISTER_PROBE` = 8. */
export const IORING_REGISTER_PROBE = 8;
/** `IORING_REGISTER_PERSONALITY` = 9. */
export const IORING_REGISTER_PERSONALITY = 9;
/** `IORING_UNREGISTER_PERSONALITY` = 10. */
export const IORING_UNREGISTER_PERSONALITY = 10;
/** `IORING_REGISTER_RESTRICTIONS` = 11. */
export const IORING_REGISTER_RESTRICTIONS = 11;
/** `IORING_REGISTER_ENABLE_RINGS` = 12. */
export const IORING_REGISTER_ENABLE_RINGS = 12;
/** `IORING_REGISTER_FILES2` = 13. */
export const IORING_REGISTER_FILES2 = 13;
/** `IORING_REGISTER_FILES_UPDATE2` = 14. */
export const IORING_REGISTER_FILES_UPDATE2 = 14;
/** `IORING_REGISTER_BUFFERS2` = 15. */
export const IORING_REGISTER_BUFFERS2 = 15;
/** `IORING_REGISTER_BUFFERS_UPDATE` = 16. */
export const IORING_REGISTER_BUFFERS_UPDATE = 16;
/** `IORING_REGISTER_IOWQ_AFF` = 17. */
export const IORING_REGISTER_IOWQ_AFF = 17;
/** `IORING_UNREGISTER_IOWQ_AFF` = 18. */
export const IORING_UNREGISTER_IOWQ_AFF = 18;
/** `IORING_REGISTER_IOWQ_MAX_WORKERS` = 19. */
export const IORING_REGISTER_IOWQ_MAX_WORKERS = 19;
/** `IORING_REGISTER_RING_FDS` = 20. */
export const IORING_REGISTER_RING_FDS = 20;
/** `IORING_UNREGISTER_RING_FDS` = 21. */
export const IORING_UNREGISTER_RING_FDS = 21;
/** `IORING_REGISTER_PBUF_RING` = 22. */
export const IORING_REGISTER_PBUF_RING = 22;
/** `IORING_UNREGISTER_PBUF_RING` = 23. */
export const IORING_UNREGISTER_PBUF_RING = 23;
/** `IORING_REGISTER_SYNC_CANCEL` = 24. */
export const IORING_REGISTER_SYNC_CANCEL = 24;
/** `IORING_REGISTER_FILE_ALLOC_RANGE` = 25. */
export const IORING_REGISTER_FILE_ALLOC_RANGE = 25;
/** `IORING_REGISTER_LAST` = 26. */
export const IORING_REGISTER_LAST = 26;

// ---- io-wq ----
/** `IO_WQ_BOUND` = 0. */
export const IO_WQ_BOUND = 0;
/** `IO_WQ_UNBOUND` = 1. */
export const IO_WQ_UNBOUND = 1;

// ---- restrictions ----
/** `IORING_RESTRICTION_REGISTER_OP` = 0. */
export const IORING_RESTRICTION_REGISTER_OP = 0;
/** `IORING_RESTRICTION_SQE_OP` = 1. */
export const IORING_RESTRICTION_SQE_OP = 1;
/** `IORING_RESTRICTION_SQE_FLAGS_ALLOWED` = 2. */
export const IORING_RESTRICTION_SQE_FLAGS_ALLOWED = 2;
/** `IORING_RESTRICTION_SQE_FLAGS_REQUIRED` = 3. */
export const IORING_RESTRICTION_SQE_FLAGS_REQUIRED = 3;
/** `IORING_RESTRICTION_LAST` = 4. */
export const IORING_RESTRICTION_LAST = 4;

// ---- uring_cmd flags (sqe->uring_cmd_flags) ----
/** `IORING_URING_CMD_FIXED` = 1 << 0. */
export const IORING_URING_CMD_FIXED = 1;

/**
 * `IORING_URING_CMD_FUSED_SPLIT_SQE` = 1 << 1: RFC v4's 64-byte-SQE fused form (slave in the next
 * SQE). Never merged; this project implements the v1 SQE128 form, where uring_cmd_flags must be 0.
 */
export const IORING_URING_CMD_FUSED_SPLIT_SQE = 1 << 1;
/**
 * `IORING_URING_CMD_FUSED_BUF` = 1 << 1: the name ublksrv's final fused-cmd userspace uses for
 * the primary's uring_cmd_flags (same bit as {@linkcode IORING_URING_CMD_FUSED_SPLIT_SQE}).
 * Never merged.
 */
export const IORING_URING_CMD_FUSED_BUF = 1 << 1;

// ---- fsync flags ----
/** `IORING_FSYNC_DATASYNC` = 1 << 0. */
export const IORING_FSYNC_DATASYNC = 1;

// ---- timeout flags ----
/** `IORING_TIMEOUT_ABS` = 1 << 0. */
export const IORING_TIMEOUT_ABS = 1;
/** `IORING_TIMEOUT_UPDATE` = 1 << 1. */
export const IORING_TIMEOUT_UPDATE = 2;
/** `IORING_TIMEOUT_BOOTTIME` = 1 << 2. */
export const IORING_TIMEOUT_BOOTTIME = 4;
/** `IORING_TIMEOUT_REALTIME` = 1 << 3. */
export const IORING_TIMEOUT_REALTIME = 8;
/** `IORING_TIMEOUT_ETIME_SUCCESS` = 1 << 5. */
export const IORING_TIMEOUT_ETIME_SUCCESS = 32;

/** `IORING_LINK_TIMEOUT_UPDATE` = 1 << 4. */
export const IORING_LINK_TIMEOUT_UPDATE = 1 << 4;
/** `IORING_TIMEOUT_CLOCK_MASK` = BOOTTIME | REALTIME. */
export const IORING_TIMEOUT_CLOCK_MASK = (1 << 2) | (1 << 3);
/** `IORING_TIMEOUT_UPDATE_MASK` = UPDATE | LINK_TIMEOUT_UPDATE. */
export const IORING_TIMEOUT_UPDATE_MASK = (1 << 1) | (1 << 4);
/** `SPLICE_F_FD_IN_FIXED` = 1 << 31. */
export const SPLICE_F_FD_IN_FIXED = 0x80000000;

// ---- poll flags ----
/** `IORING_POLL_ADD_MULTI` = 1 << 0. */
export const IORING_POLL_ADD_MULTI = 1;
/** `IORING_POLL_UPDATE_EVENTS` = 1 << 1. */
export const IORING_POLL_UPDATE_EVENTS = 2;
/** `IORING_POLL_UPDATE_USER_DATA` = 1 << 2. */
export const IORING_POLL_UPDATE_USER_DATA = 4;
/** `IORING_POLL_ADD_LEVEL` = 1 << 3. */
export const IORING_POLL_ADD_LEVEL = 8;

// ---- async cancel flags ----
/** `IORING_ASYNC_CANCEL_ALL` = 1 << 0. */
export const IORING_ASYNC_CANCEL_ALL = 1;
/** `IORING_ASYNC_CANCEL_FD` = 1 << 1. */
export const IORING_ASYNC_CANCEL_FD = 2;
/** `IORING_ASYNC_CANCEL_ANY` = 1 << 2. */
export const IORING_ASYNC_CANCEL_ANY = 4;
/** `IORING_ASYNC_CANCEL_FD_FIXED` = 1 << 3. */
export const IORING_ASYNC_CANCEL_FD_FIXED = 8;
/** `IORING_ASYNC_CANCEL_USERDATA` = 1 << 4. */
export const IORING_ASYNC_CANCEL_USERDATA = 16;
/** `IORING_ASYNC_CANCEL_OP` = 1 << 5. */
export const IORING_ASYNC_CANCEL_OP = 32;

// ---- send/recv flags (sqe->ioprio) ----
/** `IORING_RECVSEND_POLL_FIRST` = 1 << 0. */
export const IORING_RECVSEND_POLL_FIRST = 1;
/** `IORING_RECV_MULTISHOT` = 1 << 1. */
export const IORING_RECV_MULTISHOT = 2;
/** `IORING_RECVSEND_FIXED_BUF` = 1 << 2. */
export const IORING_RECVSEND_FIXED_BUF = 4;
/** `IORING_SEND_ZC_REPORT_USAGE` = 1 << 3. */
export const IORING_SEND_ZC_REPORT_USAGE = 8;

/** `IORING_NOTIF_USAGE_ZC_COPIED` = 1 << 31. */
export const IORING_NOTIF_USAGE_ZC_COPIED = 0x80000000;
/** `IORING_ACCEPT_MULTISHOT` = 1 << 0. */
export const IORING_ACCEPT_MULTISHOT = 1;

// ---- MSG_RING ----
/** `IORING_MSG_DATA` = 0. */
export const IORING_MSG_DATA = 0;
/** `IORING_MSG_SEND_FD` = 1. */
export const IORING_MSG_SEND_FD = 1;
/** `IORING_MSG_RING_CQE_SKIP` = 1 << 0. */
export const IORING_MSG_RING_CQE_SKIP = 1;

// ---- mmap offsets (bigint: they are u64 in the header) ----
/** `IORING_OFF_SQ_RING` = 0. */
export const IORING_OFF_SQ_RING = 0n;
/** `IORING_OFF_CQ_RING` = 0x8000000. */
export const IORING_OFF_CQ_RING = 0x8000000n;
/** `IORING_OFF_SQES` = 0x10000000. */
export const IORING_OFF_SQES = 0x10000000n;
/** `IORING_OFF_MMAP_MASK` = 0xf8000000. */
export const IORING_OFF_MMAP_MASK = 0xf8000000n;

// ---- misc ----
/** `IORING_FILE_INDEX_ALLOC` = ~0U. */
export const IORING_FILE_INDEX_ALLOC = 0xffffffff;
/** `IORING_RSRC_REGISTER_SPARSE` = 1 << 0. */
export const IORING_RSRC_REGISTER_SPARSE = 1;
/** `IORING_REGISTER_FILES_SKIP` = -2. */
export const IORING_REGISTER_FILES_SKIP: number = -2;
/** `IO_URING_OP_SUPPORTED` = 1 << 0 (io_uring_probe_op.flags). */
export const IO_URING_OP_SUPPORTED = 1;

// ---- kernel-internal issue flags (include/linux/io_uring.h), as the RFC used them ----
/** `IO_URING_F_NONBLOCK` (internal). */
export const IO_URING_F_NONBLOCK = 0x80000000;
/** `IO_URING_F_SQE128` = 1 << 8 (internal issue flag). */
export const IO_URING_F_SQE128 = 1 << 8;
/** `IO_URING_F_CQE32` = 1 << 9 (internal issue flag). */
export const IO_URING_F_CQE32 = 1 << 9;
/** `IO_URING_F_IOPOLL` = 1 << 10 (internal issue flag). */
export const IO_URING_F_IOPOLL = 1 << 10;
/** RFC `IO_URING_F_FUSED_WRITE` = 1 << 11: the slave writes into the lent buffer (READ, RECV). */
export const IO_URING_F_FUSED_WRITE = 1 << 11;
/** RFC `IO_URING_F_FUSED_READ` = 1 << 12: the slave reads from the lent buffer (WRITE, SEND, SEND_ZC). */
export const IO_URING_F_FUSED_READ = 1 << 12;
/** RFC `IO_URING_F_FUSED` = FUSED_WRITE | FUSED_READ. */
export const IO_URING_F_FUSED = (1 << 11) | (1 << 12);
/** RFC v4 name of {@linkcode IO_URING_F_FUSED_WRITE}. */
export const IO_URING_F_FUSED_BUF_DEST = 1 << 11;
/** RFC v4 name of {@linkcode IO_URING_F_FUSED_READ}. */
export const IO_URING_F_FUSED_BUF_SRC = 1 << 12;

/** `EIOCBQUEUED` (kernel-internal 529): a uring_cmd handler keeps the command in flight. */
export const EIOCBQUEUED = 529;

/** `sizeof(struct iovec)` on 64-bit Linux: 16 (READV/WRITEV, registered buffer tables). */
export const IOVEC_SIZE = 16;
/** Offset of `iov_base` (u64) in `struct iovec`. */
export const IOVEC_OFFSET_BASE = 0;
/** Offset of `iov_len` (u64) in `struct iovec`. */
export const IOVEC_OFFSET_LEN = 8;
