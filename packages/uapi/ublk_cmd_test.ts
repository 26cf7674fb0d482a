import assert from "node:assert/strict";
import * as uapi from "./mod.ts";

// Values from SPEC.md §3 (current uapi), for names newer than the installed 6.1 header.
const SPEC_NUMBERS: Record<string, number> = {
  UBLK_U_CMD_GET_QUEUE_AFFINITY: 0x80207501,
  UBLK_U_CMD_GET_DEV_INFO: 0x80207502,
  UBLK_U_CMD_ADD_DEV: 0xc0207504,
  UBLK_U_CMD_DEL_DEV: 0xc0207505,
  UBLK_U_CMD_START_DEV: 0xc0207506,
  UBLK_U_CMD_STOP_DEV: 0xc0207507,
  UBLK_U_CMD_SET_PARAMS: 0xc0207508,
  UBLK_U_CMD_GET_PARAMS: 0x80207509,
  UBLK_U_CMD_START_USER_RECOVERY: 0xc0207510,
  UBLK_U_CMD_END_USER_RECOVERY: 0xc0207511,
  UBLK_U_CMD_GET_DEV_INFO2: 0x80207512,
  UBLK_U_CMD_GET_FEATURES: 0x80207513,
  UBLK_U_CMD_DEL_DEV_ASYNC: 0x80207514,
  UBLK_U_CMD_UPDATE_SIZE: 0xc0207515,
  UBLK_U_CMD_QUIESCE_DEV: 0xc0207516,
  UBLK_U_CMD_TRY_STOP_DEV: 0xc0207517,
  UBLK_U_CMD_REG_BUF: 0xc0207518,
  UBLK_U_CMD_UNREG_BUF: 0xc0207519,
  UBLK_CMD_GET_DEV_INFO2: 0x12,
  UBLK_U_IO_FETCH_REQ: 0xc0107520,
  UBLK_U_IO_COMMIT_AND_FETCH_REQ: 0xc0107521,
  UBLK_U_IO_NEED_GET_DATA: 0xc0107522,
  UBLK_U_IO_REGISTER_IO_BUF: 0xc0107523,
  UBLK_U_IO_UNREGISTER_IO_BUF: 0xc0107524,
  UBLK_U_IO_PREP_IO_CMDS: 0xc0107525,
  UBLK_U_IO_COMMIT_IO_CMDS: 0xc0107526,
  UBLK_U_IO_FETCH_IO_CMDS: 0xc0107527,
  UBLK_IO_FUSED_SUBMIT_IO: 0x23,
  UBLK_IO_RES_OK: 0,
  UBLK_IO_RES_NEED_GET_DATA: 1,
  UBLK_IO_RES_ABORT: -19,
  UBLK_S_DEV_DEAD: 0,
  UBLK_S_DEV_LIVE: 1,
  UBLK_S_DEV_QUIESCED: 2,
  UBLK_S_DEV_FAIL_IO: 3,
  UBLK_IO_OP_READ: 0,
  UBLK_IO_OP_WRITE: 1,
  UBLK_IO_OP_FLUSH: 2,
  UBLK_IO_OP_DISCARD: 3,
  UBLK_IO_OP_WRITE_SAME: 4,
  UBLK_IO_OP_WRITE_ZEROES: 5,
  UBLK_IO_OP_ZONE_OPEN: 10,
  UBLK_IO_OP_ZONE_CLOSE: 11,
  UBLK_IO_OP_ZONE_FINISH: 12,
  UBLK_IO_OP_ZONE_APPEND: 13,
  UBLK_IO_OP_ZONE_RESET_ALL: 14,
  UBLK_IO_OP_ZONE_RESET: 15,
  UBLK_IO_OP_REPORT_ZONES: 18,
  UBLK_IO_F_FAILFAST_DEV: 1 << 8,
  UBLK_IO_F_FAILFAST_TRANSPORT: 1 << 9,
  UBLK_IO_F_FAILFAST_DRIVER: 1 << 10,
  UBLK_IO_F_META: 1 << 11,
  UBLK_IO_F_FUA: 1 << 13,
  UBLK_IO_F_NOUNMAP: 1 << 15,
  UBLK_IO_F_SWAP: 1 << 16,
  UBLK_IO_F_NEED_REG_BUF: 1 << 17,
  UBLK_IO_F_INTEGRITY: 1 << 18,
  UBLK_IO_F_SHMEM_ZC: 1 << 19,
  UBLK_MAX_QUEUE_DEPTH: 4096,
  UBLK_MAX_NR_QUEUES: 4096,
  UBLKSRV_CMD_BUF_OFFSET: 0,
  UBLKSRV_IO_BUF_OFFSET: 0x80000000,
  UBLK_IO_BUF_BITS: 25,
  UBLK_TAG_OFF: 25,
  UBLK_TAG_BITS: 16,
  UBLK_QID_OFF: 41,
  UBLK_QID_BITS: 12,
  UBLKSRV_IO_BUF_TOTAL_BITS: 53,
  UBLK_PARAM_TYPE_BASIC: 1,
  UBLK_PARAM_TYPE_DISCARD: 2,
  UBLK_PARAM_TYPE_DEVT: 4,
  UBLK_PARAM_TYPE_ZONED: 8,
  UBLK_PARAM_TYPE_DMA_ALIGN: 16,
  UBLK_PARAM_TYPE_SEGMENT: 32,
  UBLK_PARAM_TYPE_INTEGRITY: 64,
  UBLK_ATTR_READ_ONLY: 1,
  UBLK_ATTR_ROTATIONAL: 2,
  UBLK_ATTR_VOLATILE_CACHE: 4,
  UBLK_ATTR_FUA: 8,
};

