/**
 * Which learning-rate schedule a teacher run follows. A fresh run and a --restart take the given
 * options (or the defaults); a plain --resume continues the schedule the checkpoint ran under, so
 * an interrupted run goes on exactly, unless an option is given again on purpose.
 */
export interface TeacherSchedule {
  steps: number;
  lr: number;
  warmupSteps: number;
  finalLrFraction: number;
}

export const DEFAULT_TEACHER_SCHEDULE: TeacherSchedule = {
  steps: 2000,
  lr: 5e-4,
  warmupSteps: 200,
  finalLrFraction: 0.1,
};

/** `saved` is the checkpoint's schedule for a plain resume, null for a fresh run or a restart. */
export function resolveTeacherSchedule(
  given: Partial<TeacherSchedule>,
  saved: TeacherSchedule | null,
): TeacherSchedule {
  const base = saved ?? DEFAULT_TEACHER_SCHEDULE;
  const pick = <K extends keyof TeacherSchedule>(k: K) => given[k] ?? base[k];
  return {
    steps: pick('steps'),
    lr: pick('lr'),
    warmupSteps: pick('warmupSteps'),
    finalLrFraction: pick('finalLrFraction'),
  };
}

/** The schedule a checkpoint's stored training config ran under (older checkpoints lack `finalLrFraction`: 0.1). */
export function savedTeacherSchedule(saved: {
  steps: number;
  adam: { lr: number };
  warmupSteps: number;
  finalLrFraction?: number;
}): TeacherSchedule {
  return {
    steps: saved.steps,
    lr: saved.adam.lr,
    warmupSteps: saved.warmupSteps,
    finalLrFraction: saved.finalLrFraction ?? DEFAULT_TEACHER_SCHEDULE.finalLrFraction,
  };
}
