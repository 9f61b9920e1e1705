/**
 * The studio worker: owns tfjs, the GPU, IndexedDB and the training loop. Requests that touch
 * tensors or storage run one at a time in arrival order; the training loop runs beside them in
 * the background, and the run controls (pause, continue, stop) and read-only listings skip the
 * queue so they answer at once even while a long import or generation is running. It also
 * talks to the studio's other tabs (tabs.ts): their live runs and stored changes become events.
 */
import { selectBackend, type BackendChoice } from './backend';
import type { StudentSnapshot } from '../core/rapm/student-snapshot';
import { onStoredChange, storageEstimate } from './db';
import { enableDiagnostics } from './diagnostics';
import { watchDeviceLoss } from './device-loss';
import { emit, transferablesOf } from './events';
import { runForwardPreview } from './forward-preview';
import { previewStudent, previewTeacher } from './preview';
import type { BackendReport, Method, RequestMessage, ResponseMessage, StoredTopic, StudioApi } from './protocol';
import {
  deviceLost,
  listRuns,
  onRunReleased,
  releaseSession,
  removeRun,
  requireActive,
  resumeRun,
  runMetrics,
  runValidation,
  startTraining,
  withStudent,
} from './runs';
import { generateShards } from './shard-generation';
import { downloadShard, fetchBuiltinShards, importShards, listShards, removeShard } from './shard-store';
import { studentFile } from './student-export';
import { listenToTabs, tellTabs } from './tabs';
import { QuotaError, StorageError, TeacherRequiredError } from './studio-errors';
import {
  loadBuiltinTeacher,
  loadedTeacher,
  loadTeacherFiles,
  pickedDiffusersFolder,
  requireTeacher,
  type LoadedTeacher,
} from './teacher';

declare const self: DedicatedWorkerGlobalScope;

/** tfjs has one global backend, so it is chosen once; a second `init` gets the first answer. */
let ready: Promise<BackendChoice> | null = null;
let settled: Promise<BackendReport> | null = null;

function chosen(method: Method): Promise<BackendChoice> {
  if (!ready) throw new TeacherRequiredError(`${method} was called before init: call init first to choose a backend`);
  return ready;
}

/** A backend to put tensors on (loading a teacher needs no more than that). */
async function backendStarted(method: Method): Promise<void> {
  await chosen(method);
}

/** The backend to compute on: on a first visit, once every backend has been timed and the fastest started. */
function backendSettled(method: Method): Promise<BackendReport> {
  settled ??= chosen(method)
    .then((choice) => choice.settle())
    .then((report) => {
      if (report.backend === 'webgpu') watchDeviceLoss(onDeviceLost);
      return report;
    });
  return settled;
}

function onDeviceLost(reason: string): void {
  void deviceLost();
  emit('fault', {
    kind: 'device-lost',
    message:
      `The GPU device was lost (${reason}). Training stopped; the last checkpoint and all stored data are kept. ` +
      `Reload the page to get a new device, then resume the run.`,
  });
}

// Every tab hears what the others store and train; this tab's page hears its own writes too.
const storedChanged = (topics: StoredTopic[]) => emit('storedChanged', { topics });
onStoredChange((topics) => {
  tellTabs({ kind: 'stored', topics });
  storedChanged(topics);
});
listenToTabs({ training: (payload) => emit('otherTab', payload), stored: storedChanged });
onRunReleased(() => storedChanged(['runs']));

const progress =
  (task: 'import' | 'generate' | 'preview' | 'teacher') => (done: number, total: number, message: string) =>
    emit('progress', { task, done, total, message });

