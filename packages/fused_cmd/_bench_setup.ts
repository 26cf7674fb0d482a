/**
 * Benchmark fixture (not published): a model kernel with FUSED_CMD and the test device, a
 * tmpfs file, caller buffers; one read through the copy path or the fused zero-copy path.
 *
 * @module
 */
import process from "node:process";
import { IORING_OP_READ, IORING_SETUP_SQE128, IOSQE_CQE_SKIP_SUCCESS } from "@ublk-ts/uapi";
import { type IoBackend, O_RDWR, prepRead, Ring } from "@ublk-ts/ring";
import { ModelKernel } from "@ublk-ts/model";
import { MappedBuffer } from "@ublk-ts/rsrc";
import { installFusedCmd } from "./fused_cmd.ts";
import { prepFusedCmd, type PrepFusedMaster, type PrepFusedSlave } from "./prep_fused_cmd.ts";
import { TEST_DEV_CMD_LEND, TestDevice, testDeviceCmd } from "@ublk-ts/testing";

const FILE_SIZE = 32 << 20;

/** One benchmark setup: a model kernel, an SQE128 ring, the test device, a tmpfs file. */
export class Setup {
  readonly kernel: ModelKernel;
  readonly ring: Ring;
  readonly dev: TestDevice;
  readonly devFd: number;
  readonly fileFd: number;
  readonly path: string;
  readonly size: number;
  /** The callers' buffers as lent to fused commands (what block requests' pages would be). */
  readonly lent: MappedBuffer[] = [];
  readonly #cmds: Uint8Array[] = [];
  #cur = 0;
  /** The server's bounce buffer of the copy path. */
  readonly server: Uint8Array;
  #off = 0;
  readonly #master: PrepFusedMaster;
  readonly #slave: PrepFusedSlave;
  readonly #readOpts: { offset: number; userData: bigint } = { offset: 0, userData: 1n };

