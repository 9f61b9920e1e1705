/**
 * The CLI's flags for the run settings, from the settings table (src/core/rapm/settings.ts): one
 * flag per setting that has one, its help the table's hint and its default the table's (or its
 * rule's description). Flags left out take their defaults in the same check the studio's
 * requests go through (config-check.ts), so the same settings train the same run in both.
 */
import type { TrainingSettings } from '../core/rapm/config';
import { checkTrainingSettings } from '../core/rapm/config-check';
import { defaultOf, SETTINGS, valueAt, withValueAt, type Setting, type SettingValue } from '../core/rapm/settings';
import { UsageError, type OptionSpec } from './args';

const flagged = SETTINGS.filter((s): s is Setting & { flag: string } => s.flag !== undefined);

function isSwitch(s: Setting): boolean {
  return s.kind === 'choice' && s.switchTo !== undefined;
}

function shown(v: SettingValue): string {
  return Array.isArray(v) ? v.join(',') : String(v);
}

function helpOf(s: Setting): string {
  if (s.kind === 'choice' && !isSwitch(s)) return `${s.hint} One of: ${s.choices.map(([v]) => v).join(', ')}.`;
  if (s.kind === 'pair') return `${s.hint} (comma-separated)`;
  return s.hint;
}

/** The settings' flags, for parseCli / parseArgv beside a CLI's own. */
export const SETTING_FLAGS: OptionSpec = Object.fromEntries(
  flagged.map((s) => [
    s.flag,
    isSwitch(s)
      ? {
          type: 'boolean',
          help: `${s.key} '${s.kind === 'choice' ? s.switchTo : ''}' instead of the default: ${s.hint}`,
        }
      : {
          type: 'string',
          help: helpOf(s),
          shownDefault: typeof s.default === 'object' && !Array.isArray(s.default) ? s.default.says : shown(s.default),
        },
  ]),
);

function parsed(s: Setting & { flag: string }, v: string | boolean): unknown {
  if (s.kind === 'choice') return s.switchTo !== undefined ? (v === true ? s.switchTo : undefined) : v;
  const text = String(v);
  const number = (t: string) => {
    const n = Number(t);
    if (t.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${s.flag} must be a number, got '${text}'`);
    return n;
  };
  if (s.kind === 'number') return number(text);
  const parts = text
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  return s.kind === 'pair' ? parts.map(number) : parts;
}

/**
 * The run settings the flags give (parsed by parseCli or parseArgv with SETTING_FLAGS among the
 * options): every flag left out at its default; a bad value is a UsageError naming the flag.
 */
export function settingsFromFlags(values: Readonly<Record<string, string | boolean | undefined>>): TrainingSettings {
  let raw = { config: {}, run: {} };
  for (const s of flagged) {
    const v = values[s.flag];
    if (v === undefined) continue;
    const value = parsed(s, v);
    if (value !== undefined) raw = { ...raw, [s.group]: withValueAt(raw[s.group], s.key, value) };
  }
  return checkTrainingSettings(
    raw,
    (m) => new UsageError(m),
    (s) => `--${s.flag}`,
  );
}

/**
 * The flags that give these settings: one for each value that differs from what it would be
 * without the flag (its default, or its rule's value); settings without a flag are left out.
 */
export function settingsArgv(settings: { config?: object; run?: object }): string[] {
  const argv: string[] = [];
  const known: Record<string, SettingValue> = {};
  for (const s of SETTINGS) {
    const given = valueAt(settings[s.group] ?? {}, s.key) as SettingValue | undefined;
    const fallback = defaultOf(s, known);
    known[s.key] = given ?? fallback;
    if (given === undefined || s.flag === undefined || shown(given) === shown(fallback)) continue;
    argv.push(...(isSwitch(s) ? [`--${s.flag}`] : [`--${s.flag}`, shown(given)]));
  }
  return argv;
}
