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
