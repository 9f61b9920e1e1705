/**
 * The Train panel's presets: every value of each lives here and nowhere else. Choosing one fills
 * the form; `matchingPreset` says which preset the form still equals, so an edited field turns
 * the choice into "custom" without the page having to remember that it was edited.
 */
import { DEFAULT_RAPM, DEFAULT_STUDENT_LR, type RapmConfig } from '../core/rapm/config';

/** The run-length fields a preset sets (the Run fieldset). */
export interface PresetRun {
  iterations: number;
  sampleEvery: number;
  checkpointEvery: number;
}

export interface Preset {
  id: 'paper' | 'best' | 'best-2step' | 'best-1step' | 'quick';
  label: string;
  /** One line under the choice: what it is and where its numbers come from. */
  description: string;
  config: RapmConfig;
  run: PresetRun;
  /** The student's step count N whose built-in shards this preset was measured on (the few-step table's best). */
  forSteps?: number;
}

/** Both discriminators at λ 0.1, both regressions, full fine-tuning: the best measured at 4 and at 2 steps. */
const BOTH_AT_0_1_FULL: RapmConfig = {
  ...DEFAULT_RAPM,
  student: { ...DEFAULT_RAPM.student, mode: 'full' },
  studentLr: DEFAULT_STUDENT_LR.full,
  lambdaRel: 0.1,
  lambdaAbs: 0.1,
  muRel: 1,
  muAbs: 1,
  batchSize: 1,
};

export const PRESETS: readonly Preset[] = [
  {
    id: 'paper',
    label: 'Paper',
    description:
      'As in the paper: LoRA rank 1, both discriminators and both regressions at weight 1 (the reference run), batch 1; ' +
      'rank 1 at lr 1e-3 (measured on this teacher: FID 11.5 / 96.5% after 2.5 minutes, docs/results.md).',
    config: {
      ...DEFAULT_RAPM,
      student: { ...DEFAULT_RAPM.student, mode: 'lora', rank: 1, alpha: 1 },
      studentLr: 1e-3,
      lambdaRel: 1,
      lambdaAbs: 1,
      muRel: 1,
      muAbs: 1,
      batchSize: 1,
    },
    run: { iterations: 2000, sampleEvery: 100, checkpointEvery: 100 },
  },
  {
    id: 'best',
    label: 'Best measured for 4 steps',
    description:
      'For the built-in 4-step shards ([999, 749, 499, 249]), docs/results-fewstep.md: both discriminators at λ 0.1, ' +
      'both regressions, full fine-tuning at lr 5e-5, 200 iterations: FID 5.4 ± 0.4 / 96.4% over 3 seeds on 1,000 ' +
      'fresh samples (regression alone 6.1 ± 0.3 at its best, 500 iterations; teacher DDIM 4 steps 11.8, 32 steps 4.9). ' +
      'Longer runs drift away from real digits (6.7 at 600).',
    config: BOTH_AT_0_1_FULL,
    run: { iterations: 200, sampleEvery: 50, checkpointEvery: 50 },
    forSteps: 4,
  },
  {
    id: 'best-2step',
    label: 'Best measured for 2 steps',
    description:
      'For the built-in 2-step shards ([999, 499]), docs/results-fewstep.md: both discriminators at λ 0.1, both ' +
      'regressions, full fine-tuning at lr 5e-5, 300 iterations: FID 6.9 ± 0.2 / 97.1% over 3 seeds (regression ' +
      'alone 11.0 ± 0.9 there; teacher DDIM 2 steps 70.1, 32 steps 4.9). Longer runs drift away from real digits.',
    config: BOTH_AT_0_1_FULL,
    run: { iterations: 300, sampleEvery: 50, checkpointEvery: 50 },
    forSteps: 2,
  },
  {
    id: 'best-1step',
    label: 'Best measured for 1 step',
    description:
      'For the built-in 1-step shards ([999]), docs/results-fewstep.md: the student predicts v (an epsilon ' +
      'student at t = 999 multiplies its error 157-fold), both discriminators at λ 0.1, both regressions, full ' +
      'fine-tuning at lr 5e-4, 3,000 iterations: FID 13.7 ± 1.2 / 95.1% over 3 seeds on 1,000 fresh samples, 2.8x ' +
      'the teacher’s 32 steps (4.9); regression alone as v 31.7 ± 1.1 at 1,500, as epsilon 52.8 ± 1.4.',
    config: {
      ...BOTH_AT_0_1_FULL,
      student: { ...BOTH_AT_0_1_FULL.student, prediction: 'v_prediction' },
      studentLr: 5e-4,
    },
    run: { iterations: 3000, sampleEvery: 100, checkpointEvery: 100 },
    forSteps: 1,
  },
  {
    id: 'quick',
    label: 'Quick look',
    description:
      'The default settings (LoRA rank 8) for 300 iterations, grids every 25: on the built-in teacher about ' +
      'FID 11 / 95% by 200 iterations (docs/results.md), enough to see the student take shape.',
    config: DEFAULT_RAPM,
    run: { iterations: 300, sampleEvery: 25, checkpointEvery: 50 },
  },
];

/**
 * The preset measured for the student that these shards train: the one whose `forSteps` is their N, where
 * every shard of the loaded teacher has the same N (null otherwise, or with none).
 */
export function presetForShards(shards: readonly { slots: number; teacherMatch: boolean }[]): Preset | null {
  const steps = new Set(shards.filter((s) => s.teacherMatch).map((s) => s.slots));
  if (steps.size !== 1) return null;
  const [n] = steps;
  return PRESETS.find((p) => p.forSteps === n) ?? null;
}

/** What a fresh page's form holds: a short run at the defaults. */
export const START_PRESET: Preset = PRESETS.find((p) => p.id === 'quick') ?? PRESETS[0];

function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => sameValue(v, b[i]));
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    const ra = a as Record<string, unknown>;
    const rb = b as Record<string, unknown>;
    return ka.length === kb.length && ka.every((k) => k in rb && sameValue(ra[k], rb[k]));
  }
  return a === b;
}

/** The preset the form equals in every field it sets, or null ("custom"). */
export function matchingPreset(config: RapmConfig, run: PresetRun): Preset | null {
  return (
    PRESETS.find(
      (p) =>
        sameValue(p.config, config) &&
        p.run.iterations === run.iterations &&
        p.run.sampleEvery === run.sampleEvery &&
        p.run.checkpointEvery === run.checkpointEvery,
    ) ?? null
  );
}
