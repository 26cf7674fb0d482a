/**
 * io-wq punt decision and within-submit posting order measured on Linux 6.18 (see
 * tests/differential/ORDERING.md). Not yet hooked into the model's submission path: this module
 * holds the rules so the submission path and the ordering corpus can share one definition.
 *
 * @module
 */

import {
  IORING_OP_FALLOCATE,
  IORING_OP_FSYNC,
  IORING_OP_READ,
  IORING_OP_READV,
  IORING_OP_WRITE,
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
  const write = opcode === IORING_OP_WRITE || opcode === IORING_OP_WRITEV;
  const read = opcode === IORING_OP_READ || opcode === IORING_OP_READV;
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
