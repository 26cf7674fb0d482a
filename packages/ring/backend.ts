/**
 * The I/O backend interface of the model kernel's data ops (READ/WRITE/…/FSYNC/FALLOCATE), and
 * the handle type it opens. A backend may complete synchronously (a number) or later (a
 * promise); both carry the syscall result or a negative errno, never a thrown error.
 *
 * @module
 */

/** A synchronous result or a later one: bytes / 0, or a negative errno. */
export type IoResult = number | Promise<number>;

/** A file opened by a backend. */
export interface BackendFile {
  /** The path it was opened with. */
  readonly path: string;
  /** Open flags (Linux values). */
  readonly flags: number;
  /** File system type ("tmpfs", "ext4", …) when known: some ops depend on it as in Linux. */
  readonly fsType?: string;
}

/**
 * Positional I/O on regular files. Offsets are byte offsets ≥ 0 (the model resolves the
 * "current position" offset -1 before calling).
 */
export interface IoBackend {
  /** "sync", "native", … */
  readonly name: string;
  /**
   * `open(2)`.
   *
   * @param path The path.
   * @param flags O_* flags.
   * @param mode Creation mode.
   * @returns The file, or a negative errno.
   */
  open(path: string, flags: number, mode: number): BackendFile | number;
  /**
   * `close(2)`.
   *
   * @param file The file.
   */
  close(file: BackendFile): void;
  /**
   * `preadv2(2)` into `bufs` (filled in order) at `off`.
   *
   * @param file The file.
   * @param bufs The iovecs.
   * @param off Byte offset.
   * @returns Bytes read (short at EOF), or a negative errno.
   */
  readv(file: BackendFile, bufs: readonly Uint8Array[], off: number): IoResult;
  /**
   * `pread(2)` into one buffer.
   *
   * @param file The file.
   * @param buf The buffer.
   * @param off Byte offset.
   * @returns Bytes read, or a negative errno.
   */
  read(file: BackendFile, buf: Uint8Array, off: number): IoResult;
  /**
   * `pwritev2(2)` from `bufs` at `off`.
   *
   * @param file The file.
   * @param bufs The iovecs.
   * @param off Byte offset.
   * @returns Bytes written, or a negative errno.
   */
  writev(file: BackendFile, bufs: readonly Uint8Array[], off: number): IoResult;
  /**
   * `pwrite(2)` from one buffer.
   *
   * @param file The file.
   * @param buf The buffer.
   * @param off Byte offset.
   * @returns Bytes written, or a negative errno.
   */
  write(file: BackendFile, buf: Uint8Array, off: number): IoResult;
  /**
   * `fsync(2)` / `fdatasync(2)`.
   *
   * @param file The file.
   * @param datasync Data only.
   * @returns 0, or a negative errno.
   */
  fsync(file: BackendFile, datasync: boolean): IoResult;
  /**
   * `fallocate(2)`.
   *
   * @param file The file.
   * @param mode FALLOC_FL_* mode.
   * @param off Byte offset.
   * @param len Length.
   * @returns 0, or a negative errno.
   */
  fallocate(file: BackendFile, mode: number, off: number, len: number): IoResult;
  /**
   * The file's size (`fstat`), for O_APPEND writes.
   *
   * @param file The file.
   * @returns The size, or a negative errno.
   */
  size(file: BackendFile): number;
}

// ---- the file system of a backend file (some ops depend on it: io-wq punts, O_DIRECT) ----

let mounts: [string, string][] | null = null;

/** `f_type` magics of `statfs(2)` (include/uapi/linux/magic.h) and the names used here. */
const FS_MAGIC: ReadonlyMap<number, string> = new Map([
  [0x01021994, "tmpfs"], // TMPFS_MAGIC (also devtmpfs, /dev/shm)
  [0xef53, "ext4"], // EXT4_SUPER_MAGIC = EXT2/EXT3 (one driver serves all three)
  [0x58465342, "xfs"], // XFS_SUPER_MAGIC
  [0x9123683e, "btrfs"], // BTRFS_SUPER_MAGIC
  [0x794c7630, "overlay"], // OVERLAYFS_SUPER_MAGIC
  [0x858458f6, "ramfs"], // RAMFS_MAGIC
  [0x6969, "nfs"], // NFS_SUPER_MAGIC
  [0x65735546, "fuse"], // FUSE_SUPER_MAGIC
  [0x9fa0, "proc"], // PROC_SUPER_MAGIC
  [0x62656572, "sysfs"], // SYSFS_MAGIC
  [0x62656570, "configfs"], // CONFIGFS_MAGIC
  [0x64626720, "debugfs"], // DEBUGFS_MAGIC
]);

/**
 * The file system name of a `statfs(2)` `f_type` magic.
 *
 * @param magic `f_type` (e.g. 0xEF53).
 * @returns "tmpfs", "ext4", … or "" for a magic not in the table.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fsTypeOfMagic } from "@ublk-ts/ring";
 * assert.equal(fsTypeOfMagic(0x01021994), "tmpfs");
 * assert.equal(fsTypeOfMagic(0xef53), "ext4");
 * ```
 */
export function fsTypeOfMagic(magic: number): string {
  return FS_MAGIC.get(magic >>> 0) ?? "";
}

/** `sizeof(struct statfs)` on x86_64 (f_type, a long, is at offset 0). */
export const STATFS_SIZE = 120;

/** Unescapes the octal escapes of /proc/self/mountinfo paths. */
function unescapeMount(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/**
 * The file system type of `path` (longest matching mount point of /proc/self/mountinfo).
 *
 * @param path A path.
 * @returns The type ("ext4", "tmpfs", …), or "" when unknown.
 */
export function fsTypeOf(path: string): string {
  try {
    if (mounts === null) {
      mounts = [];
      for (const line of Deno.readTextFileSync("/proc/self/mountinfo").split("\n")) {
        const parts = line.split(" ");
        const dash = parts.indexOf("-");
        if (dash < 0 || parts.length < 5) continue;
        mounts.push([unescapeMount(parts[4]!), parts[dash + 1] ?? ""]);
      }
    }
    const real = Deno.realPathSync(path);
    let best = "";
    let type = "";
    for (const [mp, t] of mounts) {
      const under = real === mp || real.startsWith(mp.endsWith("/") ? mp : mp + "/");
      if (under && mp.length >= best.length) {
        best = mp;
        type = t;
      }
    }
    return type;
  } catch {
    return "";
  }
}
