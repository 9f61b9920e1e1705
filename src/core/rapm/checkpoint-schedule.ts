/**
 * When a run stores a checkpoint: every `everyIterations` iterations and at least every
 * `everySeconds` seconds of training, so a reload loses at most about that much work whatever
 * the backend's speed (40 s per iteration on a CPU WebGPU, milliseconds on a GPU). The clock is
 * injected: tests drive it by hand, runs pass `Date.now`.
 */
import type { CheckpointSchedule } from './config';

/** Milliseconds, monotone enough for minutes (Date.now, performance.now, or a test's counter). */
export type Clock = () => number;

export class CheckpointTimer {
  private savedAt: number;

  constructor(
    private readonly schedule: CheckpointSchedule,
    private readonly clock: Clock,
  ) {
    this.savedAt = clock();
  }

  /** Whether the iteration just finished should be checkpointed. */
  due(iteration: number): boolean {
    const { everyIterations, everySeconds } = this.schedule;
    if (everyIterations > 0 && iteration % everyIterations === 0) return true;
    return everySeconds > 0 && this.clock() - this.savedAt >= everySeconds * 1000;
  }

  /** A checkpoint was stored now (or training restarts now after a pause): the time count starts over. */
  restart(): void {
    this.savedAt = this.clock();
  }
}
