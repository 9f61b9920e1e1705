/**
 * Frechet distance between Gaussian fits of two feature sets (the FID of Heusel et al. 2017,
 * here on the evaluator classifier's features instead of Inception's):
 *
 *   d^2 = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2)
 *
 * Everything is Float64. The matrix square roots use a symmetric eigendecomposition: S1^1/2
 * is symmetric PSD, so S1^1/2 S2 S1^1/2 is symmetric PSD too, and the trace of its square root
 * is the sum of the square roots of its (clamped) eigenvalues. This avoids the non-symmetric
 * sqrtm(S1 S2) of the reference implementation and its complex round-off parts.
 */
import { matMul, psdSqrt, symmetricEigen, trace } from './linalg';

export interface Gaussian {
  mean: Float64Array;
  /** dim x dim row-major sample covariance (divided by count - 1, as numpy's np.cov). */
  cov: Float64Array;
  dim: number;
  count: number;
}

/** The feature sets cannot give a Gaussian fit or a distance (too few samples, mismatched sizes). */
export class FidInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FidInputError';
  }
}

/** Mean and covariance of `count` feature vectors of length `dim`, stored row-major. */
export function fitGaussian(features: Float32Array | Float64Array, count: number, dim: number): Gaussian {
  if (features.length !== count * dim) {
    throw new FidInputError(`fitGaussian: expected ${count} x ${dim} = ${count * dim} values, got ${features.length}`);
  }
  if (count < 2) throw new FidInputError(`fitGaussian: a covariance needs at least 2 samples, got ${count}`);
  const mean = new Float64Array(dim);
  for (let i = 0; i < count; i++) for (let d = 0; d < dim; d++) mean[d] += features[i * dim + d];
  for (let d = 0; d < dim; d++) mean[d] /= count;
  // Centre first (two passes), then accumulate the upper triangle: no E[x^2] - E[x]^2 cancellation.
  const cov = new Float64Array(dim * dim);
  const row = new Float64Array(dim);
  for (let i = 0; i < count; i++) {
    for (let d = 0; d < dim; d++) row[d] = features[i * dim + d] - mean[d];
    for (let a = 0; a < dim; a++) {
      const ra = row[a];
      if (ra === 0) continue;
      for (let b = a; b < dim; b++) cov[a * dim + b] += ra * row[b];
    }
  }
  for (let a = 0; a < dim; a++) {
    for (let b = a; b < dim; b++) {
      const c = cov[a * dim + b] / (count - 1);
      cov[a * dim + b] = c;
      cov[b * dim + a] = c;
    }
  }
  return { mean, cov, dim, count };
}

/** Trace of the PSD square root of S1^1/2 S2 S1^1/2, i.e. Tr((S1 S2)^1/2). */
function traceSqrtProduct(s1: Float64Array, s2: Float64Array, n: number): number {
  const r = psdSqrt(s1, n);
  const { values } = symmetricEigen(matMul(matMul(r, s2, n), r, n), n);
  let t = 0;
  for (const v of values) t += Math.sqrt(Math.max(v, 0));
  return t;
}

export function frechetDistance(a: Gaussian, b: Gaussian): number {
  if (a.dim !== b.dim) throw new FidInputError(`frechetDistance: feature dimensions differ (${a.dim} vs ${b.dim})`);
  const n = a.dim;
  let meanTerm = 0;
  for (let d = 0; d < n; d++) meanTerm += (a.mean[d] - b.mean[d]) ** 2;
  const d2 = meanTerm + trace(a.cov, n) + trace(b.cov, n) - 2 * traceSqrtProduct(a.cov, b.cov, n);
  // The true value is >= 0; only round-off can push identical fits a hair below it.
  return Math.max(d2, 0);
}

/** FID of two feature sets of the same dimension. */
export function fidOfFeatures(
  a: Float32Array | Float64Array,
  countA: number,
  b: Float32Array | Float64Array,
  countB: number,
  dim: number,
): number {
  return frechetDistance(fitGaussian(a, countA, dim), fitGaussian(b, countB, dim));
}
