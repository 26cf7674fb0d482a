import assert from "node:assert/strict";
import { installFusedCmd } from "@ublk-ts/fused-cmd";
import type { BackendFile, IoBackend, IoResult } from "@ublk-ts/ring";
import { ModelKernel, SyncBackend } from "@ublk-ts/model";
import {
  UBLK_S_DEV_DEAD,
  UBLK_S_DEV_FAIL_IO,
  UBLK_S_DEV_LIVE,
  UBLK_S_DEV_QUIESCED,
} from "@ublk-ts/uapi";
import { createDevice } from "@ublk-ts/ublk";
import { installUblk, UblkDriver } from "./driver.ts";
import type { TargetDevInfo, TargetParams } from "@ublk-ts/ublk";
import { FusedFileTarget, RamDiskTarget } from "@ublk-ts/testing";

const tick = (ms = 2): Promise<void> => new Promise((r) => setTimeout(r, ms));

function kernel(): ModelKernel {
  const k = new ModelKernel();
  installUblk(k, { nrCpuIds: 4 });
  return k;
}

function fill(n: number, v: number): Uint8Array {
  return new Uint8Array(n).fill(v);
}

Deno.test("killing the server mid-I/O fails in-flight requests with -EIO; nothing hangs", async () => {
  const k = kernel();
  const target = new RamDiskTarget(1 << 20, { delayMs: 30 });
  const dev = await createDevice(k, target, { queues: 2, depth: 4 });
  const ps: Promise<number>[] = [];
  for (let i = 0; i < 16; i++) ps.push(dev.bdev.write(i * 4096, fill(4096, i + 1)));
  await tick(5);
  assert.ok(dev.bdev.inflight > 0);
  dev.kill();
  const rs = await Promise.all(ps);
  assert.ok(rs.every((r) => r === -5), `results ${rs}`);
  assert.equal(dev.bdev.inflight, 0);
  assert.equal(dev.bdev.present, false);
  assert.equal(await dev.bdev.read(0, new Uint8Array(512)), -19);
  const info = await dev.ctrl.getInfo();
  assert.equal(info.state, UBLK_S_DEV_DEAD);
  // the device can still be deleted
  await dev.ctrl.del();
  assert.equal(UblkDriver.of(k)!.deviceIds.length, 0);
  dev.ctrl.close();
  await tick(40); // let the dead server's timers run out
});

Deno.test("closing only the char device also counts as the server going away", async () => {
  const k = kernel();
  const target = new RamDiskTarget(1 << 20, { delayMs: 20 });
  const dev = await createDevice(k, target, { depth: 2 });
  const p = dev.bdev.read(0, new Uint8Array(4096));
  await tick(2);
  // Close the char device fd the server holds (rings stay up).
  const drv = UblkDriver.of(k)!.device(dev.id)!;
  drv.release();
  assert.equal(await p, -5);
  assert.equal((await dev.ctrl.getInfo()).state, UBLK_S_DEV_DEAD);
  await dev.stop();
  await tick(30);
});

Deno.test("user recovery: a new server finishes the held I/O", async () => {
  const k = kernel();
  const mem = new RamDiskTarget(1 << 20, { delayMs: 20 });
  const dev = await createDevice(k, mem, { queues: 2, depth: 4, userRecovery: true });
  assert.equal(await dev.bdev.write(0, fill(4096, 9)), 4096);
  const inflight = dev.bdev.write(4096, fill(4096, 1));
  await tick(5);
  dev.kill();
  assert.equal(await inflight, -5); // plain recovery: what the server owned fails
  assert.equal((await dev.ctrl.getInfo()).state, UBLK_S_DEV_QUIESCED);
  // New I/O is held while quiesced.
  let done = false;
  const held = dev.bdev.write(8192, fill(4096, 2)).then((r) => {
    done = true;
    return r;
  });
  const heldRead = new Uint8Array(4096);
  const heldR = dev.bdev.read(0, heldRead);
  await tick(30);
  assert.equal(done, false);
  // A new server on the same memory.
  const next = new RamDiskTarget(0);
  (next as { mem: Uint8Array }).mem = mem.mem;
  await dev.recover(next);
  assert.equal(await held, 4096);
  assert.equal(await heldR, 4096);
  assert.deepEqual(heldRead, fill(4096, 9));
  assert.deepEqual(mem.mem.subarray(8192, 12288), fill(4096, 2));
  const info = await dev.ctrl.getInfo();
  assert.equal(info.state, UBLK_S_DEV_LIVE);
  assert.equal(await dev.bdev.write(12288, fill(4096, 3)), 4096);
  await dev.stop();
});

