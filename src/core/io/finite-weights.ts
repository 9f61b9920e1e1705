/**
 * Every weight a file hands us must be finite: a NaN or an infinity in a model, a LoRA export, an
 * evaluator or a checkpoint would load and then poison every sample and every gradient silently.
 * Checked on the decoded values, before any tf tensor is made from them.
 */
import { BundleError } from './errors';

/** Index of the first NaN or infinity in `data`, or -1. */
export function firstNonFinite(data: ArrayLike<number>): number {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return i;
  return -1;
}

/** A weight of a model-like file is NaN or infinite: `tensor` names it, `index` is the first bad element (flat). */
export class NonFiniteWeightError extends BundleError {
  constructor(
    /** What the file is, for the message: 'model bundle', 'LoRA export', 'evaluator', 'checkpoint'. */
    readonly file: string,
    readonly tensor: string,
    readonly index: number,
    readonly value: number,
  ) {
    super(
      'non-finite',
      `${file}: tensor '${tensor}' holds ${value} at flat index ${index}: every weight must be finite ` +
        `(the model diverged or the file is damaged); use a checkpoint from before the divergence`,
    );
  }
}

/** Throws NonFiniteWeightError naming `tensor` unless every value of `data` is finite. */
export function checkFiniteWeights(file: string, tensor: string, data: ArrayLike<number>): void {
  const i = firstNonFinite(data);
  if (i >= 0) throw new NonFiniteWeightError(file, tensor, i, data[i]);
}
