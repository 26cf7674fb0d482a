/**
 * ublk uapi constants (`linux/ublk_cmd.h`) under their kernel names: legacy and
 * ioctl-encoded control and io commands, feature flags, device states, io ops and flags,
 * results, limits, the user-copy position layout, param types and attributes, plus the
 * RFC's never-merged `UBLK_IO_FUSED_SUBMIT_IO`.
 *
 * Names present in the installed 6.1 header (Debian `linux-libc-dev` 6.1.187-1) are checked
 * against it by `header_test.ts`; newer ones follow torvalds/linux
 * `include/uapi/linux/ublk_cmd.h` at commit 08677040a911 and are checked against the values
 * recorded in SPEC.md (`ublk_cmd_test.ts`).
 *
 * Types: u64 flag values (`UBLK_F_*`, the field `ublksrv_ctrl_dev_info.flags` is u64) and every
 * `ULL` mask are `bigint`; everything else is `number`. The ioctl-encoded opcodes are computed
 * with {@linkcode _IOR}/{@linkcode _IOWR} from the struct sizes, never typed in.
 *
 * @example Pick the opcode form a device expects
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   UBLK_CMD_ADD_DEV,
 *   UBLK_F_CMD_IOCTL_ENCODE,
 *   UBLK_U_CMD_ADD_DEV,
 * } from "@ublk-ts/uapi";
 * const features = 0x1fen; // what a 6.12 driver reports
 * const op = (features & UBLK_F_CMD_IOCTL_ENCODE) ? UBLK_U_CMD_ADD_DEV : UBLK_CMD_ADD_DEV;
 * assert.equal(op, 0xc0207504);
 * ```
 *
 * @module
 */

import { _IOR, _IOWR } from "./ioctl.ts";
import { UblksrvCtrlCmd } from "./ublksrv_ctrl_cmd.ts";
import { UblksrvIoCmd } from "./ublksrv_io_cmd.ts";
import { UblkBatchIo } from "./ublk_batch.ts";

/** The ioctl type byte of every ublk command: `'u'`. */
export const UBLK_IOC_TYPE = 0x75;

const CTRL = UblksrvCtrlCmd.SIZE;
const IO = UblksrvIoCmd.SIZE;

// ---- legacy control commands (cmd_op of /dev/ublk-control; "don't use in new code") ----
/** `UBLK_CMD_GET_QUEUE_AFFINITY` = 0x01. */
export const UBLK_CMD_GET_QUEUE_AFFINITY = 0x01;
/** `UBLK_CMD_GET_DEV_INFO` = 0x02. */
export const UBLK_CMD_GET_DEV_INFO = 0x02;
/** `UBLK_CMD_ADD_DEV` = 0x04. */
export const UBLK_CMD_ADD_DEV = 0x04;
/** `UBLK_CMD_DEL_DEV` = 0x05. */
export const UBLK_CMD_DEL_DEV = 0x05;
/** `UBLK_CMD_START_DEV` = 0x06. */
export const UBLK_CMD_START_DEV = 0x06;
/** `UBLK_CMD_STOP_DEV` = 0x07. */
export const UBLK_CMD_STOP_DEV = 0x07;
/** `UBLK_CMD_SET_PARAMS` = 0x08. */
export const UBLK_CMD_SET_PARAMS = 0x08;
/** `UBLK_CMD_GET_PARAMS` = 0x09. */
export const UBLK_CMD_GET_PARAMS = 0x09;
/** `UBLK_CMD_START_USER_RECOVERY` = 0x10. */
export const UBLK_CMD_START_USER_RECOVERY = 0x10;
/** `UBLK_CMD_END_USER_RECOVERY` = 0x11. */
export const UBLK_CMD_END_USER_RECOVERY = 0x11;
/** `UBLK_CMD_GET_DEV_INFO2` = 0x12 (after 6.1). */
export const UBLK_CMD_GET_DEV_INFO2 = 0x12;

