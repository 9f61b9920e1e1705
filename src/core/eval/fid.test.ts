import { describe, expect, it } from 'vitest';
import { fidOfFeatures, fitGaussian, frechetDistance, FidInputError, type Gaussian } from './fid';
import { gaussian as normals } from '../random';
import { matMul } from './linalg';

function gaussian(mean: number[], cov: Float64Array): Gaussian {
  return { mean: Float64Array.from(mean), cov, dim: mean.length, count: 0 };
}

function diag(values: number[]): Float64Array {
  const n = values.length;
  const m = new Float64Array(n * n);
  values.forEach((v, i) => (m[i * n + i] = v));
  return m;
}

/** A random orthogonal matrix: Gram-Schmidt on a random Gaussian matrix. */
function randomRotation(n: number, seed: number): Float64Array {
  const q = Float64Array.from(normals(seed, n * n));
  for (let c = 0; c < n; c++) {
    for (let p = 0; p < c; p++) {
      let dot = 0;
      for (let r = 0; r < n; r++) dot += q[r * n + c] * q[r * n + p];
      for (let r = 0; r < n; r++) q[r * n + c] -= dot * q[r * n + p];
    }
    let norm = 0;
    for (let r = 0; r < n; r++) norm += q[r * n + c] ** 2;
    for (let r = 0; r < n; r++) q[r * n + c] /= Math.sqrt(norm);
  }
  return q;
}

function transpose(a: Float64Array, n: number): Float64Array {
  const t = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) t[j * n + i] = a[i * n + j];
  return t;
}

const rotate = (q: Float64Array, s: Float64Array, n: number) => matMul(matMul(q, s, n), transpose(q, n), n);

describe('fitGaussian', () => {
  it('gives the sample mean and the unbiased covariance', () => {
    // Points (0,0), (2,0), (0,2), (2,2): mean (1,1), variances 4/3, covariance 0.
    const g = fitGaussian(new Float32Array([0, 0, 2, 0, 0, 2, 2, 2]), 4, 2);
    expect(Array.from(g.mean)).toEqual([1, 1]);
    expect(Array.from(g.cov)).toEqual([4 / 3, 0, 0, 4 / 3].map((v) => expect.closeTo(v, 14)));
  });

  it('refuses a single sample with a typed error', () => {
    expect(() => fitGaussian(new Float32Array(3), 1, 3)).toThrow(FidInputError);
  });
});

describe('frechetDistance', () => {
  it('is 0 for identical feature sets', () => {
    const dim = 128;
    const count = 600;
    const z = normals(3, count);
    const noise = normals(4, count * dim);
    const f = new Float32Array(count * dim);
    // Correlated, partly degenerate features: like ReLU outputs, some dimensions are mostly 0.
    for (let i = 0; i < count; i++) {
      for (let d = 0; d < dim; d++) f[i * dim + d] = Math.max(0, z[i] * (d % 7) + noise[i * dim + d] * (d % 3));
    }
    expect(fidOfFeatures(f, count, f, count, dim)).toBeLessThan(1e-8);
  });

  it('is (m1 - m2)^2 + (s1 - s2)^2 for 1-D Gaussians', () => {
    const d = frechetDistance(gaussian([1.5], new Float64Array([4])), gaussian([-0.5], new Float64Array([0.25])));
    expect(d).toBeCloseTo(2 ** 2 + (2 - 0.5) ** 2, 12);
  });

  it('matches the 1-D formula on sample statistics of data', () => {
    const a = new Float32Array([1, 2, 4, 7]);
    const b = new Float32Array([0, 0.5, 3]);
    const stats = (x: Float32Array) => {
      const m = x.reduce((s, v) => s + v, 0) / x.length;
      return { m, s: Math.sqrt(x.reduce((s, v) => s + (v - m) ** 2, 0) / (x.length - 1)) };
    };
    const [sa, sb] = [stats(a), stats(b)];
    expect(fidOfFeatures(a, 4, b, 3, 1)).toBeCloseTo((sa.m - sb.m) ** 2 + (sa.s - sb.s) ** 2, 6);
  });

  const a = [0.5, 1, 2, 3, 0.1];
  const b = [1, 0.2, 2, 5, 0.01];
  const ma = [0, 1, 0, -1, 2];
  const mb = [1, 1, 0.5, 0, 0];
  let closedForm = 0;
  for (let i = 0; i < a.length; i++) closedForm += (ma[i] - mb[i]) ** 2 + (Math.sqrt(a[i]) - Math.sqrt(b[i])) ** 2;

  it('matches the closed form for diagonal covariances', () => {
    expect(frechetDistance(gaussian(ma, diag(a)), gaussian(mb, diag(b)))).toBeCloseTo(closedForm, 10);
  });

  it('is unchanged when both Gaussians are rotated together', () => {
    const n = a.length;
    const q = randomRotation(n, 4);
    const rm = (m: number[]) => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push(m.reduce((s, v, k) => s + q[i * n + k] * v, 0));
      return out;
    };
    const d = frechetDistance(gaussian(rm(ma), rotate(q, diag(a), n)), gaussian(rm(mb), rotate(q, diag(b), n)));
    expect(d).toBeCloseTo(closedForm, 10);
  });

  it('matches the 2x2 closed form for non-commuting covariances', () => {
    // For 2x2, Tr((S1 S2)^1/2) = sqrt(Tr(S1 S2) + 2 sqrt(det S1 det S2)).
    const s1 = new Float64Array([2, 0.5, 0.5, 1]);
    const s2 = new Float64Array([1, -0.3, -0.3, 3]);
    const p = matMul(s1, s2, 2);
    const det = (m: Float64Array) => m[0] * m[3] - m[1] * m[2];
    const trSqrt = Math.sqrt(p[0] + p[3] + 2 * Math.sqrt(det(s1) * det(s2)));
    const expected = 1 + 4 + (2 + 1) + (1 + 3) - 2 * trSqrt;
    expect(frechetDistance(gaussian([0, 0], s1), gaussian([1, 2], s2))).toBeCloseTo(expected, 12);
  });
});
