/**
 * `NativeBackend`: the model kernel's data ops (READ/WRITE/READV/WRITEV/FSYNC/FALLOCATE) done on
 * a real io_uring, so model-level features (fused commands, ublk) do their file I/O in the real
 * kernel — with overlap, O_DIRECT and real errno.
 *
 * @module
 */

import {
  ECANCELED,
  IORING_FSYNC_DATASYNC,
  IORING_OP_FALLOCATE,
  IORING_OP_FSYNC,
  IORING_OP_READ,
  IORING_OP_READV,
  IORING_OP_WRITE,
  IORING_OP_WRITEV,
} from "@ublk-ts/uapi";
import { type BackendFile, type IoBackend, type IoResult } from "@ublk-ts/ring";
import { fsTypeOf } from "@ublk-ts/model";
import { addressNumber, setU64 } from "./_address.ts";
import { IOVEC, STAT } from "./_layout.ts";
import { NativeKernel } from "./native_kernel.ts";
import type { NativeRing } from "./native_ring.ts";

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

  /**
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
  }
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

/**
 * An {@linkcode IoBackend} on a real io_uring: each call writes one SQE into its own ring and
 * submits it at once; when the CQE is already there after the submit (page-cache hits on
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

  #ring: NativeRing;
  #sq: DataView;
  #cq: DataView;
  #sqes: DataView;
  #sqeBytes: Uint8Array;
  #sqMask: number;
  #cqMask: number;
  #slots: Slot[] = [];
  #free: number[] = [];
  #waiting: (() => void)[] = [];
  #inflight = 0;
  #pumping = false;
  #closed = false;
  #stat: Uint8Array = new Uint8Array(STAT.SIZE);
  #statView: DataView = new DataView(this.#stat.buffer);

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
    this.#ring = this.kernel.setup(entries);
    const r = this.#ring;
    this.#sq = new DataView(r.sqRing);
    this.#cq = new DataView(r.cqRing);
    this.#sqes = new DataView(r.sqes);
    this.#sqeBytes = new Uint8Array(r.sqes);
    this.#sqMask = this.#sq.getUint32(r.sqOff.ringMask, true);
    this.#cqMask = this.#cq.getUint32(r.cqOff.ringMask, true);
    for (let i = 0; i < r.sqEntries; i++) this.#sq.setUint32(r.sqOff.array + i * 4, i, true);
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
    return new NativeFile(path, flags, fd, fsTypeOf(path));
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
    const idx = this.#free.pop();
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
    const tail = this.#sq.getUint32(ring.sqOff.tail, true);
    const o = (tail & this.#sqMask) * ring.sqeSize;
    this.#sqeBytes.fill(0, o, o + ring.sqeSize);
    const v = this.#sqes;
    v.setUint8(o, op);
    v.setInt32(o + 4, fd, true);
    setU64(v, o + 8, off);
    setU64(v, o + 16, addr);
    v.setUint32(o + 24, len, true);
    v.setUint32(o + 28, opFlags, true);
    v.setUint32(o + 32, idx, true);
    this.#sq.setUint32(ring.sqOff.tail, (tail + 1) >>> 0, true);
    this.#inflight++;
    const n = ring.submit(1);
    if (n !== 1) {
      // Not consumed: take the SQE back.
      this.#sq.setUint32(ring.sqOff.tail, tail, true);
      this.#inflight--;
      slot.keep = null;
      this.#free.push(idx);
      return n < 0 ? n : -ECANCELED;
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

  /** Consumes every CQE: results of requests without a promise are kept for `#issue`. */
  #reap(): void {
    const ring = this.#ring;
    const cq = this.#cq;
    let head = cq.getUint32(ring.cqOff.head, true);
    const tail = cq.getUint32(ring.cqOff.tail, true);
    while (head !== tail) {
      const o = ring.cqOff.cqes + (head & this.#cqMask) * ring.cqeSize;
      const idx = cq.getUint32(o, true);
      const slot = this.#slots[idx]!;
      slot.res = cq.getInt32(o + 8, true);
      slot.done = true;
      this.#inflight--;
      head = (head + 1) >>> 0;
      cq.setUint32(ring.cqOff.head, head, true);
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
        const r = await this.#ring.wait(1);
        if (this.#closed || r < 0) break;
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
