/**
 * One RAPM run, as both the studio's worker and `npm run distill` drive it: the shards joined into
 * one trajectory set (geometry checked), the trainer (new, or resumed from a checkpoint checked
 * against the teacher and the shards' geometry), one iteration at a time with a divergence check,
 * checkpoints by count and by time, and snapshots of the student for exports and sample grids.
 * The callers add only what is theirs: storage, progress, pause and stop.
 */
import { loadRapmCheckpoint, saveRapmCheckpoint } from './checkpoint';
import { CheckpointTimer, type Clock } from './checkpoint-schedule';
import type { CheckpointSchedule, RapmConfig } from './config';
import type { RapmMetrics } from './metrics';
import { snapshotStudent, type StudentSnapshot } from './student-snapshot';
import type { TeacherModel } from './teacher-model';
import { RapmTrainer } from './trainer';
import type { TrajectorySource } from './trajectory-source';
import { trajectorySet, type NamedShard } from './trajectory-set';

/** A training step produced a non-finite loss: the run stops at its last good checkpoint. */
export class TrainingDivergedError extends Error {
  constructor(iteration: number, loss: number) {
    super(
      `The student loss became ${loss} at iteration ${iteration}. The run stopped; its last checkpoint is kept. ` +
        `Lower the learning rates or the adversarial weights and start a new run.`,
    );
    this.name = 'TrainingDivergedError';
  }
}

export interface DriverOptions {
  checkpoints: CheckpointSchedule;
  /** Milliseconds; defaults to Date.now. */
  clock?: Clock;
}

export class TrainingDriver {
  private readonly timer: CheckpointTimer;

  private constructor(
    readonly teacher: TeacherModel,
    readonly trainer: RapmTrainer,
    readonly source: TrajectorySource,
    options: DriverOptions,
  ) {
    this.timer = new CheckpointTimer(options.checkpoints, options.clock ?? Date.now);
  }

  /** A new run on `shards` (all of `teacher`, already read against it). */
  static start(teacher: TeacherModel, shards: NamedShard[], config: RapmConfig, options: DriverOptions) {
    const source = trajectorySet(shards);
    const trainer = new RapmTrainer(teacher.config, teacher.params, source.geometry, config);
    return new TrainingDriver(teacher, trainer, source, options);
  }

  /**
   * Continues a run from its checkpoint, which must name this teacher and the shards' geometry
   * (CheckpointError otherwise); without a checkpoint the run starts over from `config`.
   */
  static resume(
    teacher: TeacherModel,
    shards: NamedShard[],
    checkpoint: Uint8Array | undefined,
    config: RapmConfig,
    options: DriverOptions,
  ) {
    const source = trajectorySet(shards);
    const trainer = checkpoint
      ? loadRapmCheckpoint(checkpoint, teacher.config, teacher.params, {
          teacher: teacher.identity,
          geometry: source.geometry,
        })
      : new RapmTrainer(teacher.config, teacher.params, source.geometry, config);
    return new TrainingDriver(teacher, trainer, source, options);
  }

  get iteration(): number {
    return this.trainer.iteration;
  }

  /** One iteration on the batch the seed gives it; a non-finite loss throws TrainingDivergedError. */
  async step(): Promise<RapmMetrics> {
    const { trainer, source } = this;
    const { batchSize, seed } = trainer.cfg;
    const m = await trainer.stepAsync(source.batch(trainer.iteration, batchSize, seed));
    if (!Number.isFinite(m.studentLoss)) throw new TrainingDivergedError(m.iteration, m.studentLoss);
    return m;
  }

  /** Whether the schedule (count or time) wants a checkpoint after the iteration just done. */
  checkpointDue(): boolean {
    return this.timer.due(this.trainer.iteration);
  }

  /** The run's state as checkpoint bytes; the time count starts over. */
  async checkpoint(): Promise<Uint8Array> {
    const bytes = await saveRapmCheckpoint(this.trainer, this.teacher.identity);
    this.timer.restart();
    return bytes;
  }

  /** Training goes on after a pause: the time it stood still does not count towards a checkpoint. */
  resumeClock(): void {
    this.timer.restart();
  }

  /** The student now, held apart from the trainer (dispose it with disposeSnapshot). */
  snapshot(): StudentSnapshot {
    return snapshotStudent(this.trainer);
  }

  dispose(): void {
    this.trainer.dispose();
  }
}
