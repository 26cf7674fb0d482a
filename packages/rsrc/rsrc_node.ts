/**
 * {@linkcode RsrcNode}: one registered resource (buffer or file) with a reference count, the
 * model of the kernel's `io_rsrc_node`. The table holds one reference while the resource sits
 * in a slot; every in-flight request that uses it holds another. The resource is freed when the
 * last reference is dropped, so unregistering or replacing a slot never pulls memory or a file
 * from under a request.
 *
 * @module
 */

/**
 * A reference-counted registered resource. Created with one reference (the table's).
 *
 * @typeParam T The resource (a `Uint8Array` for buffers, the caller's file object for files).
 *
 * @example Outlive the table's reference
 * ```ts
 * import assert from "node:assert/strict";
 * import { RsrcNode } from "@ublk-ts/rsrc";
 * let freed = 0;
 * const node = new RsrcNode("file", 0, () => freed++);
 * node.ref(); // a request takes it
 * node.put(); // the table lets go (unregister)
 * assert.equal(freed, 0);
 * node.put(); // the request completes
 * assert.equal(freed, 1);
 * ```
 */
export class RsrcNode<T> {
  /** The resource. */
  readonly value: T;
  /** The slot the resource was installed in. */
  readonly index: number;
  #refs = 1;
  readonly #onFree: ((node: RsrcNode<T>) => void) | undefined;

  /**
   * A node holding one reference.
   *
   * @param value The resource.
   * @param index Its slot.
   * @param onFree Called once, when the last reference is dropped.
   */
  constructor(value: T, index: number, onFree?: (node: RsrcNode<T>) => void) {
    this.value = value;
    this.index = index;
    this.#onFree = onFree;
  }

  /** References held (0 once freed). */
  get refs(): number {
    return this.#refs;
  }

  /** Whether the last reference was dropped. */
  get freed(): boolean {
    return this.#refs === 0;
  }

  /**
   * Takes a reference.
   *
   * @returns This node.
   * @throws {RangeError} When the node is already freed.
   */
  ref(): this {
    if (this.#refs === 0) throw new RangeError("Cannot take a reference: resource is freed");
    this.#refs++;
    return this;
  }

  /**
   * Drops a reference; the last one frees the resource.
   *
   * @throws {RangeError} When the node is already freed.
   */
  put(): void {
    if (this.#refs === 0) throw new RangeError("Cannot drop a reference: resource is freed");
    if (--this.#refs === 0) this.#onFree?.(this);
  }
}
