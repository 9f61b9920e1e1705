/**
 * A live RAPM run: the core's TrainingDriver and the loop that drives it in the background.
 * The loop yields to the event loop after every iteration, so pause, stop, preview and export
 * requests are answered while it runs; exports and previews are served between two iterations,
 * on a snapshot of the student the loop cannot dispose. Whenever the checkpoint schedule says
 * (every `checkpointEvery` iterations, every `checkpointSeconds` of training) and on pause, stop
 * and the end, it stores checkpoint + new metrics + run state in one transaction: closing the
 * tab loses at most the work since then. A long run's stored metrics are compacted as they grow
 * (metrics-compaction.ts).
 *
 * A run holds out a validation set (core/rapm/validator.ts): the EMA student is scored on it at
 * the start, every `validation.every` iterations and at the end; each new best is stored as the
 * run's best checkpoint at once, with the run record that names it.
 */
import { CheckpointError } from '../core/rapm/checkpoint';
import type { CheckpointSchedule, TrainingSettings } from '../core/rapm/config';
import { checkTrainingSettings } from '../core/rapm/config-check';
import type { RapmMetrics } from '../core/rapm/metrics';
import { samplePicks, type SamplePicks } from '../core/rapm/sample-picks';
import { studentSamples } from '../core/rapm/student';
import { disposeSnapshot, type StudentSnapshot } from '../core/rapm/student-snapshot';
import { TrainingDivergedError, TrainingDriver } from '../core/rapm/training-driver';
import type { NamedShard } from '../core/rapm/trajectory-set';
import type { MeasureProgress } from '../core/rapm/validation';
import { ValidationSplitError } from '../core/rapm/validation-split';
import { compactRunMetrics, putBestCheckpoint, putCheckpoint, putRun, takeRun, type RunRecord } from './db';
import { iterationCost, markIteration } from './diagnostics';
import { builtinEvaluation } from './evaluation';
import type { Emit } from './events';
import { gridImage } from './images';
import { MetricsBatcher, RateMeter } from './metrics-batcher';
import type { GridImage, RunInfo, TrainingPhase, TrainingState } from './protocol';
import { QuotaError, RunTakenError, StorageError, TrainingStateError } from './studio-errors';
import type { LoadedTeacher } from './teacher';

/** Samples per class in the live grid. */
const SAMPLE_COLUMNS = 4;

/**
 * A stored run's settings, normalised where they are read back: a run stored by an older version
 * lacks the settings added since, which take their defaults (or their rules' values) from the table.
 */
function storedSettings(r: RunRecord): TrainingSettings {
  const { config, iterations, sampleEvery, checkpointEvery, checkpointSeconds } = r;
  return checkTrainingSettings(
    { config, run: { iterations, sampleEvery, checkpointEvery, checkpointSeconds } },
    (m) => new TrainingStateError(`This run's stored settings are damaged: ${m}.`),
  );
}

function scheduleOf({ run }: TrainingSettings): CheckpointSchedule {
  return { everyIterations: run.checkpointEvery, everySeconds: run.checkpointSeconds };
}

/** Work on the student that waits for the loop to reach the end of an iteration; it settles its own caller. */
type BetweenTask = () => Promise<void>;

