import assert from "node:assert/strict";
import {
  IORING_OP_READ,
  IORING_OP_RECV,
  IORING_OP_WRITE,
  IORING_SETUP_SQE128,
  IoUringSqe,
} from "@ublk-ts/uapi";
import type { BackendFile, IoBackend, IoResult } from "@ublk-ts/ring";
import { ISSUE_QUEUED } from "./device_file.ts";
import { O_RDWR } from "@ublk-ts/ring";
import type { LentBuffer } from "./lent_buffer.ts";
import { ModelKernel } from "./model_kernel.ts";
import { OpTable } from "./op_def.ts";
import { defaultOps } from "./ops.ts";
import { prepNop, prepSend } from "@ublk-ts/ring";
import type { Request } from "./request.ts";
import { Ring } from "@ublk-ts/ring";
import { SyncBackend } from "./sync_backend.ts";
import { reap, reapN, tmpFile } from "./_test_util.ts";

const TEST_FUSED = 49;

/**
 * A minimal fused op in the RFC's shape: the slave is bytes 64..127 and uses `lent`.
 * `onRelease` is told (with the slave's result) when the slave gives the buffer back.
 */
function fusedKernel(
  lent: LentBuffer,
  backend?: IoBackend,
  onRelease?: (res: number) => void,
): ModelKernel {
  const ops = new OpTable(defaultOps);
  ops.set(TEST_FUSED, {
    name: "TEST_FUSED",
    needsFile: false,
    fusedSlave: false,
    bufDir: 0,
    sqe128Only: true,
    prep(req: Request, sqe: DataView, off: number): number {
      const slave = req.ring.allocReq();
      const r = req.ring.initReq(slave, sqe, off + 64, true);
      if (r < 0) {
        req.ring.freeReq(slave);
        return r;
      }
      req.slave = slave;
      return 0;
    },
    issue(req: Request): number {
      const slave = req.slave!;
      req.slave = null;
      slave.kbuf = lent;
      slave.master = req;
      slave.onComplete.push((s) => {
        onRelease?.(s.res);
        const master = s.master!;
        const res = s.res < 0 ? s.res : 0;
        s.ring.queueTaskWork(() => master.complete(res));
      });
      req.ring.issueReq(slave);
      return ISSUE_QUEUED;
    },
  });
  return new ModelKernel({ ops, backend });
}

function prepPair(ring: Ring, slaveOp: number, fd: number, addr: number, len: number): void {
  const sqe = ring.getSqe()!;
  prepNop(sqe, { userData: 100n });
  sqe.view.setUint8(sqe.offset + IoUringSqe.OFFSET_OPCODE, TEST_FUSED);
  const o = sqe.offset + IoUringSqe.SIZE; // the slave: the second 64 bytes of the SQE128 slot
  sqe.view.setUint8(o + IoUringSqe.OFFSET_OPCODE, slaveOp);
  sqe.view.setInt32(o + IoUringSqe.OFFSET_FD, fd, true);
  sqe.view.setBigUint64(o + IoUringSqe.OFFSET_ADDR, BigInt(addr), true);
  sqe.view.setUint32(o + IoUringSqe.OFFSET_LEN, len, true);
  sqe.view.setBigUint64(o + IoUringSqe.OFFSET_USER_DATA, 200n, true);
}

Deno.test("a slave READ with a lent buffer fills its segments at an offset; CQE before the master's", () => {
  const path = tmpFile("abcdefghijklmnop");
  const segs = [new Uint8Array(4), new Uint8Array(4), new Uint8Array(4)];
  const kernel = fusedKernel({ len: 10, offset: 2, bvecs: segs });
  using ring = Ring.create(kernel, 4, { flags: IORING_SETUP_SQE128 });
  const fd = kernel.open(path, O_RDWR);
  prepPair(ring, IORING_OP_READ, fd, 1, 6);
  assert.equal(ring.submit(), 1);
  assert.deepEqual(reap(ring), [[200, 6, 0], [100, 0, 0]]);
  // lent byte 0 is segs[0][2]; lent bytes 1..6 are segs[0][3], segs[1][0..3], segs[2][0]
  assert.equal(new TextDecoder().decode(segs[0]!.subarray(3)), "a");
  assert.equal(new TextDecoder().decode(segs[1]!), "bcde");
  assert.equal(new TextDecoder().decode(segs[2]!.subarray(0, 1)), "f");
  Deno.removeSync(path);
});

Deno.test("a slave WRITE outside the lent range fails -EFAULT and the master reports it", () => {
  const path = tmpFile("");
  const kernel = fusedKernel({ len: 8, offset: 0, bvecs: [new Uint8Array(8)] });
  using ring = Ring.create(kernel, 4, { flags: IORING_SETUP_SQE128 });
  const fd = kernel.open(path, O_RDWR);
  prepPair(ring, IORING_OP_WRITE, fd, 4, 8);
  ring.submit();
  assert.deepEqual(reap(ring), [[200, -14, 0], [100, -14, 0]]);
  Deno.removeSync(path);
});

