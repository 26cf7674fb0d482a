// The loop target over the real path: a ModelKernel with the model ublk driver (and the fused
// command for zero copy), `createDevice`, and I/O through the in-process block device. The
// SQEs the target writes are decoded by the model kernel's own ops; a FaultBackend under the
// kernel records what reached the backing file and injects errors and short transfers.
import assert from "node:assert/strict";
import { installFusedCmd } from "@ublk-ts/fused-cmd";
import { ModelKernel } from "@ublk-ts/model";
import { createDevice, IoDesc, type TargetIoCtx, type UblkDevice } from "@ublk-ts/ublk";
import { installUblk, type UblkBlockDevice, UblkDriver } from "@ublk-ts/ublk-drv";
import { type BackendCall, FaultBackend } from "@ublk-ts/testing";
import {
  EBADF,
  EIO,
  ENODATA,
  ENOSPC,
  EOPNOTSUPP,
  EPERM,
  EROFS,
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  FALLOC_FL_ZERO_RANGE,
  O_DIRECT,
  O_RDONLY,
  O_RDWR,
} from "@ublk-ts/uapi";
import { type ModeCase, MODES } from "./_test_util.ts";
import { checkBackingFile, existingDataBytes, LoopTarget, type LoopTargetOptions } from "./loop.ts";

/** Backing-file directories: tmpfs (no ZERO_RANGE) and the root file system (ext4 here). */
const DIRS = ["/dev/shm", "/tmp"] as const;
const SIZE = 1 << 20;
const MAX_IO = 64 << 10;

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

function fsType(dir: string): string {
  const mounts = Deno.readTextFileSync("/proc/mounts").split("\n").map((l) => l.split(" "));
  let best = "";
  let type = "";
  for (const m of mounts) {
    const mp = m[1] ?? "";
    if (
      (dir === mp || dir.startsWith(mp.endsWith("/") ? mp : mp + "/")) && mp.length > best.length
    ) {
      best = mp;
      type = m[2] ?? "";
    }
  }
  return type;
}

interface Loop extends AsyncDisposable {
  readonly kernel: ModelKernel;
  readonly backend: FaultBackend;
  readonly target: LoopTarget;
  readonly dev: UblkDevice;
  readonly bdev: UblkBlockDevice;
  readonly path: string;
  /** The backing file's initial contents. */
  readonly data: Uint8Array;
  /** Calls on the backing file of one operation. */
  calls(op: BackendCall["op"]): BackendCall[];
}

/** A loop device over a fresh patterned file in `dir`, served in this process. */
async function loopDevice(
  dir: string,
  mode: boolean | ModeCase,
  options: LoopTargetOptions = {},
): Promise<Loop> {
  const backend = new FaultBackend();
  const kernel = new ModelKernel({ backend });
  installFusedCmd(kernel);
  installUblk(kernel, { nrCpuIds: 4 });
  const path = await Deno.makeTempFile({ dir, prefix: "loop_test_" });
  const data = pattern(SIZE, 7);
  await Deno.writeFile(path, data);
  let dev: UblkDevice;
  let target: LoopTarget;
  try {
    target = new LoopTarget(kernel, path, options);
    dev = await createDevice(kernel, target, {
      queues: 2,
      depth: 8,
      ...(typeof mode === "boolean" ? { zeroCopy: mode } : mode.options),
      maxIoBufBytes: MAX_IO,
    });
  } catch (e) {
    await Deno.remove(path);
    throw e;
  }
  const bdev = UblkDriver.of(kernel)!.blockDevice(dev.id)!;
  return {
    kernel,
    backend,
    target,
    dev,
    bdev,
    path,
    data,
    calls: (op) => backend.calls.filter((c) => c.op === op && c.path === path),
    async [Symbol.asyncDispose](): Promise<void> {
      try {
        await dev.stop();
      } finally {
        await Deno.remove(path);
      }
    },
  };
}

