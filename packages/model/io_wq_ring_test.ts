// The io-wq rules as the model ring applies them (io_wq.ts), each named after the measurement
// in tests/differential/ORDERING.md (6.18 on this machine) it reproduces. Files are opened on
// /dev/shm and their punt class set with ModelFile.punt, so both classes run anywhere.
import assert from "node:assert/strict";
import { IOSQE_ASYNC, IOSQE_IO_LINK } from "@ublk-ts/uapi";
import { O_RDWR, prepFsync, prepNop, prepRead, prepWrite } from "@ublk-ts/ring";
import { reap, setup, tmpFile } from "./_test_util.ts";
import type { Ring } from "@ublk-ts/ring";
import type { PuntFile } from "./io_wq.ts";

const PAGE = 4096;

/** A ring and a 4096-byte file of 'a' whose punt class is `cls`; `order` reaps CQE user_data. */
function withFile(
  cls: PuntFile,
  body: (fd: number, ring: Ring) => void,
): void {
  const path = tmpFile(new Uint8Array(PAGE).fill(0x61));
  const { kernel, ring } = setup(16);
  try {
    const fd = kernel.open(path, O_RDWR);
    kernel.fileOf(fd)!.punt = cls;
    body(fd, ring);
  } finally {
    ring.close();
    Deno.removeSync(path);
  }
}

const order = (ring: Ring): number[] => reap(ring).map(([ud]) => ud);

Deno.test("io-wq: on ext4 a buffered WRITE punts (wN: the NOP's CQE first), a cached READ runs inline (RN)", () => {
  withFile("ext4", (fd, ring) => {
    prepWrite(ring.getSqe()!, fd, new Uint8Array(PAGE).fill(0x41), { offset: 0, userData: 0n });
    prepNop(ring.getSqe()!, { userData: 1n });
    ring.submit();
    assert.deepEqual(order(ring), [1, 0]);
    prepRead(ring.getSqe()!, fd, new Uint8Array(PAGE), { offset: 0, userData: 0n });
    prepNop(ring.getSqe()!, { userData: 1n });
    ring.submit();
    assert.deepEqual(order(ring), [0, 1]);
  });
});

Deno.test("io-wq: on tmpfs a READ punts too (RN on tmpfs: the NOP's CQE first)", () => {
  withFile("tmpfs", (fd, ring) => {
    prepRead(ring.getSqe()!, fd, new Uint8Array(PAGE), { offset: 0, userData: 0n });
    prepNop(ring.getSqe()!, { userData: 1n });
    ring.submit();
    assert.deepEqual(order(ring), [1, 0]);
  });
});

Deno.test("io-wq: FSYNC is not hashed, so the second write to the inode overtakes it (WFW → 0,2,1)", () => {
  withFile("ext4", (fd, ring) => {
    prepWrite(ring.getSqe()!, fd, new Uint8Array(PAGE).fill(0x41), { offset: PAGE, userData: 0n });
    prepFsync(ring.getSqe()!, fd, { userData: 1n });
    prepWrite(ring.getSqe()!, fd, new Uint8Array(PAGE).fill(0x42), { offset: 0, userData: 2n });
    ring.submit();
    assert.deepEqual(order(ring), [0, 2, 1]);
  });
});

Deno.test("io-wq: a punted link head's member runs on the worker right after it (W+NN → 2,0,1)", () => {
  withFile("ext4", (fd, ring) => {
    prepWrite(ring.getSqe()!, fd, new Uint8Array(PAGE).fill(0x41), {
      offset: PAGE,
      userData: 0n,
      flags: IOSQE_IO_LINK,
    });
    prepNop(ring.getSqe()!, { userData: 1n });
    prepNop(ring.getSqe()!, { userData: 2n });
    ring.submit();
    assert.deepEqual(order(ring), [2, 0, 1]);
  });
});

Deno.test("io-wq: IOSQE_ASYNC punts even a NOP; inline NOPs post first (NW!N on ext4 → 0,2,1)", () => {
  withFile("ext4", (fd, ring) => {
    prepNop(ring.getSqe()!, { userData: 0n });
    prepWrite(ring.getSqe()!, fd, new Uint8Array(PAGE).fill(0x41), {
      offset: 0,
      userData: 1n,
      flags: IOSQE_ASYNC,
    });
    prepNop(ring.getSqe()!, { userData: 2n });
    ring.submit();
    assert.deepEqual(order(ring), [0, 2, 1]);
    prepNop(ring.getSqe()!, { userData: 0n, flags: IOSQE_ASYNC });
    prepNop(ring.getSqe()!, { userData: 1n });
    ring.submit();
    assert.deepEqual(order(ring), [1, 0]);
  });
});

Deno.test("io-wq: a READ after an extending WRITE in one batch sees the old end of file (the model's pick of Wr)", () => {
  withFile("ext4", (fd, ring) => {
    const buf = new Uint8Array(PAGE);
    prepWrite(ring.getSqe()!, fd, new Uint8Array(PAGE).fill(0x41), { offset: PAGE, userData: 0n });
    prepRead(ring.getSqe()!, fd, buf, { offset: PAGE, userData: 1n });
    ring.submit();
    assert.deepEqual(reap(ring).map(([ud, res]) => [ud, res]), [[1, 0], [0, PAGE]]);
  });
});

Deno.test("io-wq: punt class none (override) runs everything inline in submission order", () => {
  withFile("none", (fd, ring) => {
    prepWrite(ring.getSqe()!, fd, new Uint8Array(PAGE).fill(0x41), { offset: 0, userData: 0n });
    prepNop(ring.getSqe()!, { userData: 1n });
    ring.submit();
    assert.deepEqual(order(ring), [0, 1]);
  });
});
