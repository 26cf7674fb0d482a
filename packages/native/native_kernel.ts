/**
 * `NativeKernel`: the `Kernel` interface on the real Linux io_uring (liburing via
 * `Deno.dlopen`), plus the few libc calls a caller needs real fds for.
 *
 * @module
 */

import type { Kernel, SetupOptions } from "@ublk-ts/ring";
import { addressOf } from "./_address.ts";
import { loadNative, type NativeLibrary } from "./load.ts";
import { NativeRing } from "./native_ring.ts";
import { EFAULT, EINVAL, MAP_SHARED, SYS_mmap, SYS_munmap } from "@ublk-ts/uapi";

/** `AF_UNIX`. */
export const AF_UNIX = 1;
/** `SOCK_STREAM`. */
export const SOCK_STREAM = 1;
/** `SOCK_DGRAM`. */
export const SOCK_DGRAM = 2;
/** `SOCK_SEQPACKET`. */
export const SOCK_SEQPACKET = 5;
/** `SOCK_CLOEXEC`. */
export const SOCK_CLOEXEC = 0o2000000;

/** Options of {@linkcode NativeKernel}. */
export interface NativeKernelOptions {
  /** Libraries already loaded; default `loadNative({ path })`. */
  library?: NativeLibrary;
  /** The liburing to load when `library` is not given. */
  path?: string;
}

const encoder = new TextEncoder();

/**
 * The real io_uring as a {@linkcode Kernel}: `setup()` makes a {@linkcode NativeRing}, whose
 * SQ/CQ/SQE memory is the kernel's; `addressOf()` gives real pointers (cached per
 * ArrayBuffer); `open()`/`closeFd()` are libc's, so fds are real.
 *
 * @example Open a ring and a file
 * ```ts ignore
 * import { NativeKernel } from "@ublk-ts/native";
 * const kernel = new NativeKernel();
 * using ring = kernel.setup(32);
 * const fd = kernel.open("/dev/shm/x", 0o102, 0o644); // O_RDWR | O_CREAT
 * kernel.closeFd(fd);
 * ```
 */
export class NativeKernel implements Kernel {
  #mappings: Map<ArrayBuffer, { addr: bigint; length: number }> = new Map();
  /** Always "native". */
  readonly name: string = "native";
  /** The loaded libraries. */
  readonly library: NativeLibrary;

  /**
   * Loads liburing (see {@linkcode loadNative}).
   *
   * @param options Libraries to use.
   * @throws {NativeUnavailableError} when liburing cannot be loaded.
   */
  constructor(options: NativeKernelOptions = {}) {
    this.library = options.library ??
      loadNative(options.path === undefined ? {} : { path: options.path });
  }

  /**
   * `io_uring_setup(2)` through `io_uring_queue_init_params`. `cqEntries` counts only with
   * IORING_SETUP_CQSIZE in `flags`, as in the syscall.
   *
   * @param entries SQ entries.
   * @param options Setup flags and CQ size.
   * @returns The ring.
   * @throws {ErrnoError} when the kernel refuses (bad entries, flags).
   */
  setup(entries: number, options?: SetupOptions): NativeRing {
    return new NativeRing(this.library, entries, options);
  }

  /**
   * The real address of `bytes[0]`, cached per ArrayBuffer.
   *
   * Safety: the memory must stay alive while any SQE that names it is in flight — and
   * "alive" means referenced from JavaScript until the CQE is reaped: a buffer whose last use
   * is this call can be collected (V8 drops dead locals, even at module top level) and the
   * kernel then writes into freed memory. Keep the buffer in a structure that outlives the I/O.
   *
   * @param bytes The memory.
   * @returns Its address.
   */
  addressOf(bytes: Uint8Array): bigint {
    return addressOf(bytes);
  }

