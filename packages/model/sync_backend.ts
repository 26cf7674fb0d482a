/**
 * The `sync` I/O backend: positional I/O completing inline — `pread`/`pwrite`/`fallocate`
 * through libc (FFI) when allowed, else synchronous `Deno.FsFile` calls (seek + read or write,
 * fallocate emulated).
 *
 * @module
 */

import {
  EINVAL,
  EOPNOTSUPP,
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  FALLOC_FL_ZERO_RANGE,
} from "@ublk-ts/uapi";
import {
  type BackendFile,
  fsTypeOf,
  fsTypeOfMagic,
  type IoBackend,
  STATFS_SIZE,
} from "@ublk-ts/ring";
import {
  O_APPEND,
  O_CLOEXEC,
  O_CREAT,
  O_DIRECT,
  O_EXCL,
  O_RDWR,
  O_TRUNC,
  O_WRONLY,
} from "@ublk-ts/uapi";
import { errnoOf } from "./_errno_of.ts";
import { type Libc, libc, n64, negErrno } from "./_ffi.ts";

/** A file of the sync backend opened through libc (positional syscalls on `fd`). */
export class PosixFile implements BackendFile {
  /** Path. */
  readonly path: string;
  /** Open flags. */
  readonly flags: number;
  /** The host fd. */
  readonly fd: number;
  /** File system type ("" when unknown). */
  readonly fsType: string;
  /** Closed already. */
  closed = false;

  /**
   * Wraps a host fd opened through libc.
   *
   * @param path Path.
   * @param flags Flags.
   * @param fd Host fd.
   * @param fsType File system type.
   */
  constructor(path: string, flags: number, fd: number, fsType: string) {
    this.path = path;
    this.flags = flags;
    this.fd = fd;
    this.fsType = fsType;
  }
}

/** A file of the sync backend opened through `Deno.FsFile` (no FFI). */
export class SyncFile implements BackendFile {
  /** Path. */
  readonly path: string;
  /** Open flags. */
  readonly flags: number;
  /** The Deno file. */
  readonly fs: Deno.FsFile;
  /** File system type from /proc/self/mountinfo ("" when unknown). */
  readonly fsType: string;

  /**
   * Wraps a `Deno.FsFile` (the fallback when libc is not loadable).
   *
   * @param path Path.
   * @param flags Flags.
   * @param fs The open file.
   * @param fsType File system type.
   */
  constructor(path: string, flags: number, fs: Deno.FsFile, fsType = "") {
    this.path = path;
    this.flags = flags;
    this.fs = fs;
    this.fsType = fsType;
  }
}

const ZEROES = new Uint8Array(1 << 16);

/**
 * Positional I/O through synchronous `Deno.FsFile` calls.
 *
 * @example Read a file
 * ```ts
 * import assert from "node:assert/strict";
 * import { SyncBackend } from "@ublk-ts/model";
 * const path = Deno.makeTempFileSync();
 * Deno.writeTextFileSync(path, "hello");
 * const b = new SyncBackend();
 * const f = b.open(path, 0, 0);
 * assert.ok(typeof f !== "number");
 * const buf = new Uint8Array(8);
 * assert.equal(b.read(f, buf, 1), 4);
 * b.close(f);
 * Deno.removeSync(path);
 * ```
 */
export class SyncBackend implements IoBackend {
  /** "sync". */
  readonly name: string = "sync";
  #libc: Libc | null;

  /**
   * A backend.
   *
   * @param options `positional: false` forces the `Deno.FsFile` path (seek + read).
   */
  constructor(options: { positional?: boolean } = {}) {
    this.#libc = options.positional === false ? null : libc();
  }

  /**
   * "pread" when files are opened through libc, "seek" on the `Deno.FsFile` fallback.
   *
   * @returns The mode.
   */
  get mode(): "pread" | "seek" {
    return this.#libc ? "pread" : "seek";
  }

