/** The page's actions: each calls the worker and writes the outcome to the store. */
import {
  BACKENDS,
  WorkerCallError,
  type BackendName,
  type BuiltinShardSteps,
  type RunInfo,
  type StoredTopic,
  type StudioApi,
  type TeacherInfo,
} from '../worker/protocol';
import { downloadBytes } from './download';
import { metricSeries } from './metric-series';
import type { PickedFile } from './picked-files';
import { resumableRuns, type RunLists } from './run-lists';
import { useStudio, type Fault, type StudioState } from './store';
import { trainingRequest } from './train-form';
import { startStudioWorker, type StudioClient } from './worker-client';

let client: StudioClient | null = null;

/** The worker's own message, without the bridge's "<method> failed in the studio worker: <Name>:" prefix. */
export function errorText(err: unknown): string {
  if (err instanceof WorkerCallError) return err.message.replace(/^.*? failed in the studio worker: [^:]*: /, '');
  return err instanceof Error ? err.message : String(err);
}

function addFault(fault: Fault): void {
  useStudio.setState((s) => ({ faults: [...s.faults.filter((f) => f.message !== fault.message), fault] }));
}

export function dismissFault(index: number): void {
  useStudio.setState((s) => ({ faults: s.faults.filter((_, i) => i !== index) }));
}

function worker(): StudioClient {
  if (!client) throw new Error('the studio worker is not running; reload the page');
  return client;
}

async function refreshStorage(): Promise<void> {
  try {
    useStudio.setState({ storage: await worker().call('storageEstimate', {}) });
  } catch {
    // Browsers may decline to estimate storage; the panel then shows no figure.
    useStudio.setState({ storage: null });
  }
}

async function refreshShards(): Promise<void> {
  useStudio.setState({ shards: await worker().call('listShards', {}) });
  await refreshStorage();
}

// ---------- Teacher ----------

export async function loadTeacher(source: StudioApi['loadTeacher']['args']): Promise<void> {
  useStudio.setState({ teacherBusy: true, teacherError: null });
  try {
    const teacher = await worker().call('loadTeacher', source);
    useStudio.setState({ teacher, teacherError: null, teacherMissing: null, preview: null });
    await refreshShards();
  } catch (err) {
    if (err instanceof WorkerCallError && err.remoteName === 'BuiltinMissingError')
      useStudio.setState({ teacherMissing: errorText(err) });
    else useStudio.setState({ teacherError: errorText(err) });
  } finally {
    useStudio.setState({ teacherBusy: false });
  }
}

/**
 * Set once the user picks a teacher file. The built-in teacher is only a default: the page asks
 * for it once the backend is up, and were that request sent after the user's (which waits in the
 * worker's queue for the backend), it would replace their choice.
 */
let teacherChosen = false;

export async function loadTeacherFile(file: File): Promise<void> {
  teacherChosen = true;
  await loadTeacher({ source: 'file', fileName: file.name, bytes: await file.arrayBuffer() });
}

/**
 * Picked or dropped files as a teacher: one .safetensors file alone is a model bundle; anything
 * else is a diffusers folder, whose files the worker finds among them (a missing one is refused
 * with its name) and reads.
 */
export async function loadTeacherPicked(picked: readonly PickedFile[]): Promise<void> {
  if (picked.length === 1 && picked[0].file.name.endsWith('.safetensors') && !picked[0].path.includes('/')) {
    await loadTeacherFile(picked[0].file);
    return;
  }
  teacherChosen = true;
  await loadTeacher({ source: 'diffusers', files: picked.map(({ path, file }) => ({ path, file })) });
}

// ---------- Data ----------

async function importShards(
  args: { files: { fileName: string; bytes: ArrayBuffer }[] } | { builtin: BuiltinShardSteps },
) {
  useStudio.setState({ shardsBusy: true, shardsError: null, rejections: [] });
  try {
    const { rejected } = await worker().call('importShards', args);
    useStudio.setState({ rejections: rejected });
    await refreshShards();
  } catch (err) {
    useStudio.setState({ shardsError: errorText(err) });
  } finally {
    useStudio.setState({ shardsBusy: false });
  }
}

export async function importShardFiles(files: readonly File[]): Promise<void> {
  if (files.length === 0) return;
  const read = await Promise.all(files.map(async (f) => ({ fileName: f.name, bytes: await f.arrayBuffer() })));
  await importShards({ files: read });
}

/** A built-in shard set, by the student steps it trains (4: public/shards). */
export async function importBuiltinShards(steps: BuiltinShardSteps = 4): Promise<void> {
  await importShards({ builtin: steps });
}