Deno.test("user recovery with REISSUE re-issues what the dead server owned", async () => {
  const k = kernel();
  const mem = new RamDiskTarget(1 << 20, { delayMs: 20 });
  const dev = await createDevice(k, mem, { depth: 4, userRecoveryReissue: true });
  const inflight = dev.bdev.write(4096, fill(4096, 5));
  await tick(5);
  dev.kill();
  assert.equal((await dev.ctrl.getInfo()).state, UBLK_S_DEV_QUIESCED);
  const next = new RamDiskTarget(0);
  (next as { mem: Uint8Array }).mem = mem.mem;
  await dev.recover(next);
  assert.equal(await inflight, 4096);
  assert.deepEqual(mem.mem.subarray(4096, 8192), fill(4096, 5));
  await dev.stop();
  await tick(30);
});

Deno.test("user recovery with FAIL_IO fails I/O until the new server is there", async () => {
  const k = kernel();
  const mem = new RamDiskTarget(1 << 20);
  const dev = await createDevice(k, mem, { depth: 4, userRecoveryFailIo: true });
  dev.kill();
  assert.equal((await dev.ctrl.getInfo()).state, UBLK_S_DEV_FAIL_IO);
  assert.equal(await dev.bdev.read(0, new Uint8Array(512)), -5);
  await dev.recover();
  assert.equal(await dev.bdev.read(0, new Uint8Array(512)), 512);
  await dev.stop();
});

Deno.test("START_USER_RECOVERY is refused while the old char device is open or the device live", async () => {
  const k = kernel();
  const dev = await createDevice(k, new RamDiskTarget(1 << 20), { depth: 2, userRecovery: true });
  await assert.rejects(
    dev.ctrl.startUserRecovery(),
    (e: Error & { errno?: number }) => e.errno === 16,
  );
  // Rings die but the fd stays open: the device is quiesced, recovery still refused.
  for (const q of dev.queues) q.kill();
  await tick(1);
  assert.equal((await dev.ctrl.getInfo()).state, UBLK_S_DEV_QUIESCED);
  await assert.rejects(
    dev.ctrl.startUserRecovery(),
    (e: Error & { errno?: number }) => e.errno === 16,
  );
  dev.kill();
  await dev.recover();
  assert.equal(await dev.bdev.write(0, fill(512, 1)), 512);
  await dev.stop();
});

Deno.test("stop of a quiesced recovery device fails the held I/O", async () => {
  const k = kernel();
  const dev = await createDevice(k, new RamDiskTarget(1 << 20), { depth: 2, userRecovery: true });
  dev.kill();
  const held = dev.bdev.read(0, new Uint8Array(512));
  await tick(2);
  await dev.stop();
  assert.equal(await held, -5);
});

/**
 * A backend whose reads, while `hold` is set, stay in flight (the data not yet moved) until
 * `release()`: a real io_uring still reading into the request pages after the server died.
 */
