/**
 * The model kernel: a pure-TypeScript io_uring behind the {@linkcode Kernel} interface — the
 * address space, an fd table (regular files through an I/O backend, directories, device files,
 * sockets, rings), and rings whose SQEs run through the op table.
 *
 * @module
 */

import {
  EBADF,
  EINVAL,
  EISDIR,
  ENODEV,
  ENOENT,
  ErrnoError,
  IORING_FEAT_CQE_SKIP,
  IORING_FEAT_CUR_PERSONALITY,
  IORING_FEAT_EXT_ARG,
  IORING_FEAT_FAST_POLL,
  IORING_FEAT_LINKED_FILE,
  IORING_FEAT_NATIVE_WORKERS,
  IORING_FEAT_NODROP,
  IORING_FEAT_POLL_32BITS,
  IORING_FEAT_RSRC_TAGS,
  IORING_FEAT_RW_CUR_POS,
  IORING_FEAT_SINGLE_MMAP,
  IORING_FEAT_SQPOLL_NONFIXED,
  IORING_FEAT_SUBMIT_STABLE,
  IORING_SETUP_CLAMP,
  IORING_SETUP_COOP_TASKRUN,
  IORING_SETUP_CQE32,
  IORING_SETUP_CQSIZE,
  IORING_SETUP_DEFER_TASKRUN,
  IORING_SETUP_FUSED_REQ,
  IORING_SETUP_SINGLE_ISSUER,
  IORING_SETUP_SQE128,
  IORING_SETUP_SUBMIT_ALL,
  IORING_SETUP_TASKRUN_FLAG,
} from "@ublk-ts/uapi";
import { AddressSpace } from "./address_space.ts";
import type { IoBackend } from "@ublk-ts/ring";
import type { DeviceFile } from "./device_file.ts";
import type { BlockDevice, Kernel, SetupOptions } from "@ublk-ts/ring";
import { ModelFile, type ModelSocket } from "./model_file.ts";
import { ModelRing } from "./model_ring.ts";
import { type OpDef, OpTable } from "./op_def.ts";
import { defaultOps } from "./ops.ts";
import { SyncBackend } from "./sync_backend.ts";
import { ConnSocket, memSocketPair } from "./socket.ts";

const MAX_ENTRIES = 32768;
/** The model's page size: `mmap` offsets must be multiples of it. */
const PAGE_SIZE = 4096;
const MAX_CQ_ENTRIES = 2 * MAX_ENTRIES;
const SUPPORTED_SETUP = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP | IORING_SETUP_SUBMIT_ALL |
  IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_SQE128 |
  IORING_SETUP_CQE32 | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
  IORING_SETUP_FUSED_REQ;

/** The IORING_FEAT_* flags a model ring reports. */
export const MODEL_FEATURES: number = IORING_FEAT_SINGLE_MMAP | IORING_FEAT_NODROP |
  IORING_FEAT_SUBMIT_STABLE | IORING_FEAT_RW_CUR_POS | IORING_FEAT_CUR_PERSONALITY |
  IORING_FEAT_FAST_POLL | IORING_FEAT_POLL_32BITS | IORING_FEAT_SQPOLL_NONFIXED |
  IORING_FEAT_EXT_ARG | IORING_FEAT_NATIVE_WORKERS | IORING_FEAT_RSRC_TAGS |
  IORING_FEAT_CQE_SKIP | IORING_FEAT_LINKED_FILE;

/** Options of {@linkcode ModelKernel}. */
export interface ModelKernelOptions {
  /** The I/O backend of regular files (default: {@linkcode SyncBackend}). */
  backend?: IoBackend;
  /**
   * The op table, used as is (the caller owns it; several kernels may share it). Default: a
   * fresh copy of the built-in {@linkcode defaultOps}, private to the kernel.
   */
  ops?: OpTable;
}

function roundPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * The model kernel.
 *
 * @example NOP through the model
 * ```ts
 * import assert from "node:assert/strict";
 * import { ModelKernel } from "@ublk-ts/model";
 * import { Ring, prepNop } from "@ublk-ts/ring";
 * const kernel = new ModelKernel();
 * using ring = Ring.create(kernel, 8);
 * prepNop(ring.getSqe()!, { userData: 5n });
 * assert.equal(ring.submit(), 1);
 * const cqe = ring.peekCqe()!;
 * assert.equal(cqe.userData, 5n);
 * assert.equal(cqe.res, 0);
 * ring.cqeSeen();
 * ```
 */
export class ModelKernel implements Kernel {
  /** "model". */
  readonly name: string = "model";
  /** The address space. */
  readonly addressSpace: AddressSpace = new AddressSpace();
  /** The op table of this kernel (private unless one was passed in the options). */
  readonly ops: OpTable;
  /** The I/O backend of regular files. */
  readonly backend: IoBackend;
  #fds: (ModelFile | undefined)[] = [];
  #devices: Map<string, DeviceFile> = new Map();
  #blockDevices: Map<string, BlockDevice> = new Map();
  #mappings: Set<ArrayBuffer> = new Set();
  #rings: Set<ModelRing> = new Set();