  constructor(size: number, segments: number, callers: number, backend?: IoBackend) {
    this.size = size;
    this.kernel = new ModelKernel(backend ? { backend } : {});
    installFusedCmd(this.kernel);
    this.dev = new TestDevice({ record: false });
    this.kernel.registerDevice("/dev/fused-bench", this.dev);
    this.ring = Ring.create(this.kernel, 8, { flags: IORING_SETUP_SQE128 });
    this.path = Deno.makeTempFileSync({ dir: "/dev/shm", prefix: "fused-bench-" });
    const data = new Uint8Array(FILE_SIZE);
    for (let i = 0; i < data.length; i += 4096) data[i] = i >>> 12;
    Deno.writeFileSync(this.path, data);
    this.devFd = this.kernel.open("/dev/fused-bench", O_RDWR);
    this.fileFd = this.kernel.open(this.path, O_RDWR);
    const seg = size / segments;
    for (let k = 0; k < callers; k++) {
      const caller = new Uint8Array(size);
      const segs: Uint8Array[] = [];
      for (let i = 0; i < segments; i++) segs.push(caller.subarray(i * seg, (i + 1) * seg));
      const buf = MappedBuffer.fromSegments(segs);
      this.lent.push(buf);
      this.dev.add(k, buf, "dest");
      this.#cmds.push(testDeviceCmd(k));
    }
    this.server = new Uint8Array(size);
    this.#master = {
      target: this.devFd,
      cmdOp: TEST_DEV_CMD_LEND,
      cmd: this.#cmds[0]!,
      userData: 1n,
      flags: IOSQE_CQE_SKIP_SUCCESS,
    };
    this.#slave = {
      opcode: IORING_OP_READ,
      target: this.fileFd,
      addr: 0,
      len: size,
      offset: 0n,
      userData: 2n,
    };
  }

  #nextOff(): number {
    this.#cur = (this.#cur + 1) % this.lent.length;
    const o = this.#off;
    this.#off = (o + this.size) % FILE_SIZE;
    return o;
  }

  /** One copy-path read: READ into the server buffer, then copy into the caller's buffer. */
  copyRead(): void {
    const ring = this.ring;
    this.#readOpts.offset = this.#nextOff();
    prepRead(ring.getSqe()!, this.fileFd, this.server, this.#readOpts);
    ring.submit();
    const c = ring.peekCqe()!;
    const res = c.res;
    ring.cqeSeen();
    if (res !== this.size) throw new Error(`copy read: ${res}`);
    this.lent[this.#cur]!.copyFrom(this.server, 0);
  }

  /** One zero-copy read: FUSED_CMD, the slave READ goes into the caller's buffer. */
  zcRead(): void {
    const ring = this.ring;
    this.#slave.offset = BigInt(this.#nextOff());
    this.#master.cmd = this.#cmds[this.#cur]!;
    prepFusedCmd(ring.getSqe()!, this.#master, this.#slave);
    ring.submit();
    const c = ring.peekCqe()!;
    const res = c.res;
    ring.cqeSeen();
    if (res !== this.size) throw new Error(`zero-copy read: ${res}`);
  }

  /** {@linkcode Setup.copyRead} for a backend that completes later. */
  async copyReadAsync(): Promise<void> {
    const ring = this.ring;
    this.#readOpts.offset = this.#nextOff();
    prepRead(ring.getSqe()!, this.fileFd, this.server, this.#readOpts);
    ring.submit();
    const c = ring.peekCqe() ?? await ring.waitCqe();
    const res = c.res;
    ring.cqeSeen();
    if (res !== this.size) throw new Error(`copy read: ${res}`);
    this.lent[this.#cur]!.copyFrom(this.server, 0);
  }

  /** {@linkcode Setup.zcRead} for a backend that completes later. */
  async zcReadAsync(): Promise<void> {
    const ring = this.ring;
    this.#slave.offset = BigInt(this.#nextOff());
    this.#master.cmd = this.#cmds[this.#cur]!;
    prepFusedCmd(ring.getSqe()!, this.#master, this.#slave);
    ring.submit();
    const c = ring.peekCqe() ?? await ring.waitCqe();
    const res = c.res;
    ring.cqeSeen();
    if (res !== this.size) throw new Error(`zero-copy read: ${res}`);
  }

  close(): void {
    this.ring.close();
    this.kernel.close();
    // a backend with its own ring (native) is closed by `[Symbol.dispose]` or `close()`
    const b = this.kernel.backend as unknown as {
      [Symbol.dispose]?: () => void;
      close: (f?: unknown) => void;
    };
    if (b[Symbol.dispose]) b[Symbol.dispose]!();
    else if (b.close.length === 0) b.close();
    Deno.removeSync(this.path);
  }
}

/** The read sizes benchmarked. */
export const SIZES: [string, number][] = [["64KiB", 64 << 10], ["512KiB", 512 << 10]];

/**
 * Prints throughput and CPU-seconds per GB of the copy and zero-copy paths, measured side by
 * side in one process (interleaved rounds, median per path).
 */
export async function harness(
  label: string,
  seconds: number,
  segs: number,
  makeBackend?: () => IoBackend,
): Promise<void> {
  console.log(
    `${label} backend, tmpfs file, caller buffers in ${segs} segment(s), ${seconds}s per row`,
  );
  console.log("size    callers  path        GB/s   CPU s/GB  speed-up  CPU/GB saved");
  for (const [name, size] of SIZES) {
    for (const callers of [1, Math.max(1, (64 << 20) / size)]) {
      const s = new Setup(size, segs, callers, makeBackend?.());
      try {
        // Interleaved rounds, median per path: robust against load from other processes.
        const sync = makeBackend === undefined;
        const paths: [string, () => void | Promise<void>][] = sync
          ? [["copy", () => s.copyRead()], ["zero-copy", () => s.zcRead()]]
          : [["copy", () => s.copyReadAsync()], ["zero-copy", () => s.zcReadAsync()]];
        const samples: [number, number][][] = [[], []];
        for (const [, fn] of paths) for (let i = 0; i < 200; i++) await fn(); // warm up
        const rounds = 11;
        for (let r = 0; r < rounds; r++) {
          for (let p = 0; p < paths.length; p++) {
            const fn = paths[p]![1];
            const t0 = performance.now();
            const c0 = process.cpuUsage();
            let n = 0;
            while (performance.now() - t0 < (seconds * 1000) / rounds) {
              if (sync) { for (let i = 0; i < 10; i++) fn(); }
              else for (let i = 0; i < 10; i++) await fn();
              n += 10;
            }
            const dt = (performance.now() - t0) / 1000;
            const cpu = process.cpuUsage(c0);
            const gb = (n * size) / 1e9;
            samples[p]!.push([gb / dt, (cpu.user + cpu.system) / 1e6 / gb]);
          }
        }
        const median = (xs: number[]): number => xs.sort((a, b) => a - b)[xs.length >> 1]!;
        const rows: [string, number, number][] = paths.map(([label], p) => [
          label,
          median(samples[p]!.map((x) => x[0])),
          median(samples[p]!.map((x) => x[1])),
        ]);
        const [, base, baseCpu] = rows[0]!;
        for (const [label, gbps, cpuPerGb] of rows) {
          console.log(
            `${name.padEnd(7)} ${String(callers).padStart(7)}  ${label.padEnd(10)} ${
              gbps.toFixed(2).padStart(6)
            }  ${cpuPerGb.toFixed(3).padStart(9)}  ${(gbps / base).toFixed(2).padStart(7)}x  ${
              ((1 - cpuPerGb / baseCpu) * 100).toFixed(0).padStart(10)
            }%`,
          );
        }
      } finally {
        s.close();
      }
    }
  }
}
