import { describe, expect, it } from 'vitest';
import type { RapmMetrics } from '../core/rapm/metrics';
import { CURVES, EMA_ALPHA, MetricSeries } from './metric-series';
import { metricsCsv } from './metrics-csv';

function event(iteration: number, loss: number, accOff = false): RapmMetrics {
  return {
    iteration,
    studentLoss: loss,
    perSlot: { advRel: [1, 2], advAbs: [-1, -2], regRel: [0.5, 0.25], regAbs: [3, 4] },
    discLossRel: 0.1,
    discLossAbs: 0.2,
    accuracy: { relReal: accOff ? NaN : 1, relFake: 0, absReal: 0.5, absFake: 0.5 },
    gradNorm: { student: 1, rel: 1, abs: 1 },
    ms: 10,
  };
}

describe('MetricSeries', () => {
  it('keeps every row across geometric growth, with slot terms summed', () => {
    const s = new MetricSeries();
    const n = 5000;
    for (let i = 0; i < n; i += 100) s.append(Array.from({ length: 100 }, (_, j) => event(i + j, i + j)));
    expect(s.length).toBe(n);
    const [x, ...ys] = s.columns(false);
    expect(x.length).toBe(n);
    expect(x[4999]).toBe(4999);
    const col = (key: string) => ys[CURVES.findIndex((c) => c.key === key)];
    expect(col('studentLoss')[1234]).toBe(1234);
    expect(col('advRel')[0]).toBe(3);
    expect(col('advAbs')[0]).toBe(-3);
    expect(col('regRel')[0]).toBe(0.75);
  });

  it('smooths with an EMA that skips switched-off (NaN) terms', () => {
    const s = new MetricSeries();
    s.append([event(0, 10, true), event(1, 20), event(2, 20)]);
    const ys = s.columns(true).slice(1);
    const loss = ys[CURVES.findIndex((c) => c.key === 'studentLoss')];
    expect(loss[0]).toBe(10);
    expect(loss[1]).toBeCloseTo(10 + EMA_ALPHA * 10);
    const acc = ys[CURVES.findIndex((c) => c.key === 'accRelReal')];
    expect(acc[0]).toBeNaN();
    expect(acc[1]).toBe(1);
  });

  it('starts over on clear', () => {
    const s = new MetricSeries();
    s.append([event(0, 1)]);
    s.clear();
    s.append([event(7, 2)]);
    expect(s.length).toBe(1);
    expect(s.columns(true)[1][0]).toBe(2);
  });
});

describe('MetricSeries.columnsOf', () => {
  it('hands out the named curves only, in the order asked', () => {
    const s = new MetricSeries();
    s.append([event(1, 5), event(2, 7)]);
    const [x, hinge, loss] = s.columnsOf(['discLossAbs', 'studentLoss'], false);
    expect([...x]).toEqual([1, 2]);
    expect([...hinge]).toEqual([0.2, 0.2]);
    expect([...loss]).toEqual([5, 7]);
    expect(() => s.columnsOf(['nope'], false)).toThrow(/no curve named nope/);
  });
});

describe('metricsCsv', () => {
  it('writes a header from flattenMetrics and one row per iteration', () => {
    const lines = metricsCsv([event(0, 1), event(1, 2)])
      .trim()
      .split('\n');
    expect(lines).toHaveLength(3);
    const header = lines[0].split(',');
    expect(header).toContain('regAbs.slot1');
    expect(lines[2].split(',')[header.indexOf('studentLoss')]).toBe('2');
  });
});
