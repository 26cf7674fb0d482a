/**
 * The one allocator of I/O memory: every buffer the stack hands to a kernel (model or real) —
 * the copy-mode server buffers, the block device front end's bounce pages, the workload's
 * buffers, staging areas — comes from {@linkcode allocIoMemory}, page-aligned in REAL memory,
 * as ublksrv and fio get it from `posix_memalign`.
 *
 * Why: a fresh `new Uint8Array(512 KiB)` sits at an address ≡ 16 (mod 4096); the kernel's copy
 * to user space into it runs at a quarter of the speed it reaches into a page-aligned
 * destination, and `O_DIRECT` refuses it outright. A benchmark whose two sides differ in
 * alignment measures the allocator.
 *
 * How: memory comes in arenas (one `ArrayBuffer` each, from an injected
 * {@linkcode IoMemoryProvider} such as an `mmap` of `@ublk-ts/native`, else a plain
 * `ArrayBuffer` one page larger than asked). The real address of an arena is found ONCE
 * (`Deno.UnsafePointer.of`, ~300 ns) and every allocation is an aligned view into it. Small
 * allocations share 4 MiB arenas; large ones get their own. An arena lives as long as any view
 * of it.
 *
 * Without FFI permission (`--allow-ffi`) real addresses cannot be known: arenas are then plain
 * `ArrayBuffer`s whose views start at page multiples of their offset, and
 * {@linkcode ioAddressOf} reports -1 ({@linkcode isIoAligned} then checks offsets within the
 * buffer only).
 *
 * @module
 */

/** The page size I/O memory is aligned to. */
export const IO_PAGE_SIZE = 4096;

/** Small allocations (at most a quarter of this) share arenas of this size. */
const SHARED_ARENA_BYTES = 4 * 1024 * 1024;

/** Memory a provider mapped: the buffer and the real address of its first byte. */
export interface IoMapping {
  /** The memory (its length is at least what was asked). */
  readonly buffer: ArrayBuffer;
  /** The real address of `buffer[0]` (page-aligned). */
  readonly address: number;
}

/**
 * A source of page-aligned memory, injected with {@linkcode setIoMemoryProvider}:
 * `@ublk-ts/native` offers anonymous `mmap` (optionally huge pages), so this package needs no
 * liburing.
 */
export interface IoMemoryProvider {
  /** A short name for reports ("mmap", "mmap+hugetlb"). */
  readonly name: string;
  /**
   * Maps `bytes` of memory.
   *
   * @param bytes A multiple of {@linkcode IO_PAGE_SIZE}.
   * @returns The mapping, or `null` to let the allocator fall back to an `ArrayBuffer`.
   */
  map(bytes: number): IoMapping | null;
}

/** Options of {@linkcode allocIoMemory}. */
export interface AllocIoMemoryOptions {
  /** Alignment of the real address: a power of two, at most 4096 (default 4096). */
  align?: number;
}

/** What the allocator is doing, for reports and benchmarks. */
export interface IoMemoryInfo {
  /** "arraybuffer", or the provider's name. */
  readonly provider: string;
  /** Whether real addresses are known (FFI permitted). */
  readonly addressesKnown: boolean;
  /** Arenas made so far. */
  readonly arenas: number;
  /** Bytes of arenas made so far. */
  readonly arenaBytes: number;
}

let provider: IoMemoryProvider | null = null;
let ffi: boolean | null = null;
/** Real base address per ArrayBuffer (arenas and everything `ioAddressOf` looked at). */
const bases = new WeakMap<ArrayBufferLike, number>();
let shared: { buffer: ArrayBuffer; next: number } | null = null;
let arenas = 0;
let arenaBytes = 0;

function ffiAllowed(): boolean {
  if (ffi === null) {
    try {
      Deno.UnsafePointer.of(new Uint8Array(8));
      ffi = true;
    } catch {
      ffi = false;
    }
  }
  return ffi;
}

function realBase(buffer: ArrayBufferLike): number {
  let base = bases.get(buffer);
  if (base === undefined) {
    if (!ffiAllowed() || buffer.byteLength === 0) return -1;
    const p = Deno.UnsafePointer.of(buffer as ArrayBuffer);
    if (p === null) return -1;
    base = Number(Deno.UnsafePointer.value(p));
    bases.set(buffer, base);
  }
  return base;
}

/** A new arena of at least `bytes` whose first aligned byte is at `skew`. */
function newArena(bytes: number): { buffer: ArrayBuffer; skew: number } {
  const len = Math.ceil(bytes / IO_PAGE_SIZE) * IO_PAGE_SIZE;
  const m = provider?.map(len) ?? null;
  arenas++;
  if (m !== null) {
    if (m.address % IO_PAGE_SIZE !== 0 || m.buffer.byteLength < len) {
      throw new RangeError(
        `Cannot use I/O memory from provider "${
          provider!.name
        }": address ${m.address} or length ${m.buffer.byteLength} is not as asked (${len})`,
      );
    }
    bases.set(m.buffer, m.address);
    arenaBytes += m.buffer.byteLength;
    return { buffer: m.buffer, skew: 0 };
  }
  const buffer = new ArrayBuffer(len + IO_PAGE_SIZE);
  arenaBytes += buffer.byteLength;
  const base = realBase(buffer);
  const skew = base < 0 ? 0 : (IO_PAGE_SIZE - (base % IO_PAGE_SIZE)) % IO_PAGE_SIZE;
  return { buffer, skew };
}

