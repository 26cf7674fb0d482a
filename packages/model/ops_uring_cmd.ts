/**
 * URING_CMD (`io_uring/uring_cmd.c`): passes the command to the file's device
 * (`DeviceFile.uringCmd`); other files give -EOPNOTSUPP.
 *
 * @module
 */

import {
  EINVAL,
  EOPNOTSUPP,
  IORING_OP_URING_CMD,
  IORING_URING_CMD_FIXED,
  IoUringSqe,
} from "@ublk-ts/uapi";
import type { OpDef } from "./op_def.ts";
import type { Request } from "./request.ts";

/** IORING_OP_URING_CMD. */
export const opUringCmd: OpDef = {
  name: "URING_CMD",
  needsFile: true,
  fusedSlave: false,
  bufDir: 0,
  prep(req: Request, sqe: DataView, off: number): number {
    if (sqe.getUint32(off + IoUringSqe.OFFSET_PAD1, true) !== 0) return -EINVAL;
    if (req.opFlags & ~IORING_URING_CMD_FIXED) return -EINVAL;
    return 0;
  },
  issue(req: Request, issueFlags: number): number {
    const dev = req.file!.device;
    if (!dev) return -EOPNOTSUPP;
    return dev.uringCmd(req, issueFlags);
  },
};

/** The ops of this file by opcode. */
export const URING_CMD_OPS: ReadonlyArray<readonly [number, OpDef]> = [
  [IORING_OP_URING_CMD, opUringCmd],
];
