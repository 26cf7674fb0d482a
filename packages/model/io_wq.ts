/**
 * io-wq punt decision and within-submit posting order measured on Linux 6.18 (see
 * tests/differential/ORDERING.md). `ModelRing` asks {@linkcode puntsReq} whether a request goes to
 * its io-wq and {@linkcode wqHashOf} for the hash key, and runs the queue in {@linkcode wqOrder};
 * {@linkcode postingOrder} is the same rule on a plain description of a submit (for tests and the
 * ordering corpus).
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

/** One request of a submit, for {@link postingOrder}. */
export interface WqItem {
  /** Goes to io-wq. */
  punted: boolean;
  /** Hash key (inode) for hashed work (buffered writes), or null for unhashed work. */
  hash: number | null;
  /** Index of the link head this item follows (it runs right after it), or null. */
  after: number | null;
}

/**
 * The order in which CQEs of one submit are posted, by item index. Deterministic choice where the
 * kernel races (ORDERING.md "WR", "Wr"): punted work runs after the whole submit was issued, so
 * inline CQEs come first in submission order; then hashed work in submission order with unhashed
 * work behind all hashed work of the submit (WFW → 0,2,1); a link member right after its head.
 *
 * @param items The submit's requests in submission order.
 * @returns Indexes in posting order.
 */
export function postingOrder(items: readonly WqItem[]): number[] {
  const out: number[] = [];
  const followers = new Map<number, number[]>();
  items.forEach((it, i) => {
    if (it.after !== null) followers.set(it.after, [...(followers.get(it.after) ?? []), i]);
  });
  const emit = (i: number): void => {
    out.push(i);
    for (const f of followers.get(i) ?? []) emit(f);
  };
  const heads = items.map((it, i) => ({ it, i })).filter(({ it }) => it.after === null);
  for (const { it, i } of heads) if (!it.punted) emit(i);
  for (const { it, i } of heads) if (it.punted && it.hash !== null) emit(i);
  for (const { it, i } of heads) if (it.punted && it.hash === null) emit(i);
  return out;
}

function isWrite(opcode: number): boolean {
  return opcode === IORING_OP_WRITE || opcode === IORING_OP_WRITEV ||
    opcode === IORING_OP_WRITE_FIXED;
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

/**
 * The order in which the model's io-wq runs the work queued by one submit (or one round of task
 * work): hashed work first in queueing order, then unhashed work in queueing order. The kernel
 * runs unhashed work on other workers in parallel; the model picks the outcome measured as
 * nearly always (ORDERING.md "WFW" 021, "WAw" 021, "W!N!N" 201): unhashed work finishes after the
 * hashed work queued with it. Stable sort of `work` by that rule.
 *
 * @param work Queued work, in queueing order, with its hash key.
 * @returns The same items in run order.
 */
export function wqOrder<T>(work: readonly { item: T; hash: string | null }[]): T[] {
  const out: T[] = [];
  for (const w of work) if (w.hash !== null) out.push(w.item);
  for (const w of work) if (w.hash === null) out.push(w.item);
  return out;
}
