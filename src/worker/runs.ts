/**
 * Runs: the one live training session, the stored runs, their validation history, and a run's
 * student weights for preview and export (from the live trainer, or rebuilt from the run's
 * latest or best checkpoint). A run has one owner (tabs.ts): this tab holds the run's lock from
 * start or resume until its loop ends, and a run another tab holds is listed as such and cannot
 * be resumed or removed here.
 */
import { CheckpointError, loadRapmCheckpoint } from '../core/rapm/checkpoint';
import type { RapmMetrics } from '../core/rapm/metrics';
import { disposeSnapshot, snapshotStudent, type StudentSnapshot } from '../core/rapm/student-snapshot';
import {
  deleteRun,
  getBestCheckpoint,
  getCheckpoint,
  getRun,
  listStoredRuns,
  putRun,
  runMetrics as storedMetrics,
} from './db';
import type { Emit } from './events';
import { claimRun, heldRuns, tellTabs, whenReleased, type RunLease } from './tabs';
import type { RunInfo, RunValidation, StudioEvents, TrainingRequest } from './protocol';
import { loadTrainingSet } from './shard-store';
import { checkTrainingSettings } from '../core/rapm/config-check';
import { TrainingStateError, UnknownRunError } from './studio-errors';
import { ensureTeacher, loadedTeacher, requireTeacher, type LoadedTeacher } from './teacher';
import { TrainingSession, runInfo } from './training-loop';

/**
 * The live session, kept after its loop ends (finished or stopped) so preview and export use its
 * weights without reading the checkpoint back; released when another run starts or the teacher changes.
 */
let session: TrainingSession | null = null;

/** Other tabs hear this tab's live progress: the run's `training` events go to them too. */
function toEveryTab(emit: Emit): Emit {
  return (event, payload) => {
    if (event === 'training') tellTabs({ kind: 'training', payload: payload as StudioEvents['training'] });
    emit(event, payload);
  };
}

/** The session's run stays this tab's until its loop ends (finished, stopped, failed). */
function holdWhileLive(live: TrainingSession, lease: RunLease): void {
  void live.done.finally(() => lease.release());
}

function busy(): boolean {
  return session !== null && session.state !== 'idle';
}

export function requireActive(action: string): TrainingSession {
  if (!session || session.state === 'idle') throw new TrainingStateError(`No run is training: nothing to ${action}.`);
  return session;
}

/** Frees the kept session (teacher about to change); refused while a run is live. */
export function releaseSession(action: string): void {
  if (busy()) throw new TrainingStateError(`A run is training: stop it before you ${action}.`);
  session?.dispose();
  session = null;
}

export async function startTraining(req: TrainingRequest, emit: Emit): Promise<RunInfo> {
  const settings = checkTrainingSettings(req, (m) => new TrainingStateError(`Training settings: ${m}.`));
  const teacher = requireTeacher('start training');
  releaseSession('start another');
  const shards = await loadTrainingSet(teacher);
  // A new id is free; holding it before the run is stored keeps other tabs from offering it.
  const id = crypto.randomUUID();
  const lease = await own(id);
  try {
    session = await TrainingSession.start(teacher, shards, settings, toEveryTab(emit), id);
  } catch (e) {
    lease.release();
    throw e;
  }
  holdWhileLive(session, lease);
  return session.info();
}

/** Takes the run for this tab, or says that another tab trains it. */
async function own(runId: string): Promise<RunLease> {
  const lease = await claimRun(runId);
  if (!lease) {
    throw new TrainingStateError(
      `Run ${runId.slice(0, 8)} is training in another tab of this browser: stop it there (or close that tab) to ` +
        `resume it here, or start a new run here, which trains beside it as a separate run.`,
    );
  }
  return lease;
}

export async function resumeRun(runId: string, emit: Emit): Promise<RunInfo> {
  if (busy()) throw new TrainingStateError('A run is training: stop it before you resume another.');
  const lease = await own(runId);
  try {
    // Read once the run is this tab's: the tab that let go of it may have stored more meanwhile.
    const stored = await getRun(runId);
    if (!stored) throw new UnknownRunError(runId);
    if (stored.status === 'finished') {
      throw new TrainingStateError(`This run already reached its ${stored.iterations} iterations; start a new run.`);
    }
    releaseSession('resume a run');
    const teacher = await teacherOf(stored.teacher, emit);
    const shards = await loadTrainingSet(teacher);
    const checkpoint = await getCheckpoint(runId);
    session = await TrainingSession.resume(teacher, shards, stored, checkpoint?.bytes, toEveryTab(emit));
  } catch (e) {
    lease.release();
    throw e;
  }
  holdWhileLive(session, lease);
  return session.info();
}