Deno.test("a slave RECV scatters into a multi-segment lent buffer", async () => {
  const segs = [new Uint8Array(3), new Uint8Array(3)];
  const kernel = fusedKernel({ len: 6, offset: 0, bvecs: segs });
  using ring = Ring.create(kernel, 4, { flags: IORING_SETUP_SQE128 });
  const [a, b] = kernel.socketpair();
  prepPair(ring, IORING_OP_RECV, a, 1, 4);
  ring.submit();
  prepSend(ring.getSqe()!, b, new Uint8Array([1, 2, 3, 4]), { userData: 7n });
  ring.submit();
  assert.deepEqual(await reapN(ring, 3), [[7, 4, 0], [200, 4, 0], [100, 0, 0]]);
  assert.deepEqual(segs.map((s) => [...s]), [[0, 1, 2], [3, 4, 0]]);
});

Deno.test("a slave opcode without fusedSlave fails the master's prep with -EINVAL", () => {
  const kernel = fusedKernel({ len: 1, offset: 0, bvecs: [new Uint8Array(1)] });
  using ring = Ring.create(kernel, 4, { flags: IORING_SETUP_SQE128 });
  prepPair(ring, 0, -1, 0, 0);
  assert.equal(ring.submit(), 1);
  assert.deepEqual(reap(ring), [[100, -22, 0]]);
});

/**
 * A slow asynchronous backend (a real io_uring's regular-file read): a READ returns a pending
 * result and moves its data only when `finish()` runs, as a device writing into the memory
 * long after the submission.
 */
class SlowBackend implements IoBackend {
  readonly name = "slow";
  readonly inner: SyncBackend = new SyncBackend();
  readonly #pending: (() => void)[] = [];
  /** What happened, in order ("data 6" when a read's bytes landed). */
  readonly events: string[];

  constructor(events: string[]) {
    this.events = events;
  }
  get pending(): number {
    return this.#pending.length;
  }
  /** Runs every pending read now: its bytes land in the buffer, then its result resolves. */
  finish(): void {
    for (const f of this.#pending.splice(0)) f();
  }
  open(path: string, flags: number, mode: number): BackendFile | number {
    return this.inner.open(path, flags, mode);
  }
  close(file: BackendFile): void {
    this.inner.close(file);
  }
  read(file: BackendFile, buf: Uint8Array, off: number): IoResult {
    return this.readv(file, [buf], off);
  }
  readv(file: BackendFile, bufs: readonly Uint8Array[], off: number): IoResult {
    return new Promise((resolve) => {
      this.#pending.push(() => {
        const n = this.inner.readv(file, bufs, off) as number;
        this.events.push(`data ${n}`);
        resolve(n);
      });
    });
  }
  write(file: BackendFile, buf: Uint8Array, off: number): IoResult {
    return this.inner.write(file, buf, off);
  }
  writev(file: BackendFile, bufs: readonly Uint8Array[], off: number): IoResult {
    return this.inner.writev(file, bufs, off);
  }
  fsync(file: BackendFile, datasync: boolean): IoResult {
    return this.inner.fsync(file, datasync);
  }
  fallocate(file: BackendFile, mode: number, off: number, len: number): IoResult {
    return this.inner.fallocate(file, mode, off, len);
  }
  size(file: BackendFile): number {
    return this.inner.size(file);
  }
}

Deno.test("ring exit waits for a slave READ still running on the backend before the lent buffer returns", async () => {
  const path = tmpFile("abcdefghijklmnop");
  const events: string[] = [];
  const backend = new SlowBackend(events);
  const segs = [new Uint8Array(4), new Uint8Array(4)];
  const kernel = fusedKernel(
    { len: 8, offset: 0, bvecs: segs },
    backend,
    (res) => events.push(`release ${res}`),
  );
  const ring = Ring.create(kernel, 4, { flags: IORING_SETUP_SQE128 });
  const fd = kernel.open(path, O_RDWR);
  prepPair(ring, IORING_OP_READ, fd, 1, 6);
  assert.equal(ring.submit(), 1);
  assert.equal(backend.pending, 1);
  ring.close();
  kernel.close();
  // The read is still writing into the lent pages: the buffer must not be given back yet.
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(events, []);
  backend.finish();
  await new Promise((r) => setTimeout(r, 0));
  // The lease returns only after the data landed, with the read's real result.
  assert.deepEqual(events, ["data 6", "release 6"]);
  assert.equal(new TextDecoder().decode(segs[0]!.subarray(1)), "abc");
  assert.equal(new TextDecoder().decode(segs[1]!.subarray(0, 3)), "def");
  Deno.removeSync(path);
});

Deno.test("ring exit still cancels a slave RECV on a lent buffer at once (nothing waits on a peer)", () => {
  const released: number[] = [];
  const kernel = fusedKernel(
    { len: 4, offset: 0, bvecs: [new Uint8Array(4)] },
    undefined,
    (res) => {
      released.push(res);
    },
  );
  const ring = Ring.create(kernel, 4, { flags: IORING_SETUP_SQE128 });
  const [a] = kernel.socketpair();
  prepPair(ring, IORING_OP_RECV, a, 0, 4);
  assert.equal(ring.submit(), 1);
  assert.deepEqual(released, []);
  ring.close();
  assert.deepEqual(released, [-125]);
  kernel.close();
});