export async function removeShard(id: string): Promise<void> {
  try {
    useStudio.setState({ shards: await worker().call('removeShard', { id }), shardsError: null });
    await refreshStorage();
  } catch (err) {
    useStudio.setState({ shardsError: errorText(err) });
  }
}

/** Saves a stored shard as a file; a failure is reported in the panel that asked (`where`). */
export async function saveShard(id: string, where: 'shardsError' | 'generateError'): Promise<void> {
  try {
    const { fileName, bytes } = await worker().call('downloadShard', { id });
    downloadBytes(bytes, fileName, 'application/octet-stream');
  } catch (err) {
    useStudio.setState({ [where]: errorText(err) });
  }
}

// ---------- Train ----------

/** Replaces the curves with a run's stored history (after a reload or when resuming), if it is still the run shown. */
async function loadHistory(runId: string): Promise<void> {
  const history = await worker().call('runMetrics', { runId });
  const validation = await worker().call('runValidation', { runId });
  if (useStudio.getState().run?.id !== runId) return;
  metricSeries.clear();
  metricSeries.append(history);
  useStudio.setState({ metricRows: metricSeries.length, validation });
}

/**
 * Shows a run: its record, and its settings in the form (a resumed run's, not the defaults'), so
 * the form always describes the run on screen.
 */
function showRun(run: RunInfo): void {
  useStudio.setState((s) => ({
    run,
    iterationCosts: s.run?.id === run.id ? s.iterationCosts : [],
    config: run.config,
    trainSettings: {
      ...s.trainSettings,
      iterations: run.iterations,
      sampleEvery: run.sampleEvery,
      checkpointEvery: run.checkpointEvery,
      checkpointSeconds: run.checkpointSeconds,
      ...(run.validation && { validationCount: run.validation.count, validateEvery: run.validation.every }),
    },
  }));
}

export async function startTraining(): Promise<void> {
  const request = trainingRequest(useStudio.getState());
  useStudio.setState({
    trainError: null,
    samples: null,
    validation: { points: [], references: [], best: null },
  });
  metricSeries.clear();
  useStudio.setState({ metricRows: 0 });
  try {
    showRun(await worker().call('startTraining', request));
  } catch (err) {
    useStudio.setState({ trainError: errorText(err) });
  }
}

export async function resumeRun(run: RunInfo): Promise<void> {
  useStudio.setState({ trainError: null });
  showRun(run);
  try {
    await loadHistory(run.id);
    showRun(await worker().call('resumeRun', { runId: run.id }));
  } catch (err) {
    useStudio.setState({ trainError: errorText(err) });
  }
}

export function dismissResume(): void {
  useStudio.setState((s) => ({
    dismissedResume: [...s.dismissedResume, ...resumableRuns(runLists(s)).map((r) => r.id)],
  }));
}

/** What run-lists.ts needs of the page's state. */
export function runLists(
  s: Pick<StudioState, 'runs' | 'elsewhere' | 'run' | 'trainingState' | 'dismissedResume'>,
): RunLists {
  return {
    runs: s.runs,
    elsewhere: s.elsewhere,
    liveHere: s.run && s.trainingState !== 'idle' ? s.run.id : null,
    dismissed: s.dismissedResume,
  };
}

/**
 * Lists the stored runs again. When the page shows no run yet, the newest one that can resume is
 * shown with its stored curves, before Resume is clicked.
 */
async function refreshRuns(): Promise<void> {
  const runs = await worker().call('listRuns', {});
  // A tab that crashed or closed never said goodbye: the listing says its runs are free again.
  const free = new Set(runs.filter((r) => !r.inAnotherTab).map((r) => r.id));
  useStudio.setState((s) => ({
    runs,
    elsewhere: Object.fromEntries(Object.entries(s.elsewhere).filter(([id]) => !free.has(id))),
  }));
  const [first] = resumableRuns(runLists(useStudio.getState()));
  if (first && !useStudio.getState().run) {
    showRun(first);
    await loadHistory(first.id);
  }
}

/** Stored-state notices come in bursts (a checkpoint touches three stores, an import many shards): one listing per burst. */
const REFRESH_DELAY_MS = 150;
const staleTopics = new Set<StoredTopic>();
let refreshTimer: ReturnType<typeof setTimeout> | null = null;

function refreshLater(topics: StoredTopic[]): void {
  for (const t of topics) staleTopics.add(t);
  refreshTimer ??= setTimeout(() => {
    refreshTimer = null;
    const due = [...staleTopics];
    staleTopics.clear();
    if (due.includes('shards')) void refreshShards().catch(() => undefined);
    if (due.includes('runs'))
      void refreshRuns().catch((err: unknown) =>
        useStudio.setState({ trainError: `Stored runs could not be listed: ${errorText(err)}` }),
      );
  }, REFRESH_DELAY_MS);
}

