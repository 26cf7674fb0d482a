/**
 * The `Kernel` interface: what a `Ring` needs from whoever consumes its SQ — the three io_uring
 * syscalls (setup, enter, register), an address space for buffers, and files. `ModelKernel`
 * (this package) and `NativeKernel` (`@ublk-ts/native`) implement it; the same `Ring` drives
 * both.
 *
 * This file is the contract between packages (ring, native, fused-cmd, ublk): change it only
 * together with every implementation.
 *
 * @module
 */

/** `struct io_sqring_offsets` as the kernel fills it. */
export interface SqRingOffsets {
  /** Offset of the head counter. */
  head: number;
  /** Offset of the tail counter. */
  tail: number;
  /** Offset of the ring mask. */
  ringMask: number;
  /** Offset of the entry count. */
  ringEntries: number;
  /** Offset of the flags word. */
  flags: number;
  /** Offset of the dropped-SQE counter. */
  dropped: number;
  /** Offset of the SQ index array. */
  array: number;
}

/** `struct io_cqring_offsets` as the kernel fills it. */
export interface CqRingOffsets {
  /** Offset of the head counter. */
  head: number;
  /** Offset of the tail counter. */
  tail: number;
  /** Offset of the ring mask. */
  ringMask: number;
  /** Offset of the entry count. */
  ringEntries: number;
  /** Offset of the CQ overflow counter. */
  overflow: number;
  /** Offset of the CQE array. */
  cqes: number;
  /** Offset of the flags word. */
  flags: number;
}

/** What `io_uring_setup(2)` takes (the in-fields of `io_uring_params`). */
export interface SetupOptions {
  /** IORING_SETUP_* flags. */
  flags?: number;
  /** CQ size with IORING_SETUP_CQSIZE. */
  cqEntries?: number;
}

/**
 * A ring as the kernel made it: its fd, the out-fields of `io_uring_params`, and the three
 * mmapped areas (SQ ring, CQ ring, SQE array) as ArrayBuffers. With IORING_FEAT_SINGLE_MMAP the
 * SQ and CQ rings may be the same buffer.
 */
export interface KernelRing {
  /** The ring fd (a model fd in the model). */
  readonly fd: number;
  /** SQ entries (power of two). */
  readonly sqEntries: number;
  /** CQ entries (power of two). */
  readonly cqEntries: number;
  /** IORING_SETUP_* flags in force. */
  readonly flags: number;
  /** IORING_FEAT_* flags. */
  readonly features: number;
  /** Offsets in `sqRing`. */
  readonly sqOff: SqRingOffsets;
  /** Offsets in `cqRing`. */
  readonly cqOff: CqRingOffsets;
  /** The SQ ring memory (head, tail, mask, entries, flags, dropped, array). */
  readonly sqRing: ArrayBuffer;
  /** The CQ ring memory (head, tail, mask, entries, overflow, cqes, flags). */
  readonly cqRing: ArrayBuffer;
  /** The SQE array memory (`sqEntries` × 64 or 128 bytes). */
  readonly sqes: ArrayBuffer;

  /**
   * `io_uring_enter(2)` without waiting: consume up to `toSubmit` SQEs from the SQ ring (the
   * user has already published them by writing the SQ tail), issue them, and post every CQE
   * that is ready. Never blocks.
   *
   * @returns The number of SQEs consumed, or a negative errno (as the syscall).
   */
  submit(toSubmit: number): number;

  /**
   * Waits until at least `minComplete` CQEs are in the CQ ring (counting from the user's
   * current CQ head), running whatever must run meanwhile (sockets, timers, task work,
   * in-process servers). Resolves at once when enough are there.
   *
   * With `timeoutMs` (as `io_uring_wait_cqe_timeout`): resolves -ETIME when fewer than
   * `minComplete` CQEs arrived within that many milliseconds.
   *
   * @returns 0, or a negative errno (-ETIME on timeout, -EBADFD after close).
   */
  wait(minComplete: number, timeoutMs?: number): Promise<number>;

  /**
   * `io_uring_register(2)`.
   *
   * @returns >= 0 on success (as the syscall), or a negative errno.
   */
  register(opcode: number, arg: RegisterArg): number;

  /**
   * Optional: `io_uring_enter(0, 0, IORING_ENTER_GETEVENTS)` without waiting — flushes CQEs
   * held back by CQ overflow and runs pending task work. `Ring.peekCqe` calls it when the CQ
   * is empty and the SQ flags show IORING_SQ_CQ_OVERFLOW or IORING_SQ_TASKRUN.
   *
   * @returns 0, or a negative errno.
   */
  getEvents?(): number;

  /** Tears the ring down: in-flight requests are cancelled as on ring exit. Safe twice. */
  close(): void;
}

/**
 * Arguments of `io_uring_register(2)`, as JavaScript values instead of pointers. Which member
 * applies follows the opcode (REGISTER_BUFFERS: `buffers`, REGISTER_FILES: `fds`, BUFFERS2 /
 * FILES2: plus `flags` (IORING_RSRC_REGISTER_SPARSE) and `nr`, *_UPDATE: `offset` + the array,
 * PROBE: `probe` to fill).
 */
