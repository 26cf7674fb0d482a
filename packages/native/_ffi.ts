/**
 * The one FFI symbol table of `@ublk-ts/native`: liburing (setup, enter, register, exit) and the
 * few libc calls Deno does not expose with an fd (open, close, pread, pwrite, ftruncate,
 * socketpair, and eventfd/read/write/poll for the wait of a ring only one thread may enter). Symbols that liburing added after 2.0 are `optional: true`; the loader and the
 * kernel fall back to `syscall(2)` when they are absent.
 *
 * Facts (liburing 2.3 on Debian 12, `nm -D liburing.so.2`): no `io_uring_prep_*` (inline only);
 * `io_uring_enter`, `io_uring_enter2`, `io_uring_register` and `io_uring_setup` exist from
 * LIBURING_2.3 and return a negative errno (never -1 + errno).
 *
 * @module
 */

/** liburing symbols. */
export const LIBURING_SYMBOLS = {
  /** int io_uring_queue_init_params(unsigned entries, struct io_uring *ring, struct io_uring_params *p) */
  io_uring_queue_init_params: {
    parameters: [
      "u32", // unsigned entries
      "buffer", // struct io_uring *ring
      "buffer", // struct io_uring_params *p
    ],
    result: "i32", // int: 0 or -errno
  },
  /** void io_uring_queue_exit(struct io_uring *ring) */
  io_uring_queue_exit: {
    parameters: [
      "buffer", // struct io_uring *ring
    ],
    result: "void",
  },
  /** int io_uring_submit(struct io_uring *ring) */
  io_uring_submit: {
    parameters: [
      "buffer", // struct io_uring *ring
    ],
    result: "i32", // int: submitted or -errno
  },
  /** int io_uring_submit_and_wait(struct io_uring *ring, unsigned wait_nr), on a worker thread */
  io_uring_submit_and_wait: {
    parameters: [
      "pointer", // struct io_uring *ring
      "u32", // unsigned wait_nr
    ],
    result: "i32", // int: submitted or -errno
    nonblocking: true,
  },
  /** int io_uring_enter(unsigned fd, unsigned to_submit, unsigned min_complete, unsigned flags, sigset_t *sig) */
  io_uring_enter: {
    parameters: [
      "u32", // unsigned int fd
      "u32", // unsigned int to_submit
      "u32", // unsigned int min_complete
      "u32", // unsigned int flags
      "pointer", // sigset_t *sig
    ],
    result: "i32", // int: consumed or -errno
    optional: true,
  },
  /**
   * int io_uring_enter2(unsigned fd, unsigned to_submit, unsigned min_complete, unsigned flags,
   * sigset_t *sig, size_t sz), on a worker thread (the async wait)
   */
  io_uring_enter2_nb: {
    name: "io_uring_enter2",
    parameters: [
      "u32", // unsigned int fd
      "u32", // unsigned int to_submit
      "u32", // unsigned int min_complete
      "u32", // unsigned int flags
      "pointer", // sigset_t *sig (struct io_uring_getevents_arg * with IORING_ENTER_EXT_ARG)
      "usize", // size_t sz
    ],
    result: "i32", // int: consumed or -errno
    nonblocking: true,
    optional: true,
  },
  /** int io_uring_register(unsigned fd, unsigned opcode, const void *arg, unsigned nr_args) */
  io_uring_register: {
    parameters: [
      "u32", // unsigned int fd
      "u32", // unsigned int opcode
      "pointer", // const void *arg
      "u32", // unsigned int nr_args
    ],
    result: "i32", // int: >= 0 or -errno
    optional: true,
  },
  /** int io_uring_register_buffers(struct io_uring *ring, const struct iovec *iovecs, unsigned nr_iovecs) */
  io_uring_register_buffers: {
    parameters: [
      "buffer", // struct io_uring *ring
      "pointer", // const struct iovec *iovecs
      "u32", // unsigned nr_iovecs
    ],
    result: "i32", // int: 0 or -errno
  },
  /** int io_uring_register_buffers_sparse(struct io_uring *ring, unsigned nr) */
  io_uring_register_buffers_sparse: {
    parameters: [
      "buffer", // struct io_uring *ring
      "u32", // unsigned nr
    ],
    result: "i32", // int: 0 or -errno
    optional: true,
  },
  /**
   * int io_uring_register_buffers_update_tag(struct io_uring *ring, unsigned off,
   * const struct iovec *iovecs, const __u64 *tags, unsigned nr)
   */
  io_uring_register_buffers_update_tag: {
    parameters: [
      "buffer", // struct io_uring *ring
      "u32", // unsigned off
      "pointer", // const struct iovec *iovecs
      "pointer", // const __u64 *tags
      "u32", // unsigned nr
    ],
    result: "i32", // int: updated or -errno
    optional: true,
  },
  /** int io_uring_unregister_buffers(struct io_uring *ring) */
  io_uring_unregister_buffers: {
    parameters: [
      "buffer", // struct io_uring *ring
    ],
    result: "i32", // int: 0 or -errno
  },
  /** int io_uring_register_files(struct io_uring *ring, const int *files, unsigned nr_files) */
  io_uring_register_files: {
    parameters: [
      "buffer", // struct io_uring *ring
      "pointer", // const int *files
      "u32", // unsigned nr_files
    ],
    result: "i32", // int: 0 or -errno
  },
  /** int io_uring_register_files_update(struct io_uring *ring, unsigned off, const int *files, unsigned nr_files) */
  io_uring_register_files_update: {
    parameters: [
      "buffer", // struct io_uring *ring
      "u32", // unsigned off
      "pointer", // const int *files
      "u32", // unsigned nr_files
    ],
    result: "i32", // int: updated or -errno
  },
  /** int io_uring_unregister_files(struct io_uring *ring) */
  io_uring_unregister_files: {
    parameters: [
      "buffer", // struct io_uring *ring
    ],
    result: "i32", // int: 0 or -errno
  },
  /** int io_uring_register_probe(struct io_uring *ring, struct io_uring_probe *p, unsigned nr) */
  io_uring_register_probe: {
    parameters: [
      "buffer", // struct io_uring *ring
      "pointer", // struct io_uring_probe *p
      "u32", // unsigned nr
    ],
    result: "i32", // int: 0 or -errno
  },
  /** struct io_uring_probe *io_uring_get_probe_ring(struct io_uring *ring) */
  io_uring_get_probe_ring: {
    parameters: [
      "buffer", // struct io_uring *ring
    ],
    result: "pointer", // struct io_uring_probe * (malloc'd) or NULL
  },
  /** void io_uring_free_probe(struct io_uring_probe *probe) */
  io_uring_free_probe: {
    parameters: [
      "pointer", // struct io_uring_probe *probe
    ],
    result: "void",
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** libc (`libc.so.6`) symbols. */
export const LIBC_SYMBOLS = {
  /** int open(const char *pathname, int flags, mode_t mode) (variadic; x86_64 passes mode in a GPR) */
  open: {
    parameters: [
      "buffer", // const char *pathname (NUL-terminated)
      "i32", // int flags
      "u32", // mode_t mode
    ],
    result: "i32", // int: fd or -1 + errno
  },
  /** int fstatfs(int fd, struct statfs *buf) */
  fstatfs: {
    parameters: [
      "i32", // int fd
      "buffer", // struct statfs *buf (STATFS_SIZE bytes; f_type at 0)
    ],
    result: "i32", // int: 0 or -1 + errno
  },
  /** int close(int fd) */
  close: {
    parameters: [
      "i32", // int fd
    ],
    result: "i32", // int: 0 or -1 + errno
  },
  /** ssize_t pread(int fd, void *buf, size_t count, off_t offset) */
  pread: {
    parameters: [
      "i32", // int fd
      "buffer", // void *buf
      "usize", // size_t count
      "i64", // off_t offset
    ],
    result: "isize", // ssize_t: bytes or -1 + errno
  },
  /** ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset) */
  pwrite: {
    parameters: [
      "i32", // int fd
      "buffer", // const void *buf
      "usize", // size_t count
      "i64", // off_t offset
    ],
    result: "isize", // ssize_t: bytes or -1 + errno
  },
  /** int ftruncate(int fd, off_t length) */
  ftruncate: {
    parameters: [
      "i32", // int fd
      "i64", // off_t length
    ],
    result: "i32", // int: 0 or -1 + errno
  },
  /** int fstat(int fd, struct stat *statbuf) (glibc >= 2.33 exports it) */
  fstat: {
    parameters: [
      "i32", // int fd
      "buffer", // struct stat *statbuf (144 bytes on x86_64)
    ],
    result: "i32", // int: 0 or -1 + errno
  },
  /** int eventfd(unsigned int initval, int flags) */
  eventfd: {
    parameters: [
      "u32", // unsigned int initval
      "i32", // int flags (EFD_NONBLOCK = O_NONBLOCK, EFD_CLOEXEC = O_CLOEXEC)
    ],
    result: "i32", // int: fd or -1 + errno
  },
  /** ssize_t read(int fd, void *buf, size_t count) */
  read: {
    parameters: [
      "i32", // int fd
      "buffer", // void *buf
      "usize", // size_t count
    ],
    result: "isize", // ssize_t: bytes or -1 + errno
  },
  /** ssize_t write(int fd, const void *buf, size_t count) */
  write: {
    parameters: [
      "i32", // int fd
      "buffer", // const void *buf
      "usize", // size_t count
    ],
    result: "isize", // ssize_t: bytes or -1 + errno
  },
  /** int poll(struct pollfd *fds, nfds_t nfds, int timeout), on a worker thread (the eventfd wait) */
  poll_nb: {
    name: "poll",
    parameters: [
      "buffer", // struct pollfd *fds
      "u64", // nfds_t nfds
      "i32", // int timeout (ms)
    ],
    result: "i32", // int: ready fds, 0 on timeout, or -1 + errno
    nonblocking: true,
  },
  /** int socketpair(int domain, int type, int protocol, int sv[2]) */
  socketpair: {
    parameters: [
      "i32", // int domain
      "i32", // int type
      "i32", // int protocol
      "buffer", // int sv[2]
    ],
    result: "i32", // int: 0 or -1 + errno
  },
  /** int *__errno_location(void) */
  __errno_location: {
    parameters: [],
    result: "pointer", // int * (this thread's errno)
  },
  /** long syscall(long number, ...) with six long arguments (fallback for old liburing) */
  syscall: {
    parameters: [
      "i64", // long number
      "i64", // long a1
      "i64", // long a2
      "i64", // long a3
      "i64", // long a4
      "i64", // long a5
      "i64", // long a6
    ],
    result: "i64", // long: result or -1 + errno
  },
  /** long syscall(long number, ...) on a worker thread (fallback async wait) */
  syscall_nb: {
    name: "syscall",
    parameters: [
      "i64", // long number
      "i64", // long a1
      "i64", // long a2
      "i64", // long a3
      "i64", // long a4
      "i64", // long a5
      "i64", // long a6
    ],
    result: "i64", // long: result or -1 + errno
    nonblocking: true,
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** The opened liburing. */
export type LiburingLibrary = Deno.DynamicLibrary<typeof LIBURING_SYMBOLS>;

/** The opened libc. */
export type LibcLibrary = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>;

/** `__NR_io_uring_setup` on x86_64. */
export const NR_IO_URING_SETUP = 425;
/** `__NR_io_uring_enter` on x86_64. */
export const NR_IO_URING_ENTER = 426;
/** `__NR_io_uring_register` on x86_64. */
export const NR_IO_URING_REGISTER = 427;
