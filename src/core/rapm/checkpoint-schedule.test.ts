import { describe, expect, it } from 'vitest';
import { CheckpointTimer } from './checkpoint-schedule';

/** A clock the test moves by hand. */
function fakeClock() {
  let now = 1_000_000;
  return { clock: () => now, advance: (seconds: number) => (now += seconds * 1000) };
}

describe('CheckpointTimer', () => {
  it('is due every N iterations on a fast backend, and not in between', () => {
    const { clock, advance } = fakeClock();
    const timer = new CheckpointTimer({ everyIterations: 100, everySeconds: 60 }, clock);
    const due: number[] = [];
    for (let i = 1; i <= 250; i++) {
      advance(0.01);
      if (timer.due(i)) {
        due.push(i);
        timer.restart();
      }
    }
    expect(due).toEqual([100, 200]);
  });

  it('is due once a minute of training has passed on a slow backend, whatever the count', () => {
    const { clock, advance } = fakeClock();
    const timer = new CheckpointTimer({ everyIterations: 100, everySeconds: 60 }, clock);
    const due: number[] = [];
    for (let i = 1; i <= 8; i++) {
      advance(40); // 40 s per iteration, as on SwiftShader
      if (timer.due(i)) {
        due.push(i);
        timer.restart();
      }
    }
    expect(due).toEqual([2, 4, 6, 8]);
  });

  it('counts training time only: a restart after a pause starts the minute over', () => {
    const { clock, advance } = fakeClock();
    const timer = new CheckpointTimer({ everyIterations: 0, everySeconds: 60 }, clock);
    advance(50);
    expect(timer.due(1)).toBe(false);
    advance(600); // paused for ten minutes (the pause stored a checkpoint)
    timer.restart();
    advance(30);
    expect(timer.due(2)).toBe(false);
    advance(30);
    expect(timer.due(3)).toBe(true);
  });

  it('with both off it is never due', () => {
    const { clock, advance } = fakeClock();
    const timer = new CheckpointTimer({ everyIterations: 0, everySeconds: 0 }, clock);
    advance(3600);
    expect(timer.due(100)).toBe(false);
  });
});
