/**
 * The per-iteration event that the CLI, the worker and the UI all consume. Per-slot arrays
 * run from the first slot (from pure noise) to the last (to the clean sample).
 */
export interface RapmMetrics {
  iteration: number;
  /** The total student loss that was minimised (sum over slots, mean over the batch). */
  studentLoss: number;
  perSlot: {
    /** -mean D_rel(z^phi) and -mean D_abs(z^phi), unweighted. */
    advRel: number[];
    advAbs: number[];
    /** d(z^phi, z^) and d(z^phi, z~), unweighted. */
    regRel: number[];
    regAbs: number[];
  };
  /** Hinge losses of the two discriminators (0 when a discriminator is switched off). */
  discLossRel: number;
  discLossAbs: number;
  /** Fraction of real samples with mean logit > 0 and of fakes with mean logit < 0 (NaN when off). */
  accuracy: { relReal: number; relFake: number; absReal: number; absFake: number };
  gradNorm: { student: number; rel: number; abs: number };
  /** Wall time of the iteration in milliseconds. */
  ms: number;
}

/** Each scalar of an event by its flat name (CSV columns, the page's curves). */
export const SCALAR_METRICS = {
  iteration: (m: RapmMetrics) => m.iteration,
  studentLoss: (m: RapmMetrics) => m.studentLoss,
  discLossRel: (m: RapmMetrics) => m.discLossRel,
  discLossAbs: (m: RapmMetrics) => m.discLossAbs,
  accRelReal: (m: RapmMetrics) => m.accuracy.relReal,
  accRelFake: (m: RapmMetrics) => m.accuracy.relFake,
  accAbsReal: (m: RapmMetrics) => m.accuracy.absReal,
  accAbsFake: (m: RapmMetrics) => m.accuracy.absFake,
  gradNormStudent: (m: RapmMetrics) => m.gradNorm.student,
  gradNormRel: (m: RapmMetrics) => m.gradNorm.rel,
  gradNormAbs: (m: RapmMetrics) => m.gradNorm.abs,
  ms: (m: RapmMetrics) => m.ms,
} as const satisfies Record<string, (m: RapmMetrics) => number>;

/** Flat name -> value view of one event: the scalars, then each per-slot term as `term.slotJ`. */
export function flattenMetrics(m: RapmMetrics): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, value] of Object.entries(SCALAR_METRICS)) out[k] = value(m);
  for (const [k, values] of Object.entries(m.perSlot)) values.forEach((v, j) => (out[`${k}.slot${j}`] = v));
  return out;
}
