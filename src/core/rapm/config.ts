/**
 * The shape of a RAPM run's settings. Their defaults, bounds, hints and CLI flags are declared
 * once, in settings.ts; the constants below are derived from that table. Fields marked
 * [reconstructed] are our design where the paper is silent (docs/method.md says why).
 */
import { defaultSettings, settingDefault } from './settings';

export type Distance = 'mse' | 'pseudo-huber';

/** What a student's output means: 'teacher', its teacher's prediction type, or v (student-prediction.ts). */
export type StudentPrediction = 'teacher' | 'v_prediction';

/**
 * Which discriminators the run trains and the student's loss meets: 'off' trains neither (no
 * encoder pass over the student's points, no head update). A config without the field (saved
 * before it existed) takes it from its lambdas, as those versions did: a lambda of 0 meant off.
 */
export type Discriminators = 'both' | 'relative' | 'absolute' | 'off';

export interface StudentConfig {
  /** 'lora': teacher + low-rank adapters (the paper); 'full': fine-tune a copy of every weight. */
  mode: 'lora' | 'full';
  rank: number;
  /** LoRA scale is alpha / rank. */
  alpha: number;
  /** Parameter-name suffixes that get adapters (conv and linear weights). */
  targets: string[];
  /** What the output means (student-prediction.ts); absent in configs older than it: the teacher's. */
  prediction?: StudentPrediction;
}

export interface RapmConfig {
  student: StudentConfig;
  /** Weight of -mean D_rel(zphi) in the student loss. [reconstructed] */
  lambdaRel: number;
  /** Weight of -mean D_abs(zphi). [reconstructed] */
  lambdaAbs: number;
  /** The discriminators trained and used (see Discriminators). */
  discriminators: Discriminators;
  /** Weight of d(zphi, zhat), the relative regression term. [reconstructed] */
  muRel: number;
  /** Weight of d(zphi, z~), the absolute regression term. [reconstructed] */
  muAbs: number;
  distance: Distance;
  studentLr: number;
  studentBetas: [number, number];
  discLr: number;
  discBetas: [number, number];
  /** Discriminator updates per iteration, on the same inputs (cheap: the encoder features are shared). [reconstructed] */
  discSteps: number;
  /**
   * Iterations of past discriminator inputs kept (their encoder features); each head update also
   * trains on one of them, drawn at random. 0 = off. [our design, issue #14; docs/results.md]
   */
  discReplay: number;
  /**
   * The heads' loss: 'hinge' on real and fake rows alone (the reference run), or 'paired': hinge on the
   * difference of the logits of a real row and the fake row of the same trajectory and slot. [our design]
   */
  discLoss: 'hinge' | 'paired';
  /** Trajectories per iteration; the method runs at 1. */
  batchSize: number;
  /** EMA of the student's trainable weights, used for sampling and export; 0 disables. */
  emaDecay: number;
  seed: number;
}

/** How long a run trains and when it stores, samples and validates: not part of the training state. */
export interface RunSettings {
  iterations: number;
  /** Iterations between the page's sample grids (0 = none). */
  sampleEvery: number;
  /** Iterations between checkpoints; 0 = by time only. */
  checkpointEvery: number;
  /** Seconds of training between checkpoints; 0 = by count only. */
  checkpointSeconds: number;
  /** Trajectories held out and never trained on (0 = none). */
  validationCount: number;
  /** Iterations between validations of the EMA student (0 = only at the start and the end). */
  validateEvery: number;
}

/** Everything one run is started with: what the page sends, what the CLI's flags give. */
export interface TrainingSettings {
  config: RapmConfig;
  run: RunSettings;
}

/** When a run stores checkpoints (see checkpoint-schedule.ts). */
export interface CheckpointSchedule {
  /** Iterations between checkpoints; 0 = by time only. */
  everyIterations: number;
  /** Seconds of training between checkpoints; 0 = by count only. */
  everySeconds: number;
}

/** Which discriminators a config trains, and whose terms the student's loss has. */
export function discriminatorsOn(c: Pick<RapmConfig, 'discriminators'>): { rel: boolean; abs: boolean } {
  const d = c.discriminators;
  return { rel: d === 'both' || d === 'relative', abs: d === 'both' || d === 'absolute' };
}

/** The table's defaults (settings.ts). */
export const DEFAULT_RAPM: RapmConfig = defaultSettings().config;
export const DEFAULT_RUN: RunSettings = defaultSettings().run;

/** The student's default learning rate per mode: the table's rule (settings.ts) applied to each. */
export const DEFAULT_STUDENT_LR: Readonly<Record<StudentConfig['mode'], number>> = {
  lora: settingDefault('studentLr', { 'student.mode': 'lora' }) as number,
  full: settingDefault('studentLr', { 'student.mode': 'full' }) as number,
};

export const DEFAULT_CHECKPOINT_SCHEDULE: Readonly<CheckpointSchedule> = {
  everyIterations: DEFAULT_RUN.checkpointEvery,
  everySeconds: DEFAULT_RUN.checkpointSeconds,
};
