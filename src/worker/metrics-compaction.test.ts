import { describe, expect, it } from 'vitest';
import type { RapmMetrics } from '../core/rapm/metrics';
import { compactMetrics, type CompactionPolicy } from './metrics-compaction';

function event(iteration: number): RapmMetrics {
  return {
    iteration,
    studentLoss: Math.sin(iteration / 50),
    perSlot: { advRel: [1, 2], advAbs: [-1, -2], regRel: [0.5, 0.25], regAbs: [3, 4] },
    discLossRel: 0.1,
    discLossAbs: 0.2,
    accuracy: { relReal: 1, relFake: 0, absReal: 0.5, absFake: 0.5 },
    gradNorm: { student: 1, rel: 1, abs: 1 },
    ms: 10,
  };
}

const run = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => event(from + i));
const iterations = (events: readonly RapmMetrics[]) => events.map((m) => m.iteration);
const POLICY: CompactionPolicy = { recentIterations: 100, olderPoints: 50, maxChunks: 4 };

describe('compactMetrics', () => {
  it('keeps a short history whole', () => {
    const events = run(1, 150);
    expect(compactMetrics(events, POLICY)).toBe(events);
    expect(compactMetrics([], POLICY)).toEqual([]);
  });

  it('keeps the recent window at full resolution and thins the rest to the budget by a power-of-two stride', () => {
    const kept = compactMetrics(run(1, 1000), POLICY);
    const recent = kept.filter((m) => m.iteration > 900);
    const older = kept.filter((m) => m.iteration <= 900);
    expect(iterations(recent)).toEqual(iterations(run(901, 1000)));
    expect(older.length).toBeLessThanOrEqual(POLICY.olderPoints);
    // 900 older iterations into at most 50: every 32nd (28 of them); every 16th would be 56
    expect(iterations(older)).toEqual(Array.from({ length: 28 }, (_, i) => 32 * (i + 1)));
    expect(kept.every((m) => m.studentLoss === Math.sin(m.iteration / 50))).toBe(true);
  });

  it('stays bounded as a run grows, and a later compaction only drops what an earlier one kept', () => {
    let stored: readonly RapmMetrics[] = [];
    let last = 0;
    for (let step = 0; step < 200; step++) {
      const before = new Set(iterations(stored));
      stored = compactMetrics([...stored, ...run(last + 1, last + 97)], POLICY);
      last += 97;
      expect(stored.length).toBeLessThanOrEqual(POLICY.recentIterations + POLICY.olderPoints);
      // nothing comes back that an earlier compaction dropped (older than the new recent window)
      for (const i of iterations(stored))
        if (i <= last - 97 - POLICY.recentIterations) expect(before.has(i)).toBe(true);
      expect(stored[stored.length - 1].iteration).toBe(last);
    }
    const ascending = iterations(stored).every((i, k, all) => k === 0 || i > all[k - 1]);
    expect(ascending).toBe(true);
  });
});
