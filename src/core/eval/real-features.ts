/**
 * The Gaussian fit of the evaluator's features on real images, shipped beside the evaluator
 * (public/evaluator-real.safetensors, written by `npm run evaluator:real`), so FID to real digits
 * can be measured where the real images are not at hand (the studio's worker).
 *
 * Format: tensors `mean` F32 [D] and `cov` F32 [D, D] (sample covariance, divided by count - 1);
 * metadata `format` = "rapm-studio/real-features", `evaluator` = SHA-256 of the evaluator file's
 * tensor data (the fit belongs to those weights only), `count` = real images fitted,
 * `source` = free text naming them.
 */
import { FormatError } from '../io/errors';
import { parseSafetensors, writeSafetensors } from '../io/safetensors';
import type { Gaussian } from './fid';

export const REAL_FEATURES_FORMAT = 'rapm-studio/real-features';

export interface RealFeatures extends Gaussian {
  evaluatorSha256: string;
  source: string;
}

export type RealFeaturesErrorCode = 'not-real-features' | 'bad-shape' | 'wrong-evaluator';

export class RealFeaturesError extends FormatError {
  declare readonly code: RealFeaturesErrorCode;
  constructor(code: RealFeaturesErrorCode, message: string) {
    super(code, message);
  }
}

export function encodeRealFeatures(real: RealFeatures): Uint8Array {
  return writeSafetensors(
    {
      mean: { dtype: 'F32', shape: [real.dim], data: Float32Array.from(real.mean) },
      cov: { dtype: 'F32', shape: [real.dim, real.dim], data: Float32Array.from(real.cov) },
    },
    {
      format: REAL_FEATURES_FORMAT,
      evaluator: real.evaluatorSha256,
      count: String(real.count),
      source: real.source,
    },
  );
}

/** Reads a real-features file; `evaluatorSha256` is the loaded evaluator's, which the fit must belong to. */
export function decodeRealFeatures(bytes: Uint8Array | ArrayBuffer, evaluatorSha256: string): RealFeatures {
  const { tensors, metadata } = parseSafetensors(bytes);
  const mean = tensors.get('mean');
  const cov = tensors.get('cov');
  if (metadata.format !== REAL_FEATURES_FORMAT || !mean || !cov) {
    throw new RealFeaturesError(
      'not-real-features',
      `not a real-features file (want metadata format "${REAL_FEATURES_FORMAT}" with tensors mean and cov); ` +
        'write one with npm run evaluator:real',
    );
  }
  const dim = mean.shape[0];
  if (mean.dtype !== 'F32' || mean.shape.length !== 1 || cov.dtype !== 'F32' || cov.shape.join() !== `${dim},${dim}`) {
    throw new RealFeaturesError(
      'bad-shape',
      `mean must be F32 [D] and cov F32 [D, D], got [${mean.shape}] and [${cov.shape}]`,
    );
  }
  if (metadata.evaluator !== evaluatorSha256) {
    throw new RealFeaturesError(
      'wrong-evaluator',
      `these real features belong to evaluator ${String(metadata.evaluator).slice(0, 12)}, not the loaded ` +
        `${evaluatorSha256.slice(0, 12)}; rewrite them with npm run evaluator:real`,
    );
  }
  return {
    mean: Float64Array.from(mean.data),
    cov: Float64Array.from(cov.data),
    dim,
    count: Number(metadata.count),
    evaluatorSha256,
    source: metadata.source ?? '',
  };
}