/** A fault that fires `times` times for calls matching `match`, then lets calls through. */
function faultOnce(
  match: (c: BackendCall) => boolean,
  res: number,
  times = 1,
): (c: BackendCall) => number | undefined {
  let left = times;
  return (c) => {
    if (left > 0 && match(c)) {
      left--;
      return res;
    }
    return undefined;
  };
}

const byOff = (a: BackendCall, b: BackendCall): number => a.off - b.off;

Deno.test("`checkBackingFile()` rejects missing files, directories and odd sizes", async () => {
  assert.throws(() => checkBackingFile("/nonexistent/x.img"), /ENOENT/);
  const dir = await Deno.makeTempDir();
  try {
    assert.throws(() => checkBackingFile(dir), /EISDIR/);
  } finally {
    await Deno.remove(dir);
  }
  await withFile(1000, (p) => {
    assert.throws(() => checkBackingFile(p), /size 1000 is not a non-zero multiple of 512/);
  });
  await withFile(0, (p) => {
    assert.throws(() => checkBackingFile(p), RangeError);
  });
  await withFile(4096, (p) => {
    assert.equal(checkBackingFile(p), 4096);
    assert.throws(() => checkBackingFile(p, 8192 as number), RangeError);
  });
});

async function withFile(size: number, fn: (path: string) => Promise<void> | void): Promise<void> {
  const path = await Deno.makeTempFile({ prefix: "loop_test_" });
  try {
    await Deno.truncate(path, size);
    await fn(path);
  } finally {
    await Deno.remove(path);
  }
}

const opened: { path: string; flags: number }[] = [];
const closed: number[] = [];
const opener = {
  refuseDirect: false,
  open(path: string, flags: number): number {
    opened.push({ path, flags });
    if (this.refuseDirect && (flags & O_DIRECT)) return -22;
    return 42;
  },
  closeFd(fd: number): number {
    closed.push(fd);
    return 0;
  },
};

Deno.test("`new LoopTarget()` opens O_DIRECT by default and falls back when refused", async () => {
  await withFile(8192, (p) => {
    opened.length = 0;
    const t = new LoopTarget(opener, p);
    assert.equal(opened[0]!.flags, O_RDWR | O_DIRECT);
    assert.equal(t.direct, true);
    assert.deepEqual(t.fixedFds, [42]);
    assert.equal(t.size, 8192);
    opener.refuseDirect = true;
    const b = new LoopTarget(opener, p, { lock: false }); // t holds the exclusive lock
    opener.refuseDirect = false;
    assert.equal(b.direct, false);
    assert.equal(opened.at(-1)!.flags, O_RDWR);
    const c = new LoopTarget(opener, p, { direct: false, readOnly: true, lock: false });
    assert.equal(opened.at(-1)!.flags, O_RDONLY);
    const params = c.init({
      devId: 0,
      nrHwQueues: 1,
      queueDepth: 1,
      maxIoBufBytes: 4096,
      flags: 0n,
      zeroCopy: false,
    });
    assert.equal(params.devSize, 8192);
    assert.equal(params.attrs! & 1, 1, "read-only attr");
    closed.length = 0;
    t.close();
    t.close();
    assert.deepEqual(closed, [42]);
  });
});

Deno.test("`new LoopTarget()` fails before opening when the file is bad", () => {
  opened.length = 0;
  assert.throws(() => new LoopTarget(opener, "/nonexistent/x.img"), /ENOENT/);
  assert.equal(opened.length, 0);
  const failing = { open: () => -13, closeFd: () => 0 };
  return withFile(4096, (p) => {
    assert.throws(() => new LoopTarget(failing, p, { direct: false }), /EACCES/);
  });
});

Deno.test("`LoopTarget.handleIo()` refuses an unknown op with -EOPNOTSUPP before any I/O", async () => {
  await withFile(4096, (p) => {
    const t = new LoopTarget(opener, p);
    const d = new IoDesc();
    d.op = 99;
    const ctx = {
      qid: 0,
      tag: 0,
      submit: () => assert.fail("no SQE for an unknown op"),
      fused: () => assert.fail("no fused command for an unknown op"),
    } as unknown as TargetIoCtx;
    assert.equal(t.handleIo(ctx, 0, d), -EOPNOTSUPP);
  });
});

