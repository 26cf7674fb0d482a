// Differential test: testdata/rsrc_probe.c runs register/update/unregister and fixed-buffer /
// fixed-file reads against the real io_uring; the same steps run here on BufferTable and
// FileTable, and every result (0, count or -errno) must match line by line.

import assert from "node:assert/strict";
import { BufferTable } from "../buffer_table.ts";
import { FileTable } from "../file_table.ts";

const here = new URL(".", import.meta.url).pathname;
const source = `${here}../testdata/rsrc_probe.c`;

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function run(cmd: string, args: string[]): { ok: boolean; out: string } {
  try {
    const r = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).outputSync();
    return { ok: r.success, out: new TextDecoder().decode(r.stdout) };
  } catch {
    return { ok: false, out: "" };
  }
}

const skip = Deno.build.os !== "linux" || !exists("/usr/include/liburing.h") ||
  !run("gcc", ["--version"]).ok;

function parse(out: string): [string, number][] {
  return out.trim().split("\n").map((line) => {
    const m = /^(.*\S)\s+(-?\d+)$/.exec(line);
    if (m === null) throw new Error(`Cannot parse probe line: ${line}`);
    return [m[1]!, Number(m[2])];
  });
}

/** The probe's steps on the model tables. */
function model(maxFiles: number): [string, number][] {
  const lines: [string, number][] = [];
  const P = (name: string, v: number): void => void lines.push([name, v]);
  const a = new Uint8Array(8192);
  const b = new Uint8Array(8192);
  const bases = new Map<ArrayBufferLike, bigint>([[a.buffer, 0x100000n], [b.buffer, 0x200000n]]);
  const bt = new BufferTable({
    addressOf: (x) => (bases.get(x.buffer) ?? 0x40000000n) + BigInt(x.byteOffset),
  });
  // read_fixed: lookup, then the range check; the read itself returns len (the probe file
  // /etc/hostname is longer than 4 bytes).
  const readFixed = (addr: bigint, len: number, idx: number, fileLen: number): number => {
    const buf = bt.get(idx);
    if (typeof buf === "number") return buf;
    try {
      const v = bt.importFixed(buf, addr, len);
      return typeof v === "number" ? v : Math.min(len, fileLen);
    } finally {
      bt.put(buf);
    }
  };
  const host = Deno.readFileSync("/etc/hostname").length;
  const A = bases.get(a.buffer)!;
  const B = bases.get(b.buffer)!;
  P("unregister buffers none", bt.unregister());
  P("update buffers none", bt.update(0, [a]));
  P("register buffers nr 0", bt.register([]));
  const page = a.subarray(0, 4096);
  P("register buffers nr 16385", bt.register(new Array(16385).fill(page)));
  P("register buffers nr 16384", bt.register(new Array(16384).fill(page)));
  P("unregister", bt.unregister());
  P("register [ok, zero-len non-null]", bt.register([a, b.subarray(0, 0)]));
  P("register [ok, NULL 0] (sparse in dense)", bt.register([a, null]));
  P("  read_fixed idx1 (empty)", readFixed(A, 1, 1, host));
  P("unregister", bt.unregister());
  // A NULL base with a length has no Uint8Array form; the model's nearest bad buffer is one
  // that is not a Uint8Array at all.
  P("register [NULL 4096]", bt.register([{} as Uint8Array]));
  const big = new Uint8Array((1 << 30) + 4096);
  P("register [1G+1]", bt.register([big.subarray(0, (1 << 30) + 1)]));
  P("register [1G]", bt.register([big.subarray(0, 1 << 30)]));
  P("unregister", bt.unregister());
  P("register [a,b]", bt.register([a, b]));
  P("register again", bt.register([a, b]));
  P("register sparse while registered", bt.registerSparse(4));
  P("read_fixed ok", readFixed(A, 4, 0, host));
  P("read_fixed idx 2 oob", readFixed(A, 4, 2, host));
  P("read_fixed idx 100 oob", readFixed(A, 4, 100, host));
  P("read_fixed addr end-1 len 1 (fine)", readFixed(A + 8191n, 1, 0, host));
  P("read_fixed addr end len 0", readFixed(A + 8192n, 0, 0, host));
  P("read_fixed addr end len 1", readFixed(A + 8192n, 1, 0, host));
  P("read_fixed addr before", readFixed(A - 1n, 1, 0, host));
  P("read_fixed other buf addr", readFixed(B, 1, 0, host));
  P("update off1 nr2 (oob)", bt.update(1, [a, b]));
  P("update nr0", bt.update(0, []));
  P("update [b100, NULL0] -> count", bt.update(0, [b.subarray(0, 100), null]));
  P("  read_fixed idx1 cleared", readFixed(B, 1, 1, host));
  P("  read_fixed idx0 now b", readFixed(B, 4, 0, host));
  P("update [a100, a0] -> partial", bt.update(0, [a.subarray(0, 100), a.subarray(0, 0)]));
  P("update [a0] -> err", bt.update(0, [a.subarray(0, 0)]));
  P("unregister", bt.unregister());
  P("sparse nr 0", bt.registerSparse(0));
  P("sparse nr 16385", bt.registerSparse(16385));
  P("sparse nr 4", bt.registerSparse(4));
  P("  read_fixed empty sparse", readFixed(A, 1, 0, host));
  P("unregister", bt.unregister());

  const fd = 3;
  const ringfd = 4; // resolve() refuses a ring fd, as the kernel does
  const ft = new FileTable<number>({
    resolve: (x) => (x === fd ? 1000 + x : null),
    maxFiles,
  });
  const rd = (idx: number): number => {
    const f = ft.get(idx);
    if (typeof f === "number") return f;
    ft.put(f);
    return Math.min(4, host);
  };
  P("unregister files none", ft.unregister());
  P("files update none", ft.update(0, [fd]));
  P("register files nr 0", ft.register([]));
  P("register files [fd, 999]", ft.register([fd, 999]));
  P("register files [fd, -2]", ft.register([fd, -2]));
  P("register files [ringfd]", ft.register([ringfd]));
  P("register files 20001 (rlimit 20000)", ft.register(new Array(20001).fill(-1)));
  P("register files 20000 (rlimit)", ft.register(new Array(20000).fill(-1)));
  P("unregister files", ft.unregister());
  P("register files [fd,-1,fd]", ft.register([fd, -1, fd]));
  P("register files again", ft.register([fd, -1, fd]));
  P("  read fixed file 0", rd(0));
  P("  read fixed file 1 (empty)", rd(1));
  P("  read fixed file 3 (oob)", rd(3));
  P("  read fixed file -1", rd(-1));
  P("files update [-2, fd, -1] off0", ft.update(0, [-2, fd, -1]));
  P("  read fixed file 0 (skipped, still fd)", rd(0));
  P("  read fixed file 1 (now fd)", rd(1));
  P("  read fixed file 2 (cleared)", rd(2));
  P("files update off2 nr2 oob", ft.update(2, [-2, fd]));
  P("files update nr0", ft.update(0, []));
  P("files update [fd, 999] partial", ft.update(0, [fd, 999]));
  P("files update [999]", ft.update(0, [999]));
  P("files update [-3]", ft.update(0, [-3]));
  P("files update [ringfd]", ft.update(0, [ringfd]));
  P("unregister files", ft.unregister());
  P("files sparse nr 0", ft.registerSparse(0));
  P("files sparse nr 20001", ft.registerSparse(20001));
  P("files sparse nr (1<<20)+1", ft.registerSparse((1 << 20) + 1));
  P("files sparse nr 4", ft.registerSparse(4));
  P("  read fixed file 0 (empty sparse)", rd(0));
  P("unregister files", ft.unregister());
  return lines;
}

Deno.test({
  name: "BufferTable and FileTable give the real io_uring's results step by step",
  ignore: skip,
  fn(): void {
    const dir = Deno.makeTempDirSync({ prefix: "rsrc_probe" });
    try {
      const exe = `${dir}/probe`;
      const cc = run("gcc", ["-O0", "-w", "-o", exe, source, "-luring"]);
      assert.ok(cc.ok, "Cannot compile testdata/rsrc_probe.c");
      const real = run(exe, []);
      assert.ok(real.ok && real.out.length > 0, "The probe failed (no io_uring?)");
      const rlimit = Number(run("sh", ["-c", "ulimit -n"]).out.trim());
      const maxFiles = Math.min(Number.isFinite(rlimit) ? rlimit : 1 << 20, 1 << 20);
      const kernel = parse(real.out);
      const ours = model(maxFiles);
      assert.deepEqual(ours.map((l) => l[0]), kernel.map((l) => l[0]));
      for (let i = 0; i < kernel.length; i++) {
        assert.deepEqual(ours[i], kernel[i], `step ${i}: ${kernel[i]![0]}`);
      }
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
