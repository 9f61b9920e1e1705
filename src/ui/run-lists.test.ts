import { describe, expect, it } from 'vitest';
import { DEFAULT_RAPM } from '../core/rapm/config';
import type { RunInfo } from '../worker/protocol';
import { otherTabRuns, resumableRuns, type RunLists } from './run-lists';

function run(id: string, over: Partial<RunInfo> = {}): RunInfo {
  return {
    id,
    createdAt: Number(id.replace(/\D/g, '')) || 0,
    config: DEFAULT_RAPM,
    iterations: 100,
    sampleEvery: 10,
    checkpointEvery: 10,
    checkpointSeconds: 15,
    iteration: 40,
    checkpointIteration: 30,
    status: 'interrupted',
    validation: null,
    ...over,
  };
}

const lists = (over: Partial<RunLists>): RunLists => ({
  runs: [],
  elsewhere: {},
  liveHere: null,
  dismissed: [],
  ...over,
});

describe('run lists', () => {
  it('offers runs cut short, paused, stopped and failed, newest first', () => {
    const runs = [
      run('r1', { status: 'interrupted' }),
      run('r2', { status: 'error', error: 'Training failed at iteration 41: boom.' }),
      run('r3', { status: 'stopped' }),
      run('r4', { status: 'paused' }),
      run('r5', { status: 'finished', iteration: 100 }),
      run('r6', { status: 'stopped', iteration: 100 }),
    ];
    expect(resumableRuns(lists({ runs })).map((r) => r.id)).toEqual(['r4', 'r3', 'r2', 'r1']);
  });

  it('offers no run another tab trains, nor the one this tab trains, nor one put off', () => {
    const runs = [run('r1', { inAnotherTab: true }), run('r2'), run('r3'), run('r4')];
    const live = { run: run('r2', { status: 'running' }), state: 'running' as const, itPerSec: 2, phase: null };
    const offered = resumableRuns(lists({ runs, elsewhere: { r2: live }, liveHere: 'r3', dismissed: ['r4'] }));
    expect(offered).toEqual([]);
  });

  it("shows other tabs' runs with their live progress where it came, else as stored", () => {
    const runs = [run('r1', { inAnotherTab: true, status: 'paused' }), run('r2', { inAnotherTab: true }), run('r3')];
    const live = {
      run: run('r2', { iteration: 55, status: 'running' }),
      state: 'running' as const,
      itPerSec: 2,
      phase: null,
    };
    const shown = otherTabRuns({ runs, elsewhere: { r2: live } });
    expect(shown.map((o) => [o.run.id, o.state, o.run.iteration])).toEqual([
      ['r1', 'paused', 40],
      ['r2', 'running', 55],
    ]);
  });
});
