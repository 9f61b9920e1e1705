/**
 * A saved set of generated samples (`npm run eval -- --save-samples FILE`): the images, the class
 * each was drawn for, and the first seed, as one safetensors file. Comparing two models on the
 * same seeds (a student against its teacher) then needs the slow model sampled only once.
 *
 * Format: tensors `images` F32 [K, H, W, C] (values in the data range) and `labels` I32 [K];
 * metadata `format` = "rapm-studio/samples", `seed` = the first seed (sample k used seed + k),
 * `source` = a free-text description (model file, steps, guidance).
 */
import { FormatError, type LimitViolation } from '../io/errors';
import { LIMITS } from '../io/limits';
import { parseSafetensors, writeSafetensors } from '../io/safetensors';

export const SAMPLE_SET_FORMAT = 'rapm-studio/samples';

export interface SampleSet {
  images: Float32Array;
  labels: Int32Array;
  /** [H, W, C] of one image. */
  imageShape: [number, number, number];
  /** Sample k was drawn with seed `seed + k`. */
  seed: number;
  source: string;
}

export type SampleSetErrorCode = 'not-a-sample-set' | 'bad-shape' | 'mismatch';

/** A samples file that is not one, or two sets that cannot be compared sample by sample. */
export class SampleSetError extends FormatError {
  declare readonly code: SampleSetErrorCode;
  constructor(code: SampleSetErrorCode, message: string, violation?: LimitViolation) {
    super(code, message, { violation });
  }
}

export function encodeSampleSet(set: SampleSet): Uint8Array {
  const count = set.labels.length;
  return writeSafetensors(
    {
      images: { dtype: 'F32', shape: [count, ...set.imageShape], data: set.images },
      labels: { dtype: 'I32', shape: [count], data: set.labels },
    },
    { format: SAMPLE_SET_FORMAT, seed: String(set.seed), source: set.source },
  );
}

export function decodeSampleSet(bytes: Uint8Array | ArrayBuffer): SampleSet {
  const { tensors, metadata } = parseSafetensors(bytes);
  const images = tensors.get('images');
  const labels = tensors.get('labels');
  if (metadata.format !== SAMPLE_SET_FORMAT || !images || !labels) {
    throw new SampleSetError(
      'not-a-sample-set',
      `not a samples file (want metadata format "${SAMPLE_SET_FORMAT}" with tensors images and labels); ` +
        'write one with npm run eval -- --save-samples FILE',
    );
  }
  if (images.dtype !== 'F32' || images.shape.length !== 4 || labels.dtype !== 'I32' || labels.shape.length !== 1) {
    throw new SampleSetError('bad-shape', 'images must be F32 [K, H, W, C] and labels I32 [K]');
  }
  if (images.shape[0] !== labels.shape[0]) {
    throw new SampleSetError('bad-shape', `${images.shape[0]} images but ${labels.shape[0]} labels`);
  }
  const [k, h, w, c] = images.shape;
  const bounds: [string, number, number][] = [
    ['images.shape[0] (samples)', k, LIMITS.trajectories],
    ['images.shape[1] (height)', h, LIMITS.imageSize],
    ['images.shape[2] (width)', w, LIMITS.imageSize],
    ['images.shape[3] (channels)', c, LIMITS.dataChannels],
  ];
  for (const [field, value, limit] of bounds) {
    if (value > limit) {
      throw new SampleSetError('bad-shape', `${field} is ${value}, over the limit of ${limit}`, {
        field,
        value: String(value),
        limit: `<= ${limit}`,
      });
    }
  }
  const seed = Number(metadata.seed);
  if (!/^-?(0|[1-9][0-9]*)$/.test(metadata.seed ?? '') || !Number.isSafeInteger(seed)) {
    throw new SampleSetError(
      'not-a-sample-set',
      `metadata seed must be an integer, got ${JSON.stringify(metadata.seed) ?? 'nothing'}`,
    );
  }
  return {
    images: images.data,
    labels: labels.data as Int32Array,
    imageShape: [h, w, c],
    seed,
    source: metadata.source ?? '',
  };
}

/**
 * Checks that `b` was drawn for exactly the same seeds, classes and image size as `a`, so the
 * two can be compared sample by sample; says which differs otherwise.
 */
export function assertSameDraws(a: SampleSet, b: SampleSet): void {
  const what =
    a.labels.length !== b.labels.length
      ? `${a.labels.length} vs ${b.labels.length} samples`
      : a.seed !== b.seed
        ? `first seed ${a.seed} vs ${b.seed}`
        : a.imageShape.join('x') !== b.imageShape.join('x')
          ? `images ${a.imageShape.join('x')} vs ${b.imageShape.join('x')}`
          : a.labels.some((l, i) => l !== b.labels[i])
            ? 'different classes'
            : '';
  if (what) {
    throw new SampleSetError(
      'mismatch',
      `the sample sets were not drawn alike (${what}); use the same --count and --seed`,
    );
  }
}

/** Root-mean-square pixel difference of each pair of samples, averaged over the samples. */
export function meanPixelRmse(a: SampleSet, b: SampleSet): number {
  assertSameDraws(a, b);
  const count = a.labels.length;
  const per = a.images.length / count;
  let total = 0;
  for (let k = 0; k < count; k++) {
    let sq = 0;
    for (let i = k * per; i < (k + 1) * per; i++) sq += (a.images[i] - b.images[i]) ** 2;
    total += Math.sqrt(sq / per);
  }
  return total / count;
}
