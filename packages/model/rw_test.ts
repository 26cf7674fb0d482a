import assert from "node:assert/strict";
import { IOSQE_IO_LINK, IoUringSqe, RWF_HIPRI, RWF_NOWAIT } from "@ublk-ts/uapi";
import { O_RDONLY, O_RDWR, O_WRONLY } from "@ublk-ts/ring";
import { Iovecs, prepRead, prepReadv, prepWrite, prepWritev } from "@ublk-ts/ring";
import { reap, reapByUd, setup, tmpFile } from "./_test_util.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("prepRead() reads at an offset and prepWrite() writes at one", () => {
  const path = tmpFile("hello world");
  const { kernel, ring } = setup();
  const fd = kernel.open(path, O_RDWR);
  const buf = new Uint8Array(5);
  prepRead(ring.getSqe()!, fd, buf, { offset: 6, userData: 1n });
  prepWrite(ring.getSqe()!, fd, enc.encode("HE"), { offset: 0, userData: 2n });
  assert.equal(ring.submit(), 2);
  assert.deepEqual(reapByUd(ring), [[1, 5, 0], [2, 2, 0]]);
  assert.equal(dec.decode(buf), "world");
  assert.equal(Deno.readTextFileSync(path), "HEllo world");
  ring.close();
  Deno.removeSync(path);
});

Deno.test("READ is short at EOF, 0 past the end and 0 for len 0", () => {
  const path = tmpFile("abcdef");
  const { kernel, ring } = setup();
  const fd = kernel.open(path, O_RDONLY);
  prepRead(ring.getSqe()!, fd, new Uint8Array(64), { userData: 1n });
  prepRead(ring.getSqe()!, fd, new Uint8Array(4), { offset: 1000, userData: 2n });
  prepRead(ring.getSqe()!, fd, new Uint8Array(0), { userData: 3n });
  ring.submit();
  assert.deepEqual(reap(ring), [[1, 6, 0], [2, 0, 0], [3, 0, 0]]);
  ring.close();
  Deno.removeSync(path);
});

Deno.test("READ with offset -1 uses and advances the file position", () => {
  const path = tmpFile("0123456789");
  const { kernel, ring } = setup();
  const fd = kernel.open(path, O_RDONLY);
  const a = new Uint8Array(4);
  const b = new Uint8Array(4);
  prepRead(ring.getSqe()!, fd, a, { offset: -1, userData: 1n });
  prepRead(ring.getSqe()!, fd, b, { offset: -1, userData: 2n });
  ring.submit();
  assert.deepEqual(reap(ring), [[1, 4, 0], [2, 4, 0]]);
  assert.equal(dec.decode(a) + dec.decode(b), "01234567");
  assert.equal(kernel.fileOf(fd)!.pos, 8);
  ring.close();
  Deno.removeSync(path);
});

Deno.test("WRITE with offset -1 appends at the position; explicit offsets leave it", () => {
  const path = tmpFile("");
  const { kernel, ring } = setup();
  const fd = kernel.open(path, O_WRONLY);
  prepWrite(ring.getSqe()!, fd, enc.encode("ab"), { offset: -1, userData: 1n });
  prepWrite(ring.getSqe()!, fd, enc.encode("cd"), { offset: -1, userData: 2n });
  prepWrite(ring.getSqe()!, fd, enc.encode("Z"), { offset: 0, userData: 3n });
  ring.submit();
  assert.deepEqual(reap(ring), [[1, 2, 0], [2, 2, 0], [3, 1, 0]]);
  assert.equal(Deno.readTextFileSync(path), "Zbcd");
  assert.equal(kernel.fileOf(fd)!.pos, 4);
  ring.close();
  Deno.removeSync(path);
});

Deno.test("READ of an unknown address fails -EFAULT, of a bad fd -EBADF, and both continue", () => {
  const path = tmpFile("xyz");
  const { kernel, ring } = setup();
  const fd = kernel.open(path, O_RDONLY);
  const sqe = ring.getSqe()!;
  prepRead(sqe, fd, new Uint8Array(4), { userData: 1n });
  sqe.view.setBigUint64(sqe.offset + IoUringSqe.OFFSET_ADDR, 0n, true);
  prepRead(ring.getSqe()!, 999, new Uint8Array(4), { userData: 2n });
  prepRead(ring.getSqe()!, fd, new Uint8Array(4), { userData: 3n });
  assert.equal(ring.submit(), 3);
  assert.deepEqual(reapByUd(ring), [[1, -14, 0], [2, -9, 0], [3, 3, 0]]);
  ring.close();
  Deno.removeSync(path);
});

Deno.test("READ of a directory fails -EISDIR; access modes give -EBADF", () => {
  const path = tmpFile("q");
  const { kernel, ring } = setup();
  const dfd = kernel.open("/tmp", O_RDONLY);
  const wfd = kernel.open(path, O_WRONLY);
  const rfd = kernel.open(path, O_RDONLY);
  prepRead(ring.getSqe()!, dfd, new Uint8Array(4), { userData: 1n });
  prepRead(ring.getSqe()!, wfd, new Uint8Array(4), { userData: 2n });
  prepWrite(ring.getSqe()!, rfd, new Uint8Array(4), { userData: 3n });
  ring.submit();
  assert.deepEqual(reapByUd(ring), [[1, -21, 0], [2, -9, 0], [3, -9, 0]]);
  ring.close();
  Deno.removeSync(path);
});

