/**
 * The integrity matrix (issue 7): the `verify` workload of `@ublk-ts/targets` — sectors that
 * carry their offset, a generation and a checksum, random offsets and sizes up to 4× the
 * `max_io_buf_bytes` split (a quarter of them straddling a split), two queues, QD 128 — run
 * through `/dev/ublkbN` of the model driver for every data path of the null-free targets:
 *
 * - loop × {copy, zero copy} × {sync backend, native backend (a real io_uring)}
 * - nbd × {copy, zero copy, zero copy + SEND_ZC} × {nbdkit memory, qemu-nbd over a raw file}
 *
 * Each cell asserts zero mismatches and zero I/O errors, deletes the device, then compares the
 * backing bytes (the loop file, an `nbdcopy` of the nbdkit export, the qemu-nbd image after
 * the server exits) byte for byte with the image the verify shadow map rebuilds, and checks
 * from the ops the kernel issued that the cell really took its data path (fused slaves on
 * lent pages, SEND_ZC). Further steps:
 *
 * - a backend error (a bad range under loop, NBD error replies, ddrescue bad sectors) fails
 *   only the requests that hit it, with -EIO, and the device can still be deleted;
 * - the checks can fail: a bit flipped on the read path or in the backing file is caught;
 * - geometry: 4 KiB logical blocks, an NBD server refusing requests over 16 KiB;
 * - recovery: three server deaths in the middle of a run, UBLK_F_USER_RECOVERY_REISSUE,
 *   no error and no mismatch, in copy and zero copy (leases still out at the death).
 *
 * Seeds are fixed per cell and printed in every failure message; `INTEGRITY_SEED=<u32>`
 * overrides them all to reproduce or explore.
 */
import assert from "node:assert/strict";
import { createDevice, type UblkDevice } from "@ublk-ts/ublk";
import { LoopTarget, NbdTarget } from "@ublk-ts/targets";
import { runVerify, type VerifyOptions, type VerifyReport } from "../../apps/ublk/verify.ts";
import {
  assertClean,
  assertImage,
  deviceIds,
  EIO,
  EPERM,
  firstDifference,
  have,
  measured,
  nativeAvailable,
  nbdcopy,
  openKernel,
  type Server,
  startNbdkit,
  startQemuNbd,
  tempDir,
  type TestKernel,
  zeroFile,
} from "./_util.ts";

/** Device size of every cell. */
const SIZE = 16 << 20;
/** `max_io_buf_bytes`: small, so random I/O crosses request splits. */
const SPLIT = 64 << 10;
/** Operations in the random phase of each cell. */
const OPS = 1000;
/** Hardware queues and tags per queue (2 × 64 = the verify QD of 128). */
const QUEUES = 2;
const DEPTH = 64;
const QD = 128;

const envSeed = Deno.env.get("INTEGRITY_SEED");
/** `INTEGRITY_VERBOSE=1` prints each cell's seed, workload shape and issued ops. */
const VERBOSE = Deno.env.get("INTEGRITY_VERBOSE") === "1";
const NATIVE = nativeAvailable();
const NBDKIT = have("nbdkit") && have("nbdcopy");
const QEMU_NBD = have("qemu-nbd");