const PENDING = { pauseTraining: 'pause', continueTraining: 'continue', stopTraining: 'stop' } as const;

/** The button shows the request at once; the worker answers once the loop has honoured it. */
async function control(method: 'pauseTraining' | 'continueTraining' | 'stopTraining'): Promise<void> {
  useStudio.setState({ controlPending: PENDING[method] });
  try {
    useStudio.setState({ run: await worker().call(method, {}), trainError: null });
  } catch (err) {
    useStudio.setState({ trainError: errorText(err) });
  } finally {
    useStudio.setState({ controlPending: null });
  }
}

export const pauseTraining = () => control('pauseTraining');
export const continueTraining = () => control('continueTraining');
export const stopTraining = () => control('stopTraining');

// ---------- Export ----------

export async function exportStudent(
  form: 'lora' | 'merged' | 'diffusers' | 'peft',
  checkpoint: 'latest' | 'best' = 'latest',
): Promise<{ fileName: string; bytes: ArrayBuffer } | null> {
  const run = useStudio.getState().run;
  if (!run) return null;
  try {
    useStudio.setState({ exportError: null });
    return await worker().call('exportStudent', { runId: run.id, form, checkpoint });
  } catch (err) {
    useStudio.setState({ exportError: errorText(err) });
    return null;
  }
}

export async function runMetrics() {
  const run = useStudio.getState().run;
  if (!run) return null;
  try {
    useStudio.setState({ exportError: null });
    return { run, metrics: await worker().call('runMetrics', { runId: run.id }) };
  } catch (err) {
    useStudio.setState({ exportError: errorText(err) });
    return null;
  }
}

// ---------- Preview ----------

/** An unconditional teacher (numClasses 0) has no classifier-free guidance to offer: it samples at guidance 1. */
export function guidanceOf(teacher: TeacherInfo | null, wanted: number): number {
  return teacher?.config.numClasses === 0 ? 1 : wanted;
}

export async function runPreview(): Promise<void> {
  const { previewSettings: p, run, teacher } = useStudio.getState();
  useStudio.setState({ previewBusy: true, previewError: null });
  try {
    // The worker samples the student on the grid it was trained on, with the teacher's guidance built in.
    const args =
      p.who === 'student'
        ? { ...p, runId: run?.id, guidance: 1 }
        : {
            who: p.who,
            classLabel: p.classLabel,
            seed: p.seed,
            count: p.count,
            steps: p.steps,
            guidance: guidanceOf(teacher, p.guidance),
          };
    const result = await worker().call('preview', args);
    useStudio.setState({ preview: { who: p.who, ...result } });
  } catch (err) {
    useStudio.setState({ previewError: errorText(err) });
  } finally {
    useStudio.setState({ previewBusy: false });
  }
}

// ---------- Generate shards ----------

export async function generateShards(): Promise<void> {
  const { generateSettings, teacher } = useStudio.getState();
  const settings = { ...generateSettings, guidance: guidanceOf(teacher, generateSettings.guidance) };
  useStudio.setState({ generateBusy: true, generateError: null, generated: [] });
  try {
    const generated = await worker().call('generateShards', settings);
    useStudio.setState({ generated });
    await refreshShards();
  } catch (err) {
    useStudio.setState({ generateError: errorText(err) });
  } finally {
    useStudio.setState({ generateBusy: false });
  }
}

// ---------- Start-up ----------

/** `?backend=wasm` (or webgl, webgpu) pins one backend instead of timing them all. */
export function pinnedBackend(): BackendName | undefined {
  const wanted = new URLSearchParams(location.search).get('backend');
  return BACKENDS.find((b) => b === wanted);
}

/** `?threads=1` runs tfjs-wasm's single-thread build; `?diagnostics` reports each iteration's cost. */
function urlSwitches(): { singleThread?: boolean; diagnostics?: boolean } {
  const params = new URLSearchParams(location.search);
  return {
    ...(params.get('threads') === '1' && { singleThread: true }),
    ...(params.has('diagnostics') && { diagnostics: true }),
  };
}

/**
 * tfjs keeps one backend per worker, so another choice means a fresh page: the URL carries it
 * (`?backend=`; "auto" drops it, `?calibrate` measures again instead of using the stored answer).
 */
export function chooseBackend(backend: BackendName | 'auto', remeasure = false): void {
  const url = new URL(location.href);
  if (backend === 'auto') url.searchParams.delete('backend');
  else url.searchParams.set('backend', backend);
  if (remeasure) url.searchParams.set('calibrate', '');
  location.assign(url);
}