const handlers: { [M in Method]: (args: StudioApi[M]['args']) => Promise<StudioApi[M]['result']> } = {
  init: (args) => {
    // Before any backend starts, so the counter sees tfjs's device from its first dispatch.
    if (args.diagnostics) enableDiagnostics();
    ready ??= selectBackend((message) => emit('status', { message }), args);
    return ready.then((choice) => choice.started);
  },
  settleBackend: () => backendSettled('settleBackend'),
  forward: async (args) => {
    await backendSettled('forward');
    emit('status', { message: 'Running the UNet forward pass…' });
    return runForwardPreview(args);
  },
  loadTeacher: async (args) => {
    await backendStarted('loadTeacher');
    releaseSession('load another teacher');
    const name =
      args.source === 'builtin'
        ? 'the built-in teacher'
        : args.source === 'file'
          ? args.fileName
          : 'the diffusers folder';
    progress('teacher')(0, 1, `Loading ${name}…`);
    const teacher =
      args.source === 'builtin'
        ? await loadBuiltinTeacher()
        : await loadTeacherFiles(
            args.source === 'file'
              ? { kind: 'bundle', fileName: args.fileName, bytes: args.bytes }
              : await pickedDiffusersFolder(args.files),
          );
    progress('teacher')(1, 1, `Loaded ${teacher.info.name}`);
    emit('teacher', teacher.info);
    return teacher.info;
  },
  listShards: () => listShards(loadedTeacher()?.identity ?? null),
  importShards: async (args) => {
    const teacher = requireTeacher('import shards (they are checked against it)');
    const files = 'builtin' in args ? await fetchBuiltinShards(args.builtin, progress('import')) : args.files;
    return importShards(files, teacher, (done, total, name) =>
      progress('import')(done, total, name ? `Checking ${name}` : 'Done'),
    );
  },
  removeShard: async ({ id }) => {
    await removeShard(id);
    return listShards(loadedTeacher()?.identity ?? null);
  },
  downloadShard: ({ id }) => downloadShard(id),
  storageEstimate: () => storageEstimate(),
  startTraining: async (args) => {
    await backendSettled('startTraining');
    return startTraining(args, emit);
  },
  resumeRun: async ({ runId }) => {
    await backendSettled('resumeRun');
    return resumeRun(runId, emit);
  },
  pauseTraining: () => requireActive('pause').pause(),
  continueTraining: async () => requireActive('continue').resumeLoop(),
  stopTraining: () => requireActive('stop').stop(),
  listRuns: () => listRuns(),
  runMetrics: ({ runId }) => runMetrics(runId),
  runValidation: ({ runId }) => runValidation(runId),
  removeRun: ({ runId }) => removeRun(runId),
  exportStudent: async ({ runId, form, checkpoint = 'latest' }) => {
    await backendSettled('exportStudent');
    const file = (snapshot: StudentSnapshot, teacher: LoadedTeacher) =>
      studentFile(snapshot, teacher, form, checkpoint);
    return withStudent(runId, emit, file, checkpoint);
  },
  preview: async ({ who, runId, ...req }) => {
    await backendSettled('preview');
    if (who === 'teacher') {
      const teacher = requireTeacher('preview the teacher');
      return previewTeacher(teacher.config, teacher.params, req);
    }
    if (!runId) throw new TeacherRequiredError('Pick a run to preview its student.');
    return withStudent(runId, emit, (snapshot, teacher) =>
      previewStudent(teacher.config, teacher.params, snapshot, req),
    );
  },
  generateShards: async (args) => {
    await backendSettled('generateShards');
    return generateShards(requireTeacher('generate shards'), args, progress('generate'));
  },
};

/** Answered at once, outside the queue: they only read state or flag the loop. */
const IMMEDIATE = new Set<Method>([
  // Runs beside the queue: the backends are timed while the page imports shards or loads a teacher.
  'settleBackend',
  'pauseTraining',
  'continueTraining',
  'stopTraining',
  'listRuns',
  'listShards',
  'runMetrics',
  'runValidation',
  'storageEstimate',
]);

async function answer(id: number, method: Method, args: unknown): Promise<void> {
  let response: ResponseMessage;
  try {
    const handler = handlers[method] as (a: unknown) => Promise<StudioApi[Method]['result']>;
    const result = await handler(args);
    response = { type: 'response', id, ok: true, result };
    self.postMessage(response, transferablesOf(result));
  } catch (err) {
    if (err instanceof QuotaError) emit('fault', { kind: 'quota', message: err.message });
    else if (err instanceof StorageError) emit('fault', { kind: 'storage', message: err.message });
    const error =
      err instanceof Error ? { name: err.name, message: err.message } : { name: 'Error', message: String(err) };
    response = { type: 'response', id, ok: false, error };
    self.postMessage(response);
  }
}

let queue: Promise<void> = Promise.resolve();

self.addEventListener('message', (e: MessageEvent<RequestMessage>) => {
  const { id, method, args } = e.data;
  if (IMMEDIATE.has(method)) void answer(id, method, args);
  else queue = queue.then(() => answer(id, method, args));
});