for (const dir of DIRS) {
  const fs = fsType(dir);
  const tmpfs = fs === "tmpfs";

  Deno.test(`\`LoopTarget\` on ${dir} (${fs}) opens the backing file through the kernel`, async () => {
    {
      await using l = await loopDevice(dir, false);
      assert.deepEqual(l.backend.opens.filter((o) => o.path === l.path).map((o) => o.flags), [
        O_RDWR | O_DIRECT,
      ]);
      assert.equal(l.bdev.size, SIZE);
      assert.equal(l.bdev.readOnly, false);
    }
    {
      await using l = await loopDevice(dir, false, { direct: false });
      assert.deepEqual(l.backend.opens.filter((o) => o.path === l.path).map((o) => o.flags), [
        O_RDWR,
      ]);
    }
  });

  Deno.test(`\`LoopTarget\` on ${dir}: a read-only device reads and refuses writes`, async () => {
    await using l = await loopDevice(dir, false, { readOnly: true });
    assert.equal(l.backend.opens.find((o) => o.path === l.path)!.flags, O_RDONLY | O_DIRECT);
    assert.equal(l.bdev.readOnly, true);
    const buf = new Uint8Array(4096);
    assert.equal(await l.bdev.read(8192, buf), 4096);
    assert.deepEqual(buf, l.data.subarray(8192, 12288));
    assert.equal(await l.bdev.write(0, buf), -EPERM);
    assert.equal(await l.bdev.discard(0, 4096), -EPERM);
    assert.equal(l.calls("write").length, 0);
  });

  for (const mode of MODES) {
    const { name } = mode;
    const where = `${name} on ${dir} (${fs})`;

    Deno.test(`\`LoopTarget\` ${where}: READ and WRITE reach the file at start_sector << 9`, async () => {
      await using l = await loopDevice(dir, mode);
      const buf = new Uint8Array(8192);
      assert.equal(await l.bdev.read(4096, buf), 8192);
      assert.deepEqual(buf, l.data.subarray(4096, 12288));
      assert.deepEqual(l.calls("read").map((c) => [c.off, c.len]), [[4096, 8192]]);

      // One bio of 256 KiB: four requests of max_io_buf_bytes, each one READ on the file.
      l.backend.calls.length = 0;
      const big = new Uint8Array(4 * MAX_IO);
      assert.equal(await l.bdev.read(0, big), big.length);
      assert.deepEqual(big, l.data.subarray(0, big.length));
      assert.deepEqual(l.calls("read").sort(byOff).map((c) => [c.off, c.len]), [
        [0, MAX_IO],
        [MAX_IO, MAX_IO],
        [2 * MAX_IO, MAX_IO],
        [3 * MAX_IO, MAX_IO],
      ]);

      const w = new Uint8Array(4096).fill(0x5a);
      assert.equal(await l.bdev.write(8192, w), 4096);
      assert.deepEqual(l.calls("write").map((c) => [c.off, c.len]), [[8192, 4096]]);
      const file = await Deno.readFile(l.path);
      assert.deepEqual(file.subarray(8192, 12288), w, "the host file holds the write");
      assert.deepEqual(file.subarray(4096, 8192), l.data.subarray(4096, 8192));
      assert.deepEqual(file.subarray(12288, 16384), l.data.subarray(12288, 16384));
      assert.equal(l.calls("fsync").length, 0, "a plain write does not sync");

      // Many requests in flight on both queues, more than the tags: all land, all read back.
      const shadow = file.slice();
      const ws: Promise<number>[] = [];
      for (let i = 0; i < 40; i++) {
        const off = ((i * 37) % (SIZE / 4096)) * 4096;
        const d = pattern(4096, 100 + i);
        shadow.set(d, off);
        ws.push(l.bdev.write(off, d));
      }
      assert.ok((await Promise.all(ws)).every((r) => r === 4096));
      const all = new Uint8Array(SIZE);
      assert.equal(await l.bdev.read(0, all), SIZE);
      assert.deepEqual(all, shadow);
      assert.deepEqual(await Deno.readFile(l.path), shadow);
    });

    Deno.test(`\`LoopTarget\` ${where}: FLUSH is fdatasync; a FUA WRITE writes then fdatasyncs`, async () => {
      await using l = await loopDevice(dir, mode);
      assert.equal(await l.bdev.flush(), 0);
      assert.deepEqual(l.calls("fsync").map((c) => c.datasync), [true]);
      l.backend.calls.length = 0;
      const w = new Uint8Array(4096).fill(0xab);
      assert.equal(await l.bdev.write(4096, w, { fua: true }), 4096);
      assert.deepEqual(
        l.backend.calls.filter((c) => c.path === l.path).map((
          c,
        ) => [c.op, c.off, c.len, c.datasync]),
        [["write", 4096, 4096, false], ["fsync", 0, 0, true]],
      );
      assert.deepEqual((await Deno.readFile(l.path)).subarray(4096, 8192), w);
    });

    Deno.test(`\`LoopTarget\` ${where}: DISCARD punches a hole, WRITE_ZEROES zeroes a range`, async () => {
      await using l = await loopDevice(dir, mode);
      const zero = new Uint8Array(8192);
      const buf = new Uint8Array(8192);
      assert.equal(await l.bdev.discard(4096, 8192), 0);
      assert.equal(await l.bdev.read(4096, buf), 8192);
      assert.deepEqual(buf, zero);
      assert.equal(await l.bdev.writeZeroes(65536, 8192), 0);
      assert.equal(await l.bdev.writeZeroes(131072, 4096, { noUnmap: true }), 0);
      assert.equal(await l.bdev.read(65536, buf), 8192);
      assert.deepEqual(buf, zero);
      const file = await Deno.readFile(l.path);
      assert.equal(file.length, SIZE, "KEEP_SIZE: the file size is unchanged");
      assert.deepEqual(file.subarray(131072, 135168), zero.subarray(0, 4096));
      assert.deepEqual(file.subarray(0, 4096), l.data.subarray(0, 4096), "before the hole");
      assert.deepEqual(file.subarray(12288, 65536), l.data.subarray(12288, 65536), "between");
      assert.deepEqual(file.subarray(135168), l.data.subarray(135168), "after the zeroes");
      const PUNCH = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
      const ZERO = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
      // tmpfs has PUNCH_HOLE but no ZERO_RANGE: the first WRITE_ZEROES falls back and the
      // target remembers; ext4 zeroes the range in place.
      assert.deepEqual(
        l.calls("fallocate").map((c) => [c.mode, c.off, c.len]),
        tmpfs
          ? [[PUNCH, 4096, 8192], [ZERO, 65536, 8192], [PUNCH, 65536, 8192], [PUNCH, 131072, 4096]]
          : [[PUNCH, 4096, 8192], [ZERO, 65536, 8192], [ZERO, 131072, 4096]],
      );
    });

    Deno.test(`\`LoopTarget\` ${where}: WRITE_ZEROES falls back to PUNCH_HOLE on -EOPNOTSUPP only`, async () => {
      await using l = await loopDevice(dir, mode);
      // Any other fallocate error is the request's result, without a fallback.
      l.backend.fault = faultOnce((c) => c.op === "fallocate", -ENOSPC);
      assert.equal(await l.bdev.writeZeroes(8192, 4096), -ENOSPC);
      assert.equal(l.calls("fallocate").length, 1);
      l.backend.fault = faultOnce((c) => c.op === "fallocate", -ENOSPC);
      assert.equal(await l.bdev.discard(8192, 4096), -ENOSPC);
      // A refused ZERO_RANGE (forced here on every file system) falls back to PUNCH_HOLE.
      l.backend.calls.length = 0;
      l.backend.fault = (c) =>
        c.op === "fallocate" && (c.mode & FALLOC_FL_ZERO_RANGE) !== 0 ? -EOPNOTSUPP : undefined;
      assert.equal(await l.bdev.writeZeroes(16384, 4096), 0);
      assert.equal(await l.bdev.writeZeroes(20480, 4096), 0);
      const PUNCH = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
      assert.deepEqual(l.calls("fallocate").map((c) => c.mode), [
        FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
        PUNCH,
        PUNCH,
      ]);
      const buf = new Uint8Array(8192);
      assert.equal(await l.bdev.read(16384, buf), 8192);
      assert.deepEqual(buf, new Uint8Array(8192));
    });

    Deno.test(`\`LoopTarget\` ${where}: a failed file op's errno is the request's result`, async () => {
      await using l = await loopDevice(dir, mode);
      const buf = new Uint8Array(4096);
      l.backend.fault = faultOnce((c) => c.op === "read", -EIO);
      assert.equal(await l.bdev.read(0, buf), -EIO);
      l.backend.fault = faultOnce((c) => c.op === "read", -ENODATA);
      assert.equal(await l.bdev.read(0, buf), -ENODATA);
      const w = new Uint8Array(4096).fill(0x33);
      l.backend.fault = faultOnce((c) => c.op === "write", -ENOSPC);
      assert.equal(await l.bdev.write(0, w), -ENOSPC);
      l.backend.fault = faultOnce((c) => c.op === "fsync", -ENOSPC);
      assert.equal(await l.bdev.write(8192, w, { fua: true }), -ENOSPC, "FUA's fdatasync failed");
      l.backend.fault = faultOnce((c) => c.op === "fsync", -EIO);
      assert.equal(await l.bdev.flush(), -EIO);
      l.backend.fault = null;
      assert.equal(await l.bdev.read(0, buf), 4096, "the device still serves");
      assert.deepEqual(buf, l.data.subarray(0, 4096), "the refused write did not land");
      const file = await Deno.readFile(l.path);
      assert.deepEqual(
        file.subarray(8192, 12288),
        w,
        "the FUA write landed before its sync failed",
      );
    });

    Deno.test(`\`LoopTarget\` ${where}: a backend error fails only its own request with -EIO`, async () => {
      await using l = await loopDevice(dir, mode);
      // EBADF is no block status: the block layer reports -EIO.
      l.backend.fault = (c) => c.op === "read" && c.off === MAX_IO ? -EBADF : undefined;
      const bufs = [0, 1, 2, 3].map(() => new Uint8Array(MAX_IO));
      const res = await Promise.all(bufs.map((b, i) => l.bdev.read(i * MAX_IO, b)));
      assert.deepEqual(res, [MAX_IO, -EIO, MAX_IO, MAX_IO]);
      for (const i of [0, 2, 3]) {
        assert.deepEqual(bufs[i], l.data.subarray(i * MAX_IO, (i + 1) * MAX_IO));
      }
      l.backend.fault = (c) => c.op === "write" && c.off === 0 ? -EBADF : undefined;
      const w = pattern(8192, 3);
      const wr = await Promise.all([
        l.bdev.write(0, w.subarray(0, 4096)),
        l.bdev.write(4096, w.subarray(4096)),
      ]);
      assert.deepEqual(wr, [-EIO, 4096]);
      l.backend.fault = null;
      assert.equal(await l.bdev.read(MAX_IO, bufs[1]!), MAX_IO);
      assert.deepEqual(bufs[1], l.data.subarray(MAX_IO, 2 * MAX_IO));
      const file = await Deno.readFile(l.path);
      assert.deepEqual(file.subarray(0, 4096), l.data.subarray(0, 4096), "the failed write");
      assert.deepEqual(file.subarray(4096, 8192), w.subarray(4096));
    });

    Deno.test(`\`LoopTarget\` ${where}: short transfers complete by requeue; past EOF is -EIO`, async () => {
      await using l = await loopDevice(dir, mode);
      l.backend.fault = faultOnce((c) => c.op === "read", 1536);
      const buf = new Uint8Array(8192);
      assert.equal(await l.bdev.read(16384, buf), 8192);
      assert.deepEqual(buf, l.data.subarray(16384, 24576));
      assert.deepEqual(l.calls("read").map((c) => [c.off, c.len]), [
        [16384, 8192],
        [16384 + 1536, 8192 - 1536],
      ]);
      l.backend.calls.length = 0;
      l.backend.fault = faultOnce((c) => c.op === "write", 2560);
      const w = pattern(8192, 11);
      assert.equal(await l.bdev.write(32768, w), 8192);
      assert.deepEqual(l.calls("write").map((c) => [c.off, c.len]), [
        [32768, 8192],
        [32768 + 2560, 8192 - 2560],
      ]);
      assert.deepEqual((await Deno.readFile(l.path)).subarray(32768, 40960), w);
      // The backing file shrinks under the device: a READ past its end returns 0 → -EIO.
      l.backend.fault = null;
      await Deno.truncate(l.path, SIZE / 2);
      assert.equal(await l.bdev.read(SIZE - 4096, new Uint8Array(4096)), -EIO);
      assert.equal(await l.bdev.read(0, buf), 8192, "below the end still reads");
    });
  }
}

