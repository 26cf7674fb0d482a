// Every data buffer the stack hands to a kernel is page-aligned in REAL memory (issue 13): the
// copy-mode server buffers (the queue arena), the request pages of the block device front end
// (the caller's memory on an O_DIRECT handle, bounce pages on a buffered one), the workload's
// buffers. Checked where the memory meets a kernel: the model kernel's `addressOf`, the data
// backend's READ/WRITE calls (the sync backend's pread/pwrite), and the SQEs the native backend
// writes into the real io_uring (the buffer address of every READ/WRITE, the iovecs of every
// READV/WRITEV).

import assert from "node:assert/strict";
import type { BackendFile, IoBackend, IoResult, SetupOptions } from "@ublk-ts/ring";
import { ModelKernel, SyncBackend } from "@ublk-ts/model";
import { installFusedCmd } from "@ublk-ts/fused-cmd";
import { installUblk } from "@ublk-ts/ublk-drv";
import { createDevice } from "@ublk-ts/ublk";
import { LoopTarget, NullTarget } from "@ublk-ts/targets";
import { NativeBackend, NativeKernel, type NativeRing } from "@ublk-ts/native";
import { allocIoMemory, IO_PAGE_SIZE, ioAddressOf } from "@ublk-ts/rsrc";
import {
  IORING_OP_READ,
  IORING_OP_READV,
  IORING_OP_WRITE,
  IORING_OP_WRITEV,
  IoUringSqe,
  IOVEC_OFFSET_BASE,
  IOVEC_OFFSET_LEN,
  IOVEC_SIZE,
} from "@ublk-ts/uapi";
import { parseWorkloadSpec, runWorkload } from "../../apps/ublk/workload.ts";
import { nativeAvailable } from "./_util.ts";

const NATIVE = nativeAvailable();

/** Where a buffer met a kernel, and its real address. */
interface Seen {
  where: string;
  addr: number;
  len: number;
}

function misaligned(seen: readonly Seen[]): Seen[] {
  return seen.filter((s) => s.addr % IO_PAGE_SIZE !== 0);
}

