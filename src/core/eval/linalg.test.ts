import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../random';
import { fromEigen, matMul, psdSqrt, symmetricEigen } from './linalg';

function randomSymmetric(n: number, seed: number): Float64Array {
  const rnd = mulberry32(seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) a[i * n + j] = a[j * n + i] = rnd() * 2 - 1;
  return a;
}

function maxAbsDiff(a: Float64Array, b: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('symmetricEigen', () => {
  it('reconstructs its matrix and gives orthonormal vectors (n = 128)', () => {
    const n = 128;
    const a = randomSymmetric(n, 1);
    const e = symmetricEigen(a, n);
    expect(maxAbsDiff(fromEigen(e, n), a)).toBeLessThan(1e-11);
    const vtv = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += e.vectors[k * n + i] * e.vectors[k * n + j];
        vtv[i * n + j] = s;
      }
    const eye = new Float64Array(n * n);
    for (let i = 0; i < n; i++) eye[i * n + i] = 1;
    expect(maxAbsDiff(vtv, eye)).toBeLessThan(1e-12);
  });

  it('finds the eigenvalues of a known 2x2 matrix', () => {
    // [[2, 1], [1, 2]] has eigenvalues 1 and 3.
    const e = symmetricEigen(new Float64Array([2, 1, 1, 2]), 2);
    expect(Array.from(e.values).sort()).toEqual([expect.closeTo(1, 14), expect.closeTo(3, 14)]);
  });
});

describe('psdSqrt', () => {
  it('squares back to a PSD matrix, including a singular one', () => {
    const n = 20;
    const b = randomSymmetric(n, 2);
    // b * b^T with one direction removed: PSD of rank < n.
    const pd = matMul(b, b, n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i === 0 || j === 0) pd[i * n + j] = 0;
    const r = psdSqrt(pd, n);
    expect(maxAbsDiff(matMul(r, r, n), pd)).toBeLessThan(1e-10);
  });
});
