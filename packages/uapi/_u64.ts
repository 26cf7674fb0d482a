/**
 * Private helpers to read and write a little-endian u64 as a JavaScript number without
 * creating a bigint: for hot paths whose values stay below 2^53 (file offsets, addresses
 * inside the model's address space, sector numbers).
 *
 * @module
 */

const TWO_32 = 0x1_0000_0000;

/** Reads a u64 as a number (exact below 2^53). */
export function getU64Number(view: DataView, o: number): number {
  return view.getUint32(o, true) + view.getUint32(o + 4, true) * TWO_32;
}

/** Writes a non-negative integer below 2^53 as a u64. */
export function setU64Number(view: DataView, o: number, v: number): void {
  const lo = v >>> 0; // ToUint32 is exact modulo 2^32 for any integer
  view.setUint32(o, lo, true);
  view.setUint32(o + 4, (v - lo) / TWO_32, true);
}
