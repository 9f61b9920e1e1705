/**
 * A run's validation as the training loops (worker and CLI) use it: the record they store with
 * the run (split, cadence, points, the teacher's lines, the best point), and the Validator that
 * measures the EMA student every `every` iterations and says when it beat the best so far, so
 * the caller stores that checkpoint as the run's best. The score that ranks checkpoints is the
 * pixel RMSE to the teacher's end points: every teacher has it, and on a few dozen samples it is
 * far steadier than FID.
 */
import * as tf from '@tensorflow/tfjs';
import type { AnyModelConfig } from '../model-config';
import type { Params } from '../nn/unet';
import { mergeStudent } from './lora';
import { asStudentModel } from './student-prediction';
import type { StudentSnapshot } from './student-snapshot';
import type { TrajectorySource } from './trajectory-source';
import { makeValidationSplit, trainingIndices, type ValidationSplit } from './validation-split';
import {
  evaluatorFits,
  teacherReferences,
  validateStudent,
  validationSet,
  type Evaluation,
  type MeasureProgress,
  type TeacherReference,
  type ValidationPoint,
  type ValidationSet,
} from './validation';

/** Never more than this share of the stored trajectories is held out. */
export const MAX_HELD_OUT_SHARE = 0.25;

export interface BestPoint {
  iteration: number;
  rmse: number;
}

/** What a run stores about its validation. */
export interface ValidationRecord {
  split: ValidationSplit;
  every: number;
  points: ValidationPoint[];
  /** Measured once per run; empty until then. */
  references: TeacherReference[];
  best: BestPoint | null;
}

/**
 * A new run's record: `count` trajectories held out (at most a quarter of them, so a small set
 * still trains), chosen by the run's seed; null when `count` is 0.
 */
export function newValidationRecord(
  trajectories: number,
  settings: { count: number; every: number },
  seed: number,
): ValidationRecord | null {
  const count = Math.min(settings.count, Math.floor(trajectories * MAX_HELD_OUT_SHARE));
  if (count <= 0) return null;
  return {
    split: makeValidationSplit(trajectories, count, seed),
    every: settings.every,
    points: [],
    references: [],
    best: null,
  };
}

/** The record as a resumed run continues it: points after its checkpoint are measured again. */
export function resumedValidationRecord(record: ValidationRecord, checkpointIteration: number): ValidationRecord {
  return { ...record, points: record.points.filter((p) => p.iteration <= checkpointIteration) };
}

/** The trajectory source training draws from: the held-out ones removed. */
export function trainingSource(source: TrajectorySource, record: ValidationRecord | null): TrajectorySource {
  return record ? source.withTrainable(trainingIndices(record.split)) : source;
}

export class Validator {
  readonly set: ValidationSet;
  /** The coarse grid, descending: the student's sampling grid and the teacher's few-step one. */
  private readonly timesteps: readonly number[];
  private readonly guidance: number;
  /** The teacher's steps per stored trajectory, when the shards say. */
  private readonly fullSteps: number | null;
  private readonly evaluation: Evaluation | null;

  constructor(
    private readonly model: AnyModelConfig,
    private readonly teacher: Params,
    source: TrajectorySource,
    readonly record: ValidationRecord,
    evaluation: Evaluation | null,
    private readonly batchSize = 32,
  ) {
    this.set = validationSet(source, record.split.indices);
    this.evaluation = evaluation && evaluatorFits(evaluation, model) ? evaluation : null;
    this.timesteps = source.geometry.coarseTimesteps;
    this.guidance = source.geometry.guidance;
    const { slots, fineStepsPerSlot } = source.data;
    this.fullSteps = fineStepsPerSlot ? slots * fineStepsPerSlot : null;
  }

  get scoresQuality(): boolean {
    return this.evaluation !== null;
  }

  /** Whether `iteration` is due a validation (and has none yet). */
  due(iteration: number): boolean {
    const { every } = this.record;
    return every > 0 && iteration % every === 0 && !this.has(iteration);
  }

  has(iteration: number): boolean {
    return this.record.points.some((p) => p.iteration === iteration);
  }

  /** The teacher's lines, measured on the first call and kept in the record. */
  async references(onProgress?: MeasureProgress): Promise<TeacherReference[]> {
    if (this.record.references.length === 0) {
      this.record.references = await teacherReferences(
        this.model,
        this.teacher,
        { timesteps: this.timesteps, guidance: this.guidance, fullSteps: this.fullSteps },
        this.set,
        this.evaluation,
        this.batchSize,
        onProgress,
      );
    }
    return this.record.references;
  }

  /** Scores a snapshot of the student (its EMA weights); `improved` when it is the best point so far. */
  async validate(
    snapshot: StudentSnapshot,
    onProgress?: MeasureProgress,
  ): Promise<{ point: ValidationPoint; improved: boolean }> {
    const started = performance.now();
    const student = mergeStudent(this.teacher, snapshot.weights, snapshot.student);
    let point: ValidationPoint;
    try {
      point = await validateStudent(
        asStudentModel(this.model, snapshot.student),
        student,
        snapshot.timesteps,
        this.set,
        this.evaluation,
        snapshot.iteration,
        this.batchSize,
        onProgress,
      );
    } finally {
      tf.dispose(Object.values(student));
    }
    point.ms = performance.now() - started;
    this.record.points.push(point);
    const improved = this.record.best === null || point.rmse < this.record.best.rmse;
    if (improved) this.record.best = { iteration: point.iteration, rmse: point.rmse };
    return { point, improved };
  }
}
