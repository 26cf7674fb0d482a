/**
 * `@ublk-ts/native`: the real Linux io_uring behind the `Kernel` contract of `@ublk-ts/ring`
 * (the one the model kernel of `@ublk-ts/model` implements), driven by the same `Ring`.
 * liburing is opened lazily through `Deno.dlopen` ({@linkcode loadNative}); the `Ring` reads
 * and writes SQEs and CQEs in the kernel's mmapped rings, and FFI is used only for setup,
 * enter, register, mmap and exit.
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
// The FFI symbol tables the library types are made of (C signatures in comments).
export { LIBC_SYMBOLS, LIBURING_SYMBOLS } from "./_ffi.ts";
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
