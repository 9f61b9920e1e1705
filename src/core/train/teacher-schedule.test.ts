import { describe, expect, it } from 'vitest';
import { DEFAULT_TEACHER_SCHEDULE, resolveTeacherSchedule, savedTeacherSchedule } from './teacher-schedule';

const run3 = { steps: 12000, adam: { lr: 5e-4 }, warmupSteps: 100, finalLrFraction: 0.02 };

describe('resolveTeacherSchedule', () => {
  it('a fresh run takes the defaults, or what is given', () => {
    expect(resolveTeacherSchedule({}, null)).toEqual(DEFAULT_TEACHER_SCHEDULE);
    expect(resolveTeacherSchedule({ steps: 7000, lr: 3e-4 }, null)).toEqual({
      ...DEFAULT_TEACHER_SCHEDULE,
      steps: 7000,
      lr: 3e-4,
    });
  });

  it('a plain resume continues the checkpoint schedule, not the defaults', () => {
    // the bug this guards: resuming a 12,000-step run without flags stopped at once (2000 < step)
    expect(resolveTeacherSchedule({}, savedTeacherSchedule(run3))).toEqual({
      steps: 12000,
      lr: 5e-4,
      warmupSteps: 100,
      finalLrFraction: 0.02,
    });
  });

  it('an option given on resume overrides only itself', () => {
    expect(resolveTeacherSchedule({ steps: 15000 }, savedTeacherSchedule(run3))).toEqual({
      steps: 15000,
      lr: 5e-4,
      warmupSteps: 100,
      finalLrFraction: 0.02,
    });
  });

  it('an older checkpoint without finalLrFraction resumes with the old default 0.1', () => {
    const { finalLrFraction: _, ...old } = run3;
    expect(savedTeacherSchedule(old).finalLrFraction).toBe(0.1);
  });
});
