/**
 * SQE programs of the differential suite: a ring setup, files, buffers, sockets, registered
 * resources and batches of SQEs described with symbolic references (file i, buffer j at
 * offset k) so that the same program runs on any `Kernel`.
 *
 * @module
 */

/** A file with open flags. */
export interface FileSpec {
  /** Initial size. */
  size: number;
  /** O_* flags (Linux values). */
  flags: number;
}

/** Where an SQE's `fd` points. */
export type FdRef =
  /** A raw fd value (bad fds, fixed indexes given as numbers). */
  | number
  /** File `i` of the program. */
  | { file: number }
  /** Directory `i` of the program. */
  | { dir: number }
  /** Socket pair `pair`, end 0 or 1. */
  | { sock: number; end: 0 | 1 };

/** Where an SQE's `addr` points. */
export type AddrRef =
  /** A raw address. */
  | bigint
  /** Buffer `buf`, `at` bytes in. */
  | { buf: number; at?: number }
  /** An iovec array built for this SQE over slices of buffers (`len` may exceed the buffer). */
  | { iov: { buf: number; at?: number; len: number }[] }
  /** A `__kernel_timespec`. */
  | { ts: [sec: number, nsec: number] };

/** One SQE. Unset fields are zero. */
export interface SqeSpec {
  /** `opcode`. */
  op: number;
  /** `user_data` (unique per program, except where a test wants otherwise). */
  ud: number;
  /** IOSQE_* flags. */
  flags?: number;
  /** `ioprio`. */
  ioprio?: number;
  /** `fd`. */
  fd?: FdRef;
  /** `off` (or `addr2`). */
  off?: number | bigint;
  /** `addr`. */
  addr?: AddrRef;
  /** `len`. */
  len?: number;
  /** The op-flags union at 28. */
  opFlags?: number;
  /** `buf_index`. */
  bufIndex?: number;
  /** `personality`. */
  personality?: number;
  /** `splice_fd_in` / `file_index`. */
  spliceFdIn?: number;
  /** `addr3`. */
  addr3?: bigint;
  /** `__pad2[0]`. */
  pad2?: bigint;
}

/** A batch: SQEs pushed together then one `submit(all pending)`. */
export interface Batch {
  /** The SQEs. */
  sqes: SqeSpec[];
  /** Reap completions after this batch (default true; false keeps the CQ full for overflow). */
  reap?: boolean;
  /** Sleep this many ms after submitting (for timers). */
  sleepMs?: number;
}

/** One program. */
export interface Program {
  /** A unique name (printed on failure). */
  name: string;
  /** SQ entries (default 16). */
  entries?: number;
  /** IORING_SETUP_* flags. */
  setupFlags?: number;
  /** CQ entries (with IORING_SETUP_CQSIZE). */
  cqEntries?: number;
  /**
   * Initial file sizes (or a size with open flags, default O_RDWR); contents are a pattern
   * fixed by the file index.
   */
  files?: (number | FileSpec)[];
  /** Directories opened O_RDONLY (fd `{ dir: i }`). */
  dirs?: number;
  /** Buffer sizes; contents are a pattern fixed by the buffer index. */
  bufs?: number[];
  /** Number of AF_UNIX stream socket pairs. */
  sockets?: number;
  /** Registered buffers: buffer indexes (null = sparse slot). */
  fixedBufs?: (number | null)[];
  /** Registered files: file indexes, or -1 for an empty slot. */
  fixedFiles?: number[];
  /** The batches. */
  batches: Batch[];
}

/** The pattern byte of file `file` at `pos`. */
export function filePattern(file: number, pos: number): number {
  return (pos * 31 + file * 17 + 7) & 0xff;
}

/** The pattern byte of buffer `buf` at `pos` (never 0, so reads of zeros are visible). */
export function bufPattern(buf: number, pos: number): number {
  return ((pos * 13 + buf * 101) % 255) + 1;
}
