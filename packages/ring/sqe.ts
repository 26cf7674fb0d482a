/**
 * {@linkcode Sqe}: a reusable handle on one SQE slot of a {@linkcode Ring}, with setters for
 * the common fields; and {@linkcode Fixed}, the branded fixed-file index.
 *
 * @module
 */

import { IOSQE_FIXED_FILE, IoUringSqe } from "@ublk-ts/uapi";

/** A registered-file index (sets IOSQE_FIXED_FILE when used as a prep target). */
export class Fixed {
  /** The slot. */
  readonly index: number;
  /**
   * A registered-file index.
   *
   * @param index The slot (≥ 0).
   */
  constructor(index: number) {
    if (!Number.isInteger(index) || index < 0) {
      throw new RangeError(
        `Cannot make a fixed file index: ${index} is not a non-negative integer`,
      );
    }
    this.index = index;
  }
}

const FIXED_CACHE: Fixed[] = [];

/**
 * The {@linkcode Fixed} of a slot (cached for small indices; no allocation per call).
 *
 * @param index The slot.
 * @returns The fixed target.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fixed } from "@ublk-ts/ring";
 * assert.equal(fixed(3).index, 3);
 * assert.equal(fixed(3), fixed(3));
 * ```
 */
export function fixed(index: number): Fixed {
  if (index < 4096 && Number.isInteger(index) && index >= 0) {
    return FIXED_CACHE[index] ??= new Fixed(index);
  }
  return new Fixed(index);
}

/** A file target of a prep call: an fd, or a registered-file index. */
export type Target = number | Fixed;

/** What an Sqe needs from its ring. */
export interface SqeOwner {
  /** The address of `bytes[0]` in the ring's kernel. */
  addressOf(bytes: Uint8Array): bigint;
}

/**
 * One SQE slot. `Ring.getSqe()` returns the slot's handle (zeroed); handles are preallocated
 * per slot and reused, so keep one only until `submit()`.
 */
export class Sqe {
  /** The owner ring. */
  readonly ring: SqeOwner;
  /** The SQE memory. */
  readonly view: DataView;
  /** The SQE memory as bytes. */
  readonly bytes: Uint8Array;
  /** Byte offset of this SQE. */
  readonly offset: number;
  /** 64 or 128. */
  readonly size: number;

  /**
   * A handle on one SQE slot (made by the ring, one per slot).
   *
   * @param ring Owner.
   * @param view SQE memory.
   * @param bytes SQE memory as bytes.
   * @param offset Byte offset.
   * @param size SQE size.
   */
  constructor(ring: SqeOwner, view: DataView, bytes: Uint8Array, offset: number, size: number) {
    this.ring = ring;
    this.view = view;
    this.bytes = bytes;
    this.offset = offset;
    this.size = size;
  }

  /**
   * Sets `user_data`.
   *
   * @param v The value.
   * @returns This.
   */
  setUserData(v: bigint): this {
    this.view.setBigUint64(this.offset + IoUringSqe.OFFSET_USER_DATA, v, true);
    return this;
  }

  /**
   * Sets the IOSQE_* flags (replacing them, but keeping IOSQE_FIXED_FILE set by a Fixed target).
   *
   * @param flags Flags.
   * @returns This.
   */
  setFlags(flags: number): this {
    const o = this.offset + IoUringSqe.OFFSET_FLAGS;
    this.view.setUint8(o, (this.view.getUint8(o) & IOSQE_FIXED_FILE) | flags);
    return this;
  }

  /**
   * The IOSQE_* flags.
   *
   * @returns Flags.
   */
  get flags(): number {
    return this.view.getUint8(this.offset + IoUringSqe.OFFSET_FLAGS);
  }

  /**
   * `user_data`.
   *
   * @returns The value.
   */
  get userData(): bigint {
    return this.view.getBigUint64(this.offset + IoUringSqe.OFFSET_USER_DATA, true);
  }

  /**
   * Sets `buf_index`.
   *
   * @param v The index.
   * @returns This.
   */
  setBufIndex(v: number): this {
    this.view.setUint16(this.offset + IoUringSqe.OFFSET_BUF_INDEX, v, true);
    return this;
  }

  /**
   * Sets `ioprio`.
   *
   * @param v The value.
   * @returns This.
   */
  setIoprio(v: number): this {
    this.view.setUint16(this.offset + IoUringSqe.OFFSET_IOPRIO, v, true);
    return this;
  }

  /** Zeroes the whole SQE. */
  clear(): void {
    this.bytes.fill(0, this.offset, this.offset + this.size);
  }
}
