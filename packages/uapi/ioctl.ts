/**
 * The Linux ioctl number encoding (`asm-generic/ioctl.h`, used by x86_64 and arm64):
 * `dir << 30 | size << 16 | type << 8 | nr`. ublk's ioctl-encoded uring_cmd opcodes
 * (`UBLK_U_CMD_*`, `UBLK_U_IO_*`) are computed with these helpers, never typed in.
 *
 * The C macros take a type and use its `sizeof`; these take the size in bytes. Results are
 * unsigned 32-bit numbers, as `sqe->cmd_op` (u32) holds them.
 *
 * @example Compute an ublk control opcode
 * ```ts
 * import assert from "node:assert/strict";
 * import { _IOWR, _IOC_NR, _IOC_SIZE } from "@ublk-ts/uapi";
 * const op = _IOWR(0x75, 0x04, 32); // UBLK_U_CMD_ADD_DEV
 * assert.equal(op, 0xc0207504);
 * assert.equal(_IOC_NR(op), 4);
 * assert.equal(_IOC_SIZE(op), 32);
 * ```
 *
 * @module
 */

/** `_IOC_NRBITS` = 8. */
export const _IOC_NRBITS = 8;
/** `_IOC_TYPEBITS` = 8. */
export const _IOC_TYPEBITS = 8;
/** `_IOC_SIZEBITS` = 14 (asm-generic; x86_64 and arm64). */
export const _IOC_SIZEBITS = 14;
/** `_IOC_DIRBITS` = 2 (asm-generic; x86_64 and arm64). */
export const _IOC_DIRBITS = 2;
/** `_IOC_NRMASK` = 0xff. */
export const _IOC_NRMASK = (1 << _IOC_NRBITS) - 1;
/** `_IOC_TYPEMASK` = 0xff. */
export const _IOC_TYPEMASK = (1 << _IOC_TYPEBITS) - 1;
/** `_IOC_SIZEMASK` = 0x3fff. */
export const _IOC_SIZEMASK = (1 << _IOC_SIZEBITS) - 1;
/** `_IOC_DIRMASK` = 3. */
export const _IOC_DIRMASK = (1 << _IOC_DIRBITS) - 1;
/** `_IOC_NRSHIFT` = 0. */
export const _IOC_NRSHIFT = 0;
/** `_IOC_TYPESHIFT` = 8. */
export const _IOC_TYPESHIFT: number = _IOC_NRSHIFT + _IOC_NRBITS;
/** `_IOC_SIZESHIFT` = 16. */
export const _IOC_SIZESHIFT: number = _IOC_TYPESHIFT + _IOC_TYPEBITS;
/** `_IOC_DIRSHIFT` = 30. */
export const _IOC_DIRSHIFT: number = _IOC_SIZESHIFT + _IOC_SIZEBITS;
/** `_IOC_NONE` = 0: no data transfer. */
export const _IOC_NONE = 0;
/** `_IOC_WRITE` = 1: userspace writes, the kernel reads. */
export const _IOC_WRITE = 1;
/** `_IOC_READ` = 2: the kernel writes, userspace reads. */
export const _IOC_READ = 2;

function checkField(what: string, v: number, mask: number): void {
  if (!Number.isInteger(v) || v < 0 || v > mask) {
    throw new RangeError(`Cannot encode ioctl ${what}: ${v} is outside 0..${mask}`);
  }
}

/**
 * `_IOC(dir, type, nr, size)`: builds an ioctl number.
 *
 * @param dir `_IOC_NONE`, `_IOC_READ`, `_IOC_WRITE` or `_IOC_READ | _IOC_WRITE`.
 * @param type The 8-bit type (magic), e.g. `0x75` ('u') for ublk.
 * @param nr The 8-bit command number.
 * @param size The size in bytes of the argument (14 bits).
 * @returns The ioctl number as an unsigned 32-bit number.
 * @throws {RangeError} If a part does not fit its bit field.
 *
 * @example Encode by hand
 * ```ts
 * import assert from "node:assert/strict";
 * import { _IOC, _IOC_READ } from "@ublk-ts/uapi";
 * assert.equal(_IOC(_IOC_READ, 0x75, 1, 32), 0x80207501);
 * ```
 */
export function _IOC(dir: number, type: number, nr: number, size: number): number {
  checkField("dir", dir, _IOC_DIRMASK);
  checkField("type", type, _IOC_TYPEMASK);
  checkField("nr", nr, _IOC_NRMASK);
  checkField("size", size, _IOC_SIZEMASK);
  return ((dir << _IOC_DIRSHIFT) | (type << _IOC_TYPESHIFT) | (nr << _IOC_NRSHIFT) |
    (size << _IOC_SIZESHIFT)) >>> 0;
}

