/**
 * Every setting of a training run, declared once: its key, kind, default, bounds, the hint the
 * studio and `--help` show, the studio's label and the CLI flag. From this table come the
 * defaults (config.ts), the check of a config or request (config-check.ts), the CLI's flags and
 * help (src/node/setting-flags.ts) and the Train panel's fields (src/ui/TrainPanel.tsx).
 *
 * A default that depends on other settings is a rule: it reads only settings declared above it.
 * A setting still at its rule's value follows when those change (the form: switching to full
 * fine-tuning moves a default learning rate; a new LoRA rank moves an alpha still equal to the
 * old rank), and a setting not given takes its rule's value (a CLI flag left out, a field a
 * config saved by an older version lacks).
 *
 * docs/method.md ("One setting from the form to the optimiser") follows `studentLr` from the
 * Train panel to Adam, file by file.
 */
import { LIMITS, type LimitName } from '../io/limits';
import type { RapmConfig, TrainingSettings } from './config';

/** The values settings hold. */
export type SettingValue = number | string | string[] | [number, number];

/** Settings known so far, by key (a rule reads the ones above it). */
export type Known = Readonly<Record<string, SettingValue>>;

/** A default computed from the settings above it; `says` describes it in --help. */
export interface Rule<V> {
  from: (known: Known) => V;
  says: string;
}

interface Common<V extends SettingValue> {
  /** 'config' (RapmConfig, stored with every checkpoint) or 'run' (RunSettings). */
  group: 'config' | 'run';
  /** Dotted path in its group: 'student.rank', 'lambdaRel', 'iterations'. */
  key: string;
  /** The Train panel's label. */
  label: string;
  /** One line: what it does (the panel's hint, the CLI's help). */
  hint: string;
  /** The CLI flag, without '--'; absent where only the page has it. */
  flag?: string;
  default: V | Rule<V>;
  /** The panel greys it out unless this holds (e.g. LoRA-only settings). */
  appliesWhen?: (known: Known) => boolean;
}

export interface NumberSetting extends Common<number> {
  kind: 'number';
  min: number;
  max: number;
  /** `max` itself is not allowed. */
  belowMax?: boolean;
  integer?: boolean;
  /** The documented limit (src/core/io/limits.ts) an integer's max comes from. */
  limit?: LimitName;
}

export interface ChoiceSetting extends Common<string> {
  kind: 'choice';
  /** Value and label. */
  choices: readonly (readonly [string, string])[];
  /** A boolean CLI flag that selects one choice (e.g. --full); absent flag, the default. */
  switchTo?: string;
}

/** A list of names (comma-separated on the CLI and in the panel). */
export interface ListSetting extends Common<string[]> {
  kind: 'list';
}

/** Two numbers (Adam betas), each in [min, max). */
export interface PairSetting extends Common<[number, number]> {
  kind: 'pair';
  min: number;
  max: number;
}

export type Setting = NumberSetting | ChoiceSetting | ListSetting | PairSetting;

const isLora = (k: Known) => k['student.mode'] === 'lora';
const weight = { kind: 'number', min: 0, max: Number.MAX_VALUE } as const;
const rate = { kind: 'number', min: 0, max: 1 } as const;
const betas = { kind: 'pair', min: 0, max: 1 } as const;

/**
 * Discriminators a config's lambdas switched on before the explicit setting existed (a lambda of
 * 0 skipped that discriminator's encoder pass and head updates): old configs keep their behaviour.
 */
function discriminatorsOf(k: Known): string {
  const rel = (k.lambdaRel as number) > 0;
  const abs = (k.lambdaAbs as number) > 0;
  return rel && abs ? 'both' : rel ? 'relative' : abs ? 'absolute' : 'off';
}

