/**
 * A minimal user side of an io_uring over the `Kernel` contract (`setup` → a `KernelRing` with
 * its SQ/CQ memory): take an SQE, publish the tail, submit, wait, reap CQEs. The ublk queue
 * loop and the control client drive their rings through it with no allocation per I/O; it works
 * the same on the model kernel and on a native kernel.
 *
 * @module
 */

/** `struct io_sqring_offsets` (the fields used). */
export interface SqOff {
  /** Offset of the head counter. */
  head: number;
  /** Offset of the tail counter. */
  tail: number;
  /** Offset of the ring mask. */
  ringMask: number;
  /** Offset of the entry count. */
  ringEntries: number;
  /** Offset of the index array. */
  array: number;
}

/** `struct io_cqring_offsets` (the fields used). */
export interface CqOff {
  /** Offset of the head counter. */
  head: number;
  /** Offset of the tail counter. */
  tail: number;
  /** Offset of the ring mask. */
  ringMask: number;
  /** Offset of the CQE array. */
  cqes: number;
}

/** The ring as the kernel made it (the subset of `KernelRing` this file uses). */
export interface KernelRingLike {
  /** The ring fd. */
  readonly fd: number;
  /** SQ entries. */
  readonly sqEntries: number;
  /** CQ entries. */
  readonly cqEntries: number;
  /** IORING_SETUP_* flags. */
  readonly flags: number;
  /** SQ offsets. */
  readonly sqOff: SqOff;
  /** CQ offsets. */
  readonly cqOff: CqOff;
  /** SQ ring memory. */
  readonly sqRing: ArrayBuffer;
  /** CQ ring memory. */
  readonly cqRing: ArrayBuffer;
  /** SQE array memory. */
  readonly sqes: ArrayBuffer;
  /** `io_uring_enter` without waiting. */
  submit(toSubmit: number): number;
  /** Waits for CQEs. */
  wait(minComplete: number): Promise<number>;
  /** `io_uring_register`. */
  register(opcode: number, arg: { fds?: readonly number[] }): number;
  /** Tears the ring down. */
  close(): void;
}

/** The subset of the `Kernel` contract the server library uses. */
export interface KernelLike {
  /** "model" or "native". */
  readonly name: string;
  /** `io_uring_setup`. */
  setup(entries: number, options?: { flags?: number; cqEntries?: number }): KernelRingLike;
  /** Address of `bytes[0]`. */
  addressOf(bytes: Uint8Array): bigint;
  /** `open(2)`. */
  open(path: string, flags: number, mode?: number): number;
  /** `close(2)`. */
  closeFd(fd: number): number;
}

/**
 * User side of one ring.
 */
export class URing {
  /** The kernel ring. */
  readonly kr: KernelRingLike;
  /** SQE memory as a DataView. */
  readonly sqeView: DataView;
  /** SQE memory as bytes. */
  readonly sqeBytes: Uint8Array;
  /** 64 or 128. */
  readonly sqeSize: number;
  /** CQ memory as a DataView. */
  readonly cqView: DataView;
  /** 16 or 32. */
  readonly cqeSize: number;
  readonly #sq: Uint32Array;
  readonly #cq: Uint32Array;
  readonly #sqHeadIdx: number;
  readonly #sqTailIdx: number;
  readonly #cqHeadIdx: number;
  readonly #cqTailIdx: number;
  readonly #sqMask: number;
  readonly #cqMask: number;
  readonly #cqesOff: number;
  readonly #entries: number;
  #tail: number;
  #pending = 0;

  /**
   * Wraps a kernel ring.
   *
   * @param kr The ring from `Kernel.setup`.
   */
  constructor(kr: KernelRingLike) {
    this.kr = kr;
    this.sqeView = new DataView(kr.sqes);
    this.sqeBytes = new Uint8Array(kr.sqes);
    this.sqeSize = (kr.flags & (1 << 10)) !== 0 ? 128 : 64;
    this.cqView = new DataView(kr.cqRing);
    this.cqeSize = (kr.flags & (1 << 11)) !== 0 ? 32 : 16;
    this.#sq = new Uint32Array(kr.sqRing);
    this.#cq = new Uint32Array(kr.cqRing);
    const so = kr.sqOff;
    const co = kr.cqOff;
    this.#sqHeadIdx = so.head >> 2;
    this.#sqTailIdx = so.tail >> 2;
    this.#cqHeadIdx = co.head >> 2;
    this.#cqTailIdx = co.tail >> 2;
    this.#sqMask = this.#sq[so.ringMask >> 2]!;
    this.#cqMask = this.#cq[co.ringMask >> 2]!;
    this.#entries = kr.sqEntries;
    this.#cqesOff = co.cqes;
    this.#tail = this.#sq[this.#sqTailIdx]!;
    // Identity SQ index array: SQE slot i is array entry i.
    const arr = so.array >> 2;
    for (let i = 0; i < this.#entries; i++) this.#sq[arr + i] = i;
  }

  /** SQEs written and not yet submitted. */
  get pending(): number {
    return this.#pending;
  }

  /**
   * Takes the next SQE (zeroed), submitting first when the SQ is full.
   *
   * @returns The SQE's byte offset in {@linkcode URing.sqeView}, or -1 when the SQ stays full.
   */
  getSqe(): number {
    let used = (this.#tail - this.#sq[this.#sqHeadIdx]!) >>> 0;
    if (used >= this.#entries) {
      this.submit();
      used = (this.#tail - this.#sq[this.#sqHeadIdx]!) >>> 0;
      if (used >= this.#entries) return -1;
    }
    const off = (this.#tail & this.#sqMask) * this.sqeSize;
    this.sqeBytes.fill(0, off, off + this.sqeSize);
    this.#tail = (this.#tail + 1) >>> 0;
    this.#pending++;
    return off;
  }

  /**
   * Publishes the SQ tail and enters the kernel.
   *
   * @returns SQEs consumed, or a negative errno.
   */
  submit(): number {
    if (this.#pending === 0) return 0;
    this.#sq[this.#sqTailIdx] = this.#tail;
    const n = this.#pending;
    this.#pending = 0;
    return this.kr.submit(n);
  }

  /**
   * Waits until at least `min` CQEs are ready.
   *
   * @param min CQEs.
   * @returns 0 or a negative errno.
   */
  wait(min: number): Promise<number> {
    return this.kr.wait(min);
  }

  /** CQEs ready to reap. */
  get cqReady(): number {
    return (this.#cq[this.#cqTailIdx]! - this.#cq[this.#cqHeadIdx]!) >>> 0;
  }

  /**
   * Byte offset (in {@linkcode URing.cqView}) of the `i`-th ready CQE.
   *
   * @param i Index from the head.
   * @returns The offset.
   */
  cqeAt(i: number): number {
    return this.#cqesOff + (((this.#cq[this.#cqHeadIdx]! + i) & this.#cqMask) * this.cqeSize);
  }

  /**
   * Consumes `n` CQEs.
   *
   * @param n Count.
   */
  advance(n: number): void {
    this.#cq[this.#cqHeadIdx] = (this.#cq[this.#cqHeadIdx]! + n) >>> 0;
  }

  /** Closes the kernel ring. */
  close(): void {
    this.kr.close();
  }
}