/**
 * Allocates zeroed I/O memory whose real address is page-aligned (or `align`-aligned).
 * The length is `bytes`; the memory behind it is rounded up to whole pages, so two
 * allocations never share a page.
 *
 * Safety: a kernel may use the memory only while the returned view (or another view of its
 * buffer) is referenced.
 *
 * @param bytes Length in bytes (≥ 0).
 * @param options Alignment.
 * @returns The view.
 * @throws {RangeError} When `bytes` or `align` is bad.
 *
 * @example A page-aligned 64 KiB buffer
 * ```ts
 * import assert from "node:assert/strict";
 * import { allocIoMemory, isIoAligned } from "@ublk-ts/rsrc";
 * const buf = allocIoMemory(64 * 1024);
 * assert.equal(buf.length, 64 * 1024);
 * assert.ok(isIoAligned(buf));
 * ```
 */
export function allocIoMemory(bytes: number, options: AllocIoMemoryOptions = {}): Uint8Array {
  const align = options.align ?? IO_PAGE_SIZE;
  if (!Number.isSafeInteger(bytes) || bytes < 0) {
    throw new RangeError(`Cannot allocate I/O memory: length ${bytes} is not a whole number`);
  }
  if (!Number.isInteger(align) || align <= 0 || align > IO_PAGE_SIZE || (align & (align - 1))) {
    throw new RangeError(
      `Cannot allocate I/O memory: alignment ${align} is not a power of two up to ${IO_PAGE_SIZE}`,
    );
  }
  const pages = Math.max(1, Math.ceil(bytes / IO_PAGE_SIZE));
  const need = pages * IO_PAGE_SIZE;
  if (need * 4 > SHARED_ARENA_BYTES) {
    const a = newArena(need);
    return new Uint8Array(a.buffer, a.skew, bytes);
  }
  if (shared === null || shared.next + need > shared.buffer.byteLength) {
    const a = newArena(SHARED_ARENA_BYTES);
    shared = { buffer: a.buffer, next: a.skew };
  }
  const view = new Uint8Array(shared.buffer, shared.next, bytes);
  shared.next += need;
  return view;
}

/**
 * The real address of `bytes[0]`, from a per-ArrayBuffer cache (the first call for a buffer
 * costs one `Deno.UnsafePointer.of`).
 *
 * @param bytes Memory.
 * @returns The address, or -1 when it cannot be known (no FFI permission, empty buffer).
 *
 * @example The allocator's memory is page-aligned
 * ```ts
 * import assert from "node:assert/strict";
 * import { allocIoMemory, ioAddressOf } from "@ublk-ts/rsrc";
 * const a = ioAddressOf(allocIoMemory(4096));
 * assert.ok(a === -1 || a % 4096 === 0);
 * ```
 */
export function ioAddressOf(bytes: ArrayBufferView): number {
  const base = realBase(bytes.buffer);
  return base < 0 ? -1 : base + bytes.byteOffset;
}

/**
 * Whether `bytes` starts at a real address that is a multiple of `align` (where real addresses
 * are unknown: whether its offset in its buffer is).
 *
 * @param bytes Memory.
 * @param align A power of two (default {@linkcode IO_PAGE_SIZE}).
 * @returns `true` when aligned.
 *
 * @example A fresh small array is rarely page-aligned; the allocator's always is
 * ```ts
 * import assert from "node:assert/strict";
 * import { allocIoMemory, isIoAligned } from "@ublk-ts/rsrc";
 * assert.ok(isIoAligned(allocIoMemory(512), 4096));
 * ```
 */
export function isIoAligned(bytes: ArrayBufferView, align: number = IO_PAGE_SIZE): boolean {
  const a = ioAddressOf(bytes);
  return (a < 0 ? bytes.byteOffset : a) % align === 0;
}

/**
 * Installs (or with `null` removes) the source of arenas. Memory already handed out stays
 * valid.
 *
 * @param p The provider.
 *
 * @example Count the arenas a provider is asked for
 * ```ts
 * import assert from "node:assert/strict";
 * import { allocIoMemory, setIoMemoryProvider } from "@ublk-ts/rsrc";
 * let asked = 0;
 * setIoMemoryProvider({ name: "none", map: () => (asked++, null) });
 * allocIoMemory(8 << 20);
 * setIoMemoryProvider(null);
 * assert.equal(asked, 1);
 * ```
 */
export function setIoMemoryProvider(p: IoMemoryProvider | null): void {
  provider = p;
  shared = null;
}

/**
 * What the allocator is doing.
 *
 * @returns Provider, whether addresses are known, arenas so far.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ioMemoryInfo } from "@ublk-ts/rsrc";
 * assert.equal(typeof ioMemoryInfo().addressesKnown, "boolean");
 * ```
 */
export function ioMemoryInfo(): IoMemoryInfo {
  return {
    provider: provider?.name ?? "arraybuffer",
    addressesKnown: ffiAllowed(),
    arenas,
    arenaBytes,
  };
}
