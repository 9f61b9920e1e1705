/**
 * Every knob of a RAPM run, with the defaults the studio and the CLI start from. Fields marked
 * [reconstructed] are our design where the paper is silent (docs/method.md says why).
 */
export type Distance = 'mse' | 'pseudo-huber';

export interface StudentConfig {
  /** 'lora': teacher + low-rank adapters (the paper); 'full': fine-tune a copy of every weight. */
  mode: 'lora' | 'full';
  rank: number;
  /** LoRA scale is alpha / rank. */
  alpha: number;
  /** Parameter-name suffixes that get adapters (conv and linear weights). */
  targets: string[];
}

export interface RapmConfig {
  student: StudentConfig;
  /** Weight of -mean D_rel(zphi) in the student loss. [reconstructed] */
  lambdaRel: number;
  /** Weight of -mean D_abs(zphi). [reconstructed] */
  lambdaAbs: number;
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

/**
 * The student's default Adam learning rate per mode, measured on the built-in teacher (seed 0, 300 iterations,
 * docs/results.md): LoRA rank 8 at 5e-5 barely moves (FID 28.9 / 77.0% class accuracy), at 2e-4 it learns
 * (23.6 / 92.0%); full fine-tuning at 5e-5 reaches 26.4 / 96.2%.
 */
export const DEFAULT_STUDENT_LR: Readonly<Record<StudentConfig['mode'], number>> = { lora: 2e-4, full: 5e-5 };

export const DEFAULT_RAPM: RapmConfig = {
  student: {
    mode: 'lora',
    rank: 8,
    alpha: 8,
    targets: ['conv1.w', 'conv2.w', 'skip.w', 'qkv.w', 'proj.w', 'temb.w', 'conv_in.w', 'out.conv.w'],
  },
  lambdaRel: 1,
  lambdaAbs: 1,
  muRel: 1,
  muAbs: 1,
  distance: 'mse',
  studentLr: DEFAULT_STUDENT_LR.lora,
  studentBetas: [0, 0.99],
  discLr: 1e-4,
  discBetas: [0, 0.99],
  discSteps: 1,
  discReplay: 0,
  discLoss: 'hinge',
  batchSize: 1,
  emaDecay: 0.99,
  seed: 0,
};

/** When a run stores checkpoints (see checkpoint-schedule.ts); not part of the training state. */
export interface CheckpointSchedule {
  /** Iterations between checkpoints; 0 = by time only. */
  everyIterations: number;
  /** Seconds of training between checkpoints; 0 = by count only. */
  everySeconds: number;
}

/**
 * The studio's and `npm run distill`'s default: a reload loses at most about 15 s of training (or
 * 100 iterations, or one iteration where one takes longer). A checkpoint costs 0.14 s with LoRA
 * and 0.28 s fully fine-tuned on wasm (serialise + IndexedDB write), 1-2% of training at this
 * cadence (scripts/bench-checkpoint.ts, docs/benchmarks.md).
 */
export const DEFAULT_CHECKPOINT_SCHEDULE: Readonly<CheckpointSchedule> = { everyIterations: 100, everySeconds: 15 };

/**
 * Validation of a run (validator.ts): trajectories held out and never trained on, and iterations
 * between scores of the EMA student. Every 100 costs about 3% of the training time on wasm
 * (npm run bench:validation, docs/benchmarks.md).
 */
export const DEFAULT_VALIDATION = { count: 64, every: 100 };

/** One-line explanations of the fields, shown as hints in the studio and in `--help`. */
export const RAPM_HINTS: Record<string, string> = {
  'student.mode': "'lora' adds low-rank adapters to the frozen teacher (small export); 'full' trains every weight.",
  'student.rank': 'LoRA rank r: adapter size; the paper uses rank 1 for SDXL.',
  'student.alpha': 'LoRA scale numerator: the update is (alpha / rank) * A B.',
  lambdaRel: 'Adversarial weight of the relative discriminator (student vs. student-from-the-Delta-point).',
  lambdaAbs: "Adversarial weight of the absolute discriminator (student vs. the teacher's stored point).",
  muRel: 'Regression weight pulling the student onto the relative target.',
  muAbs: "Regression weight pulling the student onto the teacher's stored point.",
  distance: "Regression distance: 'mse' or 'pseudo-huber' (robust to outliers).",
  studentLr: 'Adam learning rate of the student.',
  discLr: 'Adam learning rate of both discriminator heads.',
  discSteps: 'Discriminator updates per iteration (more lets the heads learn faster at batch size 1).',
  discReplay:
    'Past iterations kept for the heads to train on again (0 = off): more examples per head update at batch size 1.',
  discLoss:
    "Heads' loss: 'hinge' (real and fake rows alone) or 'paired' (real minus fake of the same trajectory and slot).",
  batchSize: 'Trajectories per iteration (the method: 1).',
  emaDecay: "EMA decay of the student's weights used for samples and export (0 = raw weights).",
  seed: 'Seed of initialisation and trajectory order; runs with equal seeds repeat exactly.',
};

/** Switches the student mode; a learning rate still at the old mode's default follows to the new mode's. */
export function withStudentMode(c: RapmConfig, mode: StudentConfig['mode']): RapmConfig {
  const studentLr = c.studentLr === DEFAULT_STUDENT_LR[c.student.mode] ? DEFAULT_STUDENT_LR[mode] : c.studentLr;
  return { ...c, studentLr, student: { ...c.student, mode } };
}
