/**
 * A diffusers scheduler_config.json (DDPMScheduler or DDIMScheduler, diffusers 0.25) -> this
 * studio's DDIM settings, as `DDIMScheduler.from_config(scheduler_config)` would read them: a
 * field the file leaves out takes DDIMScheduler's default (so a DDPM training config samples
 * with set_alpha_to_one = true, as it does in diffusers). What the DDIM cannot follow is refused
 * by name.
 */
import type { ScheduleConfig } from '../diffusion/schedule';
import type { TimestepSpacing } from '../diffusion/timesteps';
import type { PredictionType } from '../model-config';
import { DiffusersError } from '../io/errors';
import { choice, readConfigFile, type ConfigFile } from './fields';
import { SCHEDULER_FILE } from './layout';

export { SCHEDULER_FILE };

/**
 * Where an exported student (export.ts) records its sampling grid. `_`-prefixed, so diffusers'
 * from_config drops it silently (an unknown plain key would be warned about) and our reader takes it.
 */
export const STUDENT_TIMESTEPS_FIELD = '_rapm_student_timesteps';

/** DDIMScheduler.__init__'s arguments and defaults, plus DDPMScheduler's `variance_type` (diffusers 0.25.0). */
export const SCHEDULER_DEFAULTS: Record<string, unknown> = {
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: 'linear',
  trained_betas: null,
  clip_sample: true,
  set_alpha_to_one: true,
  steps_offset: 0,
  prediction_type: 'epsilon',
  thresholding: false,
  dynamic_thresholding_ratio: 0.995,
  clip_sample_range: 1.0,
  sample_max_value: 1.0,
  timestep_spacing: 'leading',
  rescale_betas_zero_snr: false,
  variance_type: 'fixed_small',
};

const SCHEDULERS = ['DDPMScheduler', 'DDIMScheduler'];

export interface DiffusersScheduler {
  /** `_class_name` as written (null when absent). */
  className: string | null;
  schedule: ScheduleConfig;
  prediction: PredictionType;
  /** Clamp each step's x0 to [-1, 1] and re-derive eps from it (see ModelConfig.clipSample). */
  clipSample: boolean;
  setAlphaToOne: boolean;
  /** The grid diffusers' set_timesteps builds: timesteps(trainSteps, n, spacing, stepsOffset). */
  spacing: TimestepSpacing;
  stepsOffset: number;
  /** An exported student's grid (`_rapm_student_timesteps`), descending; absent for a teacher. */
  studentTimesteps?: number[];
}

export function parseSchedulerConfig(text: string): DiffusersScheduler {
  const cfg = readConfigFile(SCHEDULER_FILE, text, SCHEDULER_DEFAULTS);
  const className = cfg.raw._class_name;
  if (className !== undefined && !SCHEDULERS.includes(className as string)) {
    throw cfg.unsupported(
      '_class_name',
      `this studio maps ${SCHEDULERS.join(' and ')} configs (their noise schedule; it samples with DDIM)`,
    );
  }
  const bool = (field: string) => cfg.check(field).boolean(cfg.get(field), field);
  const kind = choice(cfg, 'beta_schedule', ['linear', 'scaled_linear', 'squaredcos_cap_v2'] as const, {
    sigmoid: 'the sigmoid schedule is not supported',
  });
  if (cfg.get('trained_betas') !== null) {
    throw cfg.unsupported('trained_betas', 'an explicit beta table is not supported; use a named beta_schedule');
  }
  const num = (field: string) => cfg.check(field).number(cfg.get(field), field);
  const schedule: ScheduleConfig = {
    kind,
    betaStart: num('beta_start'),
    betaEnd: num('beta_end'),
    trainSteps: cfg
      .check('num_train_timesteps')
      .int(cfg.get('num_train_timesteps'), 'num_train_timesteps', 1, 'trainSteps'),
  };
  // squaredcos_cap_v2 ignores beta_start and beta_end, as in diffusers
  if (
    kind !== 'squaredcos_cap_v2' &&
    !(schedule.betaStart > 0 && schedule.betaStart <= schedule.betaEnd && schedule.betaEnd < 1)
  ) {
    throw cfg.invalid('beta_end', `needs 0 < beta_start <= beta_end < 1 (beta_start = ${schedule.betaStart})`);
  }
  const prediction = choice(cfg, 'prediction_type', ['epsilon', 'v_prediction', 'sample'] as const);
  const clipSample = bool('clip_sample');
  if (clipSample) {
    const range = cfg.check('clip_sample_range').number(cfg.get('clip_sample_range'), 'clip_sample_range');
    if (range !== 1) throw cfg.unsupported('clip_sample_range', 'clipping is supported to [-1, 1] only');
  }
  if (bool('thresholding')) throw cfg.unsupported('thresholding', 'dynamic thresholding is not supported');
  if (bool('rescale_betas_zero_snr')) {
    throw cfg.unsupported('rescale_betas_zero_snr', 'zero-terminal-SNR rescaling of the betas is not supported');
  }
  // DDIM (eta 0) never draws the DDPM posterior noise whose variance this names, but a learned
  // variance means the network outputs it too, which this studio does not read.
  choice(cfg, 'variance_type', ['fixed_small', 'fixed_small_log', 'fixed_large', 'fixed_large_log'] as const, {
    learned: 'a learned variance (the network outputs it) is not supported',
    learned_range: 'a learned variance (the network outputs it) is not supported',
  });
  const spacing = choice(cfg, 'timestep_spacing', ['leading', 'trailing', 'linspace'] as const);
  const stepsOffset = cfg
    .check('steps_offset')
    .int(cfg.get('steps_offset'), 'steps_offset', 0, schedule.trainSteps - 1);
  for (const f of ['dynamic_thresholding_ratio', 'sample_max_value']) num(f);
  const studentTimesteps = readStudentTimesteps(cfg, schedule.trainSteps);
  return {
    className: typeof className === 'string' ? className : null,
    schedule,
    prediction,
    clipSample,
    setAlphaToOne: bool('set_alpha_to_one'),
    spacing,
    stepsOffset,
    ...(studentTimesteps ? { studentTimesteps } : {}),
  };
}

/** `_rapm_student_timesteps`: a non-empty descending grid of integers in 0..trainSteps-1, or absent. */
function readStudentTimesteps(cfg: ConfigFile, trainSteps: number): number[] | undefined {
  const field = STUDENT_TIMESTEPS_FIELD;
  if (!Object.hasOwn(cfg.raw, field)) return undefined;
  const c = cfg.check(field);
  const grid = c.array(cfg.raw[field], field, (v, p) => c.int(v, p, 0, trainSteps - 1), 'slots');
  if (grid.length === 0 || grid.some((t, i) => i > 0 && t >= grid[i - 1])) {
    throw new DiffusersError(
      'bad-config',
      SCHEDULER_FILE,
      `${field} = [${grid}]: must be a non-empty descending grid (the student's coarse timesteps)`,
      { field, value: `[${grid}]` },
    );
  }
  return grid;
}