// ---- ioctl-encoded control commands ----
/** `UBLK_U_CMD_GET_QUEUE_AFFINITY` = `_IOR('u', 0x01, struct ublksrv_ctrl_cmd)`. */
export const UBLK_U_CMD_GET_QUEUE_AFFINITY: number = _IOR(
  UBLK_IOC_TYPE,
  UBLK_CMD_GET_QUEUE_AFFINITY,
  CTRL,
);
/** `UBLK_U_CMD_GET_DEV_INFO` = `_IOR('u', 0x02, struct ublksrv_ctrl_cmd)`. */
export const UBLK_U_CMD_GET_DEV_INFO: number = _IOR(UBLK_IOC_TYPE, UBLK_CMD_GET_DEV_INFO, CTRL);
/** `UBLK_U_CMD_ADD_DEV` = `_IOWR('u', 0x04, struct ublksrv_ctrl_cmd)`. */
export const UBLK_U_CMD_ADD_DEV: number = _IOWR(UBLK_IOC_TYPE, UBLK_CMD_ADD_DEV, CTRL);
/** `UBLK_U_CMD_DEL_DEV` = `_IOWR('u', 0x05, struct ublksrv_ctrl_cmd)`. */
export const UBLK_U_CMD_DEL_DEV: number = _IOWR(UBLK_IOC_TYPE, UBLK_CMD_DEL_DEV, CTRL);
/** `UBLK_U_CMD_START_DEV` = `_IOWR('u', 0x06, struct ublksrv_ctrl_cmd)`. */
export const UBLK_U_CMD_START_DEV: number = _IOWR(UBLK_IOC_TYPE, UBLK_CMD_START_DEV, CTRL);
/** `UBLK_U_CMD_STOP_DEV` = `_IOWR('u', 0x07, struct ublksrv_ctrl_cmd)`. */
export const UBLK_U_CMD_STOP_DEV: number = _IOWR(UBLK_IOC_TYPE, UBLK_CMD_STOP_DEV, CTRL);
/** `UBLK_U_CMD_SET_PARAMS` = `_IOWR('u', 0x08, struct ublksrv_ctrl_cmd)`. */
export const UBLK_U_CMD_SET_PARAMS: number = _IOWR(UBLK_IOC_TYPE, UBLK_CMD_SET_PARAMS, CTRL);
/** `UBLK_U_CMD_GET_PARAMS` = `_IOR('u', 0x09, struct ublksrv_ctrl_cmd)`. */
export const UBLK_U_CMD_GET_PARAMS: number = _IOR(UBLK_IOC_TYPE, UBLK_CMD_GET_PARAMS, CTRL);
/** `UBLK_U_CMD_START_USER_RECOVERY` = `_IOWR('u', 0x10, struct ublksrv_ctrl_cmd)`. */
export const UBLK_U_CMD_START_USER_RECOVERY: number = _IOWR(
  UBLK_IOC_TYPE,
  UBLK_CMD_START_USER_RECOVERY,
  CTRL,
);
/** `UBLK_U_CMD_END_USER_RECOVERY` = `_IOWR('u', 0x11, struct ublksrv_ctrl_cmd)`. */
export const UBLK_U_CMD_END_USER_RECOVERY: number = _IOWR(
  UBLK_IOC_TYPE,
  UBLK_CMD_END_USER_RECOVERY,
  CTRL,
);
/** `UBLK_U_CMD_GET_DEV_INFO2` = `_IOR('u', 0x12, struct ublksrv_ctrl_cmd)`. */
export const UBLK_U_CMD_GET_DEV_INFO2: number = _IOR(UBLK_IOC_TYPE, UBLK_CMD_GET_DEV_INFO2, CTRL);
/** `UBLK_U_CMD_GET_FEATURES` = `_IOR('u', 0x13, struct ublksrv_ctrl_cmd)`: `addr` → u64 features. */
export const UBLK_U_CMD_GET_FEATURES: number = _IOR(UBLK_IOC_TYPE, 0x13, CTRL);
/** `UBLK_U_CMD_DEL_DEV_ASYNC` = `_IOR('u', 0x14, struct ublksrv_ctrl_cmd)`. */
export const UBLK_U_CMD_DEL_DEV_ASYNC: number = _IOR(UBLK_IOC_TYPE, 0x14, CTRL);
/** `UBLK_U_CMD_UPDATE_SIZE` = `_IOWR('u', 0x15, struct ublksrv_ctrl_cmd)`: `data[0]` = sectors. */
export const UBLK_U_CMD_UPDATE_SIZE: number = _IOWR(UBLK_IOC_TYPE, 0x15, CTRL);
/** `UBLK_U_CMD_QUIESCE_DEV` = `_IOWR('u', 0x16, struct ublksrv_ctrl_cmd)`. */
export const UBLK_U_CMD_QUIESCE_DEV: number = _IOWR(UBLK_IOC_TYPE, 0x16, CTRL);
/** `UBLK_U_CMD_TRY_STOP_DEV` = `_IOWR('u', 0x17, struct ublksrv_ctrl_cmd)`. */
export const UBLK_U_CMD_TRY_STOP_DEV: number = _IOWR(UBLK_IOC_TYPE, 0x17, CTRL);
/** `UBLK_U_CMD_REG_BUF` = `_IOWR('u', 0x18, struct ublksrv_ctrl_cmd)` (shared-memory zero copy). */
export const UBLK_U_CMD_REG_BUF: number = _IOWR(UBLK_IOC_TYPE, 0x18, CTRL);
/** `UBLK_U_CMD_UNREG_BUF` = `_IOWR('u', 0x19, struct ublksrv_ctrl_cmd)`. */
export const UBLK_U_CMD_UNREG_BUF: number = _IOWR(UBLK_IOC_TYPE, 0x19, CTRL);

