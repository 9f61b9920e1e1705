/**
 * What changes from one RAPM iteration to the next, gathered on the CPU: the batch's rows in the
 * slot-major layout the passes use, its labels in each pass's layout, and Adam's bias corrections
 * of the coming steps. The iteration (trainer.ts) reads these as tensors and nothing else that
 * varies, so a replayed step (kernels/step-graph.ts) only writes new values into the same buffers.
 */
import * as tf from '@tensorflow/tfjs';
import type { TrajectoryBatch } from './trainer';

export interface StepValues {
  /** z~_n, the teacher's points at the end of each slot: [N*B, H, W, C], slot-major. */
  teacherPoints: Float32Array;
  /** z~_N, the initial noise: [B, H, W, C]. */
  noise: Float32Array;
  /**
   * With stored Delta points, the rows of the shared no-gradient pass: slot 0's rollout rows
   * (B, when N > 1) then the Delta points (N*B). Without them, the N*B slot starts z~_{n+1}.
   */
  passRows: Float32Array;
  labels: Int32Array;
  /** The labels of the N*B slot rows. */
  slotLabels: Int32Array;
  /** The labels of the shared pass's rows. */
  passLabels: Int32Array;
  /** The labels of the discriminators' encoder pass over [relative real; fake; absolute real]. */
  discLabels: Int32Array;
  /** Adam's bias corrections [c1, c2] per coming step of each group (the heads: one pair per discSteps). */
  adamStudent: Float32Array;
  adamRel: Float32Array;
  adamAbs: Float32Array;
  /** Whether `passRows` holds stored Delta points. */
  deltaStored: boolean;
}

export type StepValueKey = Exclude<keyof StepValues, 'deltaStored'>;

export type StepTensors = { [K in StepValueKey]: tf.Tensor } & { deltaStored: boolean };

/** The order in which a replayed step takes the values. */
export const STEP_VALUE_KEYS: readonly StepValueKey[] = [
  'teacherPoints',
  'noise',
  'passRows',
  'labels',
  'slotLabels',
  'passLabels',
  'discLabels',
  'adamStudent',
  'adamRel',
  'adamAbs',
];

export interface StepLayout {
  /** Slots N. */
  slots: number;
  height: number;
  width: number;
  channels: number;
}

/** Rows of the shared pass that belong to slot 0's rollout step: B when there is a next slot. */
export const leadRows = (slots: number, b: number) => (slots > 1 ? b : 0);

export function stepValues(
  batch: TrajectoryBatch,
  layout: StepLayout,
  adam: { student: Float32Array; rel: Float32Array; abs: Float32Array },
): StepValues {
  const b = batch.labels.length;
  const n = layout.slots;
  const px = layout.height * layout.width * layout.channels;
  const lead = leadRows(n, b);
  const slotLabels = Int32Array.from({ length: n * b }, (_, r) => batch.labels[r % b]);
  const noise = slotMajorRows(batch.positions, b, n + 1, 0, 1, px);
  let passRows: Float32Array;
  if (batch.deltaPositions) {
    passRows = new Float32Array((lead + n * b) * px);
    if (lead) passRows.set(noise);
    passRows.set(slotMajorRows(batch.deltaPositions, b, n, 0, n, px), lead * px);
  } else {
    passRows = slotMajorRows(batch.positions, b, n + 1, 0, n, px);
  }
  return {
    teacherPoints: slotMajorRows(batch.positions, b, n + 1, 1, n, px),
    noise,
    passRows,
    labels: Int32Array.from(batch.labels),
    slotLabels,
    passLabels: Int32Array.from([...batch.labels.slice(0, lead), ...slotLabels]),
    discLabels: Int32Array.from([...slotLabels, ...slotLabels, ...slotLabels]),
    adamStudent: adam.student,
    adamRel: adam.rel,
    adamAbs: adam.abs,
    deltaStored: batch.deltaPositions !== null,
  };
}

/** The values as tensors of the shapes the iteration reads (the caller owns them). */
export function stepTensors(v: StepValues, layout: StepLayout): StepTensors {
  const { height: h, width: w, channels: c } = layout;
  const image = (values: Float32Array) => tf.tensor4d(values, [values.length / (h * w * c), h, w, c]);
  return {
    teacherPoints: image(v.teacherPoints),
    noise: image(v.noise),
    passRows: image(v.passRows),
    labels: tf.tensor1d(v.labels, 'int32'),
    slotLabels: tf.tensor1d(v.slotLabels, 'int32'),
    passLabels: tf.tensor1d(v.passLabels, 'int32'),
    discLabels: tf.tensor1d(v.discLabels, 'int32'),
    adamStudent: tf.tensor1d(v.adamStudent),
    adamRel: tf.tensor1d(v.adamRel),
    adamAbs: tf.tensor1d(v.adamAbs),
    deltaStored: v.deltaStored,
  };
}

export function disposeStepTensors(t: StepTensors): void {
  tf.dispose(STEP_VALUE_KEYS.map((k) => t[k]));
}

/**
 * Slots first .. first+count-1 of B samples stored [B, slots, H, W, C] (`px` values per position),
 * as slot-major rows: slot j's samples at rows (j - first)*B .. (j - first)*B + B - 1.
 */
export function slotMajorRows(
  values: Float32Array,
  b: number,
  slots: number,
  first: number,
  count: number,
  px: number,
): Float32Array {
  const out = new Float32Array(count * b * px);
  for (let j = 0; j < count; j++)
    for (let i = 0; i < b; i++) {
      const from = (i * slots + first + j) * px;
      out.set(values.subarray(from, from + px), (j * b + i) * px);
    }
  return out;
}