  /**
   * `open(2)`.
   *
   * @param path Path.
   * @param flags O_* flags.
   * @param mode Mode.
   * @returns The file, or a negative errno.
   */
  open(path: string, flags: number, mode: number): PosixFile | SyncFile | number {
    const c = this.#libc;
    if (c) {
      // The sync backend serves through the page cache: O_DIRECT is dropped (its buffers are
      // not aligned), as the Deno.FsFile path always did.
      const hostFlags = (flags & ~O_DIRECT) | O_CLOEXEC;
      const fd = c.open(new TextEncoder().encode(path + "\0"), hostFlags, mode || 0o644);
      if (fd < 0) return negErrno();
      // the file system from fstatfs(2)'s f_type; mountinfo when the magic is not known
      const st = new Uint8Array(STATFS_SIZE);
      const magic = c.fstatfs(fd, st) === 0 ? new DataView(st.buffer).getUint32(0, true) : 0;
      return new PosixFile(path, flags, fd, fsTypeOfMagic(magic) || fsTypeOf(path));
    }
    const acc = flags & 3;
    try {
      const fs = Deno.openSync(path, {
        read: acc !== O_WRONLY,
        write: acc === O_WRONLY || acc === O_RDWR,
        append: (flags & O_APPEND) !== 0 ? true : undefined,
        create: (flags & O_CREAT) !== 0 && (flags & O_EXCL) === 0,
        createNew: (flags & O_CREAT) !== 0 && (flags & O_EXCL) !== 0,
        truncate: (flags & O_TRUNC) !== 0,
        mode: mode || 0o644,
      });
      return new SyncFile(path, flags, fs, fsTypeOf(path));
    } catch (e) {
      return errnoOf(e);
    }
  }

  /**
   * `close(2)`.
   *
   * @param file The file.
   */
  close(file: BackendFile): void {
    if (file instanceof PosixFile) {
      if (!file.closed) this.#libc!.close(file.fd);
      file.closed = true;
      return;
    }
    try {
      (file as SyncFile).fs.close();
    } catch {
      // already closed
    }
  }

