/**
 * One RAPM run, as both the studio's worker and `npm run distill` drive it: the shards joined into
 * one trajectory set (geometry checked), the trainer (new, or resumed from a checkpoint checked
 * against the teacher and the shards' geometry), one iteration at a time with a divergence check,
 * checkpoints by count and by time, snapshots of the student for exports and sample grids, and
 * validation on held-out trajectories (validator.ts) with the best checkpoint's bytes.
 * The callers add only what is theirs: storage, progress, pause and stop.
 */
import { loadRapmCheckpoint, saveRapmCheckpoint } from './checkpoint';
import { CheckpointTimer, type Clock } from './checkpoint-schedule';
import type { CheckpointSchedule, RapmConfig } from './config';
import type { RapmMetrics } from './metrics';
import { disposeSnapshot, snapshotStudent, type StudentSnapshot } from './student-snapshot';
import type { TeacherModel } from './teacher-model';
import { RapmTrainer } from './trainer';
import type { TrajectorySource } from './trajectory-source';
import { trajectorySet, type NamedShard } from './trajectory-set';
import type { Evaluation, MeasureProgress, ValidationPoint } from './validation';
import { checkValidationSplit } from './validation-split';
import {
  Validator,
  newValidationRecord,
  resumedValidationRecord,
  trainingSource,
  type ValidationRecord,
} from './validator';

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
  /** A new run's held-out trajectories (at most a quarter, chosen by the run's seed) and cadence; none when omitted. */
  validation?: { count: number; every: number };
  /** A resumed run's validation record, as stored with the run. */
  validationRecord?: ValidationRecord | null;
  /** FID and accuracy for validation, used when the evaluator fits the teacher's images. */
  evaluation?: Evaluation | null;
}

export class TrainingDriver {
  private readonly timer: CheckpointTimer;
  /** The trajectories training draws: all stored ones but the held-out. */
  readonly source: TrajectorySource;
  /** Null when the run holds out nothing. */
  readonly validator: Validator | null;

  private constructor(
    readonly teacher: TeacherModel,
    readonly trainer: RapmTrainer,
    /** Every stored trajectory, held-out ones included. */
    readonly stored: TrajectorySource,
    validation: ValidationRecord | null,
    options: DriverOptions,
  ) {
    this.timer = new CheckpointTimer(options.checkpoints, options.clock ?? Date.now);
    this.source = trainingSource(stored, validation);
    this.validator = validation
      ? new Validator(teacher.config, teacher.params, stored, validation, options.evaluation ?? null)
      : null;
  }

  /** A new run on `shards` (all of `teacher`, already read against it). */
  static start(teacher: TeacherModel, shards: NamedShard[], config: RapmConfig, options: DriverOptions) {
    const source = trajectorySet(shards);
    const record = options.validation ? newValidationRecord(source.data.count, options.validation, config.seed) : null;
    const trainer = new RapmTrainer(teacher.config, teacher.params, source.geometry, config);
    return new TrainingDriver(teacher, trainer, source, record, options);
  }

  /**
   * Continues a run from its checkpoint, which must name this teacher and the shards' geometry
   * (CheckpointError otherwise); without a checkpoint the run starts over from `config`. The
   * run's validation record keeps its split (ValidationSplitError when the shards no longer hold
   * as many trajectories) and forgets the points after the checkpoint.
   */
  static resume(
    teacher: TeacherModel,
    shards: NamedShard[],
    checkpoint: Uint8Array | undefined,
    config: RapmConfig,
    options: DriverOptions,
  ) {
    const source = trajectorySet(shards);
    const validation = options.validationRecord ?? null;
    const trainer = checkpoint
      ? loadRapmCheckpoint(checkpoint, teacher.config, teacher.params, {
          teacher: teacher.identity,
          geometry: source.geometry,
        })
      : new RapmTrainer(teacher.config, teacher.params, source.geometry, config);
    if (validation) {
      // After the checkpoint's own checks: a grid mismatch says more than a count mismatch.
      try {
        checkValidationSplit(validation.split, source.data.count);
      } catch (e) {
        trainer.dispose();
        throw e;
      }
    }
    const record = validation && resumedValidationRecord(validation, trainer.iteration);
    return new TrainingDriver(teacher, trainer, source, record, options);
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
    const bytes = await saveRapmCheckpoint(this.trainer, this.teacher.identity, this.split());
    this.timer.restart();
    return bytes;
  }

  private split() {
    return this.validator?.record.split ?? null;
  }

  /**
   * Scores the student now on the held-out trajectories; on a new best, also the checkpoint bytes
   * to keep as the run's best. Null when the run holds out nothing.
   */
  async validate(onProgress?: MeasureProgress): Promise<{ point: ValidationPoint; best: Uint8Array | null } | null> {
    if (!this.validator) return null;
    const snapshot = this.snapshot();
    try {
      const { point, improved } = await this.validator.validate(snapshot, onProgress);
      const best = improved ? await saveRapmCheckpoint(this.trainer, this.teacher.identity, this.split()) : null;
      return { point, best };
    } finally {
      disposeSnapshot(snapshot);
    }
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
