/**
 * `NativeBackend`: the model kernel's data ops (READ/WRITE/READV/WRITEV/FSYNC/FALLOCATE) done on
 * a real io_uring, so model-level features (fused commands, ublk) do their file I/O in the real
 * kernel — with overlap, O_DIRECT and real errno.
 *
 * @module
 */

import {
  EAGAIN,
  EBUSY,
  ECANCELED,
  EINTR,
  ErrnoError,
  ETIME,
  IORING_FSYNC_DATASYNC,
  IORING_OP_FALLOCATE,
  IORING_OP_FSYNC,
  IORING_OP_READ,
  IORING_OP_READV,
  IORING_OP_WRITE,
  IORING_OP_WRITEV,
  MAP_ANONYMOUS,
  MAP_HUGETLB,
  MAP_PRIVATE,
  O_DIRECT,
  PROT_READ,
  PROT_WRITE,
  SYS_mmap,
  SYS_munmap,
} from "@ublk-ts/uapi";
import {
  type BackendFile,
  type Cqe,
  fsTypeOf,
  fsTypeOfMagic,
  type IoBackend,
  type IoResult,
  prepRwAt,
  Ring,
  sqeSetOpFlags,
  sqeSetUserData32,
  STATFS_SIZE,
} from "@ublk-ts/ring";
import { addressNumber, setU64 } from "./_address.ts";
import { IOVEC, STAT } from "./_layout.ts";
import { NativeKernel } from "./native_kernel.ts";

/** A file of the native backend: a real fd. */
export class NativeFile implements BackendFile {
  /** The path it was opened with. */
  readonly path: string;
  /** Open flags (Linux values). */
  readonly flags: number;
  /** File system type ("tmpfs", "ext4", …; "" when unknown): some ops depend on it. */
  readonly fsType: string;
  /** The real fd (-1 after close). */
  fd: number;
  /** Opened with O_DIRECT: buffers must be aligned ({@linkcode NATIVE_DIO_MEM_ALIGN}). */
  readonly direct: boolean;

  /**
   * Wraps a host fd opened for the native backend.
   *
   * @param path The path.
   * @param flags Open flags.
   * @param fd The real fd.
   * @param fsType File system type.
   */
  constructor(path: string, flags: number, fd: number, fsType = "") {
    this.path = path;
    this.flags = flags;
    this.fd = fd;
    this.fsType = fsType;
    this.direct = (flags & O_DIRECT) !== 0;
  }
}

/**
 * The memory alignment the backend guarantees for O_DIRECT I/O: the DMA alignment of a block
 * device with 512-byte sectors (`/sys/block/<dev>/queue/dma_alignment` + 1). Offsets and lengths
 * must be multiples of the file's logical block size; that is the caller's (the kernel answers
 * -EINVAL otherwise).
 */
export const NATIVE_DIO_MEM_ALIGN = 512;

/** Page-aligned memory of the real kernel: what {@linkcode NativeBackend.ioMemoryProvider} maps. */
export interface NativeIoMapping {
  /** The memory. */
  readonly buffer: ArrayBuffer;
  /** Its real address (page-aligned). */
  readonly address: number;
}

/** An anonymous mapping is unmapped once its ArrayBuffer is collected. */
const unmapper = new FinalizationRegistry<{ kernel: NativeKernel; addr: bigint; len: number }>(
  (m) => {
    m.kernel.library.libc.syscall(BigInt(SYS_munmap), m.addr, BigInt(m.len), 0n, 0n, 0n, 0n);
  },
);

/**
 * `mmap(MAP_PRIVATE | MAP_ANONYMOUS)` (with MAP_HUGETLB first when asked; the kernel refuses it
 * without reserved huge pages, and the plain mapping is used).
 */
