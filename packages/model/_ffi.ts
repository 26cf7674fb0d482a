/**
 * The libc symbols the sync backend uses for positional I/O (loaded lazily; the backend falls
 * back to `Deno.FsFile` seek + read when FFI is unavailable).
 *
 * @module
 */

/** libc symbols. */
export const LIBC_SYMBOLS = {
  /** int open(const char *path, int flags, mode_t mode) */
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  /** int close(int fd) */
  close: { parameters: ["i32"], result: "i32" },
  /**
   * ssize_t pread64(int fd, void *buf, size_t count, off_t offset); the result is read as its
   * low 32 bits (counts stay below 2^31), which avoids a bigint per call.
   */
  pread64: { parameters: ["i32", "buffer", "usize", "i64"], result: "i32" },
  /** ssize_t pwrite64(int fd, const void *buf, size_t count, off_t offset); low 32 bits. */
  pwrite64: { parameters: ["i32", "buffer", "usize", "i64"], result: "i32" },
  /** int fsync(int fd) */
  fsync: { parameters: ["i32"], result: "i32" },
  /** int fdatasync(int fd) */
  fdatasync: { parameters: ["i32"], result: "i32" },
  /** int fallocate(int fd, int mode, off_t offset, off_t len) */
  fallocate: { parameters: ["i32", "i32", "i64", "i64"], result: "i32" },
  /** off_t lseek(int fd, off_t offset, int whence) */
  lseek: { parameters: ["i32", "i64", "i32"], result: "i64" },
  /** int fstatfs(int fd, struct statfs *buf) */
  fstatfs: { parameters: ["i32", "buffer"], result: "i32" },
  /** int *__errno_location(void) */
  __errno_location: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The loaded libc. */
export type Libc = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"];

let loaded: Libc | null | undefined;
let errnoView: Deno.UnsafePointerView | null = null;

/**
 * libc, or `null` when FFI is not allowed or the library is missing.
 *
 * @returns The symbols.
 */
export function libc(): Libc | null {
  if (loaded !== undefined) return loaded;
  try {
    loaded = Deno.dlopen("libc.so.6", LIBC_SYMBOLS).symbols;
    const p = loaded.__errno_location();
    errnoView = p ? new Deno.UnsafePointerView(p) : null;
  } catch {
    loaded = null;
  }
  return loaded;
}

/**
 * The calling thread's errno as a negative number.
 *
 * @returns `-errno` (-EIO when unknown).
 */
export function negErrno(): number {
  const e = errnoView ? errnoView.getInt32() : 5;
  return -(e || 5);
}

/**
 * A number passed where the FFI types say bigint: Deno accepts numbers for 64-bit parameters
 * at run time, and this avoids a bigint per call.
 *
 * @param n A safe integer.
 * @returns The same value, typed for the FFI call.
 */
export function n64(n: number): bigint {
  return n as unknown as bigint;
}
