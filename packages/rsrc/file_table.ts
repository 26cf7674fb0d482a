/**
 * {@linkcode FileTable}: io_uring's registered (fixed) files — IORING_REGISTER_FILES,
 * IORING_REGISTER_FILES2 with IORING_RSRC_REGISTER_SPARSE, IORING_REGISTER_FILES_UPDATE (with
 * IORING_REGISTER_FILES_SKIP) and IORING_UNREGISTER_FILES — plus the direct-descriptor install
 * and remove that openat/close with a file index use. Errno results are Linux 6.x's.
 *
 * @module
 */

import { EBADF, EBUSY, EINVAL, EMFILE, ENFILE, ENXIO } from "@ublk-ts/uapi";
import { RsrcNode } from "./rsrc_node.ts";
import { SlotTable } from "./_slot_table.ts";

/** `IORING_MAX_FIXED_FILES` (io_uring/rsrc.h): most files a table may hold, 1 << 20. */
export const IORING_MAX_FIXED_FILES: number = 1 << 20;
/** `IORING_REGISTER_FILES_SKIP` (-2): in an update, leaves the slot as it is. */
export const IORING_REGISTER_FILES_SKIP: number = -2;
/** The fd value of an empty slot in a registration or update (-1). */
export const FILES_SPARSE_FD: number = -1;

/** A file in a slot, with its reference count (`.value` is the file). */
export type FixedFile<F> = RsrcNode<F>;

/** Options of {@linkcode FileTable}. */
export interface FileTableOptions<F> {
  /**
   * Turns an fd of the caller's process into the file the slot will hold, taking whatever
   * reference the caller needs (the kernel's `fget`); `null` for a bad fd (-EBADF), including a
   * ring's own fd.
   */
  resolve: (fd: number) => F | null;
  /** Called when a file's last reference is dropped (the kernel's `fput`). */
  onFree?: (file: F, index: number) => void;
  /**
   * Most slots: the smaller of {@linkcode IORING_MAX_FIXED_FILES} and RLIMIT_NOFILE. Default
   * {@linkcode IORING_MAX_FIXED_FILES}.
   */
  maxFiles?: number;
}

/**
 * The registered-file table of one ring, holding files of type `F`.
 *
 * Errors follow Linux 6.x (checked on 6.18 by `testdata/rsrc_probe.c`): register while
 * registered -EBUSY; `nr` of 0 -EINVAL; above `maxFiles` -EMFILE; a bad fd (including -2 in a
 * registration) -EBADF and nothing is registered; update or unregister with no table -ENXIO;
 * update beyond the table -EINVAL; a fixed-file request naming a bad or empty slot -EBADF.
 *
 * @typeParam F The file object.
 *
 * @example Sparse table, update with skip, lookup
 * ```ts
 * import assert from "node:assert/strict";
 * import { FileTable, IORING_REGISTER_FILES_SKIP } from "@ublk-ts/rsrc";
 * const table = new FileTable<string>({ resolve: (fd) => (fd === 3 ? "file3" : null) });
 * assert.equal(table.registerSparse(2), 0);
 * assert.equal(table.update(0, [IORING_REGISTER_FILES_SKIP, 3]), 2);
 * assert.equal(table.lookup(0), -9); // -EBADF: empty
 * const f = table.lookup(1);
 * assert.equal(typeof f === "number" ? f : f.value, "file3");
 * ```
 */