/** The table, in the Train panel's order (config, then run). */
export const SETTINGS: readonly Setting[] = [
  {
    group: 'config',
    key: 'student.mode',
    kind: 'choice',
    label: 'Student',
    hint: "'lora' adds low-rank adapters to the frozen teacher (small export); 'full' trains every weight.",
    choices: [
      ['lora', 'LoRA adapters'],
      ['full', 'full fine-tune'],
    ],
    default: 'lora',
    flag: 'full',
    switchTo: 'full',
  },
  {
    group: 'config',
    key: 'student.rank',
    kind: 'number',
    label: 'LoRA rank',
    hint: 'LoRA rank r: adapter size; the paper uses rank 1 for SDXL.',
    min: 1,
    max: LIMITS.loraRank,
    integer: true,
    limit: 'loraRank',
    default: 8,
    flag: 'rank',
    appliesWhen: isLora,
  },
  {
    group: 'config',
    key: 'student.alpha',
    kind: 'number',
    label: 'LoRA alpha',
    hint: 'LoRA scale numerator: the update is (alpha / rank) * A B.',
    min: 0,
    max: Number.MAX_VALUE,
    // scale 1 at any rank; an alpha still equal to the rank follows a new rank
    default: { from: (k) => k['student.rank'] as number, says: 'the rank' },
    flag: 'lora-alpha',
    appliesWhen: isLora,
  },
  {
    group: 'config',
    key: 'student.targets',
    kind: 'list',
    label: 'LoRA targets',
    hint: 'Parameter-name suffixes that get LoRA adapters, comma-separated.',
    default: ['conv1.w', 'conv2.w', 'skip.w', 'qkv.w', 'proj.w', 'temb.w', 'conv_in.w', 'out.conv.w'],
    flag: 'lora-targets',
    appliesWhen: isLora,
  },
  {
    group: 'config',
    key: 'student.prediction',
    kind: 'choice',
    label: 'Student predicts',
    hint: "What the student's output means: the teacher's own type, or v, which keeps a 1-step student's x0 well conditioned at t = 999.",
    choices: [
      ['teacher', "the teacher's type"],
      ['v_prediction', 'v'],
    ],
    default: 'teacher',
    flag: 'student-prediction',
  },
  {
    group: 'config',
    key: 'distance',
    kind: 'choice',
    label: 'Distance',
    hint: "Regression distance: 'mse' or 'pseudo-huber' (robust to outliers).",
    choices: [
      ['mse', 'mse'],
      ['pseudo-huber', 'pseudo-huber'],
    ],
    default: 'mse',
    flag: 'distance',
  },
  {
    group: 'config',
    key: 'discLoss',
    kind: 'choice',
    label: 'Discriminator loss',
    hint: "Heads' loss: 'hinge' (real and fake rows alone) or 'paired' (real minus fake of the same trajectory and slot).",
    choices: [
      ['hinge', 'hinge'],
      ['paired', 'paired'],
    ],
    default: 'hinge',
    flag: 'disc-loss',
  },
  {
    group: 'config',
    key: 'lambdaRel',
    ...weight,
    label: 'λ rel (adversarial)',
    hint: 'Adversarial weight of the relative discriminator (student vs. student-from-the-Delta-point).',
    default: 1,
    flag: 'lambda-rel',
  },
  {
    group: 'config',
    key: 'lambdaAbs',
    ...weight,
    label: 'λ abs (adversarial)',
    hint: "Adversarial weight of the absolute discriminator (student vs. the teacher's stored point).",
    default: 1,
    flag: 'lambda-abs',
  },
  {
    group: 'config',
    key: 'discriminators',
    kind: 'choice',
    label: 'Discriminators',
    hint: "Discriminators trained and used by the student's loss; 'off' skips their encoder pass and head updates.",
    choices: [
      ['both', 'both'],
      ['relative', 'relative only'],
      ['absolute', 'absolute only'],
      ['off', 'off'],
    ],
    default: { from: discriminatorsOf, says: 'those whose lambda is above 0' },
    flag: 'discriminators',
  },
  {
    group: 'config',
    key: 'muRel',
    ...weight,
    label: 'μ rel (regression)',
    hint: 'Regression weight pulling the student onto the relative target.',
    default: 1,
    flag: 'mu-rel',
  },
  {
    group: 'config',
    key: 'muAbs',
    ...weight,
    label: 'μ abs (regression)',
    hint: "Regression weight pulling the student onto the teacher's stored point.",
    default: 1,
    flag: 'mu-abs',
  },
  {
    group: 'config',
    key: 'studentLr',
    ...rate,
    label: 'Student learning rate',
    hint: 'Adam learning rate of the student.',
    // measured on the built-in teacher (seed 0, 300 iterations, docs/results.md): LoRA rank 8 at 5e-5
    // barely moves (FID 28.9 / 77.0%), at 2e-4 it learns (23.6 / 92.0%); full at 5e-5: 26.4 / 96.2%
    default: { from: (k) => (k['student.mode'] === 'full' ? 5e-5 : 2e-4), says: '2e-4 with LoRA, 5e-5 with --full' },
    flag: 'student-lr',
  },
  {
    group: 'config',
    key: 'discLr',
    ...rate,
    label: 'Discriminator learning rate',
    hint: 'Adam learning rate of both discriminator heads.',
    default: 1e-4,
    flag: 'disc-lr',
  },
  {
    group: 'config',
    key: 'discSteps',
    kind: 'number',
    label: 'Discriminator steps per iteration',
    hint: 'Discriminator updates per iteration (more lets the heads learn faster at batch size 1).',
    min: 1,
    max: LIMITS.discSteps,
    integer: true,
    limit: 'discSteps',
    default: 1,
    flag: 'disc-steps',
  },
  {
    group: 'config',
    key: 'discReplay',
    kind: 'number',
    label: 'Discriminator replay (iterations kept)',
    hint: 'Past iterations kept for the heads to train on again (0 = off): more examples per head update at batch size 1.',
    min: 0,
    max: LIMITS.discReplay,
    integer: true,
    limit: 'discReplay',
    default: 0,
    flag: 'disc-replay',
  },
  {
    group: 'config',
    key: 'batchSize',
    kind: 'number',
    label: 'Batch size',
    hint: 'Trajectories per iteration (the method: 1).',
    min: 1,
    max: LIMITS.batchSize,
    integer: true,
    limit: 'batchSize',
    default: 1,
    flag: 'batch',
  },
  {
    group: 'config',
    key: 'emaDecay',
    kind: 'number',
    label: 'EMA decay',
    hint: "EMA decay of the student's weights used for samples and export (0 = raw weights).",
    // 1 would freeze the EMA at its initial weights: the exported student would never move
    min: 0,
    max: 1,
    belowMax: true,
    default: 0.99,
    flag: 'ema',
  },
  {
    group: 'config',
    key: 'seed',
    kind: 'number',
    label: 'Seed',
    hint: 'Seed of initialisation and trajectory order; runs with equal seeds repeat exactly.',
    min: -(2 ** 31),
    max: 2 ** 31 - 1,
    integer: true,
    default: 0,
    flag: 'seed',
  },
  {
    group: 'config',
    key: 'studentBetas',
    ...betas,
    default: [0, 0.99],
    label: 'Student Adam β',
    hint: 'Adam betas (β1, β2) of the student.',
    flag: 'student-betas',
  },
  {
    group: 'config',
    key: 'discBetas',
    ...betas,
    default: [0, 0.99],
    label: 'Discriminator Adam β',
    hint: 'Adam betas (β1, β2) of the discriminators.',
    flag: 'disc-betas',
  },
  {
    group: 'run',
    key: 'iterations',
    kind: 'number',
    label: 'Iterations',
    hint: 'Iterations to run; each draws one batch of stored trajectories.',
    min: 1,
    max: Number.MAX_SAFE_INTEGER,
    integer: true,
    default: 1200,
    flag: 'iterations',
  },
  {
    group: 'run',
    key: 'sampleEvery',
    kind: 'number',
    label: 'Samples every',
    hint: 'Refresh the sample grid every K iterations (0 = no grids, the fastest on a slow device).',
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    integer: true,
    default: 100,
  },
  {
    group: 'run',
    key: 'checkpointEvery',
    kind: 'number',
    label: 'Checkpoint every',
    hint: 'Save a checkpoint every K iterations (0 = by time only).',
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    integer: true,
    default: 100,
    flag: 'checkpoint-every',
  },
  {
    group: 'run',
    key: 'checkpointSeconds',
    kind: 'number',
    label: 'Seconds between checkpoints',
    hint:
      'Also save one after this many seconds of training, however slow the backend: a reload loses at most ' +
      'about this much work (0 = by count only).',
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    // a reload loses at most about 15 s of training; a checkpoint costs 0.14 s with LoRA and 0.28 s fully
    // fine-tuned on wasm, 1-2% of training at this cadence (scripts/bench-checkpoint.ts, docs/benchmarks.md)
    default: 15,
    flag: 'checkpoint-seconds',
  },
  {
    group: 'run',
    key: 'validationCount',
    kind: 'number',
    label: 'Validation trajectories',
    hint:
      'Trajectories held out and never trained on (at most a quarter of them); the student is scored on them. ' +
      '0 = none.',
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    integer: true,
    default: 64,
    flag: 'validation',
  },
  {
    group: 'run',
    key: 'validateEvery',
    kind: 'number',
    label: 'Validate every',
    hint: 'Score the EMA student on the held-out trajectories every K iterations (and at start and end).',
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    integer: true,
    // about 3% of the training time on wasm (npm run bench:validation, docs/benchmarks.md)
    default: 100,
    flag: 'validate-every',
  },
];