Deno.test("`new LoopTarget()` locks its file: one writer, or many readers; a locked file is refused", async () => {
  await withFile(8192, async (p) => {
    const link = `${p}.link`;
    await Deno.symlink(p, link);
    try {
      const w = new LoopTarget(opener, p);
      // Another writer, a reader, and the same file through a symlink are refused clearly.
      for (const [path, o] of [[p, {}], [p, { readOnly: true }], [link, {}]] as const) {
        assert.throws(
          () => new LoopTarget(opener, path, o),
          (e: Error) => /EAGAIN/.test(e.message) && e.message.includes(`"${path}"`),
        );
      }
      w.close();
      const r1 = new LoopTarget(opener, p, { readOnly: true });
      const r2 = new LoopTarget(opener, link, { readOnly: true });
      assert.throws(() => new LoopTarget(opener, p), /flock/);
      r1.close();
      r2.close();
      // Released by close: a writer gets it again; a second process is refused too.
      const w2 = new LoopTarget(opener, p);
      const other = new Deno.Command(Deno.execPath(), {
        args: [
          "eval",
          `const f = Deno.openSync(${JSON.stringify(p)}); console.log(f.tryLockSync(false))`,
        ],
        stdout: "piped",
      }).outputSync();
      assert.equal(new TextDecoder().decode(other.stdout).trim(), "false");
      w2.close();
    } finally {
      await Deno.remove(link);
    }
  });
});

