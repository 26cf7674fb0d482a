/**
 * Test helper (not published): seeded random fused programs — READ/WRITE slaves over random
 * segmented buffers, random ranges in and out of bounds, random CQE_SKIP_SUCCESS, refused
 * directions, unknown keys, deferred lends — run on a model kernel and checked against a plain
 * copy-based reference.
 *
 * @module
 */
import assert from "node:assert/strict";
import { EFAULT, EINVAL, IOSQE_CQE_SKIP_SUCCESS } from "@ublk-ts/uapi";
import type { IoBackend } from "@ublk-ts/ring";
import type { ModelKernel } from "@ublk-ts/model";
import { MappedBuffer } from "@ublk-ts/rsrc";
import { liveFusedCommands } from "./fused_cmd.ts";
import type { TestBufferDir } from "@ublk-ts/testing";
import { assertPair, type Cqe, fixture, flat, lendMaster, rwSlave } from "./_test_util.ts";

/** mulberry32: a small seeded PRNG. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Op {
  write: boolean;
  key: number;
  addr: number;
  len: number;
  off: number;
  slaveSkip: boolean;
  masterSkip: boolean;
}

/** Options of {@linkcode runFusedProgram}. */
export interface ProgramOptions {
  /** The model kernel's I/O backend (default: sync). */
  backend?: IoBackend;
  /** Submit one pair at a time and wait for it (needed when slaves may run concurrently). */
  serial?: boolean;
}

/** What a program left behind. */
export interface ProgramResult {
  /** Every CQE, in the order reaped. */
  cqes: Cqe[];
  /** The lent buffer's bytes at the end. */
  buf: Uint8Array;
  /** The file's bytes at the end. */
  file: Uint8Array;
}

async function settle(kernel: ModelKernel): Promise<void> {
  for (let spins = 0; liveFusedCommands(kernel) > 0; spins++) {
    if (spins > 5000) throw new Error("Fused commands did not finish");
    await new Promise((res) => setTimeout(res, 0));
  }
}

/**
 * Runs the fused program of `seed` on a model kernel and checks it against a plain
 * copy-based reference (CQEs, buffer bytes, file bytes, leases); throws on a mismatch.
 */
export async function runFusedProgram(
  seed: number,
  options: ProgramOptions = {},
): Promise<ProgramResult> {
  const r = rng(seed);
  const int = (n: number): number => Math.floor(r() * n);
  // the lent buffer: 1..4 segments, an offset into the first
  const nseg = 1 + int(4);
  const segs: Uint8Array[] = [];
  for (let i = 0; i < nseg; i++) segs.push(new Uint8Array(1 + int(5000)).map(() => int(256)));
  const offset = int(segs[0]!.length);
  const buf = MappedBuffer.fromSegments(segs, { offset });
  const dirs: TestBufferDir[] = ["any", "any", "any", "dest", "source", "none"];
  const dir = dirs[int(dirs.length)]!;
  // the file
  const fileBytes = new Uint8Array(int(20000)).map(() => int(256));
  // the reference state (plain copies)
  let refFile = fileBytes.slice();
  const refBuf = flat(buf);
  const deferLend = r() < 0.3;
  const f = fixture({ fileBytes, entries: 16, device: { deferLend }, backend: options.backend });
  try {
    f.dev.add(1, buf, dir);
    const ops: Op[] = [];
    const nops = 1 + int(8);
    for (let i = 0; i < nops; i++) {
      const len = r() < 0.1 ? 0 : int(buf.len + 1);
      const inRange = r() < 0.85;
      const addr = inRange ? int(buf.len - len + 1) : buf.len - len + 1 + int(100);
      ops.push({
        write: r() < 0.5,
        key: r() < 0.05 ? 2 : 1,
        addr,
        len,
        off: int(refFile.length + 2000),
        slaveSkip: r() < 0.3,
        masterSkip: r() < 0.3,
      });
    }
    const got: Cqe[] = [];
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      f.ring.fused(
        lendMaster(f.devFd, op.key, BigInt(2 * i + 1), op.masterSkip ? IOSQE_CQE_SKIP_SUCCESS : 0),
        rwSlave(
          op.write,
          f.fileFd,
          op.addr,
          op.len,
          BigInt(op.off),
          BigInt(2 * i + 2),
          op.slaveSkip ? IOSQE_CQE_SKIP_SUCCESS : 0,
        ),
      );
      if (options.serial) {
        assert.equal(f.ring.submit(), 1);
        await settle(f.kernel);
        got.push(...f.ring.reap());
      }
    }
    if (!options.serial) assert.equal(f.ring.submit(), ops.length);
    // with a deferred lend or an async backend the pairs finish later
    await settle(f.kernel);
    got.push(...f.ring.reap());
    if (Deno.env.get("FUSED_DEBUG")) console.log(dir, buf.len, ops, got);
    let want = 0;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      // the device's decision
      let devErr = 0;
      if (op.key !== 1 || dir === "none") devErr = -EINVAL;
      else if (dir === "dest" && op.write) devErr = -EINVAL;
      else if (dir === "source" && !op.write) devErr = -EINVAL;
      if (devErr < 0) {
        assertPair(got, BigInt(2 * i + 1), BigInt(2 * i + 2), null, devErr);
        want++;
        continue;
      }
      // the slave on the reference
      let res: number;
      if (op.addr > buf.len || op.len > buf.len - op.addr) {
        res = -EFAULT;
      } else if (op.write) {
        const end = op.off + op.len;
        if (op.len > 0 && end > refFile.length) {
          const grown = new Uint8Array(end);
          grown.set(refFile);
          refFile = grown;
        }
        if (op.len > 0) refFile.set(refBuf.subarray(op.addr, op.addr + op.len), op.off);
        res = op.len;
      } else {
        const n = Math.max(0, Math.min(op.len, refFile.length - op.off));
        refBuf.set(refFile.subarray(op.off, op.off + n), op.addr);
        res = n;
      }
      // a short transfer fails the request (REQ_F_FAIL): its CQE is posted despite the skip flag
      const failed = res < 0 || res !== op.len;
      const slaveCqe = !op.slaveSkip || failed;
      const masterRes = (op.slaveSkip && !failed) || res < 0 ? res : 0;
      const masterCqe = !op.masterSkip || masterRes < 0;
      assertPair(
        got,
        BigInt(2 * i + 1),
        BigInt(2 * i + 2),
        slaveCqe ? res : null,
        masterCqe ? masterRes : null,
      );
      want += (slaveCqe ? 1 : 0) + (masterCqe ? 1 : 0);
    }
    assert.equal(got.length, want, "CQE count");
    assert.deepEqual(flat(buf), refBuf, "buffer bytes");
    assert.deepEqual(Deno.readFileSync(f.path), refFile, "file bytes");
    assert.equal(buf.leases, 0, "leases");
    return { cqes: got, buf: flat(buf), file: Deno.readFileSync(f.path) };
  } finally {
    f.close();
    assert.equal(liveFusedCommands(f.kernel), 0, "live fused commands");
  }
}
