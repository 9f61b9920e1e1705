/**
 * The Train panel's writes to the store, and the request its state makes: a preset chosen, one
 * setting changed (through the settings table's rules: a default learning rate follows the mode,
 * an alpha still equal to the rank follows the rank), the start request.
 */
import type { RunSettings } from '../core/rapm/config';
import { withSetting, type SettingValue } from '../core/rapm/settings';
import type { TrainingRequest } from '../worker/protocol';
import type { Preset } from './presets';
import { useStudio, type StudioState } from './store';

export function choosePreset(p: Preset): void {
  useStudio.setState((s) => ({ config: structuredClone(p.config), trainSettings: { ...s.trainSettings, ...p.run } }));
}

export function setConfigSetting(key: string, value: SettingValue): void {
  useStudio.setState((s) => ({ config: withSetting(s.config, key, value) }));
}

export function setRunSetting(key: keyof RunSettings, value: number): void {
  useStudio.setState((s) => ({ trainSettings: { ...s.trainSettings, [key]: value } }));
}

/** What Start training sends: the form as it is (the worker checks it once). */
export function trainingRequest(s: Pick<StudioState, 'config' | 'trainSettings'>): TrainingRequest {
  return { config: s.config, run: s.trainSettings };
}
