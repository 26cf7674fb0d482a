/**
 * Deterministic test data: `pattern(len, seed)` fills bytes from a 32-bit xorshift stream, so
 * every 4 KiB block differs and a misplaced block is caught.
 *
 * @module
 */

/**
 * Bytes from a xorshift32 stream seeded with `seed`.
 *
 * @param len Bytes.
 * @param seed Non-zero seed.
 * @returns The bytes.
 */
export function pattern(len: number, seed: number): Uint8Array {
  const out = new Uint8Array(len);
  let x = (seed * 0x9e3779b9) >>> 0 || 1;
  for (let i = 0; i < len; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}