/** `UBLK_FEATURES_LEN` = 8: bytes GET_FEATURES writes. */
export const UBLK_FEATURES_LEN = 8;
/** `UBLK_SHMEM_BUF_READ_ONLY` = 1 << 0 (`ublk_shmem_buf_reg.flags`). */
export const UBLK_SHMEM_BUF_READ_ONLY = 1;

// ---- legacy io commands (cmd_op of /dev/ublkcN) ----
/** `UBLK_IO_FETCH_REQ` = 0x20. */
export const UBLK_IO_FETCH_REQ = 0x20;
/** `UBLK_IO_COMMIT_AND_FETCH_REQ` = 0x21. */
export const UBLK_IO_COMMIT_AND_FETCH_REQ = 0x21;
/** `UBLK_IO_NEED_GET_DATA` = 0x22. */
export const UBLK_IO_NEED_GET_DATA = 0x22;
/**
 * `UBLK_IO_FUSED_SUBMIT_IO` = 0x23: the 2023 RFC's master command of `IORING_OP_FUSED_CMD`
 * (legacy numbering). **Never merged**: upstream 0x23 is now `UBLK_U_IO_REGISTER_IO_BUF`
 * (ioctl-encoded, so the two numbers differ). Only the model driver knows it.
 */
export const UBLK_IO_FUSED_SUBMIT_IO = 0x23;

