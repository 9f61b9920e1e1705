/**
 * A live RAPM run: the trainer, its trajectories, and the loop that drives it in the background.
 * The loop yields to the event loop after every iteration, so pause, stop, preview and export
 * requests are answered while it runs. Every `checkpointEvery` iterations (and on pause, stop
 * and the end) it stores checkpoint + new metrics + run state in one transaction: closing the
 * tab loses at most the iterations since then.
 */
import * as tf from '@tensorflow/tfjs';
import { loadRapmCheckpoint, saveRapmCheckpoint } from '../core/rapm/checkpoint';
import type { RapmConfig } from '../core/rapm/config';
import { mergeStudent } from '../core/rapm/lora';
import type { RapmMetrics } from '../core/rapm/metrics';
import { sampleStudent } from '../core/rapm/student';
import { RapmTrainer } from '../core/rapm/trainer';
import type { TrajectorySource } from '../core/rapm/trajectory-source';
import { putCheckpoint, putRun, type RunRecord } from './db';
import type { Emit } from './events';
import { gridImage } from './images';
import { MetricsBatcher, RateMeter } from './metrics-batcher';
import type { GridImage, RunInfo, TrainingPhase, TrainingState } from './protocol';
import { QuotaError, StorageError, TrainingStateError } from './studio-errors';
import type { LoadedTeacher } from './teacher';
import { samplePicks, type SamplePicks } from './trajectory-set';

/** Samples per class in the live grid. */
const SAMPLE_COLUMNS = 4;

export interface TrainingRequest {
  config: RapmConfig;
  iterations: number;
  sampleEvery: number;
  checkpointEvery: number;
}

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

export function runInfo(r: RunRecord): RunInfo {
  const { id, createdAt, config, iterations, sampleEvery, checkpointEvery, iteration, checkpointIteration, status } = r;
  // Runs stored before validation existed have no such field.
  return {
    id,
    createdAt,
    config,
    iterations,
    sampleEvery,
    checkpointEvery,
    iteration,
    checkpointIteration,
    status,
    validation: r.validation ?? null,
  };
}

const nextTask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

export class TrainingSession {
  state: TrainingState = 'running';
  /** Shown beside the progress while the loop does something other than iterate. */
  private phase: TrainingPhase | null = null;
  /** Metrics not yet stored (since the last checkpoint). */
  private unsaved: RapmMetrics[] = [];
  private pauseRequested = false;
  private stopRequested = false;
  private deviceLost = false;
  /** A checkpoint just failed for storage and paused the run: parking must not retry and report it twice. */
  private storageFaulted = false;
  private wake: (() => void) | null = null;
  private parkedWaiters: (() => void)[] = [];
  private readonly rate = new RateMeter();
  private readonly batcher: MetricsBatcher;
  private readonly picks: SamplePicks;
  private teacherGrid: GridImage | null = null;
  /** Resolves when the loop has ended (finished, stopped, failed). */
  readonly done: Promise<void>;

  private constructor(
    readonly run: RunRecord,
    readonly trainer: RapmTrainer,
    readonly teacher: LoadedTeacher,
    private readonly source: TrajectorySource,
    private readonly emit: Emit,
  ) {
    this.batcher = new MetricsBatcher((events) => {
      this.emit('metrics', { runId: run.id, events });
      this.emitState();
    });
    this.picks = samplePicks(source, teacher.config.numClasses, SAMPLE_COLUMNS);
    this.done = this.loop();
  }

  static async start(teacher: LoadedTeacher, source: TrajectorySource, req: TrainingRequest, emit: Emit) {
    const run: RunRecord = {
      id: crypto.randomUUID(),
      createdAt: Date.now(),
      config: req.config,
      iterations: req.iterations,
      iteration: 0,
      checkpointIteration: 0,
      status: 'running',
      teacher: teacher.identity,
      sampleEvery: req.sampleEvery,
      checkpointEvery: req.checkpointEvery,
      validation: null,
    };
    await putRun(run);
    const trainer = new RapmTrainer(teacher.config, teacher.params, source.geometry, req.config);
    return new TrainingSession(run, trainer, teacher, source, emit);
  }