/**
 * `_IO(type, nr)`: an ioctl without argument.
 *
 * @param type The 8-bit type.
 * @param nr The 8-bit command number.
 * @returns The ioctl number.
 *
 * @example No argument
 * ```ts
 * import assert from "node:assert/strict";
 * import { _IO } from "@ublk-ts/uapi";
 * assert.equal(_IO(0x12, 95), 0x125f); // BLKSSZGET-style numbering
 * ```
 */
export function _IO(type: number, nr: number): number {
  return _IOC(_IOC_NONE, type, nr, 0);
}

/**
 * `_IOR(type, nr, size)`: the kernel writes an argument of `size` bytes.
 *
 * @param type The 8-bit type.
 * @param nr The 8-bit command number.
 * @param size `sizeof` the argument.
 * @returns The ioctl number.
 *
 * @example UBLK_U_CMD_GET_DEV_INFO
 * ```ts
 * import assert from "node:assert/strict";
 * import { _IOR } from "@ublk-ts/uapi";
 * assert.equal(_IOR(0x75, 2, 32), 0x80207502);
 * ```
 */
export function _IOR(type: number, nr: number, size: number): number {
  return _IOC(_IOC_READ, type, nr, size);
}

/**
 * `_IOW(type, nr, size)`: the kernel reads an argument of `size` bytes.
 *
 * @param type The 8-bit type.
 * @param nr The 8-bit command number.
 * @param size `sizeof` the argument.
 * @returns The ioctl number.
 *
 * @example Write direction
 * ```ts
 * import assert from "node:assert/strict";
 * import { _IOW } from "@ublk-ts/uapi";
 * assert.equal(_IOW(0x75, 2, 16), 0x40107502);
 * ```
 */
export function _IOW(type: number, nr: number, size: number): number {
  return _IOC(_IOC_WRITE, type, nr, size);
}

/**
 * `_IOWR(type, nr, size)`: the argument of `size` bytes goes both ways.
 *
 * @param type The 8-bit type.
 * @param nr The 8-bit command number.
 * @param size `sizeof` the argument.
 * @returns The ioctl number.
 *
 * @example UBLK_U_IO_FETCH_REQ
 * ```ts
 * import assert from "node:assert/strict";
 * import { _IOWR } from "@ublk-ts/uapi";
 * assert.equal(_IOWR(0x75, 0x20, 16), 0xc0107520);
 * ```
 */
export function _IOWR(type: number, nr: number, size: number): number {
  return _IOC(_IOC_READ | _IOC_WRITE, type, nr, size);
}

/**
 * `_IOC_DIR(nr)`: the direction bits of an ioctl number.
 *
 * @param nr An ioctl number.
 * @returns `_IOC_NONE`, `_IOC_READ`, `_IOC_WRITE` or both.
 *
 * @example Direction
 * ```ts
 * import assert from "node:assert/strict";
 * import { _IOC_DIR, _IOC_READ, _IOC_WRITE } from "@ublk-ts/uapi";
 * assert.equal(_IOC_DIR(0xc0107520), _IOC_READ | _IOC_WRITE);
 * ```
 */
export function _IOC_DIR(nr: number): number {
  return (nr >>> _IOC_DIRSHIFT) & _IOC_DIRMASK;
}

/**
 * `_IOC_TYPE(nr)`: the type (magic) byte of an ioctl number.
 *
 * @param nr An ioctl number.
 * @returns The type.
 *
 * @example Type
 * ```ts
 * import assert from "node:assert/strict";
 * import { _IOC_TYPE } from "@ublk-ts/uapi";
 * assert.equal(_IOC_TYPE(0xc0107520), 0x75);
 * ```
 */
export function _IOC_TYPE(nr: number): number {
  return (nr >>> _IOC_TYPESHIFT) & _IOC_TYPEMASK;
}

/**
 * `_IOC_NR(nr)`: the command number byte of an ioctl number. ublk compares it with the
 * legacy `UBLK_CMD_*`/`UBLK_IO_*` numbers.
 *
 * @param nr An ioctl number.
 * @returns The command number.
 *
 * @example Command number
 * ```ts
 * import assert from "node:assert/strict";
 * import { _IOC_NR } from "@ublk-ts/uapi";
 * assert.equal(_IOC_NR(0xc0107521), 0x21);
 * ```
 */
export function _IOC_NR(nr: number): number {
  return (nr >>> _IOC_NRSHIFT) & _IOC_NRMASK;
}

/**
 * `_IOC_SIZE(nr)`: the argument size of an ioctl number.
 *
 * @param nr An ioctl number.
 * @returns The size in bytes.
 *
 * @example Size
 * ```ts
 * import assert from "node:assert/strict";
 * import { _IOC_SIZE } from "@ublk-ts/uapi";
 * assert.equal(_IOC_SIZE(0xc0107520), 16);
 * ```
 */
export function _IOC_SIZE(nr: number): number {
  return (nr >>> _IOC_SIZESHIFT) & _IOC_SIZEMASK;
}
