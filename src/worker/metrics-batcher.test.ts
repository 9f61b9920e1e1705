import { describe, expect, it } from 'vitest';
import type { RapmMetrics } from '../core/rapm/metrics';
import { MetricsBatcher, RateMeter } from './metrics-batcher';

const event = (iteration: number) => ({ iteration }) as RapmMetrics;

describe('MetricsBatcher', () => {
  it('sends at most one batch per interval, in order, and flushes the rest', () => {
    let now = 0;
    const sent: number[][] = [];
    const b = new MetricsBatcher(
      (events) => sent.push(events.map((e) => e.iteration)),
      100,
      () => now,
    );
    for (let i = 1; i <= 10; i++) {
      now = i * 25; // 40 iterations a second
      b.push(event(i));
    }
    expect(sent).toEqual([
      [1, 2, 3, 4],
      [5, 6, 7, 8],
    ]);
    b.flush();
    expect(sent[2]).toEqual([9, 10]);
    b.flush();
    expect(sent.length).toBe(3); // nothing pending: nothing sent
  });
});

describe('RateMeter', () => {
  it('measures iterations per second over its window and forgets on reset', () => {
    let now = 0;
    const r = new RateMeter(4, () => now);
    expect(r.perSecond()).toBe(0);
    for (let i = 0; i < 10; i++) {
      now = i * 50;
      r.tick();
    }
    expect(r.perSecond()).toBeCloseTo(20);
    r.reset();
    expect(r.perSecond()).toBe(0);
  });
});
