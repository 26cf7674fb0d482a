// Benchmarks of the model ring. Ratios are read side by side from one `deno bench` run:
//   deno bench -A packages/ring/ring_bench.ts
import { O_RDONLY } from "@ublk-ts/ring";
import { libc, n64 } from "./_ffi.ts";
import { ModelKernel } from "./model_kernel.ts";
import { prepNop, prepRead } from "@ublk-ts/ring";
import { Ring } from "@ublk-ts/ring";

const BATCH = 32;
const kernel = new ModelKernel();
const nopRing = Ring.create(kernel, 64);

function nopBatch(): void {
  for (let i = 0; i < BATCH; i++) prepNop(nopRing.getSqe()!);
  nopRing.submit();
  let n = 0;
  for (let c = nopRing.peekCqe(); c; c = nopRing.peekCqe()) {
    n += c.res === 0 ? 1 : 0;
    nopRing.cqeSeen();
  }
  if (n !== BATCH) throw new Error(`Lost NOP completions: ${n}`);
}

Deno.bench({ name: "NOP submit+reap, batch of 32 (per batch)", group: "nop", fn: nopBatch });

const FILE_SIZE = 64 << 20;
const path = "/dev/shm/ring_bench_file";
{
  const f = Deno.openSync(path, { write: true, create: true, truncate: true });
  const chunk = new Uint8Array(1 << 20).fill(0x5a);
  for (let o = 0; o < FILE_SIZE; o += chunk.length) f.writeSync(chunk);
  f.close();
}
const BS = 4096;
const BLOCKS = FILE_SIZE / BS;
const QD = 32;
const rfd = kernel.open(path, O_RDONLY);
const readRing = Ring.create(kernel, QD);
const bufs = Array.from({ length: QD }, () => new Uint8Array(BS));
const plain = Deno.openSync(path, { read: true });
let seed = 12345;
function rnd(): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % BLOCKS;
}

const c = libc();
const cfd = c ? c.open(new TextEncoder().encode(path + "\0"), 0, 0) : -1;

Deno.bench({
  name: "plain pread(2) through FFI, 4 KiB random reads, 32 per iteration",
  group: "randread",
  baseline: true,
  ignore: c === null,
  fn(): void {
    for (let i = 0; i < QD; i++) {
      if (c!.pread64(cfd, bufs[i]!, n64(BS), n64(rnd() * BS)) !== BS) throw new Error("Short read");
    }
  },
});

Deno.bench({
  name: "plain Deno.FsFile seek+read, 4 KiB random reads, 32 per iteration",
  group: "randread",
  fn(): void {
    for (let i = 0; i < QD; i++) {
      plain.seekSync(rnd() * BS, Deno.SeekMode.Start);
      if (plain.readSync(bufs[i]!) !== BS) throw new Error("Short read");
    }
  },
});

Deno.bench({
  name: "model ring 4 KiB random reads (sync backend), 32 per iteration",
  group: "randread",
  fn(): void {
    for (let i = 0; i < QD; i++) {
      prepRead(readRing.getSqe()!, rfd, bufs[i]!, { offset: rnd() * BS });
    }
    readRing.submit();
    let n = 0;
    for (let c = readRing.peekCqe(); c; c = readRing.peekCqe()) {
      n += c.res === BS ? 1 : 0;
      readRing.cqeSeen();
    }
    if (n !== QD) throw new Error(`Lost reads: ${n}`);
  },
});

globalThis.addEventListener("unload", () => {
  plain.close();
  if (c && cfd >= 0) c.close(cfd);
  try {
    Deno.removeSync(path);
  } catch {
    // already gone
  }
});
