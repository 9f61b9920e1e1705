/**
 * The one typed bridge between the page and the studio worker. The page sends requests and
 * receives responses matched by id; the worker may also push events at any time. Only plain
 * structured-cloneable data crosses it: the UI never sees a tensor.
 */
import type { AnyModelConfig, ModelConfig } from '../core/model-config';
import type { RapmConfig, TrainingSettings } from '../core/rapm/config';
import type { RapmMetrics } from '../core/rapm/metrics';
import type { QualityScore, TeacherReference, ValidationPoint } from '../core/rapm/validation';

export type { AnyModelConfig, ModelConfig, RapmConfig, RapmMetrics, QualityScore, TeacherReference, ValidationPoint };

/** Every backend the studio can run on. */
export const BACKENDS = ['webgpu', 'webgl', 'wasm'] as const;
export type BackendName = (typeof BACKENDS)[number];

/** The built-in shard sets, by the student steps N they train (public/shards, shards-2step, shards-1step). */
export const BUILTIN_SHARD_STEPS = [4, 2, 1] as const;
export type BuiltinShardSteps = (typeof BUILTIN_SHARD_STEPS)[number];

/** What the browser says about the GPU behind the backend; empty strings where it declines to say. */
export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /**
   * A software rasteriser on the CPU (SwiftShader, llvmpipe, WARP...), by the browser's own flag
   * (`isFallbackAdapter`) or by its name: it is a GPU API without a GPU.
   */
  software: boolean;
}

/** One backend tried: whether it started, what one calibration step cost, why it was not used. */
export interface BackendAttempt {
  backend: BackendName;
  ok: boolean;
  adapter?: AdapterSummary | null;
  /** Milliseconds from "try it" to ready to run (module, device and context set-up). */
  startMs?: number;
  /** Fastest timed UNet forward+backward after a warm-up step, in ms. */
  stepMs?: number;
  /** Set when its calibration missed the deadline: how long it ran before it was stopped. */
  stoppedAfterMs?: number;
  reason?: string;
}

/** How tfjs-wasm runs when it is the backend (or a candidate). */
export interface WasmInfo {
  /** Threads XNNPACK uses (tf.wasm.getThreadsCount()): 1 means the single-thread build. */
  threads: number;
  /** Whether the page is cross-origin isolated, which the threaded build needs. */
  isolated: boolean;
  /** The single-thread build was asked for (`?threads=1`) although threads could run. */
  singleThreadAsked?: boolean;
}

export interface BackendReport {
  backend: BackendName;
  adapter: AdapterSummary | null;
  /** Every candidate, in the order tried. */
  attempts: BackendAttempt[];
  /**
   * 'calibrated': the fastest measured now; 'stored': the fastest when this machine was last
   * measured (same browser, adapters, model, batch); 'pinned': the only one asked for (`?backend=`);
   * 'provisional': wasm, started at once on a first visit while every backend is timed (`settleBackend`).
   */
  choice: 'calibrated' | 'stored' | 'pinned' | 'provisional';
  /** One sentence: why this backend. */
  why: string;
  /** What was timed: the model and the batch size. */
  calibration: { model: string; batch: number } | null;
  /** When the calibration behind the choice ran (ms since the epoch); null when pinned. */
  measuredAt: number | null;
  /** Present when wasm started. */
  wasm: WasmInfo | null;
}

export interface InitRequest {
  /** Pins one backend, skipping calibration (`?backend=`); otherwise all are timed. */
  backend?: BackendName;
  /** Batch size the run will train at: calibration times a step at this batch. */
  batch: number;
  /** Measure again even if a calibration for this machine is stored. */
  remeasure?: boolean;
  /** `?threads=1`: run tfjs-wasm's single-thread build even where the page is isolated (to compare). */
  singleThread?: boolean;
  /** `?diagnostics`: report every training iteration's time and GPU dispatches (`iterationCost`). */
  diagnostics?: boolean;
}

