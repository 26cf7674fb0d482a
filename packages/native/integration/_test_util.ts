/**
 * Test helpers for native integration tests: a `Ring` of `@ublk-ts/ring` over a NativeRing
 * with value-style push/drain, and a probe for liburing.
 *
 * @module
 */

import { type IoUringCqeValue, IoUringSqe, type IoUringSqeValue } from "@ublk-ts/uapi";
import { Ring } from "@ublk-ts/ring";
import { loadNative } from "../load.ts";
import { NativeKernel } from "../native_kernel.ts";
import type { NativeRing } from "../native_ring.ts";

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

let shared: NativeKernel | undefined;

/**
 * The {@linkcode Ring} of `@ublk-ts/ring` over a {@linkcode NativeRing} (the one user side of
 * the SQ/CQ), with value-style helpers for tests: SQEs from field objects, CQEs as values.
 */
export class TestRing {
  /** The kernel ring. */
  readonly kr: NativeRing;
  /** The user side. */
  readonly ring: Ring;

  /**
   * @param kr The kernel ring (closed by the test, e.g. with `using`).
   * @param kernel The kernel it came from (only its `addressOf` is used).
   */
  constructor(kr: NativeRing, kernel?: NativeKernel) {
    this.kr = kr;
    this.ring = new Ring(kernel ?? (shared ??= new NativeKernel()), kr);
  }

  /** Size of one SQE. */
  get sqeSize(): number {
    return this.ring.sqeSize;
  }

  /** Writes one SQE (fields over a zeroed SQE); returns its byte offset in `ring.sqes`. */
  push(fields: Partial<IoUringSqeValue>): number {
    const o = this.slot();
    IoUringSqe.encode(this.ring.sqes, o, { ...IoUringSqe.zero(), ...fields });
    return o;
  }

  /** Takes the next SQ slot, zeroed (`Ring.getSqeOffset`); returns its offset. */
  slot(): number {
    const o = this.ring.getSqeOffset();
    if (o < 0) throw new Error("SQ full");
    return o;
  }

  /** Submits every pushed SQE (`Ring.submit`); returns what the kernel consumed. */
  submit(): number {
    return this.ring.submit();
  }

  /** CQEs visible now. */
  ready(): number {
    return this.ring.cqReady();
  }

  /** Reads and consumes every visible CQE. */
  drain(): IoUringCqeValue[] {
    const out: IoUringCqeValue[] = [];
    for (let c = this.ring.copyCqe(); c; c = this.ring.copyCqe()) out.push(c);
    return out;
  }

  /** Waits for `n` CQEs and consumes every visible one. */
  async reap(n: number): Promise<IoUringCqeValue[]> {
    const r = await this.ring.wait(n);
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