// SPEC.md §3.3 bit numbers of the u64 feature flags.
const SPEC_FEATURE_BITS: Record<string, number> = {
  UBLK_F_SUPPORT_ZERO_COPY: 0,
  UBLK_F_URING_CMD_COMP_IN_TASK: 1,
  UBLK_F_NEED_GET_DATA: 2,
  UBLK_F_USER_RECOVERY: 3,
  UBLK_F_USER_RECOVERY_REISSUE: 4,
  UBLK_F_UNPRIVILEGED_DEV: 5,
  UBLK_F_CMD_IOCTL_ENCODE: 6,
  UBLK_F_USER_COPY: 7,
  UBLK_F_ZONED: 8,
  UBLK_F_USER_RECOVERY_FAIL_IO: 9,
  UBLK_F_UPDATE_SIZE: 10,
  UBLK_F_AUTO_BUF_REG: 11,
  UBLK_F_QUIESCE: 12,
  UBLK_F_PER_IO_DAEMON: 13,
  UBLK_F_BUF_REG_OFF_DAEMON: 14,
  UBLK_F_BATCH_IO: 15,
  UBLK_F_INTEGRITY: 16,
  UBLK_F_SAFE_STOP_DEV: 17,
  UBLK_F_NO_AUTO_PART_SCAN: 18,
  UBLK_F_SHMEM_ZC: 19,
  UBLK_F_IO_DESC_SIZE: 20,
  UBLK_F_RFC_FUSED_ZC: 63, // model only: the RFC's fused zero copy under a bit of its own
};

const exported = uapi as unknown as Record<string, unknown>;

Deno.test("ublk constants match the SPEC.md table", () => {
  for (const [name, want] of Object.entries(SPEC_NUMBERS)) {
    assert.equal(exported[name], want, name);
  }
  console.log(`checked ${Object.keys(SPEC_NUMBERS).length} ublk constants against SPEC.md`);
});

Deno.test("`UBLK_F_*` are u64 bigints at the SPEC.md bit numbers", () => {
  for (const [name, bit] of Object.entries(SPEC_FEATURE_BITS)) {
    assert.equal(exported[name], 1n << BigInt(bit), name);
  }
  const all = Object.keys(exported).filter((k) => k.startsWith("UBLK_F_"));
  assert.deepEqual(all.sort(), Object.keys(SPEC_FEATURE_BITS).sort());
});

Deno.test("`UBLK_U_*` decode back to their legacy numbers and struct sizes", () => {
  const pairs: [number, number, number][] = [
    [uapi.UBLK_U_CMD_ADD_DEV, uapi.UBLK_CMD_ADD_DEV, uapi.UblksrvCtrlCmd.SIZE],
    [uapi.UBLK_U_CMD_GET_PARAMS, uapi.UBLK_CMD_GET_PARAMS, uapi.UblksrvCtrlCmd.SIZE],
    [uapi.UBLK_U_IO_FETCH_REQ, uapi.UBLK_IO_FETCH_REQ, uapi.UblksrvIoCmd.SIZE],
    [uapi.UBLK_U_IO_NEED_GET_DATA, uapi.UBLK_IO_NEED_GET_DATA, uapi.UblksrvIoCmd.SIZE],
  ];
  for (const [u, legacy, size] of pairs) {
    assert.equal(uapi._IOC_NR(u), legacy);
    assert.equal(uapi._IOC_SIZE(u), size);
    assert.equal(uapi._IOC_TYPE(u), uapi.UBLK_IOC_TYPE);
  }
});

Deno.test("`UBLK_IO_FUSED_SUBMIT_IO` differs from the upstream 0x23 opcode", () => {
  assert.equal(uapi._IOC_NR(uapi.UBLK_U_IO_REGISTER_IO_BUF), uapi.UBLK_IO_FUSED_SUBMIT_IO);
  assert.notEqual(uapi.UBLK_U_IO_REGISTER_IO_BUF, uapi.UBLK_IO_FUSED_SUBMIT_IO);
});

Deno.test("user-copy masks and sizes follow the bit layout", () => {
  assert.equal(uapi.UBLK_IO_BUF_BITS_MASK, 0x1ffffffn);
  assert.equal(uapi.UBLK_TAG_BITS_MASK, 0xffffn);
  assert.equal(uapi.UBLK_QID_BITS_MASK, 0xfffn);
  assert.equal(uapi.UBLKSRV_IO_BUF_TOTAL_SIZE, 1n << 53n);
  assert.equal(uapi.UBLKSRV_IO_INTEGRITY_FLAG, 1n << 62n);
});