function mapAnonymous(kernel: NativeKernel, bytes: number, huge: boolean): NativeIoMapping | null {
  const libc = kernel.library.libc;
  const prot = BigInt(PROT_READ | PROT_WRITE);
  let r = -1n;
  if (huge && bytes % (2 << 20) === 0) {
    r = BigInt(libc.syscall(
      BigInt(SYS_mmap),
      0n,
      BigInt(bytes),
      prot,
      BigInt(MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB),
      -1n,
      0n,
    ));
  }
  if (r < 0n) {
    r = BigInt(libc.syscall(
      BigInt(SYS_mmap),
      0n,
      BigInt(bytes),
      prot,
      BigInt(MAP_PRIVATE | MAP_ANONYMOUS),
      -1n,
      0n,
    ));
  }
  if (r < 0n) return null;
  const ptr = Deno.UnsafePointer.create(r);
  if (ptr === null) return null;
  const buffer = Deno.UnsafePointerView.getArrayBuffer(ptr, bytes);
  unmapper.register(buffer, { kernel, addr: r, len: bytes });
  return { buffer, address: Number(r) };
}

/** Options of {@linkcode NativeBackend}. */
export interface NativeBackendOptions {
  /** The kernel (default: a new {@linkcode NativeKernel}). */
  kernel?: NativeKernel;
  /** Ring entries = the most requests in flight at once (default 64). */
  entries?: number;
  /** iovecs per request kept preallocated (default 16; more are allocated on demand). */
  iovecs?: number;
}

interface Slot {
  /** The request's result once its CQE came. */
  res: number;
  done: boolean;
  resolve: ((res: number) => void) | null;
  /** Memory the kernel uses until the CQE (kept referenced). */
  keep: Uint8Array | readonly Uint8Array[] | null;
  iov: Uint8Array;
  iovView: DataView;
  iovAddr: number;
}

const O_CLOEXEC = 0o2000000;
/** How often a pump with SQEs the kernel refused (-EAGAIN/-EBUSY) retries the submit (ms). */
const RESUBMIT_MS = 1;

/**
 * An {@linkcode IoBackend} on a real io_uring: each call writes one SQE into its own
 * {@linkcode Ring} (the user side of `@ublk-ts/ring`, zero-allocation `getSqeOffset` +
 * `prepRwAt`) and submits it at once; when the CQE is already there after the submit (page-cache hits on
 * tmpfs), the result is returned synchronously and nothing is allocated, else a promise
 * resolves when the CQE arrives (a nonblocking wait reaps in the background). Requests are
 * not batched across calls.
 *
 * Safety: the buffers must stay alive until the result is known; the backend keeps them
 * referenced until then.
 *
 * @example A model kernel whose files live in the real kernel
 * ```ts ignore
 * import { ModelKernel } from "@ublk-ts/model";
 * import { NativeBackend } from "@ublk-ts/native";
 * const kernel = new ModelKernel({ backend: new NativeBackend() });
 * ```
 */
export class NativeBackend implements IoBackend {
  /** "native". */
  readonly name: string = "native";
  /** The kernel the ring belongs to. */
  readonly kernel: NativeKernel;

  #ring: Ring;
  #slots: Slot[] = [];
  #free: number[] = [];
  #waiting: (() => void)[] = [];
  #inflight = 0;
  #pumping = false;
  #closed = false;
  #stat: Uint8Array = new Uint8Array(STAT.SIZE);
  #statView: DataView = new DataView(this.#stat.buffer);
  /** Free page-aligned bounce buffers by length (O_DIRECT I/O on unaligned memory). */
  #bounce: Map<number, Uint8Array[]> = new Map();
  #bounced = 0;

  /**
   * A source of page-aligned I/O memory on the real kernel (anonymous `mmap`, huge pages when
   * `hugePages` and the kernel has them reserved), shaped as `@ublk-ts/rsrc`'s
   * `IoMemoryProvider`: `setIoMemoryProvider(NativeBackend.ioMemoryProvider(kernel))`.
   *
   * Safety: a mapping is unmapped once its ArrayBuffer is collected; keep a view referenced
   * while any SQE names it (as for any I/O memory).
   *
   * @param kernel The kernel whose libc maps (default: a new {@linkcode NativeKernel}).
   * @param options `hugePages`: try MAP_HUGETLB for multiples of 2 MiB.
   * @returns The provider.
   */
  static ioMemoryProvider(
    kernel?: NativeKernel,
    options: { hugePages?: boolean } = {},
  ): { readonly name: string; map(bytes: number): NativeIoMapping | null } {
    const k = kernel ?? new NativeKernel();
    const huge = options.hugePages === true;
    return {
      name: huge ? "mmap+hugetlb" : "mmap",
      map: (bytes: number): NativeIoMapping | null => mapAnonymous(k, bytes, huge),
    };
  }

