/**
 * `@ublk-ts/native`: the real Linux io_uring behind the same `Kernel` interface as the model
 * kernel of `@ublk-ts/ring`. liburing is opened lazily through `Deno.dlopen`
 * ({@linkcode loadNative}); SQEs and CQEs are read and written in the kernel's mmapped rings
 * with the `@ublk-ts/uapi` codecs, and FFI is used only for setup, enter, register and exit.
 *
 * @example Native when possible, model otherwise
 * ```ts ignore
 * import { NativeKernel, NativeUnavailableError } from "@ublk-ts/native";
 * try {
 *   const kernel = new NativeKernel();
 *   using ring = kernel.setup(64);
 *   console.log(`native ring fd ${ring.fd}`);
 * } catch (e) {
 *   if (!(e instanceof NativeUnavailableError)) throw e;
 * }
 * ```
 *
 * @module
 */
export { LIBURING_CANDIDATES, loadNative } from "./load.ts";
export type { LibcLibrary, LiburingLibrary, LoadNativeOptions, NativeLibrary } from "./load.ts";
export { NativeUnavailableError } from "./native_unavailable_error.ts";
export type {
  NativeUnavailableErrorOptions,
  NativeUnavailableReason,
} from "./native_unavailable_error.ts";
export {
  AF_UNIX,
  NativeKernel,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_SEQPACKET,
  SOCK_STREAM,
} from "./native_kernel.ts";
export type { NativeKernelOptions } from "./native_kernel.ts";
export { NativeRing } from "./native_ring.ts";
export { NativeBackend, NativeFile } from "./native_backend.ts";
export type { NativeBackendOptions } from "./native_backend.ts";