/** The sync backend, recording the real address of every data buffer. */
class RecordingBackend implements IoBackend {
  readonly name = "sync";
  readonly inner: IoBackend;
  readonly seen: Seen[];
  constructor(inner: IoBackend, seen: Seen[]) {
    this.inner = inner;
    this.seen = seen;
  }
  #rec(where: string, b: Uint8Array): void {
    if (b.length > 0) this.seen.push({ where, addr: ioAddressOf(b), len: b.length });
  }
  open(path: string, flags: number, mode: number): BackendFile | number {
    return this.inner.open(path, flags, mode);
  }
  close(file: BackendFile): void {
    this.inner.close(file);
  }
  read(file: BackendFile, buf: Uint8Array, off: number): IoResult {
    this.#rec("backend read", buf);
    return this.inner.read(file, buf, off);
  }
  write(file: BackendFile, buf: Uint8Array, off: number): IoResult {
    this.#rec("backend write", buf);
    return this.inner.write(file, buf, off);
  }
  readv(file: BackendFile, bufs: readonly Uint8Array[], off: number): IoResult {
    for (const b of bufs) this.#rec("backend readv", b);
    return this.inner.readv(file, bufs, off);
  }
  writev(file: BackendFile, bufs: readonly Uint8Array[], off: number): IoResult {
    for (const b of bufs) this.#rec("backend writev", b);
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

/** The real io_uring, recording the buffer addresses of the data SQEs it is handed. */
class RecordingNativeKernel extends NativeKernel {
  readonly seen: Seen[] = [];
  override setup(entries: number, options?: SetupOptions): NativeRing {
    const kr = super.setup(entries, options);
    const sqes = new DataView(kr.sqes);
    const size = kr.sqes.byteLength / kr.sqEntries;
    const seen = this.seen;
    const scan = (): void => {
      // Every slot: already-checked SQEs are checked again (harmless), zeroed ones skipped.
      for (let o = 0; o < sqes.byteLength; o += size) {
        const op = sqes.getUint8(o + IoUringSqe.OFFSET_OPCODE);
        const addr = Number(sqes.getBigUint64(o + IoUringSqe.OFFSET_ADDR, true));
        const len = sqes.getUint32(o + IoUringSqe.OFFSET_LEN, true);
        if (addr === 0 || len === 0) continue;
        if (op === IORING_OP_READ || op === IORING_OP_WRITE) {
          seen.push({ where: `native SQE op ${op}`, addr, len });
        } else if (op === IORING_OP_READV || op === IORING_OP_WRITEV) {
          const iov = new Deno.UnsafePointerView(Deno.UnsafePointer.create(BigInt(addr))!);
          for (let i = 0; i < len; i++) {
            const base = Number(iov.getBigUint64(i * IOVEC_SIZE + IOVEC_OFFSET_BASE));
            const n = Number(iov.getBigUint64(i * IOVEC_SIZE + IOVEC_OFFSET_LEN));
            if (n > 0) seen.push({ where: `native iovec op ${op}`, addr: base, len: n });
          }
        }
      }
    };
    return new Proxy<NativeRing>(kr, {
      get(target, p): unknown {
        if (p === "submit") {
          return (n: number): number => {
            scan();
            return target.submit(n);
          };
        }
        const v = Reflect.get(target, p, target);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
  }
}

/** A model kernel whose `addressOf` records the real address of the memory it names. */
function recordingKernel(backend: IoBackend, seen: Seen[]): ModelKernel {
  const kernel = new ModelKernel({ backend });
  installFusedCmd(kernel);
  installUblk(kernel);
  const orig = kernel.addressOf.bind(kernel);
  kernel.addressOf = (b: Uint8Array): bigint => {
    // Data buffers only: control-command payloads (dev_info, params: < 1 page) are structs.
    if (b.length >= IO_PAGE_SIZE) {
      seen.push({ where: "addressOf", addr: ioAddressOf(b), len: b.length });
    }
    return orig(b);
  };
  return kernel;
}

async function dataFile(dir: string, size: number): Promise<string> {
  const path = `${dir}/align.img`;
  const chunk = new Uint8Array(1 << 20);
  const f = await Deno.open(path, { create: true, write: true, truncate: true });
  try {
    for (let off = 0; off < size; off += chunk.length) {
      crypto.getRandomValues(chunk.subarray(0, 65536));
      await f.write(chunk);
    }
  } finally {
    f.close();
  }
  return path;
}

const JOBS = [
  "rw=randread,bs=4k,qd=16,n=2000",
  "rw=randwrite,bs=64k,qd=8,n=400",
  "rw=read,bs=512k,qd=4,n=64",
];

for (const native of [false, true]) {
  for (const zeroCopy of [false, true]) {
    Deno.test({
      name: `loop ${zeroCopy ? "zero copy" : "copy"} on the ${
        native ? "native" : "sync"
      } backend hands a kernel only page-aligned buffers`,
      ignore: native && !NATIVE,
      async fn(): Promise<void> {
        // ext4 (/tmp) for the native backend: O_DIRECT really applies there.
        const dir = await Deno.makeTempDir({
          dir: native ? "/tmp" : undefined,
          prefix: "ublk_align_",
        });
        const seen: Seen[] = [];
        const nk = native ? new RecordingNativeKernel() : null;
        const backend = nk !== null
          ? new NativeBackend({ kernel: nk })
          : new RecordingBackend(new SyncBackend(), seen);
        const kernel = recordingKernel(backend, seen);
        try {
          const path = await dataFile(dir, 16 << 20);
          const target = new LoopTarget(kernel, path);
          const dev = await createDevice(kernel, target, { queues: 1, depth: 16, zeroCopy });
          try {
            for (const job of JOBS) {
              const r = await runWorkload(dev.bdev, parseWorkloadSpec(job));
              assert.equal(r.errors, 0, `${job}: first error ${r.firstError}`);
            }
            // A buffered handle given unaligned memory bounces it into aligned request pages.
            // (16 bytes into page-aligned memory: `new Uint8Array(n).subarray(16)` lands on a
            // page boundary whenever the allocator's block starts 16 bytes before one.)
            const odd = allocIoMemory(64 * 1024 + 4096).subarray(16, 16 + 64 * 1024);
            assert.notEqual(ioAddressOf(odd) % IO_PAGE_SIZE, 0);
            assert.equal(await dev.bdev.read(0, odd), odd.length);
            assert.equal(await dev.bdev.write(65536, odd), odd.length);
          } finally {
            await dev.stop();
          }
          const all = nk !== null ? [...seen, ...nk.seen] : seen;
          assert.ok(all.length > 100, `only ${all.length} buffers recorded`);
          assert.deepEqual(misaligned(all).slice(0, 5), []);
          if (nk !== null) {
            assert.ok(nk.seen.length > 100, "the native ring saw the data SQEs");
            assert.equal((backend as NativeBackend).bounced, 0, "no O_DIRECT bounce was needed");
          }
        } finally {
          kernel.close();
          if (backend instanceof NativeBackend) backend.close();
          await Deno.remove(dir, { recursive: true });
        }
      },
    });
  }
}

Deno.test("null zero copy and copy: the workload's and the queue's buffers are page-aligned", async () => {
  const seen: Seen[] = [];
  const kernel = recordingKernel(new RecordingBackend(new SyncBackend(), seen), seen);
  try {
    for (const zeroCopy of [false, true]) {
      const dev = await createDevice(kernel, new NullTarget({ size: 64 << 20 }), {
        queues: 1,
        depth: 8,
        zeroCopy,
      });
      try {
        const r = await runWorkload(dev.bdev, parseWorkloadSpec("rw=randread,bs=64k,qd=8,n=200"));
        assert.equal(r.errors, 0);
      } finally {
        await dev.stop();
      }
    }
    // Copy mode named its arena through addressOf (8 tags × max_io_buf_bytes).
    assert.ok(seen.some((s) => s.where === "addressOf"));
    assert.deepEqual(misaligned(seen), []);
  } finally {
    kernel.close();
  }
});

Deno.test("an O_DIRECT handle of the block device refuses unaligned buffer, offset, length with -EINVAL", async () => {
  const kernel = new ModelKernel();
  installFusedCmd(kernel);
  installUblk(kernel);
  try {
    const dev = await createDevice(kernel, new NullTarget({ size: 1 << 20 }), {
      queues: 1,
      depth: 4,
    });
    try {
      const bdev = dev.bdev as unknown as {
        open(o: { direct: boolean }): {
          direct: boolean;
          read(off: number, b: Uint8Array): Promise<number>;
          write(off: number, b: Uint8Array): Promise<number>;
          discard(off: number, len: number): Promise<number>;
        };
      };
      const direct = bdev.open({ direct: true });
      assert.equal(direct.direct, true);
      const page = new Uint8Array(8192 + 4096);
      const skew = (IO_PAGE_SIZE - (ioAddressOf(page) % IO_PAGE_SIZE)) % IO_PAGE_SIZE;
      const aligned = page.subarray(skew, skew + 8192);
      assert.equal(await direct.read(0, aligned.subarray(0, 4096)), 4096);
      assert.equal(await direct.read(0, aligned.subarray(512, 1024)), 512, "512-aligned is enough");
      assert.equal(await direct.read(0, aligned.subarray(16, 16 + 512)), -22, "buffer");
      assert.equal(await direct.write(0, aligned.subarray(100, 612)), -22, "buffer");
      assert.equal(await direct.read(100, aligned.subarray(0, 512)), -22, "offset");
      assert.equal(await direct.read(0, aligned.subarray(0, 100)), -22, "length");
      assert.equal(await direct.discard(512, 100), -22, "discard length");
      // The default handle keeps its contract: RangeError for offset/length, bounce for memory.
      assert.throws(() => dev.bdev.read(100, aligned.subarray(0, 512)), RangeError);
      assert.equal(await dev.bdev.read(0, aligned.subarray(16, 16 + 512)), 512);
    } finally {
      await dev.stop();
    }
  } finally {
    kernel.close();
  }
});