// ---- ioctl-encoded io commands ----
/** `UBLK_U_IO_FETCH_REQ` = `_IOWR('u', 0x20, struct ublksrv_io_cmd)`. */
export const UBLK_U_IO_FETCH_REQ: number = _IOWR(UBLK_IOC_TYPE, UBLK_IO_FETCH_REQ, IO);
/** `UBLK_U_IO_COMMIT_AND_FETCH_REQ` = `_IOWR('u', 0x21, struct ublksrv_io_cmd)`. */
export const UBLK_U_IO_COMMIT_AND_FETCH_REQ: number = _IOWR(
  UBLK_IOC_TYPE,
  UBLK_IO_COMMIT_AND_FETCH_REQ,
  IO,
);
/** `UBLK_U_IO_NEED_GET_DATA` = `_IOWR('u', 0x22, struct ublksrv_io_cmd)`. */
export const UBLK_U_IO_NEED_GET_DATA: number = _IOWR(UBLK_IOC_TYPE, UBLK_IO_NEED_GET_DATA, IO);
/** `UBLK_U_IO_REGISTER_IO_BUF` = `_IOWR('u', 0x23, struct ublksrv_io_cmd)` (6.15). */
export const UBLK_U_IO_REGISTER_IO_BUF: number = _IOWR(UBLK_IOC_TYPE, 0x23, IO);
/** `UBLK_U_IO_UNREGISTER_IO_BUF` = `_IOWR('u', 0x24, struct ublksrv_io_cmd)` (6.15). */
export const UBLK_U_IO_UNREGISTER_IO_BUF: number = _IOWR(UBLK_IOC_TYPE, 0x24, IO);
/** `UBLK_U_IO_PREP_IO_CMDS` = `_IOWR('u', 0x25, struct ublk_batch_io)`. */
export const UBLK_U_IO_PREP_IO_CMDS: number = _IOWR(UBLK_IOC_TYPE, 0x25, UblkBatchIo.SIZE);
/** `UBLK_U_IO_COMMIT_IO_CMDS` = `_IOWR('u', 0x26, struct ublk_batch_io)`. */
export const UBLK_U_IO_COMMIT_IO_CMDS: number = _IOWR(UBLK_IOC_TYPE, 0x26, UblkBatchIo.SIZE);
/** `UBLK_U_IO_FETCH_IO_CMDS` = `_IOWR('u', 0x27, struct ublk_batch_io)` (multishot). */
export const UBLK_U_IO_FETCH_IO_CMDS: number = _IOWR(UBLK_IOC_TYPE, 0x27, UblkBatchIo.SIZE);

// ---- results of io commands (cqe->res) ----
/** `UBLK_IO_RES_OK` = 0: a request was delivered in the descriptor. */
export const UBLK_IO_RES_OK = 0;
/** `UBLK_IO_RES_NEED_GET_DATA` = 1: issue NEED_GET_DATA to receive a WRITE's data. */
export const UBLK_IO_RES_NEED_GET_DATA = 1;
/** `UBLK_IO_RES_ABORT` = -ENODEV (-19): the queue is going away; do not re-fetch. */
export const UBLK_IO_RES_ABORT: number = -19;

// ---- limits and mmap / pread layout ----
/** `UBLKSRV_CMD_BUF_OFFSET` = 0: mmap offset of the descriptor area. */
export const UBLKSRV_CMD_BUF_OFFSET = 0;
/** `UBLKSRV_IO_BUF_OFFSET` = 0x80000000: pread/pwrite base position with USER_COPY. */
export const UBLKSRV_IO_BUF_OFFSET = 0x80000000;
/** `UBLK_MAX_QUEUE_DEPTH` = 4096. */
export const UBLK_MAX_QUEUE_DEPTH = 4096;
/**
 * Page size of the char device's descriptor mapping (x86_64 `PAGE_SIZE`): each queue's
 * `ublksrv_io_desc` array is mapped in whole pages.
 */
export const UBLK_PAGE_SIZE = 4096;
/** Bytes of one `struct ublksrv_io_desc` in the descriptor area. */
export const UBLKSRV_IO_DESC_SIZE = 24;
/**
 * `ublk_max_cmd_buf_size()` of `drivers/block/ublk_drv.c`: the mmap space reserved per queue,
 * `round_up(UBLK_MAX_QUEUE_DEPTH * sizeof(struct ublksrv_io_desc), PAGE_SIZE)` = 98304.
 */
export const UBLK_MAX_CMD_BUF_SIZE: number =
  Math.ceil((UBLK_MAX_QUEUE_DEPTH * UBLKSRV_IO_DESC_SIZE) / UBLK_PAGE_SIZE) * UBLK_PAGE_SIZE;

