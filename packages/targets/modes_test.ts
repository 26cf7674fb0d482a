// The data modes end to end on the model driver: a loop device in each mode (copy, user copy,
// the RFC's fused command, register-buf, auto-buf-reg, auto with the fallback on every request)
// over ext4 and tmpfs, checked against the backing file; what each mode hands the target; the
// errno paths of buffer registration as a target sees them; and the refusal of a mode the
// kernel lacks (a model of 6.12: GET_FEATURES 0x1fe).
import assert from "node:assert/strict";
import { installFusedCmd } from "@ublk-ts/fused-cmd";
import { ModelKernel } from "@ublk-ts/model";
import {
  createDevice,
  type DataMode,
  DataModeError,
  dataModeRefusal,
  type IoDesc,
  type Target,
  type TargetDevInfo,
  type TargetIoCtx,
  type TargetParams,
} from "@ublk-ts/ublk";
import { installUblk, UblkDriver } from "@ublk-ts/ublk-drv";
import {
  EFAULT,
  EINVAL,
  IORING_OP_READ,
  IORING_OP_WRITE,
  O_RDWR,
  UBLK_F_AUTO_BUF_REG,
  UBLK_F_SUPPORT_ZERO_COPY,
  UBLK_F_USER_COPY,
  UBLK_IO_F_NEED_REG_BUF,
  UBLK_IO_OP_FLUSH,
  UBLK_IO_OP_READ,
  UBLK_IO_OP_WRITE,
} from "@ublk-ts/uapi";
import { allocIoMemory } from "@ublk-ts/rsrc";
import { LoopTarget } from "./loop.ts";
import { NbdTarget } from "./nbd_target.ts";
import { device, fillPattern, haveNbdkit, MODES, Rng, verifyWorkload } from "./_test_util.ts";

/** GET_FEATURES of Debian's 6.12.117 (tests/real_kernel/testdata/ctrl_6.12.json). */
const FEATURES_6_12 = 0x1fen;
const SIZE = 4 << 20;
const MAX_IO = 512 << 10;

function kernelOf(features?: bigint): ModelKernel {
  const kernel = new ModelKernel();
  installFusedCmd(kernel);
  installUblk(kernel, { nrCpuIds: 2, ...(features !== undefined ? { features } : {}) });
  return kernel;
}

/** What the target was handed, per request with data. */
interface Seen {
  zeroCopy: number;
  withBuffer: number;
  needRegBuf: number;
  requests: number;
}

/** Wraps a target and counts what its contexts and descriptors looked like. */
function spy(inner: Target, seen: Seen): Target {
  return {
    name: inner.name,
    get fixedFds() {
      return inner.fixedFds;
    },
    init: (dev: TargetDevInfo) => inner.init(dev),
    handleIo(ctx: TargetIoCtx, tag: number, iod: IoDesc): number | Promise<number> {
      if (iod.op === UBLK_IO_OP_READ || iod.op === UBLK_IO_OP_WRITE) {
        seen.requests++;
        if (ctx.zeroCopy) seen.zeroCopy++;
        if (ctx.buf.length > 0) seen.withBuffer++;
        if ((iod.flags & UBLK_IO_F_NEED_REG_BUF) !== 0) seen.needRegBuf++;
      }
      return inner.handleIo(ctx, tag, iod);
    },
    close: () => inner.close?.(),
  };
}

const EXPECTED_MODE: Record<string, DataMode> = {
  "copy": "copy",
  "user copy": "user-copy",
  "fused zero copy": "fused",
  "register zero copy": "register",
  "auto zero copy": "auto",
  "auto zero copy (fallback on every request)": "auto",
};