/** Reads and drops `?calibrate`, so that a later reload uses the new measurement. */
function takeRemeasure(): boolean {
  const url = new URL(location.href);
  if (!url.searchParams.has('calibrate')) return false;
  url.searchParams.delete('calibrate');
  history.replaceState(history.state, '', url);
  return true;
}

function subscribe(c: StudioClient): void {
  c.on('status', ({ message }) => useStudio.setState({ status: message }));
  c.on('progress', (p) => useStudio.setState((s) => ({ progress: { ...s.progress, [p.task]: p } })));
  c.on('fault', addFault);
  // Also sent when resumeRun restores the run's own teacher from storage.
  c.on('teacher', (teacher) => {
    useStudio.setState({ teacher, teacherError: null, teacherMissing: null });
    void refreshShards().catch(() => undefined);
  });
  c.on('metrics', ({ runId, events }) => {
    if (useStudio.getState().run?.id !== runId) return;
    metricSeries.append(events);
    useStudio.setState({ metricRows: metricSeries.length });
  });
  c.on('samples', ({ runId, iteration, steps, student, teacher, rows }) => {
    if (useStudio.getState().run?.id === runId)
      useStudio.setState({ samples: { iteration, steps, student, teacher, rows } });
  });
  c.on('validation', ({ runId, point, best }) => {
    if (useStudio.getState().run?.id !== runId) return;
    useStudio.setState((s) => ({ validation: { ...s.validation, points: [...s.validation.points, point], best } }));
  });
  c.on('validationReferences', ({ runId, references }) => {
    if (useStudio.getState().run?.id !== runId) return;
    useStudio.setState((s) => ({ validation: { ...s.validation, references } }));
  });
  c.on('iterationCost', (cost) => {
    if (useStudio.getState().run?.id === cost.runId)
      // Bounded: a long run with ?diagnostics must not grow the page (the table shows the last 50).
      useStudio.setState((s) => ({ iterationCosts: [...s.iterationCosts.slice(-199), cost] }));
  });
  c.on('storedChanged', ({ topics }) => refreshLater(topics));
  c.on('otherTab', (live) => {
    useStudio.setState((s) => {
      const { [live.run.id]: _gone, ...others } = s.elsewhere;
      void _gone;
      return { elsewhere: live.state === 'idle' ? others : { ...others, [live.run.id]: live } };
    });
    // Its last word: the run is free to resume here once its lock is gone (listed again then).
    if (live.state === 'idle') refreshLater(['runs']);
  });
  c.on('training', ({ run, state, itPerSec, phase }) => {
    if (useStudio.getState().run?.id !== run.id) showRun(run);
    useStudio.setState({ run, trainingState: state, itPerSec, trainingPhase: phase });
  });
  c.onCrash((message) =>
    addFault({
      kind: 'worker',
      message: `The studio worker stopped (${message}). Stored shards, runs and checkpoints are intact: reload the page to continue from the last checkpoint.`,
    }),
  );
}

/**
 * Starts the worker, picks a backend, loads the built-in teacher (unless the user picked a file)
 * and lists what storage holds.
 */
export async function startStudio(): Promise<void> {
  if (client) return;
  client = startStudioWorker();
  subscribe(client);
  try {
    const backend = await client.call('init', {
      backend: pinnedBackend(),
      batch: useStudio.getState().config.batchSize,
      remeasure: takeRemeasure(),
      ...urlSwitches(),
    });
    useStudio.setState({ backend, phase: 'ready', status: `Ready on ${backend.backend}.` });
  } catch (err) {
    useStudio.setState({ phase: 'failed', status: `No backend: ${errorText(err)}` });
    return;
  }
  try {
    await refreshRuns();
  } catch (err) {
    useStudio.setState({ trainError: `Stored runs could not be listed: ${errorText(err)}` });
  }
  if (!teacherChosen) await loadTeacher({ source: 'builtin' });
  if (!useStudio.getState().teacher) await refreshShards().catch(() => undefined);
  if (useStudio.getState().backend?.choice === 'provisional') await settleBackend(client);
}

/** A first visit started on wasm at once: now every backend is timed and the fastest takes over. */
async function settleBackend(c: StudioClient): Promise<void> {
  try {
    const backend = await c.call('settleBackend', {});
    useStudio.setState({ backend, status: `Ready on ${backend.backend}, the fastest measured.` });
  } catch (err) {
    useStudio.setState({ status: `Timing the backends failed: ${errorText(err)}` });
  }
}