  /**
   * A kernel.
   *
   * @param options Backend and op table.
   */
  constructor(options: ModelKernelOptions = {}) {
    this.backend = options.backend ?? new SyncBackend();
    this.ops = options.ops ?? new OpTable(defaultOps);
  }

  /**
   * `io_uring_setup(2)`.
   *
   * @param entries SQ entries (1..32768, rounded up to a power of two).
   * @param options Flags and CQ size.
   * @returns The ring.
   * @throws {ErrnoError} EINVAL on bad sizes or unsupported flags.
   */
  setup(entries: number, options: SetupOptions = {}): ModelRing {
    const flags = options.flags ?? 0;
    const fail = (): never => {
      throw new ErrnoError(EINVAL, { op: "io_uring_setup" });
    };
    if (flags & ~SUPPORTED_SETUP) fail();
    if ((flags & IORING_SETUP_DEFER_TASKRUN) && !(flags & IORING_SETUP_SINGLE_ISSUER)) fail();
    if (!Number.isInteger(entries) || entries < 1) fail();
    if (entries > MAX_ENTRIES) {
      if (!(flags & IORING_SETUP_CLAMP)) fail();
      entries = MAX_ENTRIES;
    }
    const sq = roundPow2(entries);
    let cq = 2 * sq;
    if (flags & IORING_SETUP_CQSIZE) {
      let want = options.cqEntries ?? 0;
      if (!Number.isInteger(want) || want < 1) fail();
      if (want > MAX_CQ_ENTRIES) {
        if (!(flags & IORING_SETUP_CLAMP)) fail();
        want = MAX_CQ_ENTRIES;
      }
      cq = roundPow2(want);
      if (cq < sq) fail();
    }
    const fd = this.#allocFd();
    const ring = new ModelRing(this, {
      fd,
      sqEntries: sq,
      cqEntries: cq,
      flags,
      features: MODEL_FEATURES,
    });
    this.#fds[fd] = new ModelFile({ kind: "ring", path: "[io_uring]", flags: 2 });
    this.#rings.add(ring);
    return ring;
  }

