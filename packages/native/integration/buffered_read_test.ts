// A buffered read gives the same results (res and bytes) on every native path: the
// NativeBackend's ring, `Ring` on NativeKernel (Sqe handles and the zero-allocation
// getSqeOffset + prepRwAt path), and `Ring` on a ModelKernel whose I/O backend is native —
// on /tmp (ext4 here) and /dev/shm (tmpfs), checked against libc pread.
import assert from "node:assert/strict";
import { ModelKernel } from "@ublk-ts/model";
import { O_RDONLY, prepRead, prepRwAt, Ring, sqeSetUserData32 } from "@ublk-ts/ring";
import { IORING_OP_READ } from "@ublk-ts/uapi";
import { NativeBackend, NativeFile } from "../native_backend.ts";
import { ignore, nativeKernel } from "./_test_util.ts";

const SIZE = 3 * 4096 + 1234;
/** [offset, length]: aligned, unaligned, crossing EOF, at EOF, past EOF, empty. */
const READS: [number, number][] = [
  [0, 4096],
  [100, 5000],
  [4096 * 3 - 7, 4096],
  [SIZE, 512],
  [SIZE + 8192, 512],
  [777, 0],
];

interface Result {
  res: number;
  bytes: Uint8Array;
}

/** Reads every region with one `Ring` (prepRead through Sqe handles, all in one batch). */
async function viaRing(ring: Ring, fd: number): Promise<Result[]> {
  const bufs = READS.map(([, len]) => new Uint8Array(len));
  READS.forEach(([off, len], i) => {
    prepRead(ring.getSqe()!, fd, bufs[i]!.subarray(0, len), { offset: off, userData: BigInt(i) });
  });
  await ring.submitAndWait(READS.length);
  const res = new Array<number>(READS.length);
  for (let n = 0; n < READS.length; n++) {
    const c = await ring.waitCqe();
    res[Number(c.userData)] = c.res;
    ring.cqeSeen();
  }
  return bufs.map((b, i) => ({ res: res[i]!, bytes: b }));
}

/** The same with `getSqeOffset` + `prepRwAt`, one read at a time. */
async function viaRingAt(ring: Ring, fd: number): Promise<Result[]> {
  const out: Result[] = [];
  for (const [off, len] of READS) {
    const buf = new Uint8Array(len);
    const o = ring.getSqeOffset();
    assert.ok(o >= 0);
    prepRwAt(ring.sqes, o, IORING_OP_READ, fd, len ? ring.addressOf(buf) : 0n, len, off);
    sqeSetUserData32(ring.sqes, o, out.length, 0);
    assert.equal(ring.submit(), 1);
    const c = await ring.waitCqe();
    assert.equal(c.view.getUint32(c.offset, true), out.length);
    out.push({ res: c.res, bytes: buf });
    ring.cqeSeen();
  }
  return out;
}

for (const dir of ["/tmp", "/dev/shm"]) {
  Deno.test(
    { name: `buffered READ: same result on every native path (${dir})`, ignore },
    async () => {
      const path = `${dir}/ublk-ts-native-bufread-${Deno.pid}-${
        Math.random().toString(36).slice(2)
      }`;
      const data = new Uint8Array(SIZE).map((_, i) => (i * 31 + (i >> 12)) & 0xff);
      await Deno.writeFile(path, data);
      const kernel = nativeKernel();
      const backend = new NativeBackend({ kernel, entries: 8 });
      const model = new ModelKernel({ backend });
      const fd = kernel.open(path, O_RDONLY);
      assert.ok(fd >= 0, `open failed ${fd}`);
      const mfd = model.open(path, O_RDONLY);
      assert.ok(mfd >= 0, `model open failed ${mfd}`);
      const file = backend.open(path, O_RDONLY, 0);
      assert.ok(file instanceof NativeFile);
      if (dir === "/dev/shm") assert.equal(file.fsType, "tmpfs");
      assert.notEqual(file.fsType, "");
      try {
        // The reference: libc pread.
        const expected: Result[] = READS.map(([off, len]) => {
          const bytes = new Uint8Array(len);
          return { res: kernel.pread(fd, bytes, off), bytes };
        });
        assert.deepEqual(expected.map((e) => e.res), [4096, 5000, 1241, 0, 0, 0]);
        assert.deepEqual(expected[1]!.bytes, data.subarray(100, 5100));
        assert.deepEqual(expected[2]!.bytes.subarray(0, 1241), data.subarray(SIZE - 1241));

        // The backend's own ring.
        const viaBackend: Result[] = [];
        for (const [off, len] of READS) {
          const bytes = new Uint8Array(len);
          viaBackend.push({ res: await backend.read(file, bytes, off), bytes });
        }
        assert.deepEqual(viaBackend, expected, `NativeBackend on ${file.fsType}`);

        {
          using ring = Ring.create(kernel, 8);
          assert.deepEqual(await viaRing(ring, fd), expected, `Ring on NativeKernel (${dir})`);
          assert.deepEqual(await viaRingAt(ring, fd), expected, `Ring prepRwAt (${dir})`);
        }
        {
          using ring = Ring.create(model, 8);
          assert.deepEqual(await viaRing(ring, mfd), expected, `Ring on ModelKernel (${dir})`);
        }
      } finally {
        backend.close(file);
        model.closeFd(mfd);
        kernel.closeFd(fd);
        model.close();
        backend.close();
        await Deno.remove(path);
      }
    },
  );
}