for (const dir of ["/tmp", "/dev/shm"]) {
  for (const mode of MODES) {
    Deno.test(`loop in ${mode.name} on ${dir}: 512 KiB and random requests land in the file, read back equal`, async () => {
      const kernel = kernelOf();
      const path = await Deno.makeTempFile({ dir, prefix: "modes_test_" });
      try {
        await Deno.writeFile(path, fillPattern(new Uint8Array(SIZE), 3));
        const seen: Seen = { zeroCopy: 0, withBuffer: 0, needRegBuf: 0, requests: 0 };
        const target = spy(new LoopTarget(kernel, path), seen);
        await using dev = await createDevice(kernel, target, {
          queues: 2,
          depth: 16,
          maxIoBufBytes: MAX_IO,
          ...mode.options,
        });
        assert.equal(dev.dataMode, EXPECTED_MODE[mode.name]);
        const bdev = UblkDriver.of(kernel)!.blockDevice(dev.id)!;
        const ref = fillPattern(new Uint8Array(SIZE), 3);
        const rng = new Rng(11);
        const buf = allocIoMemory(MAX_IO);
        // whole-request writes, then random pieces in flight together
        for (let off = 0; off < SIZE; off += MAX_IO) {
          const data = fillPattern(buf.subarray(0, MAX_IO), off + 1);
          ref.set(data, off);
          assert.equal(await bdev.write(off, data), MAX_IO);
        }
        // random pieces, eight at a time, each in its own eighth of the device (no overlap)
        const ops: Promise<void>[] = [];
        const region = SIZE / 8;
        for (let i = 0; i < 32; i++) {
          const len = (1 + rng.below(MAX_IO / 512)) * 512;
          const off = (i % 8) * region + rng.below((region - len) / 512 + 1) * 512;
          const data = fillPattern(allocIoMemory(len), rng.next());
          ref.set(data, off);
          ops.push(bdev.write(off, data).then((r) => assert.equal(r, len)));
          if (ops.length === 8) await Promise.all(ops.splice(0));
        }
        await Promise.all(ops);
        assert.equal(await bdev.flush(), 0);
        const file = await Deno.readFile(path);
        assert.ok(file.every((b, i) => b === ref[i]), "the backing file holds what was written");
        const back = allocIoMemory(MAX_IO);
        for (let off = 0; off < SIZE; off += MAX_IO) {
          assert.equal(await bdev.read(off, back), MAX_IO);
          assert.ok(back.every((b, i) => b === ref[off + i]), `read back at ${off}`);
        }
        assert.ok(seen.requests >= SIZE / MAX_IO * 2 + 32);
        if (mode.zeroCopy) {
          assert.equal(seen.zeroCopy, seen.requests);
          assert.equal(seen.withBuffer, 0, "zero copy hands the target no buffer");
        } else {
          assert.equal(seen.zeroCopy, 0);
          assert.equal(seen.withBuffer, seen.requests);
        }
        if (mode.options.autoFallback === "always") {
          assert.equal(seen.needRegBuf, seen.requests, "every request took the fallback");
        } else {
          assert.equal(seen.needRegBuf, 0);
        }
      } finally {
        await Deno.remove(path);
      }
    });
  }
}

/** A RAM disk that moves its data with `ctx.fused` on a memfd-like tmpfs file, or misuses it. */
class Misuse implements Target {
  readonly name = "misuse";
  readonly results: number[] = [];
  readonly fixedFds: number[];
  readonly #fd: number;
  readonly #kernel: ModelKernel;

