/**
 * io-wq rules measured on Linux 6.18 (tests/differential/ORDERING.md, and the recorded corpus
 * tests/differential/ordering/corpus_*.json that the model replays without a stable mismatch).
 * `ModelRing` asks {@linkcode puntsReq} whether a request goes to its io-wq and
 * {@linkcode wqHashOf} for the hash key, queues it in an {@linkcode IoWqList}, lets the worker
 * run early at {@linkcode reschedsBeforeIssue}, and parks {@linkcode blocksOnWorker} work.
 *
 * The order the model gives, where the kernel's comes from timing (the model's picks, each
 * documented at the code that makes it):
 *
 * 1. Inline completions post their CQEs when the submit ends (`io_submit_flush_completions`);
 *    io-wq posts its own when the work completes.
 * 2. The worker runs when the submitter reaches a resched point: an inline ext4 read, or the
 *    return to user space after the flush (`ModelRing#runWq`), before the submitter's task work
 *    (`exit_to_user_mode_loop` schedules before it runs task work).
 * 3. One worker takes the list in order ({@linkcode IoWqList}: writes to one inode chained).
 * 4. A link member runs on the worker right after its head (unless more of a hash chain is
 *    left); members and requests punted without an inline attempt are unhashed.
 * 5. Work that blocks waits until nothing else can run; the list behind it resumes after the
 *    submitter's task work.
 *
 * @module
 */

import {
  IORING_OP_FALLOCATE,
  IORING_OP_FSYNC,
  IORING_OP_READ,
  IORING_OP_READ_FIXED,
  IORING_OP_READV,
  IORING_OP_WRITE,
  IORING_OP_WRITE_FIXED,
  IORING_OP_WRITEV,
  IOSQE_ASYNC,
} from "@ublk-ts/uapi";

/** `statfs(2)` `f_type` of tmpfs (`TMPFS_MAGIC`). */
export const TMPFS_MAGIC = 0x01021994;
/** `statfs(2)` `f_type` of ext2/3/4 (`EXT4_SUPER_MAGIC`). */
export const EXT4_SUPER_MAGIC = 0xef53;

/** The file a request targets, as far as the punt decision cares. */
export type PuntFile = "ext4" | "tmpfs" | "none";

/**
 * The punt target of a regular file by its `statfs` `f_type`; unknown file systems punt as ext4.
 *
 * @param magic `f_type`.
 * @returns "tmpfs" for tmpfs, otherwise "ext4".
 */
export function puntFileOfMagic(magic: number): PuntFile {
  return (magic >>> 0) === TMPFS_MAGIC ? "tmpfs" : "ext4";
}

/**
 * The punt target of a regular file by the file system type name a backend reports
 * (`BackendFile.fsType`, from /proc/self/mountinfo, the mount's `statfs` type); unknown and
 * empty punt as ext4.
 *
 * @param fsType "tmpfs", "ext4", …
 * @returns "tmpfs" for tmpfs, otherwise "ext4".
 */
export function puntFileOfFsType(fsType: string | undefined): PuntFile {
  return fsType === "tmpfs" ? "tmpfs" : "ext4";
}

/**
 * Whether a request goes to io-wq instead of completing inside `io_uring_enter` (6.18, measured):
 * IOSQE_ASYNC always; on ext4 buffered writes, FSYNC and FALLOCATE (cached reads inline); on tmpfs
 * reads, writes, FSYNC and FALLOCATE; anything else inline.
 *
 * @param opcode The SQE opcode.
 * @param sqeFlags The SQE flags.
 * @param file The target file's punt class.
 * @returns True when punted.
 */
export function punts(opcode: number, sqeFlags: number, file: PuntFile): boolean {
  if (sqeFlags & IOSQE_ASYNC) return true;
  const write = isWrite(opcode);
  const read = opcode === IORING_OP_READ || opcode === IORING_OP_READV ||
    opcode === IORING_OP_READ_FIXED;
  const sync = opcode === IORING_OP_FSYNC || opcode === IORING_OP_FALLOCATE;
  if (file === "ext4") return write || sync;
  if (file === "tmpfs") return write || read || sync;
  return false;
}

function isWrite(opcode: number): boolean {
  return opcode === IORING_OP_WRITE || opcode === IORING_OP_WRITEV ||
    opcode === IORING_OP_WRITE_FIXED;
}

/**
 * Whether issuing a request inline passes a resched point before it reads the file, where a
 * woken io-wq worker preempts the submitter (PREEMPT_NONE: `filemap_read`'s `cond_resched`)
 * and runs the work queued so far: a READ of an ext4 regular file. Measured on 6.18
 * (ORDERING.md, corpus): an inline read after a punted write sees the write, whose CQE comes
 * before the submit's inline CQEs ("w0.8 r2.1" → 0,1 reading A; "w4.4 w0.4+ w8.4 r8.1"); with
 * NOPs only the inline CQEs come first ("WN" → 1,0). The kernel races here (the worker may run
 * on the other CPU instead); the model always lets the worker run.
 *
 * @param req The request, about to be issued inline.
 * @returns True when queued io-wq work runs first.
 */
export function reschedsBeforeIssue(req: WqReq): boolean {
  if (req.isSlave) return false;
  const read = req.opcode === IORING_OP_READ || req.opcode === IORING_OP_READV ||
    req.opcode === IORING_OP_READ_FIXED;
  return read && puntFileOf(req.file) === "ext4" && req.file?.kind === "file";
}