/**
 * The mmap offset of queue `qid`'s descriptor area on `/dev/ublkcN`
 * (`UBLKSRV_CMD_BUF_OFFSET + qid * ublk_max_cmd_buf_size()`, as ublksrv maps it).
 *
 * @param qid The queue id.
 * @returns The byte offset to pass to `mmap`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ublkQueueDescOffset } from "@ublk-ts/uapi";
 * assert.equal(ublkQueueDescOffset(2), 2 * 98304);
 * ```
 */
export function ublkQueueDescOffset(qid: number): number {
  return UBLKSRV_CMD_BUF_OFFSET + qid * UBLK_MAX_CMD_BUF_SIZE;
}

/**
 * The length to map for a queue of `depth` tags: `depth` descriptors rounded up to whole pages.
 *
 * @param depth Tags in the queue.
 * @returns Bytes.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ublkQueueDescSize } from "@ublk-ts/uapi";
 * assert.equal(ublkQueueDescSize(128), 4096);
 * ```
 */
export function ublkQueueDescSize(depth: number): number {
  return Math.ceil((depth * UBLKSRV_IO_DESC_SIZE) / UBLK_PAGE_SIZE) * UBLK_PAGE_SIZE;
}
/** `UBLK_IO_BUF_OFF` = 0: bit offset of the in-buffer offset in a user-copy position. */
export const UBLK_IO_BUF_OFF = 0;
/** `UBLK_IO_BUF_BITS` = 25: a single io buffer is at most 32 MiB. */
export const UBLK_IO_BUF_BITS = 25;
/** `UBLK_IO_BUF_BITS_MASK` = (1 << 25) - 1. */
export const UBLK_IO_BUF_BITS_MASK: bigint = (1n << 25n) - 1n;
/** `UBLK_TAG_OFF` = 25. */
export const UBLK_TAG_OFF: number = UBLK_IO_BUF_BITS;
/** `UBLK_TAG_BITS` = 16. */
export const UBLK_TAG_BITS = 16;
/** `UBLK_TAG_BITS_MASK` = (1 << 16) - 1. */
export const UBLK_TAG_BITS_MASK: bigint = (1n << 16n) - 1n;
/** `UBLK_QID_OFF` = 41. */
export const UBLK_QID_OFF: number = UBLK_TAG_OFF + UBLK_TAG_BITS;
/** `UBLK_QID_BITS` = 12. */
export const UBLK_QID_BITS = 12;
/** `UBLK_QID_BITS_MASK` = (1 << 12) - 1. */
export const UBLK_QID_BITS_MASK: bigint = (1n << 12n) - 1n;
/** `UBLK_MAX_NR_QUEUES` = 1 << 12 = 4096. */
export const UBLK_MAX_NR_QUEUES = 1 << UBLK_QID_BITS;
/** `UBLKSRV_IO_BUF_TOTAL_BITS` = 53. */
export const UBLKSRV_IO_BUF_TOTAL_BITS: number = UBLK_QID_OFF + UBLK_QID_BITS;
/** `UBLKSRV_IO_BUF_TOTAL_SIZE` = 1 << 53. */
export const UBLKSRV_IO_BUF_TOTAL_SIZE: bigint = 1n << 53n;
/** `UBLK_INTEGRITY_FLAG_OFF` = 62. */
export const UBLK_INTEGRITY_FLAG_OFF = 62;
/** `UBLKSRV_IO_INTEGRITY_FLAG` = 1 << 62: the position addresses the integrity buffer. */
export const UBLKSRV_IO_INTEGRITY_FLAG: bigint = 1n << 62n;

// ---- feature flags (ublksrv_ctrl_dev_info.flags, u64: bigint) ----
/**
 * `UBLK_F_SUPPORT_ZERO_COPY` = 1 << 0: since 6.15, zero copy by `UBLK_U_IO_REGISTER_IO_BUF` /
 * `UBLK_U_IO_UNREGISTER_IO_BUF` (masked off before). The RFC used this bit for its fused zero
 * copy; the model names that {@linkcode UBLK_F_RFC_FUSED_ZC}.
 */