  /** Continues a stored run from its checkpoint (or from the start when it never reached one). */
  static async resume(
    teacher: LoadedTeacher,
    source: TrajectorySource,
    stored: RunRecord,
    checkpoint: ArrayBuffer | undefined,
    emit: Emit,
  ) {
    const trainer = checkpoint
      ? loadRapmCheckpoint(new Uint8Array(checkpoint), teacher.config, teacher.params)
      : new RapmTrainer(teacher.config, teacher.params, source.geometry, stored.config);
    if (JSON.stringify(trainer.geometry) !== JSON.stringify(source.geometry)) {
      trainer.dispose();
      throw new TrainingStateError(
        `This run was trained on trajectories with grid ${JSON.stringify(trainer.geometry)}, but the stored shards ` +
          `have ${JSON.stringify(source.geometry)}; import the run's shards (and remove the others) to resume it.`,
      );
    }
    const run: RunRecord = { ...stored, iteration: trainer.iteration, status: 'running' };
    try {
      await putRun(run);
    } catch (e) {
      trainer.dispose();
      throw e;
    }
    return new TrainingSession(run, trainer, teacher, source, emit);
  }

  info(): RunInfo {
    return runInfo(this.run);
  }

  /** Stored metrics end at the checkpoint; these are the ones after it. */
  unsavedMetrics(): RapmMetrics[] {
    return [...this.unsaved];
  }

  /** Parks the loop after the current iteration and stores a checkpoint; resolves once parked. */
  async pause(): Promise<RunInfo> {
    if (this.state === 'running') {
      this.pauseRequested = true;
      // Acknowledged at once: the iteration in flight (a minute on a software GPU) ends first.
      this.setPhase(`pausing after iteration ${this.run.iteration + 1}`);
      await new Promise<void>((resolve) => this.parkedWaiters.push(resolve));
    }
    return this.info();
  }

  resumeLoop(): RunInfo {
    this.pauseRequested = false;
    this.wake?.();
    return this.info();
  }

  /** Ends the loop after the current iteration; it stores a final checkpoint. */
  async stop(): Promise<RunInfo> {
    this.stopRequested = true;
    this.pauseRequested = false;
    if (this.state !== 'idle') this.state = 'stopping';
    this.setPhase(this.state === 'stopping' ? `stopping after iteration ${this.run.iteration + 1}` : null);
    this.wake?.();
    await this.done;
    return this.info();
  }

  /** The GPU is gone: no further tensor work, not even a checkpoint; the stored one stays. */
  deviceWasLost(): void {
    this.deviceLost = true;
    this.stopRequested = true;
    this.wake?.();
  }

  dispose(): void {
    this.trainer.dispose();
  }

  private emitState(): void {
    this.emit('training', { run: this.info(), state: this.state, itPerSec: this.rate.perSecond(), phase: this.phase });
  }

  private setPhase(label: string | null): void {
    this.phase = label === null ? null : { label, since: Date.now() };
    this.emitState();
  }

  private async loop(): Promise<void> {
    const { run, trainer, source } = this;
    const cfg = trainer.cfg;
    try {
      if (run.sampleEvery > 0) {
        this.setPhase('drawing the first grids');
        await this.renderSamples();
      }
      // The first iteration of a session compiles the training programs: minutes on a software GPU.
      let first = true;
      while (trainer.iteration < run.iterations && !this.stopRequested) {
        if (this.pauseRequested) {
          await this.park();
          continue;
        }
        if (first) this.setPhase('compiling GPU programs (the first iteration)');
        const m = await trainer.stepAsync(source.batch(trainer.iteration, cfg.batchSize, cfg.seed));
        if (first && !this.pauseRequested && !this.stopRequested) this.setPhase(null);
        first = false;
        if (!Number.isFinite(m.studentLoss)) throw new TrainingDivergedError(m.iteration, m.studentLoss);
        run.iteration = m.iteration;
        this.unsaved.push(m);
        this.rate.tick();
        this.batcher.push(m);
        if (run.sampleEvery > 0 && m.iteration % run.sampleEvery === 0) await this.renderSamples();
        if (run.checkpointEvery > 0 && m.iteration % run.checkpointEvery === 0) await this.checkpointOrPause();
        await nextTask();
      }
      this.batcher.flush();
      if (this.deviceLost) {
        run.status = 'interrupted';
      } else {
        if (run.sampleEvery > 0 && run.iteration % run.sampleEvery !== 0) await this.renderSamples();
        await this.checkpoint(trainer.iteration >= run.iterations ? 'finished' : 'stopped');
      }
    } catch (e) {
      this.batcher.flush();
      run.status = this.deviceLost ? 'interrupted' : 'error';
      if (!this.deviceLost) {
        const storage = e instanceof QuotaError || e instanceof StorageError;
        const message =
          e instanceof QuotaError || e instanceof StorageError || e instanceof TrainingDivergedError
            ? e.message
            : `Training failed at iteration ${run.iteration + 1}: ${e instanceof Error ? e.message : String(e)}. ` +
              `The run's last checkpoint (iteration ${run.checkpointIteration}) is kept; resume it or start a new run.`;
        this.emit('fault', { kind: e instanceof QuotaError ? 'quota' : storage ? 'storage' : 'worker', message });
        // Record the failure; if even that fails, the stored 'running' run shows as interrupted.
        await putRun(this.run).catch(() => undefined);
      }
    } finally {
      this.state = 'idle';
      this.phase = null;
      for (const w of this.parkedWaiters.splice(0)) w();
      this.emitState();
    }
  }

