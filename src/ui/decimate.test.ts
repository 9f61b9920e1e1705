import { describe, expect, it } from 'vitest';
import { decimateM4, plotColumns } from './decimate';

/** Deterministic noise in [-0.5, 0.5). */
function noise(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32 - 0.5;
  };
}

/** A history like the curves': x = 1..n, one noisy curve, one with NaN stretches (a switched-off term). */
function history(n: number): Float64Array[] {
  const rnd = noise(7);
  const x = Float64Array.from({ length: n }, (_, i) => i + 1);
  const a = Float64Array.from({ length: n }, (_, i) => Math.exp(-i / 500) + rnd());
  const b = Float64Array.from({ length: n }, (_, i) => (i % 700 < 100 ? NaN : 10 * rnd()));
  return [x, a, b];
}

/** The bucket of x value v when [x0, x1] is cut into `columns` equal widths, as decimateM4 cuts it. */
const bucket = (v: number, x0: number, x1: number, columns: number) =>
  Math.min(columns - 1, Math.floor(((v - x0) * columns) / (x1 - x0)));

function extremesPerColumn(x: Float64Array, y: Float64Array, x0: number, x1: number, columns: number) {
  const min = new Array<number>(columns).fill(Infinity);
  const max = new Array<number>(columns).fill(-Infinity);
  x.forEach((v, i) => {
    const c = bucket(v, x0, x1, columns);
    if (y[i] < min[c]) min[c] = y[i];
    if (y[i] > max[c]) max[c] = y[i];
  });
  return { min, max };
}

describe('decimateM4', () => {
  it("keeps each pixel column's min and max, and its first and last rows", () => {
    const [x, ...ys] = history(10_000);
    const columns = 97;
    const [dx, ...dys] = decimateM4(x, ys, 0, x.length, columns);
    expect(dx.length).toBeLessThanOrEqual(4 * columns);
    expect(dx.length).toBeLessThan(x.length);
    for (let i = 1; i < dx.length; i++) expect(dx[i]).toBeGreaterThanOrEqual(dx[i - 1]);
    expect([dx[0], dx[dx.length - 1]]).toEqual([x[0], x[x.length - 1]]);
    ys.forEach((y, k) => {
      const full = extremesPerColumn(x, y, x[0], x[x.length - 1], columns);
      const kept = extremesPerColumn(dx, dys[k], x[0], x[x.length - 1], columns);
      expect(kept.min).toEqual(full.min);
      expect(kept.max).toEqual(full.max);
      expect(dys[k][0]).toBe(y[0]);
      expect(dys[k][dys[k].length - 1]).toBe(y[y.length - 1]);
    });
  });

  it('puts each column’s extremes in the order they happened', () => {
    const x = Float64Array.from({ length: 20 }, (_, i) => i);
    const y = Float64Array.from([0, 5, 1, -3, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const [, dy] = decimateM4(x, [y], 0, 20, 2);
    // First column (x 0..9): first 0, max 5 (at 1) before min -3 (at 3), last 0.
    expect(Array.from(dy.subarray(0, 4))).toEqual([0, 5, -3, 0]);
  });

  it('returns views, not copies, when the rows already fit', () => {
    const [x, ...ys] = history(300);
    const out = decimateM4(x, ys, 10, 290, 100);
    expect(out[0].buffer).toBe(x.buffer);
    expect(Array.from(out[1])).toEqual(Array.from(ys[0].subarray(10, 290)));
  });

  it('keeps a column with no finite value as NaN', () => {
    const x = Float64Array.from({ length: 100 }, (_, i) => i);
    const y = new Float64Array(100).fill(NaN);
    const [dx, dy] = decimateM4(x, [y], 0, 100, 5);
    expect(dx.length).toBe(20);
    expect(dy.every((v) => Number.isNaN(v))).toBe(true);
  });
});

describe('plotColumns', () => {
  it('decimates the zoomed rows to full resolution there and keeps the history’s ends', () => {
    const cols = history(100_000);
    const [x, y] = cols;
    const [zx, zy] = plotColumns(cols, { min: 50_000, max: 50_400 }, 400);
    // 401 rows in view, one each side of it, and the first and last rows: nothing decimated.
    expect(zx.length).toBe(401 + 2 + 2);
    expect([zx[0], zx[1], zx[zx.length - 2], zx[zx.length - 1]]).toEqual([1, 49_999, 50_401, 100_000]);
    expect(zy[2]).toBe(y[x.indexOf(50_000)]);
  });

  it('with no zoom spans the whole history', () => {
    const cols = history(100_000);
    const [zx] = plotColumns(cols, null, 500);
    expect(zx.length).toBeLessThanOrEqual(2000);
    expect([zx[0], zx[zx.length - 1]]).toEqual([1, 100_000]);
  });
});