/** The run's teacher, loaded from storage or the build if needed (the page is told). */
async function teacherOf(identity: LoadedTeacher['identity'], emit: Emit): Promise<LoadedTeacher> {
  const before = loadedTeacher();
  const teacher = await ensureTeacher(identity);
  if (!teacher) {
    throw new TrainingStateError(
      `This run was trained from teacher '${identity.name}' (sha256 ${identity.sha256.slice(0, 12)}…), which is ` +
        `not loaded and not stored in this browser; load that teacher file first.`,
    );
  }
  if (teacher !== before) emit('teacher', teacher.info);
  return teacher;
}

/** Told when a run another tab held is free again (the worker has the page list the runs again). */
let runReleased: () => void = () => undefined;

export function onRunReleased(listener: () => void): void {
  runReleased = listener;
}

/**
 * Stored runs. One another tab holds is `inAnotherTab` (`onRunReleased` hears when that tab lets
 * go of it); a 'running' one nobody holds was cut off by a reload or crash: 'interrupted'.
 */
export async function listRuns(): Promise<RunInfo[]> {
  const [stored, held] = await Promise.all([listStoredRuns(), heldRuns()]);
  return stored.map((r) => {
    if (session?.run.id === r.id && session.state !== 'idle') return session.info();
    if (held.has(r.id)) {
      whenReleased(r.id, () => runReleased());
      return { ...runInfo(r), inAnotherTab: true };
    }
    if (session?.run.id === r.id) return session.info();
    return runInfo(r.status === 'running' ? { ...r, status: 'interrupted' } : r);
  });
}

export async function runMetrics(runId: string): Promise<RapmMetrics[]> {
  const stored = await storedMetrics(runId);
  return session?.run.id === runId ? [...stored, ...session.unsavedMetrics()] : stored;
}

/** The live record while the run trains (it holds points not yet checkpointed), else the stored one. */
export async function runValidation(runId: string): Promise<RunValidation> {
  const record = session?.run.id === runId ? session.run.validation : (await getRun(runId))?.validation;
  if (!record) return { points: [], references: [], best: null };
  return { points: [...record.points], references: record.references, best: record.best };
}

export async function removeRun(runId: string): Promise<RunInfo[]> {
  if (session?.run.id === runId) {
    if (busy()) throw new TrainingStateError('This run is training: stop it before you remove it.');
    releaseSession('remove the run');
  }
  const lease = await claimRun(runId);
  if (!lease) {
    throw new TrainingStateError(
      `Run ${runId.slice(0, 8)} is training in another tab of this browser: stop it there before you remove it.`,
    );
  }
  try {
    await deleteRun(runId);
  } finally {
    lease.release();
  }
  return listRuns();
}

/** Marks the live run interrupted after a lost GPU (its stored checkpoint is what a reload resumes). */
export async function deviceLost(): Promise<void> {
  if (!session || session.state === 'idle') return;
  session.deviceWasLost();
  await putRun({ ...session.run, status: 'interrupted' }).catch(() => undefined);
}

/**
 * Calls `use` with a snapshot of the run's student: the live run's (taken between two of its
 * iterations, never waiting for a pause), or one read from the run's checkpoint. The snapshot is
 * disposed afterwards; the loop can go on meanwhile. `which: 'best'` reads the run's best-validated
 * checkpoint instead.
 */
export async function withStudent<T>(
  runId: string,
  emit: Emit,
  use: (snapshot: StudentSnapshot, teacher: LoadedTeacher) => Promise<T>,
  which: 'latest' | 'best' = 'latest',
): Promise<T> {
  if (which === 'latest' && session?.run.id === runId) {
    const { teacher } = session;
    return session.withSnapshot((snapshot) => use(snapshot, teacher));
  }
  const stored = await getRun(runId);
  if (!stored) throw new UnknownRunError(runId);
  const checkpoint = await (which === 'best' ? getBestCheckpoint(runId) : getCheckpoint(runId));
  if (!checkpoint) {
    throw new TrainingStateError(
      which === 'best'
        ? 'This run has no best checkpoint: it holds out no validation trajectories (or was started before validation existed).'
        : 'This run has no checkpoint yet (it stopped before its first); resume it to train.',
    );
  }
  if (session && session.run.id !== runId && session.teacher.identity.sha256 !== stored.teacher.sha256) {
    // Switching teachers would pull the weights from under the live run.
    releaseSession('use a run of another teacher');
  }
  const teacher = await teacherOf(stored.teacher, emit);
  let trainer;
  try {
    trainer = loadRapmCheckpoint(new Uint8Array(checkpoint.bytes), teacher.config, teacher.params, {
      teacher: teacher.identity,
      geometry: null,
    });
  } catch (e) {
    if (!(e instanceof CheckpointError)) throw e;
    throw new TrainingStateError(`This run's checkpoint cannot be used: ${e.message}.`);
  }
  const snapshot = snapshotStudent(trainer);
  trainer.dispose();
  try {
    return await use(snapshot, teacher);
  } finally {
    disposeSnapshot(snapshot);
  }
}