export const UBLK_F_SUPPORT_ZERO_COPY = 1n << 0n;
/** `UBLK_F_URING_CMD_COMP_IN_TASK` = 1 << 1. */
export const UBLK_F_URING_CMD_COMP_IN_TASK = 1n << 1n;
/** `UBLK_F_NEED_GET_DATA` = 1 << 2. */
export const UBLK_F_NEED_GET_DATA = 1n << 2n;
/** `UBLK_F_USER_RECOVERY` = 1 << 3. */
export const UBLK_F_USER_RECOVERY = 1n << 3n;
/** `UBLK_F_USER_RECOVERY_REISSUE` = 1 << 4. */
export const UBLK_F_USER_RECOVERY_REISSUE = 1n << 4n;
/** `UBLK_F_UNPRIVILEGED_DEV` = 1 << 5. */
export const UBLK_F_UNPRIVILEGED_DEV = 1n << 5n;
/** `UBLK_F_CMD_IOCTL_ENCODE` = 1 << 6: the driver expects `UBLK_U_*` opcodes. */
export const UBLK_F_CMD_IOCTL_ENCODE = 1n << 6n;
/** `UBLK_F_USER_COPY` = 1 << 7: pread/pwrite on `/dev/ublkcN`. */
export const UBLK_F_USER_COPY = 1n << 7n;
/** `UBLK_F_ZONED` = 1 << 8. */
export const UBLK_F_ZONED = 1n << 8n;
/** `UBLK_F_USER_RECOVERY_FAIL_IO` = 1 << 9. */
export const UBLK_F_USER_RECOVERY_FAIL_IO = 1n << 9n;
/** `UBLK_F_UPDATE_SIZE` = 1 << 10. */
export const UBLK_F_UPDATE_SIZE = 1n << 10n;
/** `UBLK_F_AUTO_BUF_REG` = 1 << 11 (6.16). */
export const UBLK_F_AUTO_BUF_REG = 1n << 11n;
/** `UBLK_F_QUIESCE` = 1 << 12. */
export const UBLK_F_QUIESCE = 1n << 12n;
/** `UBLK_F_PER_IO_DAEMON` = 1 << 13. */
export const UBLK_F_PER_IO_DAEMON = 1n << 13n;
/** `UBLK_F_BUF_REG_OFF_DAEMON` = 1 << 14. */
export const UBLK_F_BUF_REG_OFF_DAEMON = 1n << 14n;
/** `UBLK_F_BATCH_IO` = 1 << 15. */
export const UBLK_F_BATCH_IO = 1n << 15n;
/** `UBLK_F_INTEGRITY` = 1 << 16. */
export const UBLK_F_INTEGRITY = 1n << 16n;
/** `UBLK_F_SAFE_STOP_DEV` = 1 << 17. */
export const UBLK_F_SAFE_STOP_DEV = 1n << 17n;
/** `UBLK_F_NO_AUTO_PART_SCAN` = 1 << 18. */
export const UBLK_F_NO_AUTO_PART_SCAN = 1n << 18n;
/** `UBLK_F_SHMEM_ZC` = 1 << 19 (7.1). */
export const UBLK_F_SHMEM_ZC = 1n << 19n;
/** `UBLK_F_IO_DESC_SIZE` = 1 << 20 (7.3). */
export const UBLK_F_IO_DESC_SIZE = 1n << 20n;
/**
 * MODEL ONLY, not a kernel flag: the 2023 RFC's fused zero copy (`IORING_OP_FUSED_CMD` with
 * `UBLK_IO_FUSED_SUBMIT_IO`). The RFC reused bit 0, which real kernels grant since 6.15 for
 * `UBLK_U_IO_REGISTER_IO_BUF`; the model keeps the RFC design under this bit of its own (63,
 * far above any bit a kernel defines) so the two can never be confused. A real driver never
 * reports it; the server library never asks a real driver for it.
 */
export const UBLK_F_RFC_FUSED_ZC = 1n << 63n;

