// Helpers shared by this package's tests.
import type { IoUringCqeValue } from "@ublk-ts/uapi";
import { ModelKernel } from "./model_kernel.ts";
import { Ring, type RingOptions } from "@ublk-ts/ring";

/** A model kernel and a ring on it. */
export function setup(entries = 8, options: RingOptions = {}): { kernel: ModelKernel; ring: Ring } {
  const kernel = new ModelKernel();
  const ring = Ring.create(kernel, entries, options);
  return { kernel, ring };
}

/** Every ready CQE, consumed, as [user_data, res, flags] triples. */
export function reap(ring: Ring): [number, number, number][] {
  const out: [number, number, number][] = [];
  let c: IoUringCqeValue | null;
  while ((c = ring.copyCqe()) !== null) out.push([Number(c.userData), c.res, c.flags]);
  return out;
}

/**
 * Every ready CQE, consumed, sorted by user_data: for unlinked requests whose CQE order depends
 * on what io-wq runs (io_wq.ts: on tmpfs reads and writes punt, bad-fd failures complete inline).
 */
export function reapByUd(ring: Ring): [number, number, number][] {
  return reap(ring).sort((a, b) => a[0] - b[0]);
}

/** Waits for `n` CQEs and returns them consumed. */
export async function reapN(ring: Ring, n: number): Promise<[number, number, number][]> {
  await ring.waitCqes(n);
  return reap(ring);
}

/** A temporary file on /dev/shm with `content`. */
export function tmpFile(content: Uint8Array | string = ""): string {
  const path = Deno.makeTempFileSync({ dir: "/dev/shm", prefix: "ring_test_" });
  if (typeof content === "string") Deno.writeTextFileSync(path, content);
  else Deno.writeFileSync(path, content);
  return path;
}