export class FileTable<F> {
  readonly #slots: SlotTable<number, FixedFile<F>>;
  readonly #resolve: (fd: number) => F | null;
  readonly #onFree: ((file: F, index: number) => void) | undefined;
  #live = 0;
  #allocHint = 0;
  readonly #freeNode = (node: RsrcNode<F>): void => {
    this.#live--;
    this.#onFree?.(node.value, node.index);
  };

  /**
   * An empty table (nothing registered).
   *
   * @param options `resolve`, `onFree`, `maxFiles`.
   * @throws {RangeError} When `maxFiles` is not an integer in 1..IORING_MAX_FIXED_FILES.
   */
  constructor(options: FileTableOptions<F>) {
    const max = options.maxFiles ?? IORING_MAX_FIXED_FILES;
    if (!Number.isSafeInteger(max) || max < 1 || max > IORING_MAX_FIXED_FILES) {
      throw new RangeError(`Cannot create file table: maxFiles is ${max}`);
    }
    if (typeof options.resolve !== "function") {
      throw new TypeError("Cannot create file table: resolve is not a function");
    }
    this.#resolve = options.resolve;
    this.#onFree = options.onFree;
    this.#slots = new SlotTable({
      max,
      tooMany: EMFILE,
      skip: (fd) => fd === IORING_REGISTER_FILES_SKIP,
      make: (fd, index) => this.#make(fd, index),
    });
  }

  #node(file: F, index: number): FixedFile<F> {
    this.#live++;
    return new RsrcNode(file, index, this.#freeNode);
  }

  #make(fd: number, index: number): FixedFile<F> | null | number {
    if (fd === FILES_SPARSE_FD) return null;
    if (!Number.isInteger(fd) || fd < 0) return -EBADF;
    const file = this.#resolve(fd);
    return file === null ? -EBADF : this.#node(file, index);
  }

  /** Slots in the table (0 when nothing is registered). */
  get nr(): number {
    return this.#slots.nr;
  }

  /** Whether a table is registered. */
  get registered(): boolean {
    return this.#slots.slots !== null;
  }

  /** Files not yet freed: those in slots plus those only requests still hold. */
  get liveCount(): number {
    return this.#live;
  }

  /**
   * IORING_REGISTER_FILES (see io_uring_register_files(3)): one slot per fd, -1 leaving the
   * slot empty.
   *
   * Errors: -EBUSY when registered; -EINVAL when empty; -EMFILE above `maxFiles`; -EBADF for
   * a bad fd (every file resolved so far is released and nothing is registered).
   *
   * @param fds The fds.
   * @returns 0, or a negative errno.
   */
  register(fds: readonly number[]): number {
    const r = this.#slots.checkRegister(fds.length, EBUSY);
    return r < 0 ? r : this.#slots.register(fds);
  }

  /**
   * IORING_REGISTER_FILES2 with IORING_RSRC_REGISTER_SPARSE (see
   * io_uring_register_files_sparse(3)): `nr` empty slots.
   *
   * Errors: -EBUSY when registered; -EINVAL when `nr` is 0; -EMFILE above `maxFiles`.
   *
   * @param nr Slot count.
   * @returns 0, or a negative errno.
   */
  registerSparse(nr: number): number {
    const r = this.#slots.checkRegister(nr, EBUSY);
    if (r < 0) return r;
    this.#slots.registerSparse(nr);
    this.#allocHint = 0;
    return 0;
  }

  /**
   * IORING_REGISTER_FILES_UPDATE (see io_uring_register_files_update(3)): slot
   * `offset + i` gets `fds[i]`; -1 empties it, {@linkcode IORING_REGISTER_FILES_SKIP} leaves
   * it. A replaced file lives on until requests holding it drop their references. Stops at the
   * first bad fd.
   *
   * Errors: -EINVAL for no entries; -ENXIO when nothing is registered; -EINVAL beyond the
   * table; -EBADF for a bad first fd.
   *
   * @param offset First slot.
   * @param fds New contents.
   * @returns Slots processed (> 0, skips included), or a negative errno when none was.
   */
  update(offset: number, fds: readonly number[]): number {
    return this.#slots.update(offset, fds);
  }

  /**
   * IORING_UNREGISTER_FILES (see io_uring_unregister_files(3)). Files that requests still hold
   * stay alive until their last {@linkcode FileTable.put}.
   *
   * @returns 0, or -ENXIO when nothing is registered.
   */
  unregister(): number {
    return this.#slots.unregister();
  }

  /**
   * Installs `file` in slot `index` (a direct descriptor: openat/accept/socket with a file
   * index), replacing what was there.
   *
   * @param index The slot.
   * @param file The file (its reference passes to the table).
   * @returns 0, or -ENXIO when nothing is registered, -EINVAL when `index` is out of range.
   */
  install(index: number, file: F): number {
    if (this.#slots.slots === null) return -ENXIO;
    if (!Number.isInteger(index) || index < 0 || index >= this.#slots.nr) return -EINVAL;
    this.#slots.replace(index, this.#node(file, index));
    return 0;
  }

  /**
   * Installs `file` in a free slot (IORING_FILE_INDEX_ALLOC), searching from after the last
   * allocated slot and wrapping around.
   *
   * @param file The file.
   * @returns The slot, or -ENFILE when no slot is free (or nothing is registered).
   */
  installAlloc(file: F): number {
    const slots = this.#slots.slots;
    if (slots === null) return -ENFILE;
    const n = slots.length;
    for (let k = 0; k < n; k++) {
      const i = (this.#allocHint + k) % n;
      if (slots[i] === null) {
        slots[i] = this.#node(file, i);
        this.#allocHint = (i + 1) % n;
        return i;
      }
    }
    return -ENFILE;
  }

  /**
   * Empties slot `index` (close of a direct descriptor); the file lives on while requests hold
   * it.
   *
   * @param index The slot.
   * @returns 0, or -ENXIO when nothing is registered, -EINVAL when `index` is out of range,
   *   -EBADF when the slot is empty.
   */
  remove(index: number): number {
    if (this.#slots.slots === null) return -ENXIO;
    if (!Number.isInteger(index) || index < 0 || index >= this.#slots.nr) return -EINVAL;
    if (this.#slots.slots[index] === null) return -EBADF;
    this.#slots.replace(index, null);
    return 0;
  }

  /**
   * Unregisters whatever is registered; safe to call twice. Held entries live on until their
   * last `put()`.
   */
  close(): void {
    this.#slots.unregister();
  }

  /** Alias of {@linkcode FileTable.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * The file in slot `index`, without taking a reference.
   *
   * @param index The SQE's `fd` with IOSQE_FIXED_FILE.
   * @returns The file's node, or -EBADF when `index` is out of range or the slot is empty.
   */
  lookup(index: number): FixedFile<F> | number {
    return this.#slots.lookup(index) ?? -EBADF;
  }

  /**
   * The file in slot `index`, with a reference the caller (an in-flight request) must return
   * with {@linkcode FileTable.put}.
   *
   * @param index The SQE's `fd` with IOSQE_FIXED_FILE.
   * @returns The file's node, or -EBADF when `index` is out of range or the slot is empty.
   */
  get(index: number): FixedFile<F> | number {
    const node = this.#slots.lookup(index);
    return node === null ? -EBADF : node.ref();
  }

  /**
   * Returns a reference taken with {@linkcode FileTable.get}.
   *
   * @param file The node `get` returned.
   * @throws {RangeError} When the node is already freed.
   */
  put(file: FixedFile<F>): void {
    file.put();
  }
}
