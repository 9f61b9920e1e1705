import { useId, useState } from 'react';
import { RAPM_HINTS, withStudentMode, type RapmConfig } from '../core/rapm/config';
import { NumberField } from './NumberField';
import { SelectField } from './SelectField';
import { matchingPreset, PRESETS, type Preset } from './presets';
import { useStudio, type TrainSettings } from './store';

/** Help for the fields RAPM_HINTS does not cover. */
const HINTS: Record<string, string> = {
  ...RAPM_HINTS,
  'student.targets': 'Parameter-name suffixes that get LoRA adapters, comma-separated.',
  studentBetas: 'Adam betas (β1, β2) of the student.',
  discBetas: 'Adam betas (β1, β2) of the discriminators.',
  iterations: 'Iterations to run; each draws one batch of stored trajectories.',
  sampleEvery: 'Refresh the sample grid every K iterations (0 = no grids, the fastest on a slow device).',
  checkpointEvery: 'Save a checkpoint every K iterations (0 = by time only).',
  checkpointSeconds:
    'Also save one after this many seconds of training, however slow the backend: a reload loses at most about this much work (0 = by count only).',
  validationCount:
    'Trajectories held out and never trained on (at most a quarter of them); the student is scored on them. 0 = none.',
  validateEvery: 'Score the EMA student on the held-out trajectories every K iterations (and at start and end).',
};

type NumericKey = {
  [K in keyof RapmConfig]: RapmConfig[K] extends number ? K : never;
}[keyof RapmConfig];

const NUMERIC_FIELDS: { key: NumericKey; label: string; min?: number; max?: number; integer?: boolean }[] = [
  { key: 'lambdaRel', label: 'λ rel (adversarial)', min: 0 },
  { key: 'lambdaAbs', label: 'λ abs (adversarial)', min: 0 },
  { key: 'muRel', label: 'μ rel (regression)', min: 0 },
  { key: 'muAbs', label: 'μ abs (regression)', min: 0 },
  { key: 'studentLr', label: 'Student learning rate', min: 0 },
  { key: 'discLr', label: 'Discriminator learning rate', min: 0 },
  { key: 'discSteps', label: 'Discriminator steps per iteration', min: 1, integer: true },
  { key: 'discReplay', label: 'Discriminator replay (iterations kept)', min: 0, integer: true },
  { key: 'batchSize', label: 'Batch size', min: 1, integer: true },
  { key: 'emaDecay', label: 'EMA decay', min: 0, max: 1 },
  { key: 'seed', label: 'Seed', min: 0, integer: true },
];

const RUN_FIELDS: { key: keyof TrainSettings; label: string; min: number }[] = [
  { key: 'iterations', label: 'Iterations', min: 1 },
  { key: 'sampleEvery', label: 'Samples every', min: 0 },
  { key: 'checkpointEvery', label: 'Checkpoint every', min: 1 },
  { key: 'checkpointSeconds', label: 'Seconds between checkpoints', min: 1 },
  { key: 'validationCount', label: 'Validation trajectories', min: 0 },
  { key: 'validateEvery', label: 'Validate every', min: 0 },
];

/** Where the Advanced fold remembers that it is open. */
const ADVANCED_KEY = 'rapm-studio.train-advanced-open';

function storedOpen(): boolean {
  try {
    return localStorage.getItem(ADVANCED_KEY) === '1';
  } catch {
    // Storage can be off (private modes, policies): the fold then starts closed.
    return false;
  }
}

function rememberOpen(open: boolean): void {
  try {
    localStorage.setItem(ADVANCED_KEY, open ? '1' : '0');
  } catch {
    // Not remembered where storage is off; the fold still works.
  }
}

function choosePreset(p: Preset): void {
  useStudio.setState((s) => ({ config: structuredClone(p.config), trainSettings: { ...s.trainSettings, ...p.run } }));
}

/** One choice per preset; none is checked once a field no longer matches any ("custom"). */
function Presets({ disabled }: { disabled: boolean }) {
  const config = useStudio((s) => s.config);
  const settings = useStudio((s) => s.trainSettings);
  const current = matchingPreset(config, settings);
  const name = useId();
  return (
    <fieldset disabled={disabled} className="presets">
      <legend>Preset</legend>
      {PRESETS.map((p) => (
        <div key={p.id} className="preset">
          <label>
            <input
              type="radio"
              name={name}
              value={p.id}
              checked={current?.id === p.id}
              aria-describedby={`${name}-${p.id}`}
              onChange={() => choosePreset(p)}
            />{' '}
            {p.label}
          </label>
          <small id={`${name}-${p.id}`} className="hint">
            {p.description}
          </small>
        </div>
      ))}
      <p className="hint" data-testid="preset-state">
        {current ? `Settings: ${current.label}.` : 'Settings: custom (edited under Advanced).'}
      </p>
    </fieldset>
  );
}

