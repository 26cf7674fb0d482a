/**
 * The two kernels under test, each with a socketpair of its own fds.
 *
 * @module
 */

import { NativeBackend, NativeKernel } from "@ublk-ts/native";
import { ModelKernel } from "@ublk-ts/model";
import type { Harness } from "./_runner.ts";

/** The real io_uring. */
export function nativeHarness(): Harness {
  const kernel = new NativeKernel();
  return {
    name: "native",
    kernel,
    quietMs: 2,
    socketpair(): [number, number] {
      const sv = new Int32Array(2);
      const r = kernel.socketpair(sv);
      if (r < 0) throw new Error(`socketpair failed: ${r}`);
      return [sv[0]!, sv[1]!];
    },
  };
}

/** The model kernel (sync backend). */
export function modelHarness(): Harness {
  const kernel = new ModelKernel();
  return {
    name: "model",
    kernel,
    quietMs: 0,
    socketpair(): [number, number] {
      return kernel.socketpair();
    },
  };
}

/** The model kernel doing its file I/O on a real ring ({@linkcode NativeBackend}). */
export function modelNativeHarness(): Harness {
  const kernel = new ModelKernel({ backend: new NativeBackend() });
  return {
    name: "model-native",
    kernel,
    quietMs: 2,
    socketpair(): [number, number] {
      return kernel.socketpair();
    },
  };
}
