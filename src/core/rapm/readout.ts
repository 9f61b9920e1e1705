/**
 * Every number an iteration reports, gathered on the device in ONE flat tensor so it is read back
 * once (a read-back is a GPU sync), and read out again by name into RapmMetrics. Layout: the
 * scalars below in this order, then the per-sample terms (advRel, advAbs, regRel, regAbs), N*B
 * slot-major values each.
 */
import * as tf from '@tensorflow/tfjs';
import type { DiscriminatorUpdate } from './discriminator-step';
import type { StudentTerms } from './loss-terms';
import type { RapmMetrics } from './metrics';
import { slotMeans } from './slot-geometry';

const SCALARS = [
  'studentLoss',
  'gradStudent',
  'relLoss',
  'relFirst',
  'relSecond',
  'relNorm',
  'absLoss',
  'absFirst',
  'absSecond',
  'absNorm',
] as const;
const TERMS = ['advRel', 'advAbs', 'regRel', 'regAbs'] as const;

export interface ReadoutParts {
  studentLoss: tf.Scalar;
  gradStudent: tf.Scalar;
  rel: DiscriminatorUpdate;
  abs: DiscriminatorUpdate;
  terms: StudentTerms;
}

/** The parts as one flat tensor (the caller owns it; the parts stay the caller's). */
export function packReadout(p: ReadoutParts): tf.Tensor1D {
  return tf.tidy(
    () =>
      tf.concat([
        p.studentLoss.reshape([1]),
        p.gradStudent.reshape([1]),
        ...p.rel.values,
        ...p.abs.values,
        ...TERMS.map((k) => p.terms[k]),
      ]) as tf.Tensor1D,
  );
}

/** Reads a packed readout's values by name; `realFirst` says which block of each discriminator was real. */
export function readMetrics(
  v: ArrayLike<number>,
  layout: { slots: number; batch: number; relRealFirst: boolean; absRealFirst: boolean },
  iteration: number,
  ms: number,
): RapmMetrics {
  const at = Object.fromEntries(SCALARS.map((k, i) => [k, v[i]])) as Record<(typeof SCALARS)[number], number>;
  const { slots: n, batch: b } = layout;
  const perSlot = (k: number) =>
    slotMeans(
      Array.from({ length: n * b }, (_, i) => v[SCALARS.length + k * n * b + i]),
      n,
      b,
    );
  const [relReal, relFake] = layout.relRealFirst ? [at.relFirst, at.relSecond] : [at.relSecond, at.relFirst];
  const [absReal, absFake] = layout.absRealFirst ? [at.absFirst, at.absSecond] : [at.absSecond, at.absFirst];
  return {
    iteration,
    studentLoss: at.studentLoss,
    perSlot: { advRel: perSlot(0), advAbs: perSlot(1), regRel: perSlot(2), regAbs: perSlot(3) },
    discLossRel: at.relLoss,
    discLossAbs: at.absLoss,
    accuracy: { relReal, relFake, absReal, absFake },
    gradNorm: { student: at.gradStudent, rel: at.relNorm, abs: at.absNorm },
    ms,
  };
}
