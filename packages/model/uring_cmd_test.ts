import assert from "node:assert/strict";
import {
  IO_URING_F_CQE32,
  IO_URING_F_SQE128,
  IORING_SETUP_CQE32,
  IORING_SETUP_SQE128,
  IoUringSqe,
} from "@ublk-ts/uapi";
import { type DeviceFile, ISSUE_QUEUED } from "./device_file.ts";
import { O_RDWR } from "@ublk-ts/ring";
import type { ModelFile } from "./model_file.ts";
import { prepUringCmd } from "@ublk-ts/ring";
import type { Request } from "./request.ts";
import { fixed } from "@ublk-ts/ring";
import { reap, setup, tmpFile } from "./_test_util.ts";

class TestDevice implements DeviceFile {
  pending: Request[] = [];
  seen: { cmdOp: number; payload: number[]; issueFlags: number }[] = [];
  opened = 0;
  released = 0;
  cancelled = 0;
  open(_f: ModelFile): number {
    this.opened++;
    return 0;
  }
  release(_f: ModelFile): void {
    this.released++;
  }
  uringCmd(req: Request, issueFlags: number): number {
    const payload = [...new Uint8Array(req.sqe.buffer, req.sqe.byteOffset + req.cmdOff, 4)];
    this.seen.push({ cmdOp: req.cmdOp, payload, issueFlags });
    if (req.cmdOp === 1) return 42;
    if (req.cmdOp === 2) return -22;
    if (req.cmdOp === 4) {
      req.cancel = (r) => {
        this.cancelled++;
        r.cmdDone(-19);
      };
    }
    this.pending.push(req);
    return ISSUE_QUEUED;
  }
}

Deno.test("URING_CMD reaches the device file with cmd_op and payload, inline result", () => {
  const { kernel, ring } = setup();
  const dev = new TestDevice();
  kernel.registerDevice("/dev/test0", dev);
  const fd = kernel.open("/dev/test0", O_RDWR);
  assert.ok(fd >= 0);
  assert.equal(dev.opened, 1);
  prepUringCmd(ring.getSqe()!, fd, 1, { cmd: new Uint8Array([9, 8, 7, 6]), userData: 1n });
  prepUringCmd(ring.getSqe()!, fd, 2, { userData: 2n });
  ring.submit();
  assert.deepEqual(reap(ring), [[1, 42, 0], [2, -22, 0]]);
  assert.deepEqual(dev.seen[0]!.payload, [9, 8, 7, 6]);
  assert.equal(dev.seen[0]!.issueFlags & (IO_URING_F_SQE128 | IO_URING_F_CQE32), 0);
  ring.close();
  assert.equal(kernel.closeFd(fd), 0);
  assert.equal(dev.released, 1);
});

Deno.test("a queued URING_CMD completes later with res2 in big_cqe on a CQE32 ring", () => {
  const { kernel, ring } = setup(4, { flags: IORING_SETUP_SQE128 | IORING_SETUP_CQE32 });
  assert.equal(ring.sqeSize, 128);
  assert.equal(ring.cqeSize, 32);
  const dev = new TestDevice();
  kernel.registerDevice("/dev/test1", dev);
  const fd = kernel.open("/dev/test1", O_RDWR);
  ring.registerFiles([fd]);
  const cmd = new Uint8Array(80).fill(3);
  prepUringCmd(ring.getSqe()!, fixed(0), 3, { cmd, userData: 5n });
  ring.submit();
  assert.equal(ring.cqReady(), 0);
  assert.equal(dev.seen[0]!.issueFlags & IO_URING_F_SQE128, IO_URING_F_SQE128);
  assert.equal(dev.seen[0]!.issueFlags & IO_URING_F_CQE32, IO_URING_F_CQE32);
  dev.pending[0]!.cmdDone(7, 0x1234n);
  assert.deepEqual(ring.copyCqe(), { userData: 5n, res: 7, flags: 0, bigCqe: [0x1234n, 0n] });
  ring.close();
});

Deno.test("prepUringCmd() refuses a payload larger than the SQE's command area", () => {
  const { ring } = setup();
  assert.throws(() => prepUringCmd(ring.getSqe()!, 0, 1, { cmd: new Uint8Array(17) }), RangeError);
  ring.close();
});

Deno.test("URING_CMD on a regular file fails -EOPNOTSUPP, nonzero __pad1 -EINVAL", () => {
  const path = tmpFile("x");
  const { kernel, ring } = setup();
  const fd = kernel.open(path, O_RDWR);
  prepUringCmd(ring.getSqe()!, fd, 1, { userData: 1n });
  ring.submit();
  const sqe = ring.getSqe()!;
  prepUringCmd(sqe, fd, 1, { userData: 2n });
  sqe.view.setUint32(sqe.offset + IoUringSqe.OFFSET_PAD1, 1, true);
  ring.submit();
  assert.deepEqual(reap(ring), [[1, -95, 0], [2, -22, 0]]);
  ring.close();
  Deno.removeSync(path);
});

Deno.test("ring exit calls the cancel hook of pending commands; others get -ECANCELED", () => {
  const { kernel, ring } = setup();
  const dev = new TestDevice();
  kernel.registerDevice("/dev/test2", dev);
  const fd = kernel.open("/dev/test2", O_RDWR);
  const results: number[] = [];
  prepUringCmd(ring.getSqe()!, fd, 4, { userData: 1n });
  prepUringCmd(ring.getSqe()!, fd, 3, { userData: 2n });
  ring.submit();
  for (const r of dev.pending) r.onComplete.push((q) => results.push(q.res));
  ring.close();
  assert.equal(dev.cancelled, 1);
  assert.deepEqual(results.sort(), [-125, -19]);
});

Deno.test("opening an unregistered /dev/ublk path fails -ENOENT", () => {
  const { kernel } = setup();
  assert.equal(kernel.open("/dev/ublkc9", O_RDWR), -2);
});