  /** Waits while paused; the checkpoint is stored first so a closed tab loses nothing. */
  private async park(): Promise<void> {
    this.batcher.flush();
    if (this.storageFaulted) this.storageFaulted = false;
    else {
      this.setPhase('saving a checkpoint');
      await this.checkpointOrPause('paused');
    }
    this.state = 'paused';
    this.phase = null;
    this.rate.reset();
    this.emitState();
    for (const w of this.parkedWaiters.splice(0)) w();
    await new Promise<void>((resolve) => (this.wake = resolve));
    this.wake = null;
    if (this.stopRequested) return;
    this.state = 'running';
    this.run.status = 'running';
    await putRun(this.run).catch(() => undefined);
    this.emitState();
  }

  /** A storage failure mid-run pauses the run (fault emitted): the user frees space and continues. */
  private async checkpointOrPause(status: RunRecord['status'] = 'running'): Promise<void> {
    try {
      await this.checkpoint(status);
    } catch (e) {
      if (!(e instanceof QuotaError || e instanceof StorageError)) throw e;
      this.emit('fault', {
        kind: e instanceof QuotaError ? 'quota' : 'storage',
        message: `${e.message} Training is paused; continue it once there is room.`,
      });
      this.pauseRequested = true;
      this.storageFaulted = true;
    }
  }

  private async checkpoint(status: RunRecord['status']): Promise<void> {
    const { trainer } = this;
    const bytes = await saveRapmCheckpoint(trainer, this.teacher.config.name);
    const next: RunRecord = {
      ...this.run,
      status,
      iteration: trainer.iteration,
      checkpointIteration: trainer.iteration,
    };
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    await putCheckpoint(next, { runId: next.id, iteration: trainer.iteration, bytes: buffer }, this.unsaved);
    Object.assign(this.run, next);
    this.unsaved = [];
  }

  /** Student 4-step samples from the fixed trajectories' noise, beside the teacher's z~_0 for them. */
  private async renderSamples(): Promise<void> {
    const { trainer, picks, teacher } = this;
    const { height, width, channels } = teacher.config.data;
    const merged = mergeStudent(teacher.params, trainer.samplingWeights(), trainer.cfg.student);
    const samples = tf.tidy(() =>
      sampleStudent(
        teacher.config,
        merged,
        tf.tensor4d(picks.noise, [picks.indices.length, height, width, channels]),
        tf.tensor1d(picks.labels, 'int32'),
      ),
    );
    tf.dispose(Object.values(merged));
    let values: Float32Array;
    try {
      values = (await samples.data()) as Float32Array;
    } finally {
      samples.dispose();
    }
    this.teacherGrid ??= gridImage(picks.teacherEnd, teacher.config, picks.columns);
    this.emit('samples', {
      runId: this.run.id,
      iteration: trainer.iteration,
      student: gridImage(values, teacher.config, picks.columns),
      // a copy: the event's buffers are transferred away
      teacher: { ...this.teacherGrid, rgba: this.teacherGrid.rgba.slice() },
    });
  }
}