export function runInfo(r: RunRecord): RunInfo {
  const { id, createdAt, iteration, checkpointIteration, status } = r;
  const { config, run } = storedSettings(r);
  // Runs stored before validation existed have no such field.
  const v = r.validation;
  return {
    id,
    createdAt,
    config,
    iterations: run.iterations,
    sampleEvery: run.sampleEvery,
    checkpointEvery: run.checkpointEvery,
    checkpointSeconds: run.checkpointSeconds,
    iteration,
    checkpointIteration,
    status,
    validation: v ? { count: v.split.indices.length, every: v.every, best: v.best } : null,
    ...(r.error !== undefined && { error: r.error }),
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
  /** Exports and previews asked for while the loop runs, served after the current iteration. */
  private between: BetweenTask[] = [];
  /** Resolves when the loop has ended (finished, stopped, failed). */
  readonly done: Promise<void>;

  private constructor(
    readonly run: RunRecord,
    readonly driver: TrainingDriver,
    readonly teacher: LoadedTeacher,
    private readonly emit: Emit,
  ) {
    this.batcher = new MetricsBatcher((events) => {
      this.emit('metrics', { runId: run.id, events });
      this.emitState();
    });
    this.picks = samplePicks(driver.source, teacher.config.numClasses, SAMPLE_COLUMNS);
    this.done = this.loop();
  }

  /** A new run `id` (the caller holds its lock, so no other tab can take it up meanwhile). */
  /** `settings` as config-check.ts's checkTrainingSettings gave them. */
  static async start(teacher: LoadedTeacher, shards: NamedShard[], settings: TrainingSettings, emit: Emit, id: string) {
    const { config, run: s } = settings;
    let run: RunRecord = {
      id,
      createdAt: Date.now(),
      config,
      iterations: s.iterations,
      iteration: 0,
      checkpointIteration: 0,
      status: 'running',
      teacher: teacher.identity,
      sampleEvery: s.sampleEvery,
      checkpointEvery: s.checkpointEvery,
      checkpointSeconds: s.checkpointSeconds,
    };
    const driver = TrainingDriver.start(teacher, shards, config, {
      checkpoints: scheduleOf(settings),
      validation: { count: s.validationCount, every: s.validateEvery },
      evaluation: await builtinEvaluation(),
    });
    run.validation = driver.validator?.record ?? null;
    try {
      run = await takeRun(run);
    } catch (e) {
      driver.dispose();
      throw e;
    }
    return new TrainingSession(run, driver, teacher, emit);
  }

  /**
   * Continues a stored run from its checkpoint (or from the start when it never reached one); a
   * checkpoint of another teacher or another trajectory grid than the stored shards' is refused.
   */
  static async resume(
    teacher: LoadedTeacher,
    shards: NamedShard[],
    stored: RunRecord,
    checkpoint: ArrayBuffer | undefined,
    emit: Emit,
  ) {
    let driver: TrainingDriver;
    const settings = storedSettings(stored);
    try {
      driver = TrainingDriver.resume(teacher, shards, checkpoint && new Uint8Array(checkpoint), settings.config, {
        checkpoints: scheduleOf(settings),
        validationRecord: stored.validation ?? null,
        evaluation: stored.validation ? await builtinEvaluation() : null,
      });
    } catch (e) {
      if (!(e instanceof CheckpointError || e instanceof ValidationSplitError)) throw e;
      throw new TrainingStateError(`This run cannot be resumed: ${e.message}`);
    }
    const validation = driver.validator?.record ?? null;
    let run: RunRecord = { ...stored, iteration: driver.iteration, status: 'running', validation, error: undefined };
    try {
      // From here on, writes of the tab that trained the run before are refused.
      run = await takeRun(run);
    } catch (e) {
      driver.dispose();
      throw e;
    }
    return new TrainingSession(run, driver, teacher, emit);
  }

  get trainer() {
    return this.driver.trainer;
  }

  /**
   * Runs `use` on a snapshot of the student: at once when the loop is not stepping, else right
   * after the current iteration (the loop waits for it), so it never waits for a pause.
   */
  withSnapshot<T>(use: (snapshot: StudentSnapshot) => Promise<T>): Promise<T> {
    if (this.state !== 'running') return this.onSnapshot(use);
    return new Promise<T>((resolve, reject) => {
      this.between.push(() => this.onSnapshot(use).then(resolve, reject));
    });
  }

  private async onSnapshot<T>(use: (snapshot: StudentSnapshot) => Promise<T>): Promise<T> {
    const snapshot = this.driver.snapshot();
    try {
      return await use(snapshot);
    } finally {
      disposeSnapshot(snapshot);
    }
  }

  /** Serves the exports and previews that waited for the end of an iteration. */
  private async serveBetween(): Promise<void> {
    for (const task of this.between.splice(0)) await task();
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
    const was = this.state;
    if (was !== 'idle') this.state = 'stopping';
    // A paused loop has no iteration in flight: it goes straight to the final checkpoint.
    this.setPhase(
      was === 'running'
        ? `stopping after iteration ${this.run.iteration + 1}`
        : was === 'paused'
          ? 'stopping: saving the final checkpoint'
          : null,
    );
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
    this.driver.dispose();
  }

  private emitState(): void {
    this.emit('training', { run: this.info(), state: this.state, itPerSec: this.rate.perSecond(), phase: this.phase });
  }

  private setPhase(label: string | null): void {
    this.phase = label === null ? null : { label, since: Date.now() };
    this.emitState();
  }

  /** Sets a phase that measures held-out trajectories; the callback it returns reports how many are done. */
  private measuringPhase(label: string): MeasureProgress {
    this.setPhase(label);
    const phase = this.phase;
    return (done, total) => {
      // a pause or stop asked for meanwhile has replaced the phase: its label stays
      if (this.phase !== phase || !phase) return;
      phase.measured = { done, total };
      this.emitState();
    };
  }

  private async loop(): Promise<void> {
    const { run, driver } = this;
    try {
      await this.validateAtStart();
      if (run.sampleEvery > 0) {
        this.setPhase('drawing the first grids');
        await this.renderSamples();
      }
      // The first iteration of a session compiles the training programs: minutes on a software GPU.
      let first = true;
      while (driver.iteration < run.iterations && !this.stopRequested) {
        if (this.pauseRequested) {
          await this.park();
          continue;
        }
        if (first) this.setPhase('compiling GPU programs (the first iteration)');
        const mark = markIteration();
        const m = await driver.step();
        if (mark) {
          const host = driver.trainer.replayed.lastSubmitMs;
          this.emit('iterationCost', iterationCost(mark, run.id, m.iteration, host));
        }
        if (first && !this.pauseRequested && !this.stopRequested) this.setPhase(null);
        first = false;
        run.iteration = m.iteration;
        this.unsaved.push(m);
        this.rate.tick();
        this.batcher.push(m);
        if (driver.validator?.due(m.iteration)) await this.validate();
        if (run.sampleEvery > 0 && m.iteration % run.sampleEvery === 0) await this.renderSamples();
        if (driver.checkpointDue()) await this.checkpointOrPause();
        await this.serveBetween();
        await nextTask();
      }
      this.batcher.flush();
      if (this.deviceLost) {
        run.status = 'interrupted';
      } else {
        if (run.sampleEvery > 0 && run.iteration % run.sampleEvery !== 0) await this.renderSamples();
        if (driver.validator && !driver.validator.has(driver.iteration)) await this.validate();
        await this.checkpoint(driver.iteration >= run.iterations ? 'finished' : 'stopped');
      }
    } catch (e) {
      this.batcher.flush();
      if (e instanceof RunTakenError) {
        // The run is another tab's now: its record is not this tab's to write.
        this.emit('fault', { kind: 'another-tab', message: e.message });
        return;
      }
      run.status = this.deviceLost ? 'interrupted' : 'error';
      if (!this.deviceLost) {
        const storage = e instanceof QuotaError || e instanceof StorageError;
        const message =
          e instanceof QuotaError || e instanceof StorageError || e instanceof TrainingDivergedError
            ? e.message
            : `Training failed at iteration ${run.iteration + 1}: ${e instanceof Error ? e.message : String(e)}. ` +
              `The run's last checkpoint (iteration ${run.checkpointIteration}) is kept; resume it (here, or after a ` +
              `reload) or start a new run.`;
        run.error = message;
        this.emit('fault', { kind: e instanceof QuotaError ? 'quota' : storage ? 'storage' : 'worker', message });
        // Record the failure; if even that fails, the stored 'running' run shows as interrupted.
        await putRun(this.run).catch(() => undefined);
      }
    } finally {
      this.state = 'idle';
      this.phase = null;
      for (const w of this.parkedWaiters.splice(0)) w();
      this.emitState();
      await this.serveBetween();
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
    await this.serveBetween();
    await new Promise<void>((resolve) => (this.wake = resolve));
    this.wake = null;
    if (this.stopRequested) return;
    this.driver.resumeClock();
    this.state = 'running';
    this.run.status = 'running';
    await putRun(this.run).catch(() => undefined);
    this.emitState();
  }

  /** A storage failure mid-run pauses the run (fault emitted): the user frees space and continues. */
  private async checkpointOrPause(status: RunRecord['status'] = 'running'): Promise<void> {
    await this.storeOrPause(() => this.checkpoint(status));
  }

  private async storeOrPause(store: () => Promise<void>): Promise<void> {
    try {
      await store();
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
    const { driver } = this;
    const bytes = await driver.checkpoint();
    const next: RunRecord = {
      ...this.run,
      status,
      iteration: driver.iteration,
      checkpointIteration: driver.iteration,
    };
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    await putCheckpoint(next, { runId: next.id, iteration: driver.iteration, bytes: buffer }, this.unsaved);
    Object.assign(this.run, next);
    this.unsaved = [];
    await compactRunMetrics(this.run);
  }

  /** The teacher's lines (measured once per run) and the student's score where the run starts. */
  private async validateAtStart(): Promise<void> {
    const { validator } = this.driver;
    if (!validator) return;
    const onProgress =
      validator.record.references.length === 0
        ? this.measuringPhase(`measuring the teacher on ${validator.set.count} held-out trajectories`)
        : undefined;
    this.emit('validationReferences', { runId: this.run.id, references: await validator.references(onProgress) });
    // measured: the student's validation must not restore this phase when it ends
    if (onProgress) this.setPhase(null);
    if (!validator.has(this.driver.iteration)) await this.validate();
  }

  /** Scores the EMA student; a new best checkpoint is stored at once. */
  private async validate(): Promise<void> {
    const { driver, run } = this;
    if (!driver.validator) return;
    const before = this.phase;
    const onProgress = this.measuringPhase(
      `validating the student on ${driver.validator.set.count} held-out trajectories`,
    );
    const result = await driver.validate(onProgress);
    if (!result) return;
    const { point, best } = result;
    if (best) {
      const bytes = best.buffer.slice(best.byteOffset, best.byteOffset + best.byteLength) as ArrayBuffer;
      await this.storeOrPause(() => putBestCheckpoint(run, { runId: run.id, iteration: point.iteration, bytes }));
    }
    this.setPhase(before?.label ?? null);
    this.emit('validation', { runId: run.id, point, best: driver.validator.record.best });
  }

  /** Student samples on its grid from the fixed trajectories' noise, beside the teacher's z~_0 for them. */
  private async renderSamples(): Promise<void> {
    const { picks, teacher } = this;
    const snapshot = this.driver.snapshot();
    let values: Float32Array;
    try {
      values = await studentSamples(teacher, snapshot, picks.noise, picks.labels);
    } finally {
      disposeSnapshot(snapshot);
    }
    this.teacherGrid ??= gridImage(picks.teacherEnd, teacher.config, picks.columns);
    this.emit('samples', {
      runId: this.run.id,
      iteration: snapshot.iteration,
      steps: snapshot.timesteps.length,
      student: gridImage(values, teacher.config, picks.columns),
      // a copy: the event's buffers are transferred away
      teacher: { ...this.teacherGrid, rgba: this.teacherGrid.rgba.slice() },
      rows: Array.from(picks.labels.filter((_, i) => i % picks.columns === 0)),
    });
  }
}
