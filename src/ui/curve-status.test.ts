import { describe, expect, it } from 'vitest';
import type { TeacherReference, ValidationPoint } from '../worker/protocol';
import { curveStatus, type StatusInput } from './curve-status';

/** `n` iterations with per-iteration values from the given functions of the iteration. */
function run(
  n: number,
  loss: (i: number) => number,
  rel: (i: number) => number,
  abs: (i: number) => number,
  validation: ValidationPoint[] = [],
  references: TeacherReference[] = [],
): StatusInput {
  const x = Array.from({ length: n }, (_, i) => i + 1);
  return {
    x,
    studentLoss: x.map(loss),
    hingeRel: x.map(rel),
    hingeAbs: x.map(abs),
    validation,
    references,
  };
}

const wiggle = (i: number) => 0.01 * Math.sin(i);

describe('curveStatus', () => {
  it('says nothing definite about a run that has barely started', () => {
    expect(
      curveStatus(
        run(
          5,
          () => 1,
          () => 2,
          () => 2,
        ),
      ),
    ).toEqual(['Too early to say: 5 iterations so far.']);
  });

  it('reports both heads at chance over the last 500 iterations, with a falling loss', () => {
    const lines = curveStatus(
      run(
        1200,
        (i) => 1 / i,
        (i) => 2 + wiggle(i),
        (i) => 2 - wiggle(i),
      ),
    );
    expect(lines[0]).toBe(
      'Both heads at chance (hinge ≈ 2.0) for the last 500 iterations: the adversarial terms are not pulling; ' +
        'the regression does the distillation.',
    );
    expect(lines[1]).toMatch(/^Student loss still falling \(\d+% lower/);
  });

  it('leaves out a head that is switched off (hinge 0) and names the one that sees a difference', () => {
    const lines = curveStatus(
      run(
        300,
        () => 0.5,
        () => 0,
        () => 1.6,
      ),
    );
    expect(lines[0]).toBe(
      'Below chance (2.0) over the last 300 iterations: D_abs 1.60: the discriminators see a difference and push the student.',
    );
    expect(lines[1]).toBe('Student loss flat over the last 300 iterations (within 2%).');
    const relOnly = curveStatus(
      run(
        300,
        () => 0.5,
        () => 2,
        () => NaN,
      ),
    );
    expect(relOnly[0]).toMatch(/^D_rel is at chance/);
  });

  it('says nothing about heads when both are off, and notices a rising loss', () => {
    const lines = curveStatus(
      run(
        100,
        (i) => i,
        () => 0,
        () => 0,
      ),
    );
    expect(lines).toEqual(['Student loss rising (196% higher in the second half of the last 100 iterations).']);
  });

  it('compares the latest validation point with the best and the teacher at the same steps', () => {
    const point = (iteration: number, rmse: number): ValidationPoint => ({
      iteration,
      rmse,
      fid: null,
      accuracy: null,
      ms: 5,
    });
    const refs: TeacherReference[] = [
      { label: 'teacher DDIM 4 steps', steps: 4, rmse: 0.18, fid: null, accuracy: null },
      { label: 'teacher 32 steps', steps: 32, rmse: 0, fid: null, accuracy: null },
    ];
    const lines = curveStatus(
      run(
        400,
        () => 1,
        () => 0,
        () => 0,
        [point(100, 0.3), point(200, 0.17), point(300, 0.2)],
        refs,
      ),
    );
    expect(lines.at(-1)).toBe(
      'Validation RMSE to the teacher 0.200 at iteration 300 (best 0.170 at iteration 200); the teacher DDIM 4 steps is at 0.180.',
    );
  });

  it('says when the held-out FID turns up while the RMSE to the teacher still falls (the few-step drift)', () => {
    const point = (iteration: number, rmse: number, fid: number): ValidationPoint => ({
      iteration,
      rmse,
      fid,
      accuracy: 0.97,
      ms: 5,
    });
    const input = (fids: number[]) =>
      run(
        600,
        () => 1,
        () => 0,
        () => 0,
        fids.map((f, i) => point(100 * (i + 1), 0.3 - 0.02 * i, f)),
      );
    // docs/results-fewstep.md, N = 2 with both discriminators: 30.3 at 300, then 32.1 and 33.0
    const lines = curveStatus(input([45, 34, 30.3, 31, 32.1, 33.0]));
    expect(lines.at(-1)).toBe(
      'Held-out FID has turned up: 33.0 at iteration 600, from 30.3 at iteration 300, while the RMSE to the teacher ' +
        'still falls: the student copies the teacher more closely but moves away from real images. The export at ' +
        'iteration 300 may be the better student.',
    );
    // within 5% of the best, or only the last point up: noise, nothing said
    for (const fids of [
      [45, 34, 30.3, 31, 31.5],
      [45, 34, 30.3, 30.5, 33.0],
      [45, 40, 35],
    ]) {
      expect(curveStatus(input(fids)).some((l) => l.startsWith('Held-out FID'))).toBe(false);
    }
  });
});