  /**
   * `pread(2)`.
   *
   * @param file The file.
   * @param buf Destination.
   * @param off Offset.
   * @returns Bytes, or a negative errno.
   */
  read(file: BackendFile, buf: Uint8Array, off: number): number {
    if (file instanceof PosixFile) {
      let done = 0;
      while (done < buf.length) {
        const n = Number(
          this.#libc!.pread64(
            file.fd,
            done ? buf.subarray(done) : buf,
            n64(Math.min(buf.length - done, 0x7ffff000)),
            n64(off + done),
          ),
        );
        if (n < 0) return done > 0 ? done : negErrno();
        if (n === 0) break;
        done += n;
      }
      return done;
    }
    const fs = (file as SyncFile).fs;
    try {
      fs.seekSync(off, Deno.SeekMode.Start);
      let done = 0;
      while (done < buf.length) {
        const n = fs.readSync(done === 0 ? buf : buf.subarray(done));
        if (n === null || n === 0) break;
        done += n;
      }
      return done;
    } catch (e) {
      return errnoOf(e);
    }
  }

  /**
   * `preadv(2)`.
   *
   * @param file The file.
   * @param bufs Destinations.
   * @param off Offset.
   * @returns Bytes, or a negative errno.
   */
  readv(file: BackendFile, bufs: readonly Uint8Array[], off: number): number {
    let total = 0;
    for (const b of bufs) {
      if (b.length === 0) continue;
      const n = this.read(file, b, off + total);
      if (n < 0) return total > 0 ? total : n;
      total += n;
      if (n < b.length) break;
    }
    return total;
  }

  /**
   * `pwrite(2)`.
   *
   * @param file The file.
   * @param buf Source.
   * @param off Offset.
   * @returns Bytes, or a negative errno.
   */
  write(file: BackendFile, buf: Uint8Array, off: number): number {
    if (file instanceof PosixFile) {
      let done = 0;
      while (done < buf.length) {
        const n = Number(
          this.#libc!.pwrite64(
            file.fd,
            done ? buf.subarray(done) : buf,
            n64(Math.min(buf.length - done, 0x7ffff000)),
            n64(off + done),
          ),
        );
        if (n < 0) return done > 0 ? done : negErrno();
        done += n;
      }
      return done;
    }
    const fs = (file as SyncFile).fs;
    try {
      if ((file.flags & O_APPEND) === 0) fs.seekSync(off, Deno.SeekMode.Start);
      let done = 0;
      while (done < buf.length) {
        done += fs.writeSync(done === 0 ? buf : buf.subarray(done));
      }
      return done;
    } catch (e) {
      return errnoOf(e);
    }
  }

  /**
   * `pwritev(2)`.
   *
   * @param file The file.
   * @param bufs Sources.
   * @param off Offset.
   * @returns Bytes, or a negative errno.
   */
  writev(file: BackendFile, bufs: readonly Uint8Array[], off: number): number {
    let total = 0;
    for (const b of bufs) {
      if (b.length === 0) continue;
      const n = this.write(file, b, off + total);
      if (n < 0) return total > 0 ? total : n;
      total += n;
    }
    return total;
  }

  /**
   * `fsync(2)` / `fdatasync(2)`.
   *
   * @param file The file.
   * @param datasync Data only.
   * @returns 0, or a negative errno.
   */
  fsync(file: BackendFile, datasync: boolean): number {
    if (file instanceof PosixFile) {
      const r = datasync ? this.#libc!.fdatasync(file.fd) : this.#libc!.fsync(file.fd);
      return r < 0 ? negErrno() : 0;
    }
    try {
      if (datasync) (file as SyncFile).fs.syncDataSync();
      else (file as SyncFile).fs.syncSync();
      return 0;
    } catch (e) {
      return errnoOf(e);
    }
  }

  /**
   * `fallocate(2)` emulated: mode 0 extends (truncate up), KEEP_SIZE is a no-op,
   * PUNCH_HOLE|KEEP_SIZE and ZERO_RANGE write zeroes (ZERO_RANGE extends unless KEEP_SIZE;
   * -EOPNOTSUPP on tmpfs, as Linux).
   *
   * @param file The file.
   * @param mode Mode.
   * @param off Offset.
   * @param len Length.
   * @returns 0, or a negative errno.
   */
  fallocate(file: BackendFile, mode: number, off: number, len: number): number {
    if (off < 0 || len <= 0) return -EINVAL;
    if (file instanceof PosixFile) {
      return this.#libc!.fallocate(file.fd, mode, n64(off), n64(len)) < 0 ? negErrno() : 0;
    }
    const fs = (file as SyncFile).fs;
    try {
      const size = fs.statSync().size;
      const keep = (mode & FALLOC_FL_KEEP_SIZE) !== 0;
      if (mode === 0 || mode === FALLOC_FL_KEEP_SIZE) {
        if (!keep && off + len > size) fs.truncateSync(off + len);
        return 0;
      }
      if (mode & FALLOC_FL_PUNCH_HOLE) {
        if (!keep || (mode & ~(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE))) return -EOPNOTSUPP;
        return this.#zero(file, off, Math.min(len, size - off));
      }
      if (mode & FALLOC_FL_ZERO_RANGE) {
        if (mode & ~(FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE)) return -EOPNOTSUPP;
        // shmem_fallocate supports only KEEP_SIZE and PUNCH_HOLE.
        if ((file as SyncFile).fsType === "tmpfs") return -EOPNOTSUPP;
        const end = keep ? Math.min(off + len, size) : off + len;
        const r = this.#zero(file, off, Math.min(end, size) - off);
        if (r < 0) return r;
        if (!keep && end > size) fs.truncateSync(end);
        return 0;
      }
      return -EOPNOTSUPP;
    } catch (e) {
      return errnoOf(e);
    }
  }

  #zero(file: BackendFile, off: number, len: number): number {
    let done = 0;
    while (done < len) {
      const n = Math.min(ZEROES.length, len - done);
      const r = this.write(file, ZEROES.subarray(0, n), off + done);
      if (r < 0) return r;
      done += r;
    }
    return 0;
  }

  /**
   * The size.
   *
   * @param file The file.
   * @returns Bytes, or a negative errno.
   */
  size(file: BackendFile): number {
    if (file instanceof PosixFile) {
      const r = Number(this.#libc!.lseek(file.fd, 0n, 2));
      return r < 0 ? negErrno() : r;
    }
    try {
      return (file as SyncFile).fs.statSync().size;
    } catch (e) {
      return errnoOf(e);
    }
  }
}
