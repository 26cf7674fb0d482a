/**
 * Real addresses of JavaScript memory, cached per ArrayBuffer: `Deno.UnsafePointer.of` costs
 * ~300 ns, so it runs once per buffer and every later call is a WeakMap lookup plus an add.
 *
 * @module
 */

const bases = new WeakMap<ArrayBufferLike, bigint>();

/**
 * The address of `bytes[0]`.
 *
 * Safety: the address is valid while the ArrayBuffer is alive; keep it referenced while any
 * SQE or registration names it.
 *
 * @param bytes The memory.
 * @returns Its address (0n for an empty, unbacked buffer).
 */
export function addressOf(bytes: ArrayBufferView): bigint {
  const buffer = bytes.buffer;
  let base = bases.get(buffer);
  if (base === undefined) {
    const p = Deno.UnsafePointer.of(bytes as Uint8Array<ArrayBuffer>);
    if (p === null) return 0n;
    base = BigInt(Deno.UnsafePointer.value(p)) - BigInt(bytes.byteOffset);
    bases.set(buffer, base);
  }
  return base + BigInt(bytes.byteOffset);
}

const numberBases = new WeakMap<ArrayBufferLike, number>();

/**
 * The address of `bytes[0]` as a number (user addresses on x86_64 fit in 47 bits, so the
 * number is exact): no BigInt is allocated, for hot paths.
 *
 * @param bytes The memory.
 * @returns Its address (0 for an empty, unbacked buffer).
 */
export function addressNumber(bytes: ArrayBufferView): number {
  const buffer = bytes.buffer;
  let base = numberBases.get(buffer);
  if (base === undefined) {
    const addr = addressOf(bytes);
    if (addr === 0n) return 0;
    base = Number(addr) - bytes.byteOffset;
    numberBases.set(buffer, base);
  }
  return base + bytes.byteOffset;
}

/**
 * Writes a u64 given as a number (exact below 2^53) little-endian, without BigInt.
 *
 * @param view The memory.
 * @param offset Byte offset.
 * @param value The value.
 */
export function setU64(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, value >>> 0, true);
  view.setUint32(offset + 4, Math.floor(value / 4294967296) >>> 0, true);
}
