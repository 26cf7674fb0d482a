import { BufferTable } from "./buffer_table.ts";
import { BvecIter, ITER_DEST } from "./bvec_iter.ts";
import { MappedBuffer } from "./mapped_buffer.ts";

const mem = new Uint8Array(64 * 1024);
const one = MappedBuffer.fromBytes(mem);
const pages = MappedBuffer.fromPages(mem); // 16 bvecs
const it = new BvecIter();
const views: Uint8Array[] = [];
const src = new Uint8Array(64 * 1024).fill(7);
let sink = 0;

Deno.bench("subarray view (baseline)", { group: "import", baseline: true }, () => {
  sink += mem.subarray(4096, 4096 + 8192).length;
});
Deno.bench("importRange, 1 bvec", { group: "import" }, () => {
  sink += one.importRange(4096, 8192, ITER_DEST, it);
});
Deno.bench("importRange, 16 bvecs, mid range", { group: "import" }, () => {
  sink += pages.importRange(20000, 8192, ITER_DEST, it);
});
Deno.bench("importRange + views(), 16 bvecs, 64 KiB", { group: "import" }, () => {
  pages.importRange(0, 65536, ITER_DEST, it);
  sink += it.views(views).length;
});

Deno.bench("Uint8Array.set 64 KiB (baseline)", { group: "copy", baseline: true }, () => {
  mem.set(src, 0);
});
Deno.bench("copyFrom 64 KiB, 1 bvec", { group: "copy" }, () => {
  sink += one.copyFrom(src, 0);
});
Deno.bench("copyFrom 64 KiB, 16 bvecs", { group: "copy" }, () => {
  sink += pages.copyFrom(src, 0);
});

const table = new BufferTable({ addressOf: () => 0x10000n });
table.register([mem]);
Deno.bench("lookup (baseline)", { group: "fixed", baseline: true }, () => {
  const b = table.lookup(0);
  if (typeof b !== "number") sink += b.len;
});
Deno.bench("get + importFixed + put", { group: "fixed" }, () => {
  const b = table.get(0);
  if (typeof b === "number") return;
  const v = table.importFixed(b, 0x11000n, 4096);
  sink += typeof v === "number" ? v : v.length;
  table.put(b);
});
Deno.bench("get + importFixedIter + put", { group: "fixed" }, () => {
  const b = table.get(0);
  if (typeof b === "number") return;
  sink += table.importFixedIter(b, 0x11000n, 4096, ITER_DEST, it);
  table.put(b);
});

Deno.bench("acquire + release", { group: "lease" }, () => {
  one.acquire();
  one.release();
});

globalThis.addEventListener("unload", () => {
  if (sink === -1) console.log(sink);
});
