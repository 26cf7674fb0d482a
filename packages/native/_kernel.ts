/**
 * The `Kernel` contract types, re-exported from `@ublk-ts/ring` in one place.
 *
 * @module
 */
export type {
  CqRingOffsets,
  Kernel,
  KernelRing,
  RegisterArg,
  SetupOptions,
  SqRingOffsets,
} from "@ublk-ts/ring";