  /**
   * Sets up the backend's ring.
   *
   * @param options Kernel, ring size, iovecs per request.
   * @throws {NativeUnavailableError} when liburing cannot be loaded.
   * @throws {ErrnoError} when the ring cannot be set up.
   */
  constructor(options: NativeBackendOptions = {}) {
    this.kernel = options.kernel ?? new NativeKernel();
    const entries = options.entries ?? 64;
    this.#ring = Ring.create(this.kernel, entries);
    const r = this.#ring;
    const nIov = options.iovecs ?? 16;
    for (let i = 0; i < r.sqEntries; i++) {
      const iov = new Uint8Array(nIov * IOVEC.SIZE);
      this.#slots.push({
        res: 0,
        done: false,
        resolve: null,
        keep: null,
        iov,
        iovView: new DataView(iov.buffer),
        iovAddr: addressNumber(iov),
      });
      this.#free.push(r.sqEntries - 1 - i);
    }
  }

  /** Requests whose result is not known yet. */
  get inflight(): number {
    return this.#inflight;
  }

  /**
   * READ/WRITE requests on O_DIRECT files whose memory was not aligned to
   * {@linkcode NATIVE_DIO_MEM_ALIGN} and went through a bounce buffer (0 when every layer above
   * uses I/O memory from one allocator, as it should).
   */
  get bounced(): number {
    return this.#bounced;
  }

  /**
   * libc `open(2)` (always with O_CLOEXEC).
   *
   * @param path The path.
   * @param flags O_* flags.
   * @param mode Creation mode.
   * @returns The file, or a negative errno.
   */
  open(path: string, flags: number, mode: number): NativeFile | number {
    const fd = this.kernel.open(path, flags | O_CLOEXEC, mode);
    if (fd < 0) return fd;
    // the file system from fstatfs(2)'s f_type; mountinfo when the magic is not known
    const st = new Uint8Array(STATFS_SIZE);
    const magic = this.kernel.library.libc.fstatfs(fd, st) === 0
      ? new DataView(st.buffer).getUint32(0, true)
      : 0;
    return new NativeFile(path, flags, fd, fsTypeOfMagic(magic) || fsTypeOf(path));
  }

  /**
   * The file size (`fstat`).
   *
   * @param file The file.
   * @returns The size, or a negative errno.
   */
  size(file: BackendFile): number {
    const r = this.kernel.library.libc.fstat((file as NativeFile).fd, this.#stat);
    if (r < 0) return -this.kernel.library.errno();
    return Number(this.#statView.getBigInt64(STAT.ST_SIZE, true));
  }

  /**
   * IORING_OP_READ.
   *
   * @param file The file.
   * @param buf Destination.
   * @param off Byte offset.
   * @returns Bytes read, or a negative errno.
   */
  read(file: BackendFile, buf: Uint8Array, off: number): IoResult {
    return this.#rw(IORING_OP_READ, file as NativeFile, buf, off);
  }

  /**
   * IORING_OP_WRITE.
   *
   * @param file The file.
   * @param buf Source.
   * @param off Byte offset.
   * @returns Bytes written, or a negative errno.
   */
  write(file: BackendFile, buf: Uint8Array, off: number): IoResult {
    return this.#rw(IORING_OP_WRITE, file as NativeFile, buf, off);
  }

  /**
   * IORING_OP_READV.
   *
   * @param file The file.
   * @param bufs Destinations, filled in order.
   * @param off Byte offset.
   * @returns Bytes read, or a negative errno.
   */
  readv(file: BackendFile, bufs: readonly Uint8Array[], off: number): IoResult {
    return this.#rwv(IORING_OP_READV, file as NativeFile, bufs, off);
  }

  /**
   * IORING_OP_WRITEV.
   *
   * @param file The file.
   * @param bufs Sources.
   * @param off Byte offset.
   * @returns Bytes written, or a negative errno.
   */
  writev(file: BackendFile, bufs: readonly Uint8Array[], off: number): IoResult {
    return this.#rwv(IORING_OP_WRITEV, file as NativeFile, bufs, off);
  }

  /**
   * IORING_OP_FSYNC.
   *
   * @param file The file.
   * @param datasync IORING_FSYNC_DATASYNC.
   * @returns 0, or a negative errno.
   */
  fsync(file: BackendFile, datasync: boolean): IoResult {
    return this.#issue(
      IORING_OP_FSYNC,
      (file as NativeFile).fd,
      0,
      0,
      0,
      datasync ? IORING_FSYNC_DATASYNC : 0,
      null,
    );
  }

  /**
   * IORING_OP_FALLOCATE.
   *
   * @param file The file.
   * @param mode FALLOC_FL_* mode.
   * @param off Byte offset.
   * @param len Length.
   * @returns 0, or a negative errno.
   */
  fallocate(file: BackendFile, mode: number, off: number, len: number): IoResult {
    return this.#issue(IORING_OP_FALLOCATE, (file as NativeFile).fd, len, mode, off, 0, null);
  }

  #rw(op: number, f: NativeFile, buf: Uint8Array, off: number): IoResult {
    if (f.direct && buf.byteLength > 0 && addressNumber(buf) % NATIVE_DIO_MEM_ALIGN !== 0) {
      return this.#bouncedRw(op, f, buf, off);
    }
    return this.#issue(
      op,
      f.fd,
      buf.byteLength ? addressNumber(buf) : 0,
      buf.byteLength,
      off,
      0,
      buf,
    );
  }

  /**
   * O_DIRECT on memory the kernel would refuse (-EINVAL): through a page-aligned bounce buffer
   * (anonymous mmap), counted in {@linkcode NativeBackend.bounced}.
   */
  #bouncedRw(op: number, f: NativeFile, buf: Uint8Array, off: number): IoResult {
    this.#bounced++;
    const len = buf.byteLength;
    let b = this.#bounce.get(len)?.pop();
    if (b === undefined) {
      const pages = Math.ceil(len / 4096) * 4096;
      const m = mapAnonymous(this.kernel, pages, false);
      b = m === null ? undefined : new Uint8Array(m.buffer, 0, len);
      if (b === undefined) return -(this.kernel.library.errno() || 12); // ENOMEM
    }
    const bounce = b;
    if (op === IORING_OP_WRITE) bounce.set(buf);
    const finish = (res: number): number => {
      if (op === IORING_OP_READ && res > 0) buf.set(res === len ? bounce : bounce.subarray(0, res));
      let free = this.#bounce.get(len);
      if (free === undefined) this.#bounce.set(len, free = []);
      if (free.length < 16) free.push(bounce);
      return res;
    };
    const r = this.#issue(op, f.fd, addressNumber(bounce), len, off, 0, bounce);
    return typeof r === "number" ? finish(r) : r.then(finish);
  }

  #rwv(op: number, f: NativeFile, bufs: readonly Uint8Array[], off: number): IoResult {
    return this.#issue(op, f.fd, -1, bufs.length, off, 0, bufs);
  }

  /** addr -1 means: the iovec array of the slot, built from `keep`. */
  #issue(
    op: number,
    fd: number,
    addr: number,
    len: number,
    off: number,
    opFlags: number,
    keep: Uint8Array | readonly Uint8Array[] | null,
  ): IoResult {
    if (this.#closed) return -ECANCELED;
    // A slot per SQ entry; an SQE refused by the kernel stays queued in the SQ (below).
    const o = this.#free.length > 0 ? this.#ring.getSqeOffset() : -1;
    const idx = o < 0 ? undefined : this.#free.pop();
    if (idx === undefined) {
      // Every slot is in flight: queue behind them (allocates, off the fast path).
      return new Promise<number>((resolve) => {
        this.#waiting.push(() => {
          const r = this.#issue(op, fd, addr, len, off, opFlags, keep);
          if (typeof r === "number") resolve(r);
          else r.then(resolve);
        });
      });
    }
    const slot = this.#slots[idx]!;
    slot.done = false;
    slot.resolve = null;
    slot.keep = keep;
    if (addr === -1) addr = this.#iovecs(slot, keep as readonly Uint8Array[]);
    const ring = this.#ring;
    const v = ring.sqes;
    prepRwAt(v, o, op, fd, addr, len, off);
    sqeSetOpFlags(v, o, opFlags);
    sqeSetUserData32(v, o, idx, 0);
    this.#inflight++;
    const err = this.#submit();
    if (err < 0) {
      // The ring cannot take SQEs any more: fail everything (this one included).
      this.close();
      return err;
    }
    this.#reap();
    if (slot.done) {
      const res = slot.res;
      this.#release(idx);
      if (this.#waiting.length > 0) this.#kick();
      return res;
    }
    const p = new Promise<number>((resolve) => {
      slot.resolve = resolve;
    });
    this.#pump();
    return p;
  }

  #iovecs(slot: Slot, bufs: readonly Uint8Array[]): number {
    if (bufs.length * IOVEC.SIZE > slot.iov.byteLength) {
      slot.iov = new Uint8Array(bufs.length * IOVEC.SIZE);
      slot.iovView = new DataView(slot.iov.buffer);
      slot.iovAddr = addressNumber(slot.iov);
    }
    const v = slot.iovView;
    for (let i = 0; i < bufs.length; i++) {
      const b = bufs[i]!;
      setU64(v, i * IOVEC.SIZE + IOVEC.BASE, b.byteLength ? addressNumber(b) : 0);
      setU64(v, i * IOVEC.SIZE + IOVEC.LEN, b.byteLength);
    }
    return slot.iovAddr;
  }

  #release(idx: number): void {
    const slot = this.#slots[idx]!;
    slot.keep = null;
    slot.resolve = null;
    this.#free.push(idx);
  }

  /** Starts queued requests while slots are free (never from inside the reap loop). */
  #kick(): void {
    while (this.#free.length > 0 && this.#waiting.length > 0) this.#waiting.shift()!();
  }

  /**
   * `Ring.submit()`: SQEs the kernel refuses for now (-EAGAIN, -EBUSY, -EINTR) stay queued in
   * the SQ and go with the next submit (the pump retries).
   *
   * @returns 0, or the negative errno of a ring that cannot submit at all.
   */
  #submit(): number {
    try {
      this.#ring.submit();
      return 0;
    } catch (e) {
      if (!(e instanceof ErrnoError)) throw e;
      const errno = e.errno;
      return errno === EAGAIN || errno === EBUSY || errno === EINTR ? 0 : -errno;
    }
  }

  /** Consumes every CQE: results of requests without a promise are kept for `#issue`. */
  #reap(): void {
    const ring = this.#ring;
    for (let c: Cqe | null = ring.peekCqe(); c !== null; c = ring.peekCqe()) {
      const idx = c.view.getUint32(c.offset, true);
      const slot = this.#slots[idx]!;
      slot.res = c.res;
      slot.done = true;
      this.#inflight--;
      ring.cqeSeen();
      const resolve = slot.resolve;
      if (resolve) {
        const res = slot.res;
        this.#release(idx);
        resolve(res);
      }
    }
    if (this.#waiting.length > 0) this.#kick();
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#inflight > 0 && !this.#closed) {
        const queued = this.#ring.sqReady() > 0;
        if (queued) {
          const err = this.#submit();
          if (err < 0) {
            this.close();
            break;
          }
        }
        const r = await this.#ring.wait(1, queued ? RESUBMIT_MS : undefined);
        if (this.#closed || (r < 0 && r !== -ETIME)) break;
        this.#reap();
      }
    } finally {
      this.#pumping = false;
    }
  }

  /**
   * Closes the ring: requests still in flight resolve -ECANCELED. Safe twice.
   */
  close(): void;
  /**
   * Closes one file (the {@linkcode IoBackend} method).
   *
   * @param file The file.
   */
  close(file: BackendFile): void;
  close(file?: BackendFile): void {
    if (file !== undefined) {
      this.#closeFile(file);
      return;
    }
    if (this.#closed) return;
    this.#closed = true;
    this.#ring.close();
    for (let i = 0; i < this.#slots.length; i++) {
      const s = this.#slots[i]!;
      // `keep` stays referenced: the kernel may still touch the memory while the ring exits.
      if (s.resolve) {
        const resolve = s.resolve;
        s.resolve = null;
        resolve(-ECANCELED);
      }
    }
    for (const w of this.#waiting.splice(0)) w();
  }

  #closeFile(file: BackendFile): void {
    const f = file as NativeFile;
    if (f.fd < 0) return;
    this.kernel.closeFd(f.fd);
    f.fd = -1;
  }

  /** Alias of `close()` (the ring). */
  [Symbol.dispose](): void {
    this.close();
  }
}