/** The fixed seed of a cell (FNV-1a of its name), unless INTEGRITY_SEED is set. */
function seedOf(name: string): number {
  if (envSeed !== undefined) return Number(envSeed) >>> 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The request split and logical block size a device must have. */
interface Geometry {
  split: number;
  lbs: number;
}

/** Runs the verify workload on a device of the matrix and checks its geometry first. */
async function verify(
  dev: UblkDevice,
  name: string,
  extra: VerifyOptions = {},
  geometry: Geometry = { split: SPLIT, lbs: 512 },
): Promise<VerifyReport> {
  const split = geometry.split;
  assert.equal(dev.bdev.size, SIZE, `${name}: device size`);
  assert.equal(dev.bdev.maxRequestBytes, split, `${name}: max request bytes`);
  assert.equal(dev.bdev.logicalBlockSize, geometry.lbs, `${name}: logical block size`);
  assert.equal(dev.info.nrHwQueues, QUEUES, `${name}: queues`);
  const { device, stats } = measured(dev.bdev, split);
  const report = await runVerify(device, {
    seed: seedOf(name),
    ops: OPS,
    queueDepth: QD,
    blockSize: geometry.lbs,
    maxBytes: 4 * split,
    splitBytes: split,
    initial: "zero",
    writeRatio: 0.6,
    ...extra,
  });
  // The workload did what the matrix promises: deep queues on both hardware queues, and
  // plenty of I/O split into several requests or straddling a split boundary.
  const what = `${name} (seed ${report.seed}) ${JSON.stringify(stats)}`;
  if (VERBOSE) console.log(`${what} ops ${report.ops} written ${report.bytesWritten}`);
  assert.ok(stats.peakCalls >= QD / 2, `${what}: queue depth`);
  assert.ok(stats.peakTags > DEPTH, `${what}: tags in flight never exceeded one queue`);
  assert.ok(stats.multiRequest >= OPS / 10, `${what}: too few multi-request I/Os`);
  assert.ok(stats.straddling >= OPS / 10, `${what}: too few I/Os straddling a split`);
  return report;
}

/** Deletes the device and checks that the driver no longer has it. */
async function deleteDevice(k: TestKernel, dev: UblkDevice, name: string): Promise<void> {
  const bdev = dev.bdev; // a client that opened /dev/ublkbN before the delete
  await dev.stop();
  assert.deepEqual(deviceIds(k.kernel), [], `${name}: devices left after delete`);
  const r = await bdev.read(0, new Uint8Array(4096));
  assert.ok(r < 0, `${name}: a read after delete returned ${r}`);
  assert.throws(() => dev.bdev, TypeError, `${name}: /dev/ublkb${dev.id} still there`);
}

/** Asserts the kernel issued what the cell's data path implies. */
function assertDataPath(
  k: TestKernel,
  name: string,
  path: "loop copy" | "loop zero copy" | NbdMode,
): void {
  const n = (m: Map<string, number>, op: string): number => m.get(op) ?? 0;
  const what = `${name}: issued ${JSON.stringify(Object.fromEntries(k.issued))}, on lent ` +
    `buffers ${JSON.stringify(Object.fromEntries(k.lent))}`;
  const fused = n(k.issued, "FUSED_CMD");
  if (VERBOSE) console.log(what);
  switch (path) {
    case "loop copy":
      assert.ok(fused === 0 && n(k.issued, "READ") > 0 && n(k.issued, "WRITE") > 0, what);
      assert.ok(n(k.lent, "READ") + n(k.lent, "WRITE") === 0, what);
      break;
    case "loop zero copy":
      // Every data op is a fused slave on the request's pages.
      assert.ok(fused > 0 && n(k.lent, "READ") > 0 && n(k.lent, "WRITE") > 0, what);
      assert.equal(n(k.lent, "READ"), n(k.issued, "READ"), what);
      assert.equal(n(k.lent, "WRITE"), n(k.issued, "WRITE"), what);
      break;
    case "copy":
      assert.ok(fused === 0 && n(k.lent, "SEND") + n(k.lent, "RECV") === 0, what);
      break;
    case "zero copy":
      assert.ok(fused > 0 && n(k.lent, "SEND") > 0 && n(k.lent, "RECV") > 0, what);
      assert.equal(n(k.issued, "SEND_ZC"), 0, what);
      break;
    case "send_zc":
      assert.ok(fused > 0 && n(k.lent, "SEND_ZC") > 0 && n(k.lent, "RECV") > 0, what);
      assert.equal(n(k.lent, "SEND"), 0, what);
      break;
  }
}

// ---------------------------------------------------------------------------------------------
// loop × {copy, zero copy} × {sync, native}

interface LoopCell {
  zeroCopy: boolean;
  native: boolean;
}

function loopName(c: LoopCell): string {
  return `loop ${c.zeroCopy ? "zero copy" : "copy"} ${c.native ? "native" : "sync"}`;
}

async function loopCell(c: LoopCell): Promise<void> {
  const name = loopName(c);
  const dir = await tempDir();
  try {
    const path = `${dir}/backing.img`;
    await zeroFile(path, SIZE);
    const k = openKernel(c.native);
    let report: VerifyReport;
    try {
      const dev = await createDevice(k.kernel, new LoopTarget(k.kernel, path), {
        queues: QUEUES,
        depth: DEPTH,
        maxIoBufBytes: SPLIT,
        zeroCopy: c.zeroCopy,
      });
      try {
        report = await verify(dev, name);
      } finally {
        await deleteDevice(k, dev, name);
      }
    } finally {
      k.close();
    }
    assertClean(report, name);
    assertDataPath(k, name, c.zeroCopy ? "loop zero copy" : "loop copy");
    assertImage(report, await Deno.readFile(path), SIZE, `${name}: backing file`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A deterministic pattern for the error steps. */
function pattern(len: number, salt: number): Uint8Array {
  const b = new Uint8Array(len);
  let x = (salt * 0x9e3779b1) >>> 0 || 1;
  for (let i = 0; i < len; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/**
 * A bad range on the backing file (the backend returns -EIO for READ/WRITE touching it): a
 * read and a write that touch it fail with -EIO, concurrent I/O elsewhere — including the
 * request just before the bad one — succeeds with the right data, the failed write leaves the
 * file untouched, and once the range heals everything reads back. Then the file is truncated
 * under the device: reads past its end fail with -EIO, reads before it work. The device
 * deletes, and the file holds exactly the writes that succeeded.
 */
async function loopErrorCell(c: LoopCell): Promise<void> {
  const name = `${loopName(c)} backend error`;
  const size = 4 << 20;
  const dir = await tempDir();
  try {
    const path = `${dir}/backing.img`;
    const image = pattern(size, 7);
    await Deno.writeFile(path, image);
    const k = openKernel(c.native);
    try {
      const dev = await createDevice(k.kernel, new LoopTarget(k.kernel, path), {
        queues: QUEUES,
        depth: 16,
        maxIoBufBytes: SPLIT,
        zeroCopy: c.zeroCopy,
      });
      try {
        const bad = { offset: (1 << 20) + 4096, length: 4096 };
        k.faults.bad = bad;
        // A 192 KiB read split into requests; one of them covers the bad range.
        const split = new Uint8Array(3 * SPLIT);
        const near = new Uint8Array(SPLIT);
        const far = new Uint8Array(3 * SPLIT);
        const [rSplit, rNear, rFar, wBad, wGood] = await Promise.all([
          dev.bdev.read(1 << 20, split),
          dev.bdev.read((1 << 20) - SPLIT, near), // the request just before the bad one
          dev.bdev.read(2 << 20, far),
          dev.bdev.write(bad.offset, new Uint8Array(512).fill(0xee)),
          dev.bdev.write(3 << 20, pattern(SPLIT, 9)),
        ]);
        assert.equal(rSplit, -EIO, `${name}: split read over the bad range`);
        assert.equal(wBad, -EIO, `${name}: write to the bad range`);
        assert.equal(rNear, SPLIT, `${name}: read next to the bad range`);
        assert.equal(rFar, 3 * SPLIT, `${name}: read far from the bad range`);
        assert.equal(wGood, SPLIT, `${name}: write far from the bad range`);
        assert.equal(firstDifference(near, image.subarray((1 << 20) - SPLIT, 1 << 20)), -1);
        assert.equal(firstDifference(far, image.subarray(2 << 20, (2 << 20) + 3 * SPLIT)), -1);
        assert.ok(k.faults.injected >= 2, `${name}: the backend failed ${k.faults.injected} calls`);
        // Heal: the same read succeeds, the failed write changed nothing.
        k.faults.bad = null;
        assert.equal(await dev.bdev.read(1 << 20, split), 3 * SPLIT);
        assert.equal(firstDifference(split, image.subarray(1 << 20, (1 << 20) + 3 * SPLIT)), -1);
        image.set(pattern(SPLIT, 9), 3 << 20);
        // A real short read: the backing file shrinks under the device. Reads past the new
        // end fail with -EIO (a READ served with 0 bytes), reads before it still work.
        const end = 3 << 20;
        await Deno.truncate(path, end);
        const [rPast, rAcross, rBefore] = await Promise.all([
          dev.bdev.read(end + SPLIT, new Uint8Array(SPLIT)),
          dev.bdev.read(end - SPLIT, new Uint8Array(2 * SPLIT)),
          dev.bdev.read(end - 2 * SPLIT, near),
        ]);
        assert.equal(rPast, -EIO, `${name}: read past the truncated end`);
        assert.equal(rAcross, -EIO, `${name}: read across the truncated end`);
        assert.equal(rBefore, SPLIT, `${name}: read before the truncated end`);
        assert.equal(firstDifference(near, image.subarray(end - 2 * SPLIT, end - SPLIT)), -1);
        await Deno.truncate(path, size);
        image.fill(0, end);
        assert.equal(await dev.bdev.read(end + SPLIT, near), SPLIT, `${name}: after regrowing`);
        assert.ok(near.every((b) => b === 0), `${name}: regrown tail reads as zeroes`);
      } finally {
        k.faults.bad = null;
        await deleteDevice(k, dev, name);
      }
    } finally {
      k.close();
    }
    const got = await Deno.readFile(path);
    assert.equal(firstDifference(got, image), -1, `${name}: backing file`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * The checks themselves can fail: with the backend flipping one bit of every read of one file
 * byte, the verify run reports that sector (and only it) while the backing file still
 * matches; a bit flipped in the file afterwards fails the byte-for-byte comparison.
 */
async function loopSensitivityCell(c: LoopCell): Promise<void> {
  const name = `${loopName(c)} corrupted reads`;
  const dir = await tempDir();
  try {
    const path = `${dir}/backing.img`;
    await zeroFile(path, SIZE);
    const k = openKernel(c.native);
    const flip = (5 << 20) + 12345;
    const sector = flip - (flip % 512);
    let report: VerifyReport;
    try {
      const dev = await createDevice(k.kernel, new LoopTarget(k.kernel, path), {
        queues: QUEUES,
        depth: DEPTH,
        maxIoBufBytes: SPLIT,
        zeroCopy: c.zeroCopy,
      });
      try {
        k.faults.flip = flip;
        report = await verify(dev, name, { quiet: true });
      } finally {
        k.faults.flip = null;
        await deleteDevice(k, dev, name);
      }
    } finally {
      k.close();
    }
    assert.deepEqual(report.errors, [], `${name} (seed ${report.seed}): I/O errors`);
    assert.ok(k.faults.injected >= 1, `${name}: no read covered the flipped byte`);
    assert.ok(report.mismatchCount >= 1, `${name} (seed ${report.seed}): flip not detected`);
    assert.deepEqual(
      [...new Set(report.mismatches.map((m) => m.offset))],
      [sector],
      `${name} (seed ${report.seed}): ${JSON.stringify(report.mismatches.slice(0, 5))}`,
    );
    const file = await Deno.readFile(path);
    assertImage(report, file, SIZE, `${name}: backing file`);
    file[flip]! ^= 0x80;
    assert.throws(
      () => assertImage(report, file, SIZE, "corrupted file"),
      new RegExp(`at byte ${flip} `),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const loopCells: LoopCell[] = [];
for (const native of [false, true]) {
  for (const zeroCopy of [false, true]) loopCells.push({ zeroCopy, native });
}

Deno.test("integrity matrix: loop", async (t) => {
  for (const c of loopCells) {
    await t.step({
      name: `${loopName(c)}: verify, then the backing file equals the expected image`,
      ignore: c.native && !NATIVE,
      fn: () => loopCell(c),
    });
  }
  for (const c of [loopCells[0]!, loopCells[3]!]) {
    await t.step({
      name: `${loopName(c)}: a bit flipped on the read path or in the file is caught`,
      ignore: c.native && !NATIVE,
      fn: () => loopSensitivityCell(c),
    });
  }
  for (const c of loopCells) {
    await t.step({
      name: `${loopName(c)}: a backend error is -EIO on that request only; delete works`,
      ignore: c.native && !NATIVE,
      fn: () => loopErrorCell(c),
    });
  }
});

// ---------------------------------------------------------------------------------------------
// nbd × {copy, zero copy, send_zc} × {nbdkit memory, qemu-nbd raw file}

type NbdMode = "copy" | "zero copy" | "send_zc";
type NbdServer = "nbdkit" | "qemu-nbd";

interface NbdCell {
  mode: NbdMode;
  server: NbdServer;
}

function nbdName(c: NbdCell): string {
  return `nbd ${c.mode} ${c.server}`;
}

/** Connects the nbd target to `s` in the cell's mode (SEND_ZC needs TCP). */
function connect(k: TestKernel, s: Server, mode: NbdMode): Promise<NbdTarget> {
  return NbdTarget.connect({
    ...(s.path !== undefined ? { path: s.path } : { hostname: "127.0.0.1", port: s.port! }),
    zeroCopy: mode !== "copy",
    sendZc: mode === "send_zc",
    kernel: k.kernel,
  });
}

async function nbdCell(c: NbdCell): Promise<void> {
  const name = nbdName(c);
  const tcp = c.mode === "send_zc";
  const dir = await tempDir();
  let server: Server | null = null;
  try {
    const image = `${dir}/export.img`;
    if (c.server === "nbdkit") {
      server = await startNbdkit(dir, ["memory", `size=${SIZE}`], tcp);
    } else {
      await zeroFile(image, SIZE);
      server = await startQemuNbd(dir, image, tcp);
    }
    const k = openKernel(false);
    let report: VerifyReport;
    try {
      const target = await connect(k, server, c.mode);
      // Both servers offer structured replies: every mode takes them (zero copy too).
      assert.ok(target.info.structuredReplies, `${name}: structured replies negotiated`);
      let dev: UblkDevice;
      try {
        dev = await createDevice(k.kernel, target, {
          queues: QUEUES,
          depth: DEPTH,
          maxIoBufBytes: SPLIT,
          zeroCopy: c.mode !== "copy",
        });
      } catch (e) {
        await target.close();
        throw e;
      }
      try {
        report = await verify(dev, name);
      } finally {
        await deleteDevice(k, dev, name);
      }
    } finally {
      k.close();
    }
    assertClean(report, name);
    assertDataPath(k, name, c.mode);
    if (c.server === "nbdkit") {
      const out = `${dir}/copy.img`;
      await nbdcopy(server.uri, out);
      assertImage(report, await Deno.readFile(out), SIZE, `${name}: nbdcopy of the export`);
    } else {
      await server.stop();
      assertImage(report, await Deno.readFile(image), SIZE, `${name}: qemu-nbd image`);
    }
  } finally {
    await server?.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * nbdkit's error filter fails every NBD_CMD_READ while one trigger file exists and every
 * NBD_CMD_WRITE while another does: those requests end with -EIO, concurrent requests of the
 * other kind succeed, the connection survives (later I/O works), the device deletes, and the
 * export holds exactly the writes that succeeded.
 */
async function nbdErrorCell(mode: NbdMode): Promise<void> {
  const name = `nbd ${mode} nbdkit backend error`;
  const size = 4 << 20;
  const dir = await tempDir();
  let server: Server | null = null;
  try {
    const failRead = `${dir}/fail-read`;
    const failWrite = `${dir}/fail-write`;
    server = await startNbdkit(dir, [
      "--filter=error",
      "memory",
      `size=${size}`,
      "error=EIO",
      "error-pread-rate=100%",
      `error-pread-file=${failRead}`,
      "error-pwrite-rate=100%",
      `error-pwrite-file=${failWrite}`,
    ], mode === "send_zc");
    const expected = new Uint8Array(size);
    const k = openKernel(false);
    try {
      const target = await connect(k, server, mode);
      const dev = await createDevice(k.kernel, target, {
        queues: QUEUES,
        depth: 16,
        maxIoBufBytes: SPLIT,
        zeroCopy: mode !== "copy",
      });
      try {
        const a = pattern(3 * SPLIT, 1);
        assert.equal(await dev.bdev.write(0, a), a.length);
        expected.set(a, 0);
        // Reads fail; a write at the same time succeeds.
        await Deno.writeFile(failRead, new Uint8Array());
        const b = pattern(SPLIT, 2);
        const [r1, w1] = await Promise.all([
          dev.bdev.read(0, new Uint8Array(2 * SPLIT)),
          dev.bdev.write(2 << 20, b),
        ]);
        await Deno.remove(failRead);
        assert.equal(r1, -EIO, `${name}: read while reads fail`);
        assert.equal(w1, SPLIT, `${name}: write while reads fail`);
        expected.set(b, 2 << 20);
        // Writes fail; a read at the same time succeeds with the data.
        await Deno.writeFile(failWrite, new Uint8Array());
        const got = new Uint8Array(3 * SPLIT);
        const [w2, r2] = await Promise.all([
          dev.bdev.write(1 << 20, pattern(2 * SPLIT, 3)),
          dev.bdev.read(0, got),
        ]);
        await Deno.remove(failWrite);
        assert.equal(w2, -EIO, `${name}: write while writes fail`);
        assert.equal(r2, got.length, `${name}: read while writes fail`);
        assert.equal(firstDifference(got, a), -1, `${name}: data read while writes fail`);
        // The connection lives on.
        const back = new Uint8Array(SPLIT);
        assert.equal(await dev.bdev.read(2 << 20, back), SPLIT, `${name}: read after the errors`);
        assert.equal(firstDifference(back, b), -1);
      } finally {
        await deleteDevice(k, dev, name);
      }
    } finally {
      k.close();
    }
    const out = `${dir}/copy.img`;
    await nbdcopy(server.uri, out);
    assert.equal(firstDifference(await Deno.readFile(out), expected), -1, `${name}: export`);
  } finally {
    await server?.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

/** What nbdkit's pattern plugin serves: each 8-byte word holds its offset, big-endian. */
function patternPlugin(offset: number, len: number): Uint8Array {
  const b = new Uint8Array(len);
  const v = new DataView(b.buffer);
  for (let i = 0; i < len; i += 8) v.setBigUint64(i, BigInt(offset + i));
  return b;
}

/**
 * Bad sectors on a read-only export (nbdkit's ddrescue filter over the pattern plugin): a
 * split read whose middle request covers them fails with -EIO, while concurrent reads on the
 * same connection — of the sectors right before and right after, and far away — succeed with
 * the right data; the read-only device refuses writes with -EPERM and deletes.
 */
async function nbdBadSectorCell(mode: NbdMode): Promise<void> {
  const name = `nbd ${mode} nbdkit bad sectors`;
  const size = 4 << 20;
  const bad = { offset: (1 << 20) + 4096, length: 4096 };
  const dir = await tempDir();
  let server: Server | null = null;
  try {
    const map = `${dir}/rescue.map`;
    const hex = (n: number): string => "0x" + n.toString(16).padStart(8, "0");
    await Deno.writeTextFile(
      map,
      [
        "# Mapfile. Created by GNU ddrescue version 1.25",
        "# current_pos  current_status  current_pass",
        `${hex(0)}     +               1`,
        "#      pos        size  status",
        `${hex(0)}  ${hex(bad.offset)}  +`,
        `${hex(bad.offset)}  ${hex(bad.length)}  -`,
        `${hex(bad.offset + bad.length)}  ${hex(size - bad.offset - bad.length)}  +`,
        "",
      ].join("\n"),
    );
    server = await startNbdkit(dir, [
      "--filter=ddrescue",
      "pattern",
      `size=${size}`,
      `ddrescue-mapfile=${map}`,
    ], mode === "send_zc");
    const k = openKernel(false);
    try {
      const target = await connect(k, server, mode);
      const dev = await createDevice(k.kernel, target, {
        queues: QUEUES,
        depth: 16,
        maxIoBufBytes: SPLIT,
        zeroCopy: mode !== "copy",
      });
      try {
        assert.ok(dev.bdev.readOnly, `${name}: the device is read-only`);
        const from = bad.offset - SPLIT - 4096; // requests: before, over the bad range, after
        const before = new Uint8Array(SPLIT);
        const after = new Uint8Array(SPLIT);
        const far = new Uint8Array(3 * SPLIT);
        const results = await Promise.all([
          dev.bdev.read(from, new Uint8Array(3 * SPLIT)),
          dev.bdev.read(from, before),
          dev.bdev.read(bad.offset + bad.length, after),
          dev.bdev.read(3 << 20, far),
          dev.bdev.write(0, new Uint8Array(512)),
        ]);
        assert.deepEqual(results, [-EIO, SPLIT, SPLIT, 3 * SPLIT, -EPERM], name);
        assert.equal(firstDifference(before, patternPlugin(from, SPLIT)), -1, name);
        assert.equal(firstDifference(after, patternPlugin(bad.offset + bad.length, SPLIT)), -1);
        assert.equal(firstDifference(far, patternPlugin(3 << 20, 3 * SPLIT)), -1, name);
        // The connection lives on after the error reply.
        assert.equal(await dev.bdev.read(bad.offset, new Uint8Array(512)), -EIO, name);
        assert.equal(await dev.bdev.read(0, before), SPLIT, `${name}: read after the errors`);
        assert.equal(firstDifference(before, patternPlugin(0, SPLIT)), -1, name);
      } finally {
        await deleteDevice(k, dev, name);
      }
    } finally {
      k.close();
    }
  } finally {
    await server?.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

const nbdCells: NbdCell[] = [];
for (const server of ["nbdkit", "qemu-nbd"] as const) {
  for (const mode of ["copy", "zero copy", "send_zc"] as const) nbdCells.push({ mode, server });
}

Deno.test("integrity matrix: nbd", async (t) => {
  for (const c of nbdCells) {
    await t.step({
      name: `${nbdName(c)}: verify, then the export equals the expected image`,
      ignore: c.server === "nbdkit" ? !NBDKIT : !QEMU_NBD,
      fn: () => nbdCell(c),
    });
  }
  for (const mode of ["copy", "zero copy", "send_zc"] as const) {
    await t.step({
      name: `nbd ${mode} nbdkit: an NBD error reply is -EIO on that request only; delete works`,
      ignore: !NBDKIT,
      fn: () => nbdErrorCell(mode),
    });
  }
  for (const mode of ["copy", "zero copy"] as const) {
    await t.step({
      name: `nbd ${mode} nbdkit: reads of bad sectors fail, the requests around them do not`,
      ignore: !NBDKIT,
      fn: () => nbdBadSectorCell(mode),
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Geometry: 4 KiB logical blocks, and an NBD server that rejects oversized requests.

interface GeometryCell {
  name: string;
  zeroCopy: boolean;
  geometry: Geometry;
  /** nbdkit filter and its parameters (after the plugin), or null for loop. */
  nbdkit: { filter: string; params: string[] } | null;
}

async function geometryCell(c: GeometryCell): Promise<void> {
  const name = `${c.name} ${c.zeroCopy ? "zero copy" : "copy"}`;
  const dir = await tempDir();
  let server: Server | null = null;
  try {
    const path = `${dir}/backing.img`;
    let target: LoopTarget | NbdTarget;
    const k = openKernel(false);
    let report: VerifyReport;
    try {
      if (c.nbdkit === null) {
        await zeroFile(path, SIZE);
        target = new LoopTarget(k.kernel, path, { logicalBlockSize: c.geometry.lbs });
      } else {
        server = await startNbdkit(dir, [
          `--filter=${c.nbdkit.filter}`,
          "memory",
          `size=${SIZE}`,
          ...c.nbdkit.params,
        ]);
        target = await connect(k, server, c.zeroCopy ? "zero copy" : "copy");
      }
      let dev: UblkDevice;
      try {
        dev = await createDevice(k.kernel, target, {
          queues: QUEUES,
          depth: DEPTH,
          maxIoBufBytes: SPLIT,
          zeroCopy: c.zeroCopy,
        });
      } catch (e) {
        await target.close?.();
        throw e;
      }
      try {
        report = await verify(dev, name, {}, c.geometry);
      } finally {
        await deleteDevice(k, dev, name);
      }
    } finally {
      k.close();
    }
    assertClean(report, name);
    if (server === null) {
      assertImage(report, await Deno.readFile(path), SIZE, `${name}: backing file`);
    } else {
      // nbdcopy 1.14 ignores the advertised maximum: keep its requests within it.
      const out = `${dir}/copy.img`;
      await nbdcopy(server.uri, out, [`--request-size=${c.geometry.split}`]);
      assertImage(report, await Deno.readFile(out), SIZE, `${name}: nbdcopy of the export`);
    }
  } finally {
    await server?.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

const geometryCells: GeometryCell[] = [];
for (const zeroCopy of [false, true]) {
  geometryCells.push(
    {
      name: "loop 4 KiB logical blocks",
      zeroCopy,
      geometry: { split: SPLIT, lbs: 4096 },
      nbdkit: null,
    },
    {
      name: "nbd nbdkit refusing requests over 16 KiB",
      zeroCopy,
      geometry: { split: 16 << 10, lbs: 512 },
      nbdkit: {
        filter: "blocksize-policy",
        params: ["blocksize-maximum=16384", "blocksize-error-policy=error"],
      },
    },
    {
      name: "nbd nbdkit with a 4 KiB minimum block",
      zeroCopy,
      geometry: { split: SPLIT, lbs: 4096 },
      nbdkit: {
        filter: "blocksize-policy",
        params: ["blocksize-minimum=4096", "blocksize-error-policy=error"],
      },
    },
  );
}

Deno.test("integrity matrix: geometry", async (t) => {
  for (const c of geometryCells) {
    await t.step({
      name: `${c.name} ${c.zeroCopy ? "zero copy" : "copy"}: verify, then the bytes match`,
      ignore: c.nbdkit !== null && !NBDKIT,
      fn: () => geometryCell(c),
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Recovery: the server dies mid-run and a new one takes over (UBLK_F_USER_RECOVERY_REISSUE).

interface RecoveryCell {
  kind: "loop" | "nbd";
  zeroCopy: boolean;
  /** Loop: the native backend (else sync, with 2 ms of completion latency). */
  native: boolean;
}

function recoveryName(c: RecoveryCell): string {
  return `${c.kind} ${c.zeroCopy ? "zero copy" : "copy"}${
    c.kind === "loop" ? (c.native ? " native" : " sync (late completions)") : ""
  }`;
}

/**
 * Kills the server three times while the verify workload runs (requests in flight) and
 * recovers each time with a new target. With REISSUE the requests the dead server owned are
 * served again by the new one: the run ends with zero errors and zero mismatches, and the
 * backing bytes equal the expected image.
 */
async function recoveryCell(c: RecoveryCell): Promise<void> {
  const name = `${recoveryName(c)} recovery`;
  const dir = await tempDir();
  let server: Server | null = null;
  const targets: (LoopTarget | NbdTarget)[] = [];
  try {
    const path = `${dir}/backing.img`;
    const k = openKernel(c.kind === "loop" && c.native);
    k.faults.latencyMs = c.kind === "loop" && !c.native ? 2 : 0;
    let report: VerifyReport;
    const killedWith: number[] = [];
    try {
      // One worker thread per connection: a killed zero-copy server leaves replies in flight
      // that nobody reads (nbdkit blocks in send on several threads); when that socket closes,
      // nbdkit 1.32 races between those threads and aborts (connections.c raw_send_socket:
      // "Assertion `sock >= 0' failed"), taking the export with it.
      if (c.kind === "nbd") {
        server = await startNbdkit(dir, ["--threads=1", "memory", `size=${SIZE}`]);
      } else await zeroFile(path, SIZE);
      const make = async (): Promise<LoopTarget | NbdTarget> => {
        const t = c.kind === "loop"
          // A dead server's lock would die with its process; the simulated death keeps the old
          // target open, so the new one does not take the file's lock.
          ? new LoopTarget(k.kernel, path, { lock: targets.length === 0 })
          : await connect(k, server!, c.zeroCopy ? "zero copy" : "copy");
        targets.push(t);
        return t;
      };
      const dev = await createDevice(k.kernel, await make(), {
        queues: QUEUES,
        depth: DEPTH,
        maxIoBufBytes: SPLIT,
        zeroCopy: c.zeroCopy,
        userRecoveryReissue: true,
      });
      try {
        // Kill i comes once the workload has done (i + 1) × 300 of its 2000 operations.
        let done = 0;
        let wake: (() => void) | null = null;
        const progressed = (n: number): Promise<void> =>
          new Promise<void>((r) => {
            wake = () => {
              if (done >= n) {
                wake = null;
                r();
              }
            };
            wake();
          });
        const run = verify(dev, name, {
          ops: 2 * OPS,
          progressEvery: 50,
          progress: (p) => {
            if (p.phase === "random") done = p.done;
            wake?.();
          },
        });
        for (let i = 0; i < 3; i++) {
          await progressed((i + 1) * 300);
          // Kill with requests in flight, what the cell is about. Loop: the backend holds the
          // result of the next READ/WRITE, so that request is in flight at the kill whatever
          // the scheduling (a workload racing to its end cannot leave the kill with nothing).
          // NBD: each request is a round trip to nbdkit; wait for one to be out.
          const gate = c.kind === "loop" ? k.faults.holdNext() : null;
          if (gate !== null) await gate.held;
          else {
            while (dev.bdev.inflight === 0) await new Promise((r) => setTimeout(r, 1));
          }
          killedWith.push(dev.bdev.inflight);
          dev.kill();
          gate?.release(); // its result now goes to a dead ring: REISSUE serves it again
          if (c.kind === "nbd") {
            // A dead process's sockets close with it: close the dead server's connection now
            // (close() returns once nbdkit closed its side), and wait until nbdkit has
            // finished with it. A WRITE the dead server had sent whole but nbdkit had not yet
            // carried out (queued behind replies nobody reads any more) is carried out now or
            // never; left open, nbdkit carried it out at the end of the run, over what the
            // recovered servers had written to the same sectors since.
            await targets.at(-1)!.close?.();
            while (server!.connections() > 0) await new Promise((r) => setTimeout(r, 1));
          }
          await dev.recover(await make());
        }
        report = await run;
      } finally {
        await deleteDevice(k, dev, name);
      }
    } finally {
      for (const t of targets) await t.close?.();
      k.close();
    }
    assert.ok(killedWith.every((n) => n > 0), `${name}: killed with ${killedWith} in flight`);
    assertClean(report, `${name} (killed with ${killedWith} in flight)`);
    if (server === null) {
      assertImage(report, await Deno.readFile(path), SIZE, `${name}: backing file`);
    } else {
      const out = `${dir}/copy.img`;
      try {
        await nbdcopy(server.uri, out);
      } catch (e) {
        await server.stop();
        throw new Error(`${name}: ${(e as Error).message}; nbdkit: ${await server.stderr()}`);
      }
      assertImage(report, await Deno.readFile(out), SIZE, `${name}: nbdcopy of the export`);
    }
  } finally {
    await server?.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("integrity matrix: recovery", async (t) => {
  for (const native of [false, true]) {
    for (const zeroCopy of [false, true]) {
      const c: RecoveryCell = { kind: "loop", zeroCopy, native };
      await t.step({
        name: `${recoveryName(c)}: three server deaths, REISSUE, then the bytes match`,
        ignore: native && !NATIVE,
        fn: () => recoveryCell(c),
      });
    }
  }
  await t.step({
    name: "nbd copy: three server deaths, REISSUE, then the bytes match",
    ignore: !NBDKIT,
    fn: () => recoveryCell({ kind: "nbd", zeroCopy: false, native: false }),
  });
  await t.step({
    name: "nbd zero copy: three server deaths, REISSUE, then the bytes match",
    ignore: !NBDKIT,
    fn: () => recoveryCell({ kind: "nbd", zeroCopy: true, native: false }),
  });
});