class HeldReads implements IoBackend {
  readonly name = "held";
  readonly inner: SyncBackend = new SyncBackend();
  hold = true;
  readonly #pending: (() => void)[] = [];
  get pending(): number {
    return this.#pending.length;
  }
  /** Stops holding: the held reads move their data and complete. */
  release(): void {
    this.hold = false;
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
    if (!this.hold) return this.inner.readv(file, bufs, off);
    return new Promise((resolve) => {
      this.#pending.push(() => resolve(this.inner.readv(file, bufs, off)));
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

function pattern(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + (i >> 9)) & 0xff;
  return b;
}

/**
 * Zero copy over a file whose reads are held: four 4 KiB reads are in flight in fused slaves
 * (their leases out) when the server is killed; the other four tags wait in FETCH, so the
 * ring exit cancels those and the driver aborts the queue at once, with the leases still out.
 * Returns the reads' results once the held reads are released and a new server recovered the
 * device.
 */
async function killWithLeasesOut(reissue: boolean): Promise<{
  results: number[];
  bufs: Uint8Array[];
  image: Uint8Array;
  settledBeforeRelease: number;
}> {
  const size = 1 << 20;
  const image = pattern(size);
  const path = await Deno.makeTempFile({ dir: "/dev/shm", prefix: "ublk-recovery-" });
  await Deno.writeFile(path, image);
  const backend = new HeldReads();
  const k = new ModelKernel({ backend });
  installFusedCmd(k);
  installUblk(k, { nrCpuIds: 4 });
  const fd = k.open(path, 2);
  assert.ok(fd >= 0);
  const dev = await createDevice(k, new FusedFileTarget(fd, size), {
    depth: 8,
    zeroCopy: true,
    ...(reissue ? { userRecoveryReissue: true } : { userRecovery: true }),
  });
  try {
    const bufs = [0, 1, 2, 3].map(() => new Uint8Array(4096));
    let settled = 0;
    const reads = bufs.map((b, i) =>
      dev.bdev.read((i + 1) * 65536, b).finally(() => {
        settled++;
      })
    );
    for (let i = 0; i < 100 && backend.pending < 4; i++) await tick(1);
    assert.equal(backend.pending, 4, "every read is in flight in a fused slave");
    dev.kill();
    const recovered = dev.recover(new FusedFileTarget(fd, size));
    await tick(10);
    const settledBeforeRelease = settled;
    assert.equal((await dev.ctrl.getInfo()).state, UBLK_S_DEV_QUIESCED);
    backend.release();
    await recovered;
    const results = await Promise.all(reads);
    assert.equal((await dev.ctrl.getInfo()).state, UBLK_S_DEV_LIVE);
    const after = new Uint8Array(4096);
    assert.equal(await dev.bdev.read(65536, after), 4096, "I/O after the recovery");
    assert.deepEqual(after, image.subarray(65536, 65536 + 4096));
    return { results, bufs, image, settledBeforeRelease };
  } finally {
    backend.release();
    await dev.stop();
    k.close();
    await Deno.remove(path);
  }
}

Deno.test("zero copy + REISSUE: requests whose fused lease is out at the server's death are reissued once it returns", async () => {
  const { results, bufs, image, settledBeforeRelease } = await killWithLeasesOut(true);
  assert.equal(settledBeforeRelease, 0, "a request ended while its pages were still lent");
  assert.deepEqual(results, [4096, 4096, 4096, 4096]);
  for (let i = 0; i < 4; i++) {
    const off = (i + 1) * 65536;
    assert.deepEqual(bufs[i], image.subarray(off, off + 4096), `read ${i}`);
  }
});

Deno.test("zero copy + plain USER_RECOVERY: those requests fail with -EIO, only once the lease returns", async () => {
  const { results, settledBeforeRelease } = await killWithLeasesOut(false);
  assert.equal(settledBeforeRelease, 0, "a request ended while its pages were still lent");
  assert.deepEqual(results, [-5, -5, -5, -5]);
});

class CountingTarget extends RamDiskTarget {
  inits = 0;
  override init(dev: TargetDevInfo): TargetParams {
    this.inits++;
    return super.init(dev);
  }
}

Deno.test("recover(target) initialises the new target, which becomes dev.target and is what stop() closes", async () => {
  const k = kernel();
  const old = new CountingTarget(1 << 20);
  const dev = await createDevice(k, old, { depth: 2, userRecovery: true });
  assert.equal(old.inits, 1);
  assert.equal(dev.target, old);
  dev.kill();
  const next = new CountingTarget(1 << 20);
  await dev.recover(next);
  assert.equal(next.inits, 1, "the new target was initialised");
  assert.equal(old.inits, 1);
  assert.equal(dev.target, next);
  assert.equal(await dev.bdev.write(0, fill(512, 1)), 512);
  assert.deepEqual(next.mem.subarray(0, 512), fill(512, 1));
  // Recovering again with the current target does not initialise it twice.
  dev.kill();
  await dev.recover();
  assert.equal(next.inits, 1);
  await dev.stop();
  assert.equal(next.closed, true, "stop() closes the current target");
  assert.equal(old.closed, false, "stop() leaves the replaced target to its owner");
});