export interface RegisterArg {
  /** Buffers (null = sparse slot / unregister slot on update). */
  buffers?: readonly (Uint8Array | null)[];
  /** Fds (-1 = sparse slot; IORING_REGISTER_FILES_SKIP keeps a slot on update). */
  fds?: readonly number[];
  /** First slot for *_UPDATE. */
  offset?: number;
  /** Slot count for sparse registration. */
  nr?: number;
  /** `io_uring_rsrc_register.flags`. */
  flags?: number;
  /** Memory for REGISTER_PROBE: an `io_uring_probe` of `probeOps` ops to fill. */
  probe?: DataView;
}

/** Open flags understood by `Kernel.open` (Linux values), from `@ublk-ts/uapi`. */
export {
  O_APPEND,
  O_CLOEXEC,
  O_CREAT,
  O_DIRECT,
  O_EXCL,
  O_RDONLY,
  O_RDWR,
  O_TRUNC,
  O_WRONLY,
} from "@ublk-ts/uapi";

/**
 * An in-process client of a block device (what `open("/dev/ublkbN")` + `pread`/`pwrite`
 * give a real program): byte offsets and lengths in multiples of the logical block size.
 * Every method resolves with bytes done or a negative errno, as the syscalls return.
 */
export interface BlockDevice {
  /** Capacity in bytes. */
  readonly size: number;
  /** Logical block size in bytes. */
  readonly logicalBlockSize: number;
  /** Whether writes fail -EROFS. */
  readonly readOnly: boolean;
  /** Whether the disk exists (false once its driver removed it). */
  readonly present: boolean;
  /** Largest request the block layer sends the driver (`max_sectors_kb` × 1024). */
  readonly maxRequestBytes: number;
  /** Requests issued to the driver and not yet completed (`/sys/block/<dev>/inflight`). */
  readonly inflight: number;
  /**
   * Reads `buf.length` bytes at `offset`.
   *
   * @returns Bytes read, or a negative errno.
   */
  read(offset: number, buf: Uint8Array): Promise<number>;
  /**
   * Writes `data` at `offset`; `fua` forces it to stable media (REQ_FUA, as `RWF_DSYNC`).
   *
   * @returns Bytes written, or a negative errno.
   */
  write(offset: number, data: Uint8Array, options?: { fua?: boolean }): Promise<number>;
  /**
   * Flushes the device's volatile cache (`fsync`).
   *
   * @returns 0, or a negative errno.
   */
  flush(): Promise<number>;
  /**
   * Discards a range (`BLKDISCARD`, `fallocate(PUNCH_HOLE)`).
   *
   * @returns 0, or a negative errno (-EOPNOTSUPP without discard).
   */
  discard(offset: number, len: number): Promise<number>;
  /**
   * Writes zeroes over a range (`BLKZEROOUT`, `fallocate(ZERO_RANGE)`).
   *
   * @returns 0, or a negative errno.
   */
  writeZeroes(offset: number, len: number): Promise<number>;
}

/**
 * One io_uring implementation.
 */
export interface Kernel {
  /** "model" or "native". */
  readonly name: string;

  /**
   * `io_uring_setup(2)`.
   *
   * @throws {ErrnoError} when the kernel refuses (bad entries, flags).
   */
  setup(entries: number, options?: SetupOptions): KernelRing;

  /**
   * The address the kernel sees for `bytes[0]`: a real pointer in native mode, an address in
   * the model's address space otherwise. Cached per ArrayBuffer (never recomputed per I/O).
   * Safety: the memory must stay alive while any SQE that names it is in flight.
   */
  addressOf(bytes: Uint8Array): bigint;

  /**
   * `open(2)` of a path (regular files, and in the model its device files such as
   * `/dev/ublk-control`).
   *
   * @returns An fd, or a negative errno.
   */
  open(path: string, flags: number, mode?: number): number;

  /**
   * `close(2)`.
   *
   * @returns 0 or a negative errno.
   */
  closeFd(fd: number): number;

  /**
   * `mmap(2)` of a region of an open file, shared: the ublk char device's descriptor area
   * (`UBLKSRV_CMD_BUF_OFFSET + q_id * ublk_max_cmd_buf_size()`).
   *
   * Safety: the returned memory is valid until {@linkcode Kernel.munmap}; touching it after
   * that is a use after free on a real kernel.
   *
   * @param fd The open file.
   * @param offset Byte offset in the file (page aligned).
   * @param length Bytes.
   * @param prot `PROT_READ` / `PROT_WRITE`.
   * @returns The mapping, or a negative errno (-ENODEV for a file that cannot be mapped).
   */
  mmap(fd: number, offset: number, length: number, prot: number): ArrayBuffer | number;

  /**
   * `munmap(2)` of a mapping returned by {@linkcode Kernel.mmap}.
   *
   * @param mapping The mapping.
   * @returns 0, or a negative errno (-EINVAL for memory this kernel did not map).
   */
  munmap(mapping: ArrayBuffer): number;

  /**
   * Optional: an in-process client of the block device at `path` (e.g. `/dev/ublkb0`), as a
   * program that opens it would have. The model kernel returns the block devices its drivers
   * registered; a real kernel may open the node.
   *
   * @param path The block device node.
   * @returns The client, or `undefined` when there is no such device.
   */
  blockDevice?(path: string): BlockDevice | undefined;
}
