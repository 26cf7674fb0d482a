/**
 * Test helpers for native integration tests: a minimal user side of a ring (the `Ring` of
 * `@ublk-ts/ring` does this for real) and a probe for liburing.
 *
 * @module
 */

import { IoUringCqe, type IoUringCqeValue, IoUringSqe, type IoUringSqeValue } from "@ublk-ts/uapi";
import type { KernelRing } from "../_kernel.ts";
import { loadNative } from "../load.ts";
import { NativeKernel } from "../native_kernel.ts";

/** Why native tests cannot run here, or undefined when they can. */
export const NATIVE_SKIP: string | undefined = (() => {
  try {
    loadNative();
    return undefined;
  } catch (e) {
    return `skipping: liburing unavailable (${(e as Error).message})`;
  }
})();

/** Whether native tests are ignored. */
export const ignore: boolean = NATIVE_SKIP !== undefined;
if (NATIVE_SKIP) console.error(NATIVE_SKIP);

/** A kernel for tests (only call when not ignored). */
export function nativeKernel(): NativeKernel {
  return new NativeKernel();
}

/** A minimal user side of a ring over a KernelRing's shared memory. */
export class RawRing {
  readonly kr: KernelRing;
  readonly sq: DataView;
  readonly cq: DataView;
  readonly sqes: DataView;
  readonly sqeBytes: Uint8Array;
  readonly sqeSize: number;
  readonly cqeSize: number;
  #pending = 0;

  constructor(kr: KernelRing) {
    this.kr = kr;
    this.sq = new DataView(kr.sqRing);
    this.cq = new DataView(kr.cqRing);
    this.sqes = new DataView(kr.sqes);
    this.sqeBytes = new Uint8Array(kr.sqes);
    this.sqeSize = kr.sqes.byteLength / kr.sqEntries;
    this.cqeSize = kr.flags & (1 << 11) ? 32 : 16;
  }

  /** Writes one SQE (fields over a zeroed SQE); returns its byte offset in `sqes`. */
  push(fields: Partial<IoUringSqeValue>): number {
    const o = this.slot();
    IoUringSqe.encode(this.sqes, o, { ...IoUringSqe.zero(), ...fields });
    return o;
  }

  /** Takes the next SQ slot, zeroed, and publishes it in the SQ array; returns its offset. */
  slot(): number {
    const off = this.kr.sqOff;
    const tail = this.sq.getUint32(off.tail, true);
    const head = this.sq.getUint32(off.head, true);
    if (((tail - head) >>> 0) >= this.kr.sqEntries) throw new Error("SQ full");
    const idx = tail & this.sq.getUint32(off.ringMask, true);
    this.sq.setUint32(off.array + idx * 4, idx, true);
    const o = idx * this.sqeSize;
    this.sqeBytes.fill(0, o, o + this.sqeSize);
    this.sq.setUint32(off.tail, (tail + 1) >>> 0, true);
    this.#pending++;
    return o;
  }

  /** Submits every pushed SQE; returns what `submit()` returned. */
  submit(): number {
    const r = this.kr.submit(this.#pending);
    if (r > 0) this.#pending -= r;
    return r;
  }

  /** CQEs visible now. */
  ready(): number {
    return (this.cq.getUint32(this.kr.cqOff.tail, true) -
      this.cq.getUint32(this.kr.cqOff.head, true)) >>> 0;
  }

  /** Reads and consumes every visible CQE. */
  drain(): IoUringCqeValue[] {
    const off = this.kr.cqOff;
    const out: IoUringCqeValue[] = [];
    let head = this.cq.getUint32(off.head, true);
    const tail = this.cq.getUint32(off.tail, true);
    const mask = this.cq.getUint32(off.ringMask, true);
    while (head !== tail) {
      const o = off.cqes + (head & mask) * this.cqeSize;
      out.push(IoUringCqe.decode(this.cq, o, this.cqeSize === 32));
      head = (head + 1) >>> 0;
    }
    this.cq.setUint32(off.head, head, true);
    return out;
  }

  /** Waits for `n` CQEs and consumes every visible one. */
  async reap(n: number): Promise<IoUringCqeValue[]> {
    const r = await this.kr.wait(n);
    if (r < 0) throw new Error(`wait failed: ${r}`);
    return this.drain();
  }
}

/** A fresh file path under /dev/shm. */
export function shmPath(tag: string): string {
  return `/dev/shm/ublk-ts-native-${tag}-${Deno.pid}-${Math.random().toString(36).slice(2)}`;
}

/** CQEs sorted by user_data (for unlinked requests, whose completion order is not defined). */
export function bySeq(cqes: IoUringCqeValue[]): IoUringCqeValue[] {
  return [...cqes].sort((x, y) => (x.userData < y.userData ? -1 : x.userData > y.userData ? 1 : 0));
}