export interface ForwardRequest {
  seed: number;
}

/** A model output rendered as an 8-bit RGBA image, plus how long the forward pass took. */
export interface ForwardResult {
  width: number;
  height: number;
  rgba: Uint8ClampedArray;
  /** Wall time of the forward pass including reading the result back from the device. */
  ms: number;
  /** Output range before it was stretched to [0, 255] for display. */
  min: number;
  max: number;
}

/** The loaded teacher: its identity (what shards must match), config and size. */
export interface TeacherInfo {
  name: string;
  sha256: string;
  bytes: number;
  params: number;
  config: AnyModelConfig;
  builtin: boolean;
  /** A diffusers teacher's scheduler_config.json as read (its noise schedule and prediction are in `config`). */
  scheduler?: { className: string | null; spacing: string; stepsOffset: number };
}

/**
 * Files picked or dropped as a diffusers model, by their path relative to what was picked; the
 * worker finds the three it reads among them (core/diffusers/layout.ts) and reads only those.
 */
export interface PickedFolderFile {
  path: string;
  file: Blob;
}

/** A stored trajectory shard; `teacherMatch` compares it with the currently loaded teacher. */
export interface ShardInfo {
  id: string;
  fileName: string;
  count: number;
  bytes: number;
  slots: number;
  dtype: 'F16' | 'F32';
  hasDelta: boolean;
  teacherName: string;
  teacherMatch: boolean;
  addedAt: number;
}

/** A file refused by validation; `code` is the ShardError code, nothing of it was stored. */
export interface ShardRejection {
  fileName: string;
  code: string;
  message: string;
}

/** An 8-bit RGBA image, ready for `new ImageData(rgba, width, height)`. */
export interface GridImage {
  width: number;
  height: number;
  rgba: Uint8ClampedArray;
}

/**
 * A new run's settings as the form holds them. The worker checks them once against the settings
 * table (core/rapm/config-check.ts: bounds, and defaults for anything left out) and trains with the result.
 */
export type TrainingRequest = TrainingSettings;

/** The teacher's trajectories to precompute in the browser (shard-generation.ts), as the Generate panel holds them. */
export interface GenerateRequest {
  count: number;
  perShard: number;
  /** N coarse slots. */
  coarse: number;
  /** M teacher steps per slot. */
  fine: number;
  guidance: number;
  seed: number;
  dtype: 'F16' | 'F32';
}

/** How a run validates: trajectories held out (never trained on) and iterations between validations. */
export interface ValidationSettings {
  /** Held-out trajectories; 0 turns validation off. */
  count: number;
  /** Iterations between validations of the EMA student; 0 validates only at the end. */
  every: number;
}

/** The stored checkpoint with the best (lowest) validation RMSE so far. */
export interface BestCheckpoint {
  iteration: number;
  rmse: number;
}

/** A run's validation history: the points so far and the teacher's lines (empty until measured). */
export interface RunValidation {
  points: ValidationPoint[];
  references: TeacherReference[];
  best: BestCheckpoint | null;
}

export interface RunInfo {
  id: string;
  createdAt: number;
  config: RapmConfig;
  /** Target iteration count of the run. */
  iterations: number;
  /** Sample-grid refresh and checkpoint intervals the run was started with. */
  sampleEvery: number;
  checkpointEvery: number;
  /** Seconds of training between checkpoints (the default for runs stored before checkpoints were also timed). */
  checkpointSeconds: number;
  /** Iterations done so far (live). */
  iteration: number;
  /** Iteration of the last stored checkpoint: what a reload resumes from. */
  checkpointIteration: number;
  status: 'running' | 'paused' | 'stopped' | 'finished' | 'interrupted' | 'error';
  /** Null for runs without a held-out set (started before validation existed, or with count 0). */
  validation: (ValidationSettings & { best: BestCheckpoint | null }) | null;
  /**
   * Addition to the contract: set while another tab of this browser trains the run (it holds the
   * run): this tab cannot resume or remove it, and its progress comes as `otherTab` events.
   */
  inAnotherTab?: boolean;
  /** Addition to the contract: why the run failed (status 'error'), as its fault said; resuming clears it. */
  error?: string;
}

