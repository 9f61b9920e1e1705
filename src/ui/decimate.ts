/**
 * What the curves hand to uPlot: at most four rows per pixel column (M4 decimation: each
 * column's first, smallest, largest and last value, per curve). A line drawn through those rows
 * covers exactly the pixels the full history would, so a run of 100k iterations costs the chart
 * what ~2 600 rows cost, on the main thread and in the rasteriser alike.
 */

/** An x range the user zoomed to. */
export interface XRange {
  min: number;
  max: number;
}

/**
 * M4 decimation of rows [lo, hi) of aligned columns (`x` ascending) into `columns` equal-width
 * x buckets. Returns [x, ...ys]; rows that already fit (at most four per column) come back as
 * views without copying. NaN values (a switched-off term) are skipped when looking for the
 * extremes, and a column with no finite value stays NaN.
 */
export function decimateM4(
  x: Float64Array,
  ys: readonly Float64Array[],
  lo: number,
  hi: number,
  columns: number,
): Float64Array[] {
  if (hi - lo <= 4 * columns) return [x.subarray(lo, hi), ...ys.map((y) => y.subarray(lo, hi))];
  // Where each column's rows start, in one pass over x; then each curve is scanned column by column.
  const x0 = x[lo];
  const span = x[hi - 1] - x0;
  const perUnit = span > 0 ? columns / span : 0;
  const starts: number[] = [];
  let column = -1;
  for (let i = lo; i < hi; i++) {
    const c = Math.min(columns - 1, Math.floor((x[i] - x0) * perUnit));
    if (c !== column) {
      starts.push(i);
      column = c;
    }
  }
  starts.push(hi);
  const outX = new Float64Array(4 * columns);
  let rows = 0;
  for (let c = 0; c + 1 < starts.length; c++) {
    const i = starts[c];
    const j = starts[c + 1];
    if (j - i <= 4) for (let r = i; r < j; r++) outX[rows++] = x[r];
    else {
      outX[rows] = outX[rows + 1] = x[i];
      outX[rows + 2] = outX[rows + 3] = x[j - 1];
      rows += 4;
    }
  }
  const outYs = ys.map((y) => {
    const out = new Float64Array(rows);
    let o = 0;
    for (let c = 0; c + 1 < starts.length; c++) {
      const i = starts[c];
      const j = starts[c + 1];
      if (j - i <= 4) {
        for (let r = i; r < j; r++) out[o++] = y[r];
        continue;
      }
      let min = Infinity;
      let max = -Infinity;
      let atMin = -1;
      let atMax = -1;
      for (let r = i; r < j; r++) {
        const v = y[r];
        if (v < min) {
          min = v;
          atMin = r;
        }
        if (v > max) {
          max = v;
          atMax = r;
        }
      }
      // Extremes in the order they happened, so the line's path through the column stays true.
      const minFirst = atMin <= atMax;
      out[o] = y[i];
      out[o + 1] = atMin < 0 ? NaN : minFirst ? min : max;
      out[o + 2] = atMin < 0 ? NaN : minFirst ? max : min;
      out[o + 3] = y[j - 1];
      o += 4;
    }
    return out;
  });
  return [outX.subarray(0, rows), ...outYs];
}

/** The first index whose x is >= v, or > v when `after` (`x` ascending, `n` rows). */
function search(x: Float64Array, n: number, v: number, after: boolean): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x[mid] < v || (after && x[mid] === v)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The chart's data: the rows in `view` (all rows when null) decimated to `width` pixel columns,
 * widened by one row each side so lines run on to the plot's edges. A zoomed view also keeps
 * the history's first and last rows, because uPlot's zoom-out (double click) spans the data it holds.
 */
export function plotColumns(columns: readonly Float64Array[], view: XRange | null, width: number): Float64Array[] {
  const [x, ...ys] = columns;
  const n = x.length;
  if (!view || n === 0) return decimateM4(x, ys, 0, n, width);
  const lo = Math.max(0, search(x, n, view.min, false) - 1);
  const hi = Math.min(n, search(x, n, view.max, true) + 1);
  const inner = decimateM4(x, ys, lo, hi, width);
  const before = lo > 0 ? 1 : 0;
  const after = hi < n ? 1 : 0;
  if (!before && !after) return inner;
  return inner.map((col, k) => {
    const out = new Float64Array(before + col.length + after);
    if (before) out[0] = columns[k][0];
    out.set(col, before);
    if (after) out[out.length - 1] = columns[k][n - 1];
    return out;
  });
}
