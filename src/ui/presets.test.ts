import { describe, expect, it } from 'vitest';
import { DEFAULT_RAPM } from '../core/rapm/config';
import { matchingPreset, presetForShards, PRESETS, START_PRESET } from './presets';

describe('presets', () => {
  it('each preset is recognised from its own values, and only those', () => {
    for (const p of PRESETS) expect(matchingPreset(structuredClone(p.config), { ...p.run })?.id).toBe(p.id);
    expect(new Set(PRESETS.map((p) => p.id)).size).toBe(PRESETS.length);
  });

  it('editing any field makes the form custom', () => {
    const p = PRESETS.find((x) => x.id === 'paper');
    if (!p) throw new Error('no paper preset');
    expect(matchingPreset({ ...p.config, seed: 1 }, p.run)).toBeNull();
    expect(matchingPreset({ ...p.config, studentBetas: [0, 0.999] }, p.run)).toBeNull();
    expect(matchingPreset({ ...p.config, student: { ...p.config.student, rank: 2 } }, p.run)).toBeNull();
    expect(matchingPreset(p.config, { ...p.run, iterations: p.run.iterations + 1 })).toBeNull();
  });

  it('holds the settings the issue names', () => {
    const byId = Object.fromEntries(PRESETS.map((p) => [p.id, p]));
    expect(byId.paper.config.student).toMatchObject({ mode: 'lora', rank: 1 });
    expect(byId.paper.config.batchSize).toBe(1);
    expect(byId.best.config).toMatchObject({ lambdaRel: 0.1, lambdaAbs: 0.1, muRel: 1, muAbs: 1 });
    expect(byId.best.config.student.mode).toBe('full');
    expect(byId.quick.run.iterations).toBeLessThan(1000);
    // the few-step table's best per N (docs/results-fewstep.md)
    expect(byId['best-2step'].config).toMatchObject({ lambdaRel: 0.1, lambdaAbs: 0.1, discriminators: 'both' });
    expect(byId['best-1step'].config).toMatchObject({ lambdaRel: 0.1, lambdaAbs: 0.1, studentLr: 5e-4 });
    expect(byId['best-1step'].config.student).toMatchObject({ mode: 'full', prediction: 'v_prediction' });
    expect(START_PRESET.config).toEqual(DEFAULT_RAPM);
  });

  it("names the preset measured for the shards' N, only where the loaded teacher's shards agree on one N", () => {
    const shard = (slots: number, teacherMatch = true) => ({ slots, teacherMatch });
    expect(presetForShards([shard(1), shard(1)])?.id).toBe('best-1step');
    expect(presetForShards([shard(2)])?.id).toBe('best-2step');
    expect(presetForShards([shard(4), shard(2, false)])?.id).toBe('best');
    expect(presetForShards([shard(4), shard(2)])).toBeNull();
    expect(presetForShards([shard(8)])).toBeNull();
    expect(presetForShards([])).toBeNull();
    for (const n of [1, 2, 4]) expect(presetForShards([shard(n)])?.forSteps).toBe(n);
  });
});
