/**
 * The plain-language lines beside the curves: what the recent history says about the run, in
 * the terms docs/method.md uses ("Reading the discriminator metrics"). Pure: columns in, sentences out.
 */
import type { TeacherReference, ValidationPoint } from '../worker/protocol';

/** A head's hinge loss when its logits are about 0 on real and fake alike. */
export const CHANCE_HINGE = 2;
/** Within this of 2.0 on average, a head counts as at chance (the built-in teacher's heads stay within 0.02). */
export const CHANCE_BAND = 0.05;
/** How far back the lines look, in iterations. */
export const STATUS_WINDOW = 500;
/** Fewer rows than this say nothing yet. */
const MIN_ROWS = 20;

export interface StatusInput {
  /** Iterations, ascending. */
  x: ArrayLike<number>;
  studentLoss: ArrayLike<number>;
  /** Hinge losses; NaN or 0 throughout when a head is switched off. */
  hingeRel: ArrayLike<number>;
  hingeAbs: ArrayLike<number>;
  validation: readonly ValidationPoint[];
  references: readonly TeacherReference[];
}

function mean(y: ArrayLike<number>, from: number, to: number): number {
  let sum = 0;
  let n = 0;
  for (let i = from; i < to; i++)
    if (Number.isFinite(y[i])) {
      sum += y[i];
      n++;
    }
  return n ? sum / n : NaN;
}

/** The first row inside the last `window` iterations. */
function windowStart(x: ArrayLike<number>, window: number): number {
  const last = x[x.length - 1];
  let lo = 0;
  let hi = x.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x[mid] <= last - window) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function headLine(input: StatusInput, from: number, span: number): string | null {
  const n = input.x.length;
  const heads = [
    { name: 'D_rel', value: mean(input.hingeRel, from, n) },
    { name: 'D_abs', value: mean(input.hingeAbs, from, n) },
  ].filter((h) => Number.isFinite(h.value) && h.value !== 0);
  if (heads.length === 0) return null;
  const atChance = heads.filter((h) => Math.abs(h.value - CHANCE_HINGE) < CHANCE_BAND);
  const seeing = heads.filter((h) => h.value <= CHANCE_HINGE - CHANCE_BAND);
  const names = (hs: typeof heads) => hs.map((h) => `${h.name} ${h.value.toFixed(2)}`).join(', ');
  if (atChance.length === heads.length)
    return (
      `${heads.length === 2 ? 'Both heads' : `${heads[0].name} is`} at chance (hinge ≈ 2.0) for the last ${span} ` +
      `iterations: the adversarial terms are not pulling; the regression does the distillation.`
    );
  if (seeing.length > 0)
    return `Below chance (2.0) over the last ${span} iterations: ${names(seeing)}: the discriminators see a difference and push the student.`;
  return `Heads above chance (2.0) over the last ${span} iterations: ${names(heads)}: they are being fooled or still settling.`;
}

function lossLine(input: StatusInput, from: number, span: number): string | null {
  const n = input.x.length;
  const mid = from + ((n - from) >> 1);
  const before = mean(input.studentLoss, from, mid);
  const after = mean(input.studentLoss, mid, n);
  if (!Number.isFinite(before) || !Number.isFinite(after) || before === 0) return null;
  const change = (after - before) / Math.abs(before);
  const pct = `${Math.abs(change * 100).toFixed(0)}%`;
  if (change < -0.02)
    return `Student loss still falling (${pct} lower in the second half of the last ${span} iterations).`;
  if (change > 0.02) return `Student loss rising (${pct} higher in the second half of the last ${span} iterations).`;
  return `Student loss flat over the last ${span} iterations (within 2%).`;
}

function validationLine(points: readonly ValidationPoint[], references: readonly TeacherReference[]): string | null {
  if (points.length === 0) return null;
  const last = points[points.length - 1];
  const best = points.reduce((b, p) => (p.rmse < b.rmse ? p : b));
  let line = `Validation RMSE to the teacher ${last.rmse.toFixed(3)} at iteration ${last.iteration}`;
  line += best === last ? ' (the best so far)' : ` (best ${best.rmse.toFixed(3)} at iteration ${best.iteration})`;
  const sameSteps = references.find((r) => r.rmse > 0);
  if (sameSteps)
    line +=
      last.rmse <= sameSteps.rmse
        ? `; closer than the ${sameSteps.label} (${sameSteps.rmse.toFixed(3)})`
        : `; the ${sameSteps.label} is at ${sameSteps.rmse.toFixed(3)}`;
  return `${line}.`;
}

/** A held-out FID this far above its best, at the last two points, counts as turned up. */
export const FID_TURN_UP = 0.05;

/**
 * The drift docs/results-fewstep.md measured: the student keeps getting closer to the teacher
 * (RMSE falls, so the best checkpoint keeps moving) while its held-out FID to real digits turns up.
 * Said when the last two FID points both sit more than FID_TURN_UP above the best one before them.
 */
function fidLine(points: readonly ValidationPoint[]): string | null {
  const scored = points.filter((p): p is ValidationPoint & { fid: number } => p.fid !== null && Number.isFinite(p.fid));
  if (scored.length < 3) return null;
  const last = scored[scored.length - 1];
  const before = scored[scored.length - 2];
  const best = scored.slice(0, -2).reduce((b, p) => (p.fid < b.fid ? p : b));
  if (!(before.fid > best.fid * (1 + FID_TURN_UP) && last.fid > best.fid * (1 + FID_TURN_UP))) return null;
  const rmseFell = last.rmse < best.rmse;
  return (
    `Held-out FID has turned up: ${last.fid.toFixed(1)} at iteration ${last.iteration}, from ${best.fid.toFixed(1)} ` +
    `at iteration ${best.iteration}` +
    (rmseFell
      ? ', while the RMSE to the teacher still falls: the student copies the teacher more closely but moves away ' +
        `from real images. The export at iteration ${best.iteration} may be the better student.`
      : '.')
  );
}

/** At most one sentence each about the heads, the student loss and validation, and a held-out FID that turned up. */
export function curveStatus(input: StatusInput): string[] {
  const n = input.x.length;
  if (n < MIN_ROWS) return [`Too early to say: ${n} iteration${n === 1 ? '' : 's'} so far.`];
  const from = windowStart(input.x, STATUS_WINDOW);
  const span = Math.round(input.x[n - 1] - input.x[from] + 1);
  return [
    headLine(input, from, span),
    lossLine(input, from, span),
    validationLine(input.validation, input.references),
    fidLine(input.validation),
  ].filter((line): line is string => line !== null);
}
