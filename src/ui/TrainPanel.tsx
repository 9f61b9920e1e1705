import { useId, useState } from 'react';
import type { RunSettings } from '../core/rapm/config';
import { knownOf, SETTINGS, valueAt, type NumberSetting, type Setting } from '../core/rapm/settings';
import { NumberField } from './NumberField';
import { SelectField } from './SelectField';
import { matchingPreset, presetForShards, PRESETS } from './presets';
import { useStudio } from './store';
import { choosePreset, setConfigSetting, setRunSetting } from './train-form';

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

/** One choice per preset; none is checked once a field no longer matches any ("custom"). */
function Presets({ disabled }: { disabled: boolean }) {
  const config = useStudio((s) => s.config);
  const settings = useStudio((s) => s.trainSettings);
  const shards = useStudio((s) => s.shards);
  const current = matchingPreset(config, settings);
  const fitting = presetForShards(shards);
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
      {fitting && current?.id !== fitting.id && (
        <p className="hint" data-testid="preset-fit">
          The stored shards train a {fitting.forSteps}-step student: “{fitting.label}” is the setting measured for them.{' '}
          <button type="button" onClick={() => choosePreset(fitting)}>
            Use it
          </button>
        </p>
      )}
    </fieldset>
  );
}

/** One setting of the RAPM configuration, rendered by its kind in the settings table. */
function ConfigField({ s, locked }: { s: Setting; locked: boolean }) {
  const config = useStudio((st) => st.config);
  const id = useId();
  const value = valueAt(config, s.key);
  const disabled = locked || (s.appliesWhen !== undefined && !s.appliesWhen(knownOf({ config, run: {} })));
  switch (s.kind) {
    case 'choice':
      return (
        <SelectField
          label={s.label}
          value={value as string}
          options={s.choices}
          hint={s.hint}
          onChange={(v) => setConfigSetting(s.key, v)}
        />
      );
    case 'number':
      return (
        <NumberField
          label={s.label}
          value={value as number}
          min={s.min}
          max={s.max}
          belowMax={s.belowMax}
          integer={s.integer}
          hint={s.hint}
          disabled={disabled}
          onChange={(v) => setConfigSetting(s.key, v)}
        />
      );
    case 'pair': {
      const pair = value as [number, number];
      return (
        <>
          {[0, 1].map((i) => (
            <NumberField
              key={i}
              label={`${s.label}${i + 1}`}
              value={pair[i]}
              min={s.min}
              max={s.max}
              belowMax
              hint={s.hint}
              disabled={disabled}
              onChange={(v) => setConfigSetting(s.key, i === 0 ? [v, pair[1]] : [pair[0], v])}
            />
          ))}
        </>
      );
    }
    case 'list':
      return (
        <div className="field wide">
          <label htmlFor={id}>{s.label}</label>
          <input
            id={id}
            type="text"
            value={(value as string[]).join(', ')}
            disabled={disabled}
            aria-describedby={`${id}-hint`}
            onChange={(e) =>
              setConfigSetting(
                s.key,
                e.target.value
                  .split(',')
                  .map((t) => t.trim())
                  .filter(Boolean),
              )
            }
          />
          <small id={`${id}-hint`} className="hint">
            {s.hint}
          </small>
        </div>
      );
  }
}

const CONFIG_SETTINGS = SETTINGS.filter((s) => s.group === 'config');
const RUN_SETTINGS = SETTINGS.filter((s): s is NumberSetting => s.group === 'run' && s.kind === 'number');

/** Presets first; every field (each explained) under an Advanced fold. */
export function TrainPanel() {
  const settings = useStudio((s) => s.trainSettings);
  const state = useStudio((s) => s.trainingState);
  const error = useStudio((s) => s.trainError);
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
            {CONFIG_SETTINGS.map((s) => (
              <ConfigField key={s.key} s={s} locked={locked} />
            ))}
          </div>
        </fieldset>
        <fieldset disabled={locked}>
          <legend>Run</legend>
          <div className="form-grid">
            {RUN_SETTINGS.map((f) => (
              <NumberField
                key={f.key}
                label={f.label}
                value={settings[f.key as keyof RunSettings]}
                min={f.min}
                max={f.max}
                integer={f.integer}
                hint={f.hint}
                disabled={locked}
                onChange={(v) => setRunSetting(f.key as keyof RunSettings, v)}
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
