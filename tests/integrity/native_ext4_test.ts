// `ublk run --native` loop over a file on ext4 (CI's /tmp), where O_DIRECT really applies: the
// verify workload must pass and the benchmark workloads must not fail a single I/O, in copy and
// in zero copy (issue 13: before page-aligned I/O memory, every I/O failed -EIO there). /dev/shm
// alone never showed it: tmpfs takes unaligned O_DIRECT I/O.

import assert from "node:assert/strict";
import { fsTypeOf } from "@ublk-ts/ring";
import { ublk } from "../cli/_cli.ts";
import { nativeAvailable } from "./_util.ts";

const NATIVE = nativeAvailable();
const DIR = Deno.env.get("UBLK_EXT4_DIR") ?? "/tmp";
const EXT4 = fsTypeOf(DIR) === "ext4";
const why = !NATIVE
  ? "no real io_uring (liburing) here"
  : !EXT4
  ? `${DIR} is ${fsTypeOf(DIR) || "of unknown type"}, not ext4 (set UBLK_EXT4_DIR)`
  : "";
if (why !== "") console.error(`native_ext4_test: skipped: ${why}`);

async function randomFile(size: number): Promise<string> {
  const path = await Deno.makeTempFile({ dir: DIR, prefix: "ublk_ext4_", suffix: ".img" });
  const f = await Deno.open(path, { write: true });
  try {
    const chunk = new Uint8Array(1 << 20);
    for (let off = 0; off < size; off += chunk.length) {
      crypto.getRandomValues(chunk.subarray(0, 65536));
      await f.write(chunk);
    }
  } finally {
    f.close();
  }
  return path;
}

for (const zeroCopy of [false, true]) {
  const mode = zeroCopy ? "zero copy" : "copy";
  Deno.test({
    name: `ublk run --native loop (${mode}) over an ext4 file uses O_DIRECT and passes rw=verify`,
    ignore: why !== "",
    async fn(): Promise<void> {
      const path = await randomFile(32 << 20);
      try {
        const z = zeroCopy ? ["-z"] : [];
        const v = await ublk(
          "run",
          "-t",
          "loop",
          "-f",
          path,
          "--native",
          ...z,
          "--force",
          "--bench",
          "rw=verify,n=3000,bs=64k",
          "--json",
        );
        assert.equal(v.code, 0, v.stderr);
        assert.match(v.stderr, /O_DIRECT/, "the backing file is open with O_DIRECT");
        assert.doesNotMatch(v.stderr, /refused/);
        const r = JSON.parse(v.stdout.trim().split("\n").at(-1)!);
        assert.equal(r.errors, 0);
        assert.equal(r.mismatches, 0);
        assert.ok(r.ios > 3000, `verify ran ${r.ios} I/Os`);
        for (
          const spec of ["rw=randread,bs=4k,qd=32,n=20000", "rw=randwrite,bs=64k,qd=16,n=2000"]
        ) {
          const b = await ublk(
            "run",
            "-t",
            "loop",
            "-f",
            path,
            "--native",
            ...z,
            "--force",
            "--bench",
            spec,
            "--json",
          );
          assert.equal(b.code, 0, `${spec}: ${b.stderr}`);
          const j = JSON.parse(b.stdout.trim().split("\n").at(-1)!);
          assert.equal(j.errors, 0, `${spec}: first error ${j.firstError}`);
          assert.equal(j.ios, Number(/n=(\d+)/.exec(spec)![1]));
        }
      } finally {
        await Deno.remove(path);
      }
    },
  });
}
