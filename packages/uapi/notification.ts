/**
 * Codecs of the 6.1 header's notification-slot structs, `struct io_uring_notification_slot`
 * and `struct io_uring_notification_register` (32 bytes each). They belonged to an early
 * SEND_ZC design and no register opcode in 6.1 uses them; kept so the header is mirrored
 * whole.
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { IoUringNotificationRegister } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(IoUringNotificationRegister.SIZE));
 * IoUringNotificationRegister.encode(view, 0, { ...IoUringNotificationRegister.zero(), nrSlots: 2 });
 * assert.equal(IoUringNotificationRegister.decode(view, 0).nrSlots, 2);
 * ```
 *
 * @module
 */

import { type FieldSpec, readFields, writeFields } from "./_codec.ts";

/** The decoded fields of `io_uring_notification_slot`. */
export interface IoUringNotificationSlotValue {
  /** `tag` (u64 @0). */
  tag: bigint;
  /** `resv[3]` (u64 × 3 @8). */
  resv: bigint[];
}

const SLOT_FIELDS: readonly FieldSpec[] = [
  { name: "tag", offset: 0, kind: "u64" },
  { name: "resv", offset: 8, kind: "u64", count: 3 },
];

/**
 * `struct io_uring_notification_slot`.
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { IoUringNotificationSlot } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(IoUringNotificationSlot.SIZE));
 * const v = { tag: 9n, resv: [0n, 0n, 0n] };
 * IoUringNotificationSlot.encode(view, 0, v);
 * assert.deepEqual(IoUringNotificationSlot.decode(view, 0), v);
 * ```
 */
export class IoUringNotificationSlot {
  /** `sizeof(struct io_uring_notification_slot)`. */
  static readonly SIZE = 32;
  /** `tag` (u64). */
  static readonly OFFSET_TAG = 0;
  /** `resv[3]` (u64). */
  static readonly OFFSET_RESV = 8;
  /**
   * A value with every field zero.
   * @returns A fresh value.
   */
  static zero(): IoUringNotificationSlotValue {
    return { tag: 0n, resv: [0n, 0n, 0n] };
  }
  /**
   * Writes every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @param v The value.
   */
  static encode(view: DataView, o: number, v: IoUringNotificationSlotValue): void {
    writeFields(view, o, SLOT_FIELDS, v);
  }
  /**
   * Reads every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns A fresh value.
   */
  static decode(view: DataView, o: number): IoUringNotificationSlotValue {
    return readFields(view, o, SLOT_FIELDS) as unknown as IoUringNotificationSlotValue;
  }
}

/** The decoded fields of `io_uring_notification_register`. */
export interface IoUringNotificationRegisterValue {
  /** `nr_slots` (u32 @0). */
  nrSlots: number;
  /** `resv` (u32 @4). */
  resv: number;
  /** `resv2` (u64 @8). */
  resv2: bigint;
  /** `data` (u64 @16). */
  data: bigint;
  /** `resv3` (u64 @24). */
  resv3: bigint;
}

const REGISTER_FIELDS: readonly FieldSpec[] = [
  { name: "nrSlots", offset: 0, kind: "u32" },
  { name: "resv", offset: 4, kind: "u32" },
  { name: "resv2", offset: 8, kind: "u64" },
  { name: "data", offset: 16, kind: "u64" },
  { name: "resv3", offset: 24, kind: "u64" },
];

/**
 * `struct io_uring_notification_register`.
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { IoUringNotificationRegister } from "@ublk-ts/uapi";
 * const view = new DataView(new ArrayBuffer(IoUringNotificationRegister.SIZE));
 * const v = { nrSlots: 4, resv: 0, resv2: 0n, data: 0x2000n, resv3: 0n };
 * IoUringNotificationRegister.encode(view, 0, v);
 * assert.deepEqual(IoUringNotificationRegister.decode(view, 0), v);
 * ```
 */
export class IoUringNotificationRegister {
  /** `sizeof(struct io_uring_notification_register)`. */
  static readonly SIZE = 32;
  /** `nr_slots` (u32). */
  static readonly OFFSET_NR_SLOTS = 0;
  /** `resv` (u32). */
  static readonly OFFSET_RESV = 4;
  /** `resv2` (u64). */
  static readonly OFFSET_RESV2 = 8;
  /** `data` (u64). */
  static readonly OFFSET_DATA = 16;
  /** `resv3` (u64). */
  static readonly OFFSET_RESV3 = 24;
  /**
   * A value with every field zero.
   * @returns A fresh value.
   */
  static zero(): IoUringNotificationRegisterValue {
    return { nrSlots: 0, resv: 0, resv2: 0n, data: 0n, resv3: 0n };
  }
  /**
   * Writes every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @param v The value.
   */
  static encode(view: DataView, o: number, v: IoUringNotificationRegisterValue): void {
    writeFields(view, o, REGISTER_FIELDS, v);
  }
  /**
   * Reads every field.
   * @param view The memory.
   * @param o Byte offset of the struct.
   * @returns A fresh value.
   */
  static decode(view: DataView, o: number): IoUringNotificationRegisterValue {
    return readFields(view, o, REGISTER_FIELDS) as unknown as IoUringNotificationRegisterValue;
  }
}