// ---- device states (ublksrv_ctrl_dev_info.state) ----
/** `UBLK_S_DEV_DEAD` = 0. */
export const UBLK_S_DEV_DEAD = 0;
/** `UBLK_S_DEV_LIVE` = 1. */
export const UBLK_S_DEV_LIVE = 1;
/** `UBLK_S_DEV_QUIESCED` = 2. */
export const UBLK_S_DEV_QUIESCED = 2;
/** `UBLK_S_DEV_FAIL_IO` = 3. */
export const UBLK_S_DEV_FAIL_IO = 3;

// ---- io ops (ublksrv_io_desc.op_flags & 0xff) ----
/** `UBLK_IO_OP_READ` = 0. */
export const UBLK_IO_OP_READ = 0;
/** `UBLK_IO_OP_WRITE` = 1. */
export const UBLK_IO_OP_WRITE = 1;
/** `UBLK_IO_OP_FLUSH` = 2. */
export const UBLK_IO_OP_FLUSH = 2;
/** `UBLK_IO_OP_DISCARD` = 3. */
export const UBLK_IO_OP_DISCARD = 3;
/** `UBLK_IO_OP_WRITE_SAME` = 4. */
export const UBLK_IO_OP_WRITE_SAME = 4;
/** `UBLK_IO_OP_WRITE_ZEROES` = 5. */
export const UBLK_IO_OP_WRITE_ZEROES = 5;
/** `UBLK_IO_OP_ZONE_OPEN` = 10. */
export const UBLK_IO_OP_ZONE_OPEN = 10;
/** `UBLK_IO_OP_ZONE_CLOSE` = 11. */
export const UBLK_IO_OP_ZONE_CLOSE = 11;
/** `UBLK_IO_OP_ZONE_FINISH` = 12. */
export const UBLK_IO_OP_ZONE_FINISH = 12;
/** `UBLK_IO_OP_ZONE_APPEND` = 13. */
export const UBLK_IO_OP_ZONE_APPEND = 13;
/** `UBLK_IO_OP_ZONE_RESET_ALL` = 14. */
export const UBLK_IO_OP_ZONE_RESET_ALL = 14;
/** `UBLK_IO_OP_ZONE_RESET` = 15. */
export const UBLK_IO_OP_ZONE_RESET = 15;
/** `UBLK_IO_OP_REPORT_ZONES` = 18. */
export const UBLK_IO_OP_REPORT_ZONES = 18;

// ---- io flags (ublksrv_io_desc.op_flags, stored unshifted) ----
/** `UBLK_IO_F_FAILFAST_DEV` = 1 << 8. */
export const UBLK_IO_F_FAILFAST_DEV = 1 << 8;
/** `UBLK_IO_F_FAILFAST_TRANSPORT` = 1 << 9. */
export const UBLK_IO_F_FAILFAST_TRANSPORT = 1 << 9;
/** `UBLK_IO_F_FAILFAST_DRIVER` = 1 << 10. */
export const UBLK_IO_F_FAILFAST_DRIVER = 1 << 10;
/** `UBLK_IO_F_META` = 1 << 11. */
export const UBLK_IO_F_META = 1 << 11;
/** `UBLK_IO_F_FUA` = 1 << 13. */
export const UBLK_IO_F_FUA = 1 << 13;
/** `UBLK_IO_F_NOUNMAP` = 1 << 15. */
export const UBLK_IO_F_NOUNMAP = 1 << 15;
/** `UBLK_IO_F_SWAP` = 1 << 16. */
export const UBLK_IO_F_SWAP = 1 << 16;
/** `UBLK_IO_F_NEED_REG_BUF` = 1 << 17: auto buffer registration failed, register by hand. */
export const UBLK_IO_F_NEED_REG_BUF = 1 << 17;
/** `UBLK_IO_F_INTEGRITY` = 1 << 18: the request has an integrity buffer. */
export const UBLK_IO_F_INTEGRITY = 1 << 18;
/** `UBLK_IO_F_SHMEM_ZC` = 1 << 19: `addr` encodes a shared-memory buffer index and offset. */
export const UBLK_IO_F_SHMEM_ZC = 1 << 19;

