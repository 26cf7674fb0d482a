/**
 * Step-by-step comparison of two {@linkcode runCtrlScenario} runs (the real `ublk_drv` and the
 * model driver), with a table of the differences that are known and explained. Anything else
 * is unexpected and fails the probe.
 *
 * @module
 */

import type { StepResult } from "./_ctrl_scenario.ts";

/** A difference between the real driver and the model that is known and explained. */
export interface KnownDifference {
  /** Step name, or "*" for every step. */
  readonly step: string;
  /** "res" or a field name. */
  readonly field: string;
  /** "intended" (the model differs on purpose) or "model" (a model divergence, reported). */
  readonly kind: "intended" | "model";
  /** Why. */
  readonly why: string;
  /** The first kernel version it holds for (default: every version). */
  readonly since?: string;
  /** The first kernel version it no longer holds for. */
  readonly until?: string;
  /** For a bit: which side has it set ("real" or "model"); default either. */
  readonly onlyIn?: "real" | "model";
}

/** One observed difference. */
export interface Difference {
  /** Step name. */
  readonly step: string;
  /** "res" or a field name. */
  readonly field: string;
  /** What the real driver gave. */
  readonly real: number | string | undefined;
  /** What the model gave. */
  readonly model: number | string | undefined;
  /** The matching known difference, if any. */
  readonly known?: KnownDifference;
}

/**
 * Compares two runs. Steps are matched by position and must have the same names.
 *
 * @param real The real driver's run.
 * @param model The model's run.
 * @param known Differences that are explained.
 * @returns Every difference (known ones carry `known`).
 * @throws {RangeError} When the runs have different steps.
 */
export function compareRuns(
  real: readonly StepResult[],
  model: readonly StepResult[],
  known: readonly KnownDifference[],
): Difference[] {
  if (real.length !== model.length) {
    throw new RangeError(
      `Cannot compare runs: ${real.length} real steps vs ${model.length} model steps`,
    );
  }
  const out: Difference[] = [];
  const push = (step: string, field: string, r?: number | string, m?: number | string): void => {
    const side = r === 1 && m === 0 ? "real" : r === 0 && m === 1 ? "model" : undefined;
    const k = known.find((d) =>
      (d.step === step || d.step === "*") && d.field === field &&
      (d.onlyIn === undefined || d.onlyIn === side)
    );
    out.push(
      k === undefined ? { step, field, real: r, model: m } : {
        step,
        field,
        real: r,
        model: m,
        known: k,
      },
    );
  };
  for (let i = 0; i < real.length; i++) {
    const r = real[i]!, m = model[i]!;
    if (r.step !== m.step) {
      throw new RangeError(`Cannot compare runs: step ${i} is "${r.step}" vs "${m.step}"`);
    }
    if (r.res !== m.res) push(r.step, "res", r.res, m.res);
    const names = new Set([...Object.keys(r.fields), ...Object.keys(m.fields)]);
    for (const f of names) {
      const rv = r.fields[f], mv = m.fields[f];
      if (rv === mv) continue;
      if ((f === "features" || f === "flags") && typeof rv === "string" && typeof mv === "string") {
        // One difference per UBLK_F_* bit, so each can be explained on its own.
        const b = featureBits(BigInt(rv), BigInt(mv));
        for (const bit of b.onlyReal) push(r.step, `${f} bit ${bit}`, 1, 0);
        for (const bit of b.onlyModel) push(r.step, `${f} bit ${bit}`, 0, 1);
      } else push(r.step, f, rv, mv);
    }
  }
  return out;
}

/**
 * Names the bits of a UBLK_F_* mask that differ between two feature words.
 *
 * @param real The real driver's features.
 * @param model The model's features.
 * @returns `onlyReal` and `onlyModel` bit numbers.
 */
export function featureBits(
  real: bigint,
  model: bigint,
): { onlyReal: number[]; onlyModel: number[] } {
  const onlyReal: number[] = [], onlyModel: number[] = [];
  for (let b = 0; b < 64; b++) {
    const bit = 1n << BigInt(b);
    if ((real & bit) !== 0n && (model & bit) === 0n) onlyReal.push(b);
    if ((model & bit) !== 0n && (real & bit) === 0n) onlyModel.push(b);
  }
  return { onlyReal, onlyModel };
}