  /** Called by a ring when it closes. @internal */
  ringClosed(ring: ModelRing): void {
    if (!this.#rings.delete(ring)) return;
    const f = this.#fds[ring.fd];
    if (f && f.kind === "ring") {
      this.#fds[ring.fd] = undefined;
      f.put();
    }
  }

  /**
   * The address of `bytes[0]` in the model address space.
   *
   * @param bytes Memory.
   * @returns The address.
   */
  addressOf(bytes: Uint8Array): bigint {
    return this.addressSpace.addressOf(bytes);
  }

  /**
   * Bytes at `[addr, addr + len)`, or -EFAULT.
   *
   * @param addr Address.
   * @param len Length.
   * @returns A view or -EFAULT.
   */
  resolve(addr: bigint, len: number): Uint8Array | number {
    return this.addressSpace.resolve(addr, len);
  }

  /**
   * Makes `open(path)` return a device file served by `dev`.
   *
   * @param path Path such as `/dev/ublk-control`.
   * @param dev The device.
   */
  registerDevice(path: string, dev: DeviceFile): void {
    this.#devices.set(path, dev);
  }

  /**
   * Removes a device path (open files stay open).
   *
   * @param path The path.
   * @returns True when it was registered.
   */
  unregisterDevice(path: string): boolean {
    return this.#devices.delete(path);
  }

  /**
   * Makes {@linkcode ModelKernel.blockDevice} return `bdev` for `path` (a driver's disk,
   * e.g. `/dev/ublkb0`); `undefined` removes it.
   *
   * @param path The block device node.
   * @param bdev The in-process client, or `undefined`.
   */
  registerBlockDevice(path: string, bdev: BlockDevice | undefined): void {
    if (bdev === undefined) this.#blockDevices.delete(path);
    else this.#blockDevices.set(path, bdev);
  }

  /**
   * The in-process client of a block device a model driver registered.
   *
   * @param path The block device node.
   * @returns The device, or `undefined`.
   */
  blockDevice(path: string): BlockDevice | undefined {
    return this.#blockDevices.get(path);
  }

  /**
   * `mmap(2)` of a device file region (its `mmap` hook). Regular files and other fds cannot
   * be mapped in the model (-ENODEV).
   *
   * @param fd The fd.
   * @param offset Byte offset (page aligned, else -EINVAL).
   * @param length Bytes (> 0, else -EINVAL).
   * @param prot PROT_* flags.
   * @returns The mapping, or a negative errno.
   */
  mmap(fd: number, offset: number, length: number, prot: number): ArrayBuffer | number {
    const f = this.fileOf(fd);
    if (!f) return -EBADF;
    if (length <= 0 || offset < 0 || offset % PAGE_SIZE !== 0) return -EINVAL;
    const dev = f.device;
    if (f.kind !== "device" || dev === null || dev.mmap === undefined) return -ENODEV;
    const m = dev.mmap(f, offset, length, prot);
    if (typeof m !== "number") this.#mappings.add(m);
    return m;
  }

  /**
   * `munmap(2)`.
   *
   * @param mapping A mapping from {@linkcode ModelKernel.mmap}.
   * @returns 0, or -EINVAL when it is not one.
   */
  munmap(mapping: ArrayBuffer): number {
    return this.#mappings.delete(mapping) ? 0 : -EINVAL;
  }

  /**
   * Registers an op in this kernel's table (other kernels do not see it).
   *
   * @param opcode The opcode.
   * @param def The op.
   */
  registerOp(opcode: number, def: OpDef): void {
    this.ops.set(opcode, def);
  }

  #allocFd(): number {
    for (let fd = 3; fd < this.#fds.length; fd++) if (!this.#fds[fd]) return fd;
    return Math.max(3, this.#fds.length);
  }

  /**
   * Puts an open file in the fd table (its reference moves to the table).
   *
   * @param file The file.
   * @returns The fd.
   */
  installFile(file: ModelFile): number {
    const fd = this.#allocFd();
    this.#fds[fd] = file;
    return fd;
  }

  /**
   * The open file of an fd, without taking a reference.
   *
   * @param fd The fd.
   * @returns The file, or `null`.
   */
  fileOf(fd: number): ModelFile | null {
    return fd >= 0 ? this.#fds[fd] ?? null : null;
  }

  /**
   * `open(2)`: device paths registered with {@linkcode ModelKernel.registerDevice}, directories
   * (reads fail -EISDIR), and regular files through the backend.
   *
   * @param path Path.
   * @param flags O_* flags.
   * @param mode Mode.
   * @returns An fd, or a negative errno.
   */
  open(path: string, flags: number, mode = 0o644): number {
    const dev = this.#devices.get(path);
    if (dev) {
      const f = new ModelFile({ kind: "device", path, flags, device: dev });
      const r = dev.open?.(f) ?? 0;
      if (r < 0) return r;
      return this.installFile(f);
    }
    if (path.startsWith("/dev/ublk")) return -ENOENT;
    let isDir = false;
    try {
      isDir = Deno.statSync(path).isDirectory;
    } catch {
      // not there: the backend decides (O_CREAT)
    }
    if (isDir) {
      if ((flags & 3) !== 0) return -EISDIR;
      return this.installFile(new ModelFile({ kind: "dir", path, flags }));
    }
    const h = this.backend.open(path, flags, mode);
    if (typeof h === "number") return h;
    return this.installFile(
      new ModelFile({ kind: "file", path, flags, backend: this.backend, handle: h }),
    );
  }

  /**
   * `close(2)`.
   *
   * @param fd The fd.
   * @returns 0 or -EBADF.
   */
  closeFd(fd: number): number {
    const f = this.fileOf(fd);
    if (!f) return -EBADF;
    if (f.kind === "ring") {
      for (const r of this.#rings) {
        if (r.fd === fd) {
          r.close();
          return 0;
        }
      }
    }
    this.#fds[fd] = undefined;
    f.put();
    return 0;
  }

  /**
   * Adopts a socket as a model fd (the model then owns it and closes it with the fd).
   *
   * @param sock A socket.
   * @param name A description.
   * @returns The fd.
   */
  adoptSocket(sock: ModelSocket, name = "socket"): number {
    return this.installFile(new ModelFile({ kind: "socket", path: name, flags: 2, socket: sock }));
  }

  /**
   * Adopts a connected `Deno.Conn` (TCP or Unix) as a model socket fd.
   *
   * @param conn The connection.
   * @returns The fd.
   */
  adoptConn(conn: Deno.Conn): number {
    return this.adoptSocket(new ConnSocket(conn), "conn");
  }

  /**
   * `socketpair(AF_UNIX, SOCK_STREAM)`: two connected in-memory stream sockets.
   *
   * @returns Their fds.
   */
  socketpair(): [number, number] {
    const [a, b] = memSocketPair();
    return [this.adoptSocket(a, "socketpair"), this.adoptSocket(b, "socketpair")];
  }

  /** Closes every ring and fd. */
  close(): void {
    for (const r of [...this.#rings]) r.close();
    for (let fd = 0; fd < this.#fds.length; fd++) if (this.#fds[fd]) this.closeFd(fd);
  }
}