  /**
   * `mmap(2)` of a file region, `MAP_SHARED` (the ublk char device's descriptor area).
   *
   * Safety: the ArrayBuffer views kernel memory until {@linkcode NativeKernel.munmap}.
   *
   * @param fd The fd.
   * @param offset Byte offset (page aligned).
   * @param length Bytes.
   * @param prot PROT_* flags.
   * @returns The mapping, or a negative errno.
   */
  mmap(fd: number, offset: number, length: number, prot: number): ArrayBuffer | number {
    const r = BigInt(
      this.library.libc.syscall(
        BigInt(SYS_mmap),
        0n,
        BigInt(length),
        BigInt(prot),
        BigInt(MAP_SHARED),
        BigInt(fd),
        BigInt(offset),
      ),
    );
    // libc's syscall(2) returns -1 and sets errno (user addresses are below 2^47, so any
    // negative result is an error).
    if (r < 0n) return -this.library.errno();
    const ptr = Deno.UnsafePointer.create(r);
    if (ptr === null) return -EFAULT;
    const buf = Deno.UnsafePointerView.getArrayBuffer(ptr, length);
    this.#mappings.set(buf, { addr: r, length });
    return buf;
  }

  /**
   * `munmap(2)` of a mapping from {@linkcode NativeKernel.mmap}. The ArrayBuffer is detached
   * first, so views of it throw a TypeError instead of touching unmapped memory.
   *
   * @param mapping The mapping.
   * @returns 0, or a negative errno (-EINVAL when this kernel did not map it, or did already
   *   unmap it).
   */
  munmap(mapping: ArrayBuffer): number {
    const m = this.#mappings.get(mapping);
    if (m === undefined) return -EINVAL;
    this.#mappings.delete(mapping);
    try {
      mapping.transfer();
    } catch {
      // Not detachable: views stay, as a C pointer would.
    }
    const r = BigInt(
      this.library.libc.syscall(BigInt(SYS_munmap), m.addr, BigInt(m.length), 0n, 0n, 0n, 0n),
    );
    return r < 0n ? -this.library.errno() : 0;
  }

  #result(r: number | bigint): number {
    const n = Number(r);
    return n < 0 ? -this.library.errno() : n;
  }

  /**
   * libc `open(2)`.
   *
   * @param path The path.
   * @param flags O_* flags (Linux values).
   * @param mode Permissions for O_CREAT.
   * @returns An fd, or a negative errno.
   */
  open(path: string, flags: number, mode: number = 0o644): number {
    const bytes = new Uint8Array(path.length * 3 + 1);
    const { written } = encoder.encodeInto(path, bytes);
    bytes[written] = 0;
    return this.#result(this.library.libc.open(bytes, flags, mode));
  }

  /**
   * libc `close(2)`.
   *
   * @param fd The fd.
   * @returns 0, or a negative errno.
   */
  closeFd(fd: number): number {
    return this.#result(this.library.libc.close(fd));
  }

  /**
   * libc `pread(2)` into `buf`.
   *
   * @param fd The fd.
   * @param buf Destination.
   * @param offset File offset.
   * @returns Bytes read, or a negative errno.
   */
  pread(fd: number, buf: Uint8Array, offset: number): number {
    return this.#result(this.library.libc.pread(fd, buf, BigInt(buf.byteLength), BigInt(offset)));
  }

  /**
   * libc `pwrite(2)` from `buf`.
   *
   * @param fd The fd.
   * @param buf Source.
   * @param offset File offset.
   * @returns Bytes written, or a negative errno.
   */
  pwrite(fd: number, buf: Uint8Array, offset: number): number {
    return this.#result(this.library.libc.pwrite(fd, buf, BigInt(buf.byteLength), BigInt(offset)));
  }

  /**
   * libc `ftruncate(2)`.
   *
   * @param fd The fd.
   * @param length New size.
   * @returns 0, or a negative errno.
   */
  ftruncate(fd: number, length: number): number {
    return this.#result(this.library.libc.ftruncate(fd, BigInt(length)));
  }

  /**
   * libc `socketpair(AF_UNIX, type, 0, sv)`.
   *
   * @param sv Receives the two fds.
   * @param type SOCK_STREAM (default), SOCK_DGRAM or SOCK_SEQPACKET, optionally | SOCK_CLOEXEC.
   * @returns 0, or a negative errno.
   */
  socketpair(sv: Int32Array, type: number = SOCK_STREAM): number {
    if (sv.length < 2) throw new RangeError(`Cannot store a socket pair: length ${sv.length} < 2`);
    const tmp = new Int32Array(2);
    const r = this.#result(this.library.libc.socketpair(AF_UNIX, type, 0, tmp));
    if (r === 0) sv.set(tmp);
    return r;
  }
}