/**
 * Whether a request blocks its io-wq worker for longer than anything else of a submit takes:
 * an FSYNC of an ext4 file (`ext4_sync_file` waits for the disk, a cache flush even when
 * nothing is dirty). Measured on 6.18: work queued behind it and the submitter's task work
 * finish first ("w4.8 F A" → 0,2,1; "F r4.4" → 1,0; "N+ N F!" → 0,1,2). tmpfs fsync is a
 * no-op and FALLOCATE does not wait for I/O ("A w0.4" → 0,1).
 *
 * @param req The request, about to run on a worker.
 * @returns True when it blocks.
 */
export function blocksOnWorker(req: WqReq): boolean {
  return req.opcode === IORING_OP_FSYNC && req.file !== null && puntFileOf(req.file) === "ext4" &&
    req.file.kind === "file";
}

/** What {@linkcode puntsReq} and {@linkcode wqHashOf} need of a request (a model `Request`). */
export interface WqReq {
  /** Opcode. */
  readonly opcode: number;
  /** IOSQE_* flags. */
  readonly flags: number;
  /** The fused-slave flag: a slave is issued by its master, never punted. */
  readonly isSlave: boolean;
  /** The file (null when the op has none). */
  readonly file: {
    readonly kind: string;
    readonly path: string;
    readonly punt: PuntFile | null;
    readonly handle: { readonly fsType?: string } | null;
  } | null;
}

/**
 * The punt class of a request's file: the file's `punt` override when set, else "none" for
 * anything but a regular file, else by the backend's file system type.
 *
 * @param file The file, or null.
 * @returns The class.
 */
export function puntFileOf(file: WqReq["file"]): PuntFile {
  if (file === null) return "none";
  if (file.punt !== null) return file.punt;
  if (file.kind !== "file") return "none";
  return puntFileOfFsType(file.handle?.fsType);
}

/**
 * Whether a request goes to io-wq ({@linkcode punts} on its opcode, flags and file). Fused slaves
 * never do (their master issues them).
 *
 * @param req The request (its file assigned).
 * @returns True when punted.
 */
export function puntsReq(req: WqReq): boolean {
  if (req.isSlave) return false;
  return punts(req.opcode, req.flags, puntFileOf(req.file));
}

/**
 * The io-wq hash key of a punted request (`io_prep_async_work`: buffered and direct writes to a
 * regular file are hashed by inode; FSYNC, FALLOCATE, reads and NOPs are not). The model names an
 * inode by the path the backend opened (two opens of one path share the hash).
 *
 * @param req The request.
 * @returns The key, or null for unhashed work.
 */
export function wqHashOf(req: WqReq): string | null {
  const f = req.file;
  if (f === null || f.kind !== "file" || !isWrite(req.opcode)) return null;
  return f.path;
}

/** One queued io-wq work item of {@linkcode IoWqList}. */
interface WqEntry<T> {
  readonly item: T;
  readonly hash: string | null;
}

/**
 * The work list of one io-wq (the bounded `io_wq_acct`), as `io_wq_insert_work` and
 * `io_get_next_work` keep it on 6.18:
 *
 * - unhashed work is appended;
 * - hashed work is inserted right after the last queued work of the same hash (`hash_tail`),
 *   so writes to one inode stay together and in order, ahead of unhashed work queued after the
 *   first of them (ORDERING.md "WFW" → 0,2,1, "WAw" → 0,2,1);
 * - a worker takes an unhashed item alone, a hashed item with every item of its hash behind it
 *   (`wq_list_cut` up to `hash_tail`, which is cleared: later work of that hash is appended).
 *
 * The model runs one worker (see `ModelRing`'s `#runWq`); the kernel's list is per ring.
 */
export class IoWqList<T> {
  readonly #list: WqEntry<T>[] = [];
  readonly #tail = new Map<string, WqEntry<T>>();

  /** Work queued. */
  get length(): number {
    return this.#list.length;
  }

  /**
   * `io_wq_enqueue`'s insertion.
   *
   * @param item The work.
   * @param hash Its hash key (inode), or null for unhashed work.
   */
  enqueue(item: T, hash: string | null): void {
    const e = { item, hash };
    if (hash === null) {
      this.#list.push(e);
      return;
    }
    const tail = this.#tail.get(hash);
    this.#tail.set(hash, e);
    const at = tail === undefined ? -1 : this.#list.indexOf(tail);
    if (at < 0) this.#list.push(e);
    else this.#list.splice(at + 1, 0, e);
  }

  /**
   * What an idle worker takes next (`io_get_next_work`): the first item, with the rest of its
   * hash chain when hashed.
   *
   * @returns The items in run order, or null when the list is empty.
   */
  take(): T[] | null {
    const first = this.#list[0];
    if (first === undefined) return null;
    if (first.hash === null) return [this.#list.shift()!.item];
    const tail = this.#tail.get(first.hash)!;
    this.#tail.delete(first.hash);
    return this.#list.splice(0, this.#list.indexOf(tail) + 1).map((e) => e.item);
  }

  /** Drops everything queued. */
  clear(): void {
    this.#list.length = 0;
    this.#tail.clear();
  }
}