// ---- auto buffer registration (UBLK_F_AUTO_BUF_REG) ----
/** `UBLK_AUTO_BUF_REG_FALLBACK` = 1 << 0. */
export const UBLK_AUTO_BUF_REG_FALLBACK = 1;
/** `UBLK_AUTO_BUF_REG_F_MASK` = `UBLK_AUTO_BUF_REG_FALLBACK`. */
export const UBLK_AUTO_BUF_REG_F_MASK: number = UBLK_AUTO_BUF_REG_FALLBACK;

// ---- batch io flags (ublk_batch_io.flags) ----
/** `UBLK_BATCH_F_HAS_ZONE_LBA` = 1 << 0. */
export const UBLK_BATCH_F_HAS_ZONE_LBA = 1;
/** `UBLK_BATCH_F_HAS_BUF_ADDR` = 1 << 1. */
export const UBLK_BATCH_F_HAS_BUF_ADDR = 2;
/** `UBLK_BATCH_F_AUTO_BUF_REG_FALLBACK` = 1 << 2. */
export const UBLK_BATCH_F_AUTO_BUF_REG_FALLBACK = 4;

// ---- params ----
/** `UBLK_ATTR_READ_ONLY` = 1 << 0 (`ublk_param_basic.attrs`). */
export const UBLK_ATTR_READ_ONLY = 1;
/** `UBLK_ATTR_ROTATIONAL` = 1 << 1. */
export const UBLK_ATTR_ROTATIONAL = 2;
/** `UBLK_ATTR_VOLATILE_CACHE` = 1 << 2. */
export const UBLK_ATTR_VOLATILE_CACHE = 4;
/** `UBLK_ATTR_FUA` = 1 << 3. */
export const UBLK_ATTR_FUA = 8;
/** `UBLK_PARAM_TYPE_BASIC` = 1 << 0 (`ublk_params.types`). */
export const UBLK_PARAM_TYPE_BASIC = 1;
/** `UBLK_PARAM_TYPE_DISCARD` = 1 << 1. */
export const UBLK_PARAM_TYPE_DISCARD = 2;
/** `UBLK_PARAM_TYPE_DEVT` = 1 << 2 (read-only: GET_PARAMS only). */
export const UBLK_PARAM_TYPE_DEVT = 4;
/** `UBLK_PARAM_TYPE_ZONED` = 1 << 3. */
export const UBLK_PARAM_TYPE_ZONED = 8;
/** `UBLK_PARAM_TYPE_DMA_ALIGN` = 1 << 4. */
export const UBLK_PARAM_TYPE_DMA_ALIGN = 16;
/** `UBLK_PARAM_TYPE_SEGMENT` = 1 << 5. */
export const UBLK_PARAM_TYPE_SEGMENT = 32;
/** `UBLK_PARAM_TYPE_INTEGRITY` = 1 << 6 (needs `UBLK_F_INTEGRITY`). */
export const UBLK_PARAM_TYPE_INTEGRITY = 64;
/** `UBLK_MIN_SEGMENT_SIZE` = 4096. */
export const UBLK_MIN_SEGMENT_SIZE = 4096;

// ---- shared-memory zero copy addr encoding (UBLK_IO_F_SHMEM_ZC) ----
/** `UBLK_SHMEM_ZC_OFF_MASK` = 0xffffffff. */
export const UBLK_SHMEM_ZC_OFF_MASK: bigint = 0xffffffffn;
/** `UBLK_SHMEM_ZC_IDX_OFF` = 32. */
export const UBLK_SHMEM_ZC_IDX_OFF = 32;
/** `UBLK_SHMEM_ZC_IDX_MASK` = 0xffff. */
export const UBLK_SHMEM_ZC_IDX_MASK: bigint = 0xffffn;