/** The setting with this key (in either group). */
export function setting(key: string): Setting {
  const s = SETTINGS.find((x) => x.key === key);
  if (!s) throw new Error(`no setting '${key}'`);
  return s;
}

function isRule<V extends SettingValue>(d: V | Rule<V>): d is Rule<V> {
  return typeof d === 'object' && !Array.isArray(d);
}

/** A setting's default given the settings above it. */
export function defaultOf(s: Setting, known: Known): SettingValue {
  const d = s.default as SettingValue | Rule<SettingValue>;
  if (isRule(d)) return d.from(known);
  return Array.isArray(d) ? ([...d] as SettingValue) : d;
}

/** The default of `key` given some of the settings above it (the rest at their defaults). */
export function settingDefault(key: string, given: Known): SettingValue {
  const known: Record<string, SettingValue> = {};
  for (const s of SETTINGS) {
    if (s.key === key) return defaultOf(s, known);
    known[s.key] = given[s.key] ?? defaultOf(s, known);
  }
  throw new Error(`no setting '${key}'`);
}

/** The value at a dotted key of a group's object (undefined where absent). */
export function valueAt(group: object, key: string): unknown {
  let v: unknown = group;
  for (const part of key.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
  return v;
}

/** A copy of `group` with the dotted key set (the objects on the way copied, others shared). */
export function withValueAt<T extends object>(group: T, key: string, value: unknown): T {
  const [head, ...rest] = key.split('.');
  const o = group as Record<string, unknown>;
  const inner = rest.length ? withValueAt((o[head] ?? {}) as object, rest.join('.'), value) : value;
  return { ...o, [head]: inner } as T;
}

/** Every setting's value, by key. */
export function knownOf(settings: { config: object; run: object }): Record<string, SettingValue> {
  return Object.fromEntries(SETTINGS.map((s) => [s.key, valueAt(settings[s.group], s.key) as SettingValue]));
}

/** Every setting at its default. */
export function defaultSettings(): TrainingSettings {
  const known: Record<string, SettingValue> = {};
  let out = { config: {}, run: {} };
  for (const s of SETTINGS) {
    known[s.key] = defaultOf(s, known);
    out = { ...out, [s.group]: withValueAt(out[s.group], s.key, known[s.key]) };
  }
  return out as TrainingSettings;
}

/**
 * A config with one setting changed, and every setting below it whose value still is its rule's
 * (under the old values) moved to its rule's value under the new ones.
 */
export function withSetting(config: RapmConfig, key: string, value: SettingValue): RapmConfig {
  const before = knownOf({ config, run: {} });
  const after: Record<string, SettingValue> = {};
  let next = withValueAt(config, key, value);
  for (const s of SETTINGS) {
    if (s.group !== 'config') continue;
    const current = s.key === key ? value : (valueAt(config, s.key) as SettingValue);
    const follows = s.key !== key && isRule(s.default) && same(current, s.default.from(before));
    after[s.key] = follows ? defaultOf(s, after) : current;
    if (follows) next = withValueAt(next, s.key, after[s.key]);
  }
  return next;
}

function same(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => same(v, b[i]));
  return a === b;
}