Deno.test("READ with offset -2, ioprio class 0 with data, or unknown RWF flags fails", () => {
  const path = tmpFile("abc");
  const { kernel, ring } = setup();
  const fd = kernel.open(path, O_RDONLY);
  prepRead(ring.getSqe()!, fd, new Uint8Array(2), { offset: -2n, userData: 1n });
  assert.equal(ring.submit(), 1);
  prepRead(ring.getSqe()!, fd, new Uint8Array(2), { rwFlags: 1 << 20, userData: 2n });
  assert.equal(ring.submit(), 1);
  prepRead(ring.getSqe()!, fd, new Uint8Array(2), { ioprio: 1, userData: 3n });
  assert.equal(ring.submit(), 1);
  prepRead(ring.getSqe()!, fd, new Uint8Array(2), { ioprio: (2 << 13) | 3, userData: 4n });
  assert.equal(ring.submit(), 1);
  assert.deepEqual(reap(ring), [[1, -22, 0], [2, -95, 0], [3, -22, 0], [4, 2, 0]]);
  ring.close();
  Deno.removeSync(path);
});

Deno.test("prepReadv()/prepWritev() scatter and gather across iovecs", () => {
  const path = tmpFile("");
  const { kernel, ring } = setup();
  const fd = kernel.open(path, O_RDWR);
  const out = new Iovecs(ring, [enc.encode("abc"), new Uint8Array(0), enc.encode("defgh")]);
  prepWritev(ring.getSqe()!, fd, out, { userData: 1n, flags: IOSQE_IO_LINK });
  const a = new Uint8Array(2);
  const b = new Uint8Array(10);
  const inn = new Iovecs(ring, [a, b]);
  prepReadv(ring.getSqe()!, fd, inn, { userData: 2n });
  ring.submit();
  assert.deepEqual(reap(ring), [[1, 8, 0], [2, 8, 0]]);
  assert.equal(dec.decode(a), "ab");
  assert.equal(dec.decode(b.subarray(0, 6)), "cdefgh");
  ring.close();
  Deno.removeSync(path);
});

Deno.test("READ with len past its buffer completes with what fits when the data ends first", () => {
  const path = tmpFile(new Uint8Array(100).fill(1));
  const { kernel, ring } = setup();
  const fd = kernel.open(path, O_RDONLY);
  const buf = new Uint8Array(128);
  const sqe = ring.getSqe()!;
  prepRead(sqe, fd, buf, { userData: 1n });
  sqe.view.setUint32(sqe.offset + IoUringSqe.OFFSET_LEN, 2 ** 31, true);
  ring.submit();
  assert.deepEqual(reap(ring), [[1, 100, 0]]);
  ring.close();
  Deno.removeSync(path);
});

Deno.test("READ with RWF_HIPRI fails -EINVAL (no IOPOLL); RWF_NOWAIT on tmpfs -EOPNOTSUPP", () => {
  const path = tmpFile("abcd");
  const { kernel, ring } = setup();
  const fd = kernel.open(path, O_RDONLY);
  prepRead(ring.getSqe()!, fd, new Uint8Array(4), { rwFlags: RWF_HIPRI, userData: 1n });
  prepRead(ring.getSqe()!, fd, new Uint8Array(4), { rwFlags: RWF_NOWAIT, userData: 2n });
  ring.submit();
  assert.deepEqual(reap(ring), [[1, -22, 0], [2, -95, 0]]);
  ring.close();
  Deno.removeSync(path);
});

Deno.test("READV with more than 1024 iovecs fails -EINVAL", () => {
  const path = tmpFile("x");
  const { kernel, ring } = setup();
  const fd = kernel.open(path, O_RDONLY);
  const sqe = ring.getSqe()!;
  prepReadv(sqe, fd, new Iovecs(ring, [new Uint8Array(1)]), { userData: 1n });
  sqe.view.setUint32(sqe.offset + IoUringSqe.OFFSET_LEN, 1025, true);
  ring.submit();
  assert.deepEqual(reap(ring), [[1, -22, 0]]);
  ring.close();
  Deno.removeSync(path);
});

Deno.test("read-after-write sees the data through the same ring", () => {
  const path = tmpFile("");
  const { kernel, ring } = setup(64);
  const fd = kernel.open(path, O_RDWR);
  const data = new Uint8Array(4096).map((_, i) => i & 0xff);
  for (let i = 0; i < 8; i++) {
    prepWrite(ring.getSqe()!, fd, data, { offset: i * 4096, userData: BigInt(i) });
  }
  ring.submit();
  assert.equal(reap(ring).filter(([, r]) => r === 4096).length, 8);
  const back = new Uint8Array(4096);
  prepRead(ring.getSqe()!, fd, back, { offset: 5 * 4096, userData: 9n });
  ring.submit();
  assert.deepEqual(reap(ring), [[9, 4096, 0]]);
  assert.deepEqual(back, data);
  ring.close();
  Deno.removeSync(path);
});