/** What a `storedChanged` notice is about: shard list, runs (records, metrics, checkpoints), the stored teacher. */
export type StoredTopic = 'shards' | 'runs' | 'teacher';

export type TrainingState = 'idle' | 'running' | 'paused' | 'stopping';

/**
 * What the loop is doing when that is not simply the next iteration (the first grids, the first
 * iteration's GPU program compilation, a pending pause): `since` is a Date.now() timestamp so the
 * page can show the elapsed time.
 */
export interface TrainingPhase {
  label: string;
  since: number;
  /** While the phase measures the held-out trajectories (the teacher's lines, a validation): how many are done. */
  measured?: { done: number; total: number };
}

type NoArgs = Record<string, never>;

/** Each method's argument and result: the worker implements it, the client calls it. */
export interface StudioApi {
  init: { args: InitRequest; result: BackendReport };
  /**
   * The backend training runs on: after a provisional start (a first visit), times every backend
   * and switches to the fastest (once; later calls get the same answer). Training, previews and
   * generation wait for it by themselves; the page calls it once its teacher is loaded.
   */
  settleBackend: { args: NoArgs; result: BackendReport };
  forward: { args: ForwardRequest; result: ForwardResult };
  loadTeacher: {
    args:
      | { source: 'builtin' }
      | { source: 'file'; fileName: string; bytes: ArrayBuffer }
      | { source: 'diffusers'; files: PickedFolderFile[] };
    result: TeacherInfo;
  };
  listShards: { args: NoArgs; result: ShardInfo[] };
  importShards: {
    /** `builtin`: one of the built-in sets (public/shards, shards-2step, shards-1step) by its student steps. */
    args: { files: { fileName: string; bytes: ArrayBuffer }[] } | { builtin: BuiltinShardSteps };
    result: { added: ShardInfo[]; rejected: ShardRejection[] };
  };
  removeShard: { args: { id: string }; result: ShardInfo[] };
  downloadShard: { args: { id: string }; result: { fileName: string; bytes: ArrayBuffer } };
  storageEstimate: { args: NoArgs; result: { usage: number; quota: number } };
  startTraining: { args: TrainingRequest; result: RunInfo };
  /** Continue an interrupted, paused or stopped run from its checkpoint. */
  resumeRun: { args: { runId: string }; result: RunInfo };
  pauseTraining: { args: NoArgs; result: RunInfo };
  /** Un-pause. */
  continueTraining: { args: NoArgs; result: RunInfo };
  /** Saves a checkpoint first. */
  stopTraining: { args: NoArgs; result: RunInfo };
  listRuns: { args: NoArgs; result: RunInfo[] };
  /**
   * Addition to the contract: deletes a run that is not live (record, metrics, checkpoint), so a
   * user told the storage is full has something besides shards to remove.
   */
  removeRun: { args: { runId: string }; result: RunInfo[] };
  /** Full metric history, for a reload. */
  runMetrics: { args: { runId: string }; result: RapmMetrics[] };
  /** Validation points, teacher lines and best checkpoint so far, for a reload. */
  runValidation: { args: { runId: string }; result: RunValidation };
  exportStudent: {
    /** `checkpoint`: the latest weights (default) or the best-validated checkpoint's; `diffusers`, `peft`: zipped folders (diffusers teachers only). */
    args: { runId: string; form: 'lora' | 'merged' | 'diffusers' | 'peft'; checkpoint?: 'latest' | 'best' };
    /** `iteration`: the iteration the exported weights are from. */
    result: { fileName: string; bytes: ArrayBuffer; iteration: number };
  };
  preview: {
    args: {
      who: 'student' | 'teacher';
      runId?: string;
      classLabel: number;
      seed: number;
      count: number;
      steps: number;
      guidance: number;
    };
    result: { image: GridImage; msPerImage: number; steps: number };
  };
  generateShards: { args: GenerateRequest; result: ShardInfo[] };
}

