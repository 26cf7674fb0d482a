// The slot array shared by BufferTable and FileTable: register (dense or sparse), update,
// unregister and lookup with the kernel's order of checks; resource specifics come in as hooks.

import { EINVAL, ENXIO, EOVERFLOW } from "@ublk-ts/uapi";

/** What a slot holds: something whose table reference can be dropped. */
export interface Releasable {
  put(): void;
}

/** What a table tells the slot array about its resource kind. */
export interface SlotHooks<A, N extends Releasable> {
  /** Most slots a table may have. */
  readonly max: number;
  /** Errno (positive) when `nr` exceeds `max`. */
  readonly tooMany: number;
  /** Builds the node for slot `index` from an argument: a node, null (empty), or -errno. */
  make(arg: A, index: number): N | null | number;
  /** Whether an update argument leaves its slot alone (IORING_REGISTER_FILES_SKIP). */
  skip(arg: A): boolean;
}

const U32_MAX = 0xffff_ffff;

/** The slots of one table. */
export class SlotTable<A, N extends Releasable> {
  slots: (N | null)[] | null = null;
  readonly #hooks: SlotHooks<A, N>;

  constructor(hooks: SlotHooks<A, N>) {
    this.#hooks = hooks;
  }

  get nr(): number {
    return this.slots === null ? 0 : this.slots.length;
  }

  #checkNr(nr: number): number {
    if (!Number.isSafeInteger(nr) || nr <= 0) return -EINVAL;
    if (nr > this.#hooks.max) return -this.#hooks.tooMany;
    return 0;
  }

  /** Checks done before a registration; 0 or -errno. */
  checkRegister(nr: number, busy: number): number {
    if (this.slots !== null) return -busy;
    return this.#checkNr(nr);
  }

  register(args: readonly A[]): number {
    const slots: (N | null)[] = new Array(args.length).fill(null);
    for (let i = 0; i < args.length; i++) {
      const n = this.#hooks.make(args[i]!, i);
      if (typeof n === "number") {
        for (const s of slots) s?.put();
        return n;
      }
      slots[i] = n;
    }
    this.slots = slots;
    return 0;
  }

  registerSparse(nr: number): void {
    this.slots = new Array(nr).fill(null);
  }

  update(offset: number, args: readonly A[]): number {
    const nr = args.length;
    if (nr === 0) return -EINVAL;
    const slots = this.slots;
    if (slots === null) return -ENXIO;
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > U32_MAX) return -EINVAL;
    if (offset + nr > U32_MAX) return -EOVERFLOW;
    if (offset + nr > slots.length) return -EINVAL;
    let done = 0;
    let err = 0;
    for (; done < nr; done++) {
      const arg = args[done]!;
      if (this.#hooks.skip(arg)) continue;
      const n = this.#hooks.make(arg, offset + done);
      if (typeof n === "number") {
        err = n;
        break;
      }
      this.replace(offset + done, n);
    }
    return done > 0 ? done : err;
  }

  replace(index: number, node: N | null): void {
    const slots = this.slots!;
    const old = slots[index];
    slots[index] = node;
    old?.put();
  }

  unregister(): number {
    const slots = this.slots;
    if (slots === null) return -ENXIO;
    this.slots = null;
    for (const s of slots) s?.put();
    return 0;
  }

  /** The node in `index`, or null when out of range or empty. */
  lookup(index: number): N | null {
    const slots = this.slots;
    if (slots === null || !(index >= 0 && index < slots.length)) return null;
    return slots[index] ?? null;
  }
}
