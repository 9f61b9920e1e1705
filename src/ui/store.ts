/**
 * Everything the page renders, in one zustand store of plain data (no tensors, no Worker);
 * written by studio-actions.ts and by the form fields. The metric history is not here: it
 * lives in typed arrays (metric-series.ts) that the curves read directly, and the store only
 * counts its rows so React knows when to redraw.
 */
import { create } from 'zustand';
import { DEFAULT_RUN, type RapmConfig, type RunSettings } from '../core/rapm/config';
import type {
  BackendReport,
  GenerateRequest,
  GridImage,
  RunInfo,
  RunValidation,
  ShardInfo,
  ShardRejection,
  StudioEvents,
  TeacherInfo,
  TrainingPhase,
  TrainingState,
} from '../worker/protocol';
import { START_PRESET } from './presets';
import type { OtherTabRun } from './run-lists';

export type Phase = 'starting' | 'ready' | 'failed';
export type ProgressTask = StudioEvents['progress']['task'];
export type Progress = StudioEvents['progress'];
export type Fault = StudioEvents['fault'];

/** The Run fieldset: how long the run trains, and when it samples, checkpoints and validates. */
export type TrainSettings = RunSettings;

export interface PreviewSettings {
  who: 'student' | 'teacher';
  classLabel: number;
  seed: number;
  count: number;
  steps: number;
  guidance: number;
}

export type GenerateSettings = GenerateRequest;

export interface StudioState {
  phase: Phase;
  /** Latest progress line from the worker. */
  status: string;
  backend: BackendReport | null;
  /** Faults (quota, lost device, worker crash) shown in the banner until dismissed. */
  faults: Fault[];

  teacher: TeacherInfo | null;
  teacherBusy: boolean;
  /** Why the last teacher load failed (a damaged file, a failed fetch). */
  teacherError: string | null;
  /** Set when this build ships no built-in teacher: says so instead of reporting an error. */
  teacherMissing: string | null;

  shards: ShardInfo[];
  rejections: ShardRejection[];
  shardsBusy: boolean;
  shardsError: string | null;
  storage: { usage: number; quota: number } | null;

  config: RapmConfig;
  trainSettings: TrainSettings;
  run: RunInfo | null;
  trainingState: TrainingState;
  /** What the loop is busy with besides iterating (warm-up, a pending pause), with its start time. */
  trainingPhase: TrainingPhase | null;
  /** A Pause or Stop clicked and not yet answered: the button says so at once. */
  controlPending: 'pause' | 'continue' | 'stop' | null;
  itPerSec: number;
  /** Only with `?diagnostics`: the shown run's last 200 iterations in this session, their time and GPU dispatches. */
  iterationCosts: StudioEvents['iterationCost'][];
  trainError: string | null;
  /** Every stored run, as last listed (run-lists.ts picks the ones to resume and the other tabs'). */
  runs: RunInfo[];
  /** Runs other tabs of this browser train now, by id: their live progress. */
  elsewhere: Record<string, OtherTabRun>;
  /** Runs put off with "Not now": not offered again in this page. */
  dismissedResume: string[];

  /** Rows in the metric series; bumps re-render the curves. */
  metricRows: number;
  /** The latest sample grids; `rows` is the class of each row. */
  samples: { iteration: number; steps: number; student: GridImage; teacher: GridImage; rows: number[] } | null;
  /** The shown run's validation points, the teacher's lines and the best checkpoint. */
  validation: RunValidation;

  progress: Partial<Record<ProgressTask, Progress>>;

  previewSettings: PreviewSettings;
  preview: { who: 'student' | 'teacher'; image: GridImage; msPerImage: number; steps: number } | null;
  previewBusy: boolean;
  previewError: string | null;

  generateSettings: GenerateSettings;
  generated: ShardInfo[];
  generateBusy: boolean;
  generateError: string | null;

  exportError: string | null;
}

/** The settings table's run defaults, with the starting preset's run length. */
export const DEFAULT_TRAIN_SETTINGS: TrainSettings = { ...DEFAULT_RUN, ...START_PRESET.run };

export const useStudio = create<StudioState>()(() => ({
  phase: 'starting',
  status: 'Starting the worker…',
  backend: null,
  faults: [],
  teacher: null,
  teacherBusy: false,
  teacherError: null,
  teacherMissing: null,
  shards: [],
  rejections: [],
  shardsBusy: false,
  shardsError: null,
  storage: null,
  config: structuredClone(START_PRESET.config),
  trainSettings: DEFAULT_TRAIN_SETTINGS,
  run: null,
  trainingState: 'idle',
  trainingPhase: null,
  controlPending: null,
  itPerSec: 0,
  iterationCosts: [],
  trainError: null,
  runs: [],
  elsewhere: {},
  dismissedResume: [],
  metricRows: 0,
  samples: null,
  validation: { points: [], references: [], best: null },
  progress: {},
  previewSettings: { who: 'student', classLabel: 0, seed: 0, count: 4, steps: 4, guidance: 1.5 },
  preview: null,
  previewBusy: false,
  previewError: null,
  generateSettings: { count: 64, perShard: 32, coarse: 4, fine: 8, guidance: 1.5, seed: 0, dtype: 'F16' },
  generated: [],
  generateBusy: false,
  generateError: null,
  exportError: null,
}));