function setConfig(patch: (c: RapmConfig) => RapmConfig): void {
  useStudio.setState((s) => ({ config: patch(s.config) }));
}

function Betas({ which, disabled }: { which: 'studentBetas' | 'discBetas'; disabled: boolean }) {
  const betas = useStudio((s) => s.config[which]);
  const name = which === 'studentBetas' ? 'Student' : 'Discriminator';
  return (
    <>
      {[0, 1].map((i) => (
        <NumberField
          key={i}
          label={`${name} Adam β${i + 1}`}
          value={betas[i]}
          min={0}
          max={0.9999}
          hint={HINTS[which]}
          disabled={disabled}
          onChange={(v) =>
            setConfig((c) => {
              const next: [number, number] = [...c[which]];
              next[i] = v;
              return { ...c, [which]: next };
            })
          }
        />
      ))}
    </>
  );
}

/** Presets first; every field (each explained) under an Advanced fold. */
export function TrainPanel() {
  const config = useStudio((s) => s.config);
  const settings = useStudio((s) => s.trainSettings);
  const state = useStudio((s) => s.trainingState);
  const error = useStudio((s) => s.trainError);
  const ids = { targets: useId() };
  const locked = state !== 'idle';
  const [open, setOpen] = useState(storedOpen);

  return (
    <section aria-labelledby="train-heading" className="train">
      <h2 id="train-heading">Train</h2>
      <Presets disabled={locked} />
      <details
        open={open}
        onToggle={(e) => {
          setOpen(e.currentTarget.open);
          rememberOpen(e.currentTarget.open);
        }}
      >
        <summary>Advanced settings</summary>
        <fieldset disabled={locked}>
          <legend>RAPM configuration</legend>
          <div className="form-grid">
            <SelectField
              label="Student"
              value={config.student.mode}
              options={[
                ['lora', 'LoRA adapters'],
                ['full', 'full fine-tune'],
              ]}
              hint={HINTS['student.mode']}
              onChange={(mode) => setConfig((c) => withStudentMode(c, mode))}
            />
            <NumberField
              label="LoRA rank"
              value={config.student.rank}
              min={1}
              integer
              hint={HINTS['student.rank']}
              disabled={locked || config.student.mode !== 'lora'}
              onChange={(rank) => setConfig((c) => ({ ...c, student: { ...c.student, rank } }))}
            />
            <NumberField
              label="LoRA alpha"
              value={config.student.alpha}
              min={0}
              hint={HINTS['student.alpha']}
              disabled={locked || config.student.mode !== 'lora'}
              onChange={(alpha) => setConfig((c) => ({ ...c, student: { ...c.student, alpha } }))}
            />
            <div className="field wide">
              <label htmlFor={ids.targets}>LoRA targets</label>
              <input
                id={ids.targets}
                type="text"
                value={config.student.targets.join(', ')}
                disabled={locked || config.student.mode !== 'lora'}
                aria-describedby={`${ids.targets}-hint`}
                onChange={(e) =>
                  setConfig((c) => ({
                    ...c,
                    student: {
                      ...c.student,
                      targets: e.target.value
                        .split(',')
                        .map((t) => t.trim())
                        .filter(Boolean),
                    },
                  }))
                }
              />
              <small id={`${ids.targets}-hint`} className="hint">
                {HINTS['student.targets']}
              </small>
            </div>
            <SelectField
              label="Distance"
              value={config.distance}
              options={[
                ['mse', 'mse'],
                ['pseudo-huber', 'pseudo-huber'],
              ]}
              hint={HINTS.distance}
              onChange={(distance) => setConfig((c) => ({ ...c, distance }))}
            />
            <SelectField
              label="Discriminator loss"
              value={config.discLoss}
              options={[
                ['hinge', 'hinge'],
                ['paired', 'paired'],
              ]}
              hint={HINTS.discLoss}
              onChange={(discLoss) => setConfig((c) => ({ ...c, discLoss }))}
            />
            {NUMERIC_FIELDS.map((f) => (
              <NumberField
                key={f.key}
                label={f.label}
                value={config[f.key]}
                min={f.min}
                max={f.max}
                integer={f.integer}
                hint={HINTS[f.key]}
                disabled={locked}
                onChange={(v) => setConfig((c) => ({ ...c, [f.key]: v }))}
              />
            ))}
            <Betas which="studentBetas" disabled={locked} />
            <Betas which="discBetas" disabled={locked} />
          </div>
        </fieldset>
        <fieldset disabled={locked}>
          <legend>Run</legend>
          <div className="form-grid">
            {RUN_FIELDS.map((f) => (
              <NumberField
                key={f.key}
                label={f.label}
                value={settings[f.key]}
                min={f.min}
                integer
                hint={HINTS[f.key]}
                disabled={locked}
                onChange={(v) => useStudio.setState((s) => ({ trainSettings: { ...s.trainSettings, [f.key]: v } }))}
              />
            ))}
          </div>
        </fieldset>
      </details>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </section>
  );
}