/** Events the worker pushes without being asked. */
export interface StudioEvents {
  status: { message: string };
  progress: {
    task: 'import' | 'generate' | 'train' | 'preview' | 'teacher';
    done: number;
    total: number;
    message: string;
  };
  /** Batched: at most about 10 posts a second. */
  metrics: { runId: string; events: RapmMetrics[] };
  /** `steps`: the student's grid size (its shards' coarse steps N); `rows`: the class of each grid row, top to bottom. */
  samples: { runId: string; iteration: number; steps: number; student: GridImage; teacher: GridImage; rows: number[] };
  training: { run: RunInfo; state: TrainingState; itPerSec: number; phase: TrainingPhase | null };
  /** A validation of the run's EMA student finished; `best` is the best checkpoint after it. */
  validation: { runId: string; point: ValidationPoint; best: BestCheckpoint | null };
  /** The teacher's lines for the run's held-out set, measured once per run. */
  validationReferences: { runId: string; references: TeacherReference[] };
  /**
   * Addition to the contract: the loaded teacher changed; sent after every load, including when
   * resumeRun restores the run's teacher (stored in IndexedDB) without a loadTeacher call.
   */
  teacher: TeacherInfo;
  /**
   * Only with `InitRequest.diagnostics`: one per training iteration, its wall time from the loop's
   * point of view and the `dispatchWorkgroups` calls the worker made in it (null off webgpu).
   */
  /**
   * `hostMs`: JavaScript time of a replayed step (writing its inputs, encoding, submitting), null
   * where tfjs ran the iteration's ops (the first two of a run, or not webgpu). `tensors` and
   * `tensorBytes`: tf.memory() of the worker once the iteration is read back.
   */
  iterationCost: {
    runId: string;
    iteration: number;
    ms: number;
    dispatches: number | null;
    hostMs: number | null;
    tensors: number;
    tensorBytes: number;
  };
  /**
   * User-facing: says what happened and what to do; stored data is intact. 'another-tab' (an
   * addition): another tab took the run over, so this tab stopped training it and stored nothing more.
   */
  fault: { kind: 'quota' | 'device-lost' | 'worker' | 'storage' | 'another-tab'; message: string };
  /**
   * Addition to the contract: a run another tab of this browser trains, as that tab's `training`
   * event says (its progress, at most about 10 a second); state 'idle' when it let go of the run.
   */
  otherTab: { run: RunInfo; state: TrainingState; itPerSec: number; phase: TrainingPhase | null };
  /** Addition to the contract: stored state changed, in this tab or another: list it again. */
  storedChanged: { topics: StoredTopic[] };
}

export type Method = keyof StudioApi;
export type EventName = keyof StudioEvents;

export interface RequestMessage<M extends Method = Method> {
  type: 'request';
  id: number;
  method: M;
  args: StudioApi[M]['args'];
}

export interface SerializedError {
  name: string;
  message: string;
}

export type ResponseMessage<M extends Method = Method> =
  | { type: 'response'; id: number; ok: true; result: StudioApi[M]['result'] }
  | { type: 'response'; id: number; ok: false; error: SerializedError };

export interface EventMessage<E extends EventName = EventName> {
  type: 'event';
  event: E;
  payload: StudioEvents[E];
}

export type WorkerMessage = ResponseMessage | EventMessage;

/** Rebuilt on the page from a SerializedError so callers can tell worker failures apart. */
export class WorkerCallError extends Error {
  constructor(
    readonly method: Method,
    readonly remoteName: string,
    message: string,
  ) {
    super(`${method} failed in the studio worker: ${remoteName}: ${message}`);
    this.name = 'WorkerCallError';
  }
}
