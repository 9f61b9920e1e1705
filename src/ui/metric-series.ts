/**
 * The metric history as columns of typed arrays, one per curve, grown by doubling so appending
 * tens of thousands of points costs amortised O(1) and uPlot can read subarray views without
 * copying. Each curve keeps a raw column and an EMA-smoothed column, updated as rows arrive.
 */
import { SCALAR_METRICS, type RapmMetrics } from '../core/rapm/metrics';

export interface CurveDef {
  key: string;
  label: string;
  value: (m: RapmMetrics) => number;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** Every loss term (per-slot terms summed over slots) and the discriminators' accuracies. */
export const CURVES: CurveDef[] = [
  { key: 'studentLoss', label: 'student loss', value: SCALAR_METRICS.studentLoss },
  { key: 'discLossRel', label: 'D_rel hinge', value: SCALAR_METRICS.discLossRel },
  { key: 'discLossAbs', label: 'D_abs hinge', value: SCALAR_METRICS.discLossAbs },
  { key: 'regRel', label: 'reg rel (Σ slots)', value: (m) => sum(m.perSlot.regRel) },
  { key: 'regAbs', label: 'reg abs (Σ slots)', value: (m) => sum(m.perSlot.regAbs) },
  { key: 'advRel', label: 'adv rel (Σ slots)', value: (m) => sum(m.perSlot.advRel) },
  { key: 'advAbs', label: 'adv abs (Σ slots)', value: (m) => sum(m.perSlot.advAbs) },
  { key: 'accRelReal', label: 'acc D_rel real', value: SCALAR_METRICS.accRelReal },
  { key: 'accRelFake', label: 'acc D_rel fake', value: SCALAR_METRICS.accRelFake },
  { key: 'accAbsReal', label: 'acc D_abs real', value: SCALAR_METRICS.accAbsReal },
  { key: 'accAbsFake', label: 'acc D_abs fake', value: SCALAR_METRICS.accAbsFake },
];

function curveIndex(key: string): number {
  const i = CURVES.findIndex((c) => c.key === key);
  if (i < 0) throw new Error(`no curve named ${key}`);
  return i;
}

/** Weight of the newest point in the smoothed curves. */
export const EMA_ALPHA = 0.05;

export class MetricSeries {
  private capacity = 1024;
  private rows = 0;
  private x = new Float64Array(this.capacity);
  private raw = CURVES.map(() => new Float64Array(this.capacity));
  private smooth = CURVES.map(() => new Float64Array(this.capacity));
  /** Last smoothed value per curve; NaN until a finite value arrived (NaN marks a switched-off term). */
  private ema = CURVES.map(() => NaN);

  get length(): number {
    return this.rows;
  }

  clear(): void {
    this.rows = 0;
    this.ema.fill(NaN);
  }

  append(events: readonly RapmMetrics[]): void {
    if (this.rows + events.length > this.capacity) this.grow(this.rows + events.length);
    for (const m of events) {
      const i = this.rows++;
      this.x[i] = m.iteration;
      CURVES.forEach((c, k) => {
        const v = c.value(m);
        this.raw[k][i] = v;
        if (Number.isFinite(v))
          this.ema[k] = Number.isFinite(this.ema[k]) ? this.ema[k] + EMA_ALPHA * (v - this.ema[k]) : v;
        this.smooth[k][i] = Number.isFinite(v) ? this.ema[k] : NaN;
      });
    }
  }

  /** Views over the filled rows: [x, ...one column per curve], the layout uPlot's setData takes. */
  columns(smoothed: boolean): Float64Array[] {
    const ys = smoothed ? this.smooth : this.raw;
    return [this.x.subarray(0, this.rows), ...ys.map((y) => y.subarray(0, this.rows))];
  }

  /** Views over the filled rows of the named curves only: [x, ...those columns], in the order asked. */
  columnsOf(keys: readonly string[], smoothed: boolean): Float64Array[] {
    const ys = smoothed ? this.smooth : this.raw;
    return [this.x.subarray(0, this.rows), ...keys.map((k) => ys[curveIndex(k)].subarray(0, this.rows))];
  }

  private grow(needed: number): void {
    let capacity = this.capacity;
    while (capacity < needed) capacity *= 2;
    const bigger = (old: Float64Array) => {
      const next = new Float64Array(capacity);
      next.set(old.subarray(0, this.rows));
      return next;
    };
    this.x = bigger(this.x);
    this.raw = this.raw.map(bigger);
    this.smooth = this.smooth.map(bigger);
    this.capacity = capacity;
  }
}

/** The one history the page shows: that of the current run. */
export const metricSeries = new MetricSeries();