  constructor(kernel: ModelKernel, path: string) {
    this.#kernel = kernel;
    this.#fd = kernel.open(path, O_RDWR);
    assert.ok(this.#fd >= 0);
    this.fixedFds = [this.#fd];
  }

  close(): void {
    this.#kernel.closeFd(this.#fd);
  }

  init(): TargetParams {
    return { devSize: 1 << 20, attrs: 4 /* VOLATILE_CACHE: FLUSH reaches the target */ };
  }

  async handleIo(ctx: TargetIoCtx, _tag: number, iod: IoDesc): Promise<number> {
    if (iod.op === UBLK_IO_OP_READ) {
      // a READ request's pages may only be written into: sending them out is refused
      const r = await ctx.fused({ opcode: IORING_OP_WRITE, fd: 1, len: iod.bytes });
      this.results.push(r);
      return r < 0 ? r : iod.bytes;
    }
    if (iod.op === UBLK_IO_OP_WRITE) {
      // a WRITE request's pages may only be read from: receiving into them is refused
      const r = await ctx.fused({ opcode: IORING_OP_READ, fd: 1, len: iod.bytes });
      this.results.push(r);
      return r < 0 ? r : iod.bytes;
    }
    if (iod.op === UBLK_IO_OP_FLUSH) {
      // a request without data has no pages to register
      const r = await ctx.fused({ opcode: IORING_OP_READ, fd: 1, len: 4096, off: 0 });
      this.results.push(r);
      return 0;
    }
    return 0;
  }
}

for (const mode of ["register", "auto"] as const) {
  Deno.test(`${mode} zero copy: a wrong-direction op ends -EFAULT, a request without data cannot register (-EINVAL); the device goes on`, async () => {
    const kernel = kernelOf();
    const path = await Deno.makeTempFile({ dir: "/dev/shm", prefix: "modes_misuse_" });
    try {
      await Deno.truncate(path, 1 << 20);
      const target = new Misuse(kernel, path);
      await using dev = await createDevice(kernel, target, {
        depth: 4,
        dataMode: mode,
        ...(mode === "auto" ? { autoFallback: true } : {}),
      });
      const bdev = UblkDriver.of(kernel)!.blockDevice(dev.id)!;
      const buf = allocIoMemory(4096);
      assert.ok(await bdev.read(0, buf) < 0);
      assert.ok(await bdev.write(0, buf) < 0);
      assert.equal(await bdev.flush(), 0);
      assert.deepEqual(target.results, [-EFAULT, -EFAULT, -EINVAL]);
      // a second round: the tags were unregistered and fetched again
      assert.ok(await bdev.read(4096, buf) < 0);
      assert.deepEqual(target.results.slice(3), [-EFAULT]);
    } finally {
      await Deno.remove(path);
    }
  });
}

Deno.test("a mode the kernel lacks is refused with one line before ADD_DEV (a model of 6.12: GET_FEATURES 0x1fe)", async () => {
  const kernel = kernelOf(FEATURES_6_12);
  const path = await Deno.makeTempFile({ dir: "/dev/shm", prefix: "modes_refuse_" });
  await using _rm = { [Symbol.asyncDispose]: () => Deno.remove(path) };
  const target = new Misuse(kernel, path);
  await assert.rejects(
    createDevice(kernel, target, { dataMode: "register", kernelName: "6.12" }),
    (e: unknown) => {
      assert.ok(e instanceof DataModeError);
      assert.equal(
        e.message,
        "zero copy needs UBLK_F_SUPPORT_ZERO_COPY: this kernel (6.12) has USER_COPY; use -u",
      );
      return true;
    },
  );
  await assert.rejects(
    createDevice(kernel, target, { dataMode: "auto", autoFallback: true, kernelName: "6.12" }),
    /^DataModeError: auto buffer registration with fallback needs UBLK_F_SUPPORT_ZERO_COPY and UBLK_F_AUTO_BUF_REG: this kernel \(6\.12\) has USER_COPY; use -u$/,
  );
  // nothing was added
  assert.equal(UblkDriver.of(kernel)!.blockDevice(0), undefined);
  // what 6.12 has works
  await using dev = await createDevice(kernel, target, { dataMode: "user-copy", depth: 2 });
  assert.equal(dev.dataMode, "user-copy");
  assert.equal(dev.info.flags & UBLK_F_USER_COPY, UBLK_F_USER_COPY);
  assert.equal(dev.info.flags & (UBLK_F_SUPPORT_ZERO_COPY | UBLK_F_AUTO_BUF_REG), 0n);
});

Deno.test("`dataModeRefusal` names the missing bits and what the kernel has instead", () => {
  const all = UBLK_F_USER_COPY | UBLK_F_SUPPORT_ZERO_COPY | UBLK_F_AUTO_BUF_REG;
  assert.equal(dataModeRefusal("auto", all), null);
  assert.equal(dataModeRefusal("copy", 0n), null);
  assert.equal(
    dataModeRefusal("auto", UBLK_F_USER_COPY | UBLK_F_SUPPORT_ZERO_COPY),
    "auto buffer registration needs UBLK_F_AUTO_BUF_REG: this kernel has SUPPORT_ZERO_COPY; use --zc-mode register",
  );
  assert.equal(
    dataModeRefusal("user-copy", 0n, false, "6.1"),
    "user copy needs UBLK_F_USER_COPY: this kernel (6.1) has copy mode only",
  );
  assert.equal(
    dataModeRefusal("fused", all),
    "fused zero copy (the RFC) needs UBLK_F_RFC_FUSED_ZC: it exists only in the model kernel (--model)",
  );
});

/** `nbdkit memory` on a loopback TCP port the kernel picked for us (a free one, probed first). */
async function tcpMemoryServer(size: number): Promise<{ port: number } & AsyncDisposable> {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const child = new Deno.Command("nbdkit", {
    args: ["-f", "-i", "127.0.0.1", "-p", String(port), "memory", `size=${size}`],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const dispose = async (): Promise<void> => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
  };
  for (let i = 0;; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return { port, [Symbol.asyncDispose]: dispose };
    } catch { /* not yet */ }
    if (i > 1500) {
      await dispose();
      throw new Error("nbdkit did not start listening");
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const mode of MODES.filter((m) => m.zeroCopy)) {
  for (const sendZc of [false, true]) {
    Deno.test({
      name: `nbd over TCP in ${mode.name}${
        sendZc ? " with SEND_ZC" : ""
      }: random writes then reads against nbdkit memory verify`,
      ignore: !haveNbdkit(),
      async fn(): Promise<void> {
        const kernel = kernelOf();
        await using srv = await tcpMemoryServer(8 << 20);
        const target = await NbdTarget.connect({
          hostname: "127.0.0.1",
          port: srv.port,
          zeroCopy: true,
          sendZc,
          kernel,
        });
        await using d = await device(kernel, target, mode, 128 << 10);
        const r = await verifyWorkload(d.bdev, { seed: 5, maxIo: 128 << 10, qd: 8, reads: 200 });
        assert.deepEqual(r.errors, []);
        assert.equal(r.mismatches, 0);
        assert.ok(r.writes > 0 && r.reads === 200);
      },
    });
  }
}