Deno.test("`LoopTarget.handleIo()` on a read-only target fails WRITE, DISCARD, WRITE_ZEROES with -EROFS", async () => {
  await withFile(8192, (p) => {
    const t = new LoopTarget(opener, p, { readOnly: true });
    const params = t.init({
      devId: 0,
      nrHwQueues: 1,
      queueDepth: 1,
      maxIoBufBytes: 4096,
      flags: 0n,
      zeroCopy: false,
    });
    assert.equal(params.attrs! & 1, 1, "UBLK_ATTR_READ_ONLY");
    const ctx = {
      qid: 0,
      tag: 0,
      zeroCopy: false,
      submit: () => assert.fail("no SQE for a write to a read-only target"),
      fused: () => assert.fail("no fused command for a write to a read-only target"),
    } as unknown as TargetIoCtx;
    for (const op of [1, 3, 5]) { // UBLK_IO_OP_WRITE, _DISCARD, _WRITE_ZEROES
      const d = new IoDesc();
      d.op = op;
      d.nrSectors = 8;
      assert.equal(t.handleIo(ctx, 0, d), -EROFS, `op ${op}`);
    }
    t.close();
  });
});

Deno.test("`existingDataBytes()` sees a non-empty file through a symlink, 0 for empty or missing", async () => {
  await withFile(4096, async (p) => {
    await Deno.symlink(p, `${p}.l`);
    try {
      assert.equal(existingDataBytes(`${p}.l`), 4096);
      assert.equal(existingDataBytes(p), 4096);
    } finally {
      await Deno.remove(`${p}.l`);
    }
  });
  await withFile(0, (p) => assert.equal(existingDataBytes(p), 0));
  assert.equal(existingDataBytes("/nonexistent/x.img"), 0);
});
