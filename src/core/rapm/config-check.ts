/**
 * Validation of run settings that came from outside the code (a checkpoint's header, a stored run,
 * the studio's request, the CLI's flags), driven by the settings table (settings.ts): every field
 * typed and within its bounds (src/core/io/limits.ts) before a trainer allocates anything from it,
 * and every field left out at its default or its rule's value (a config saved by an older version
 * lacks the fields added since: their defaults reproduce that version's behaviour). Also the
 * trajectory geometry a checkpoint names. A violation throws whatever typed error the caller's
 * `fail` builds.
 */
import type { LimitViolation } from '../io/errors';
import { jsonChecks } from '../io/json-checks';
import { LIMITS } from '../io/limits';
import type { SamplingConfig } from '../model-config';
import type { RapmConfig, StudentConfig, TrainingSettings } from './config';
import { defaultOf, SETTINGS, valueAt, withValueAt, type Setting, type SettingValue } from './settings';
import type { TrajectoryGeometry } from './trainer';

type Fail = (message: string, violation?: LimitViolation) => Error;
type Checks = ReturnType<typeof jsonChecks>;

/** How messages name a setting: by its path ('config.student.rank') unless the caller says (the CLI: its flag). */
export type SettingName = (s: Setting) => string;

function checkValue(c: Checks, fail: Fail, s: Setting, v: unknown, path: string): SettingValue {
  switch (s.kind) {
    case 'number':
      return s.integer ? c.int(v, path, s.min, s.limit ?? s.max) : c.bounded(v, path, s.min, s.max, s.belowMax);
    case 'choice':
      return c.oneOf(
        v,
        path,
        s.choices.map(([x]) => x),
      );
    case 'list':
      return c.array(v, path, c.string);
    case 'pair': {
      const b = c.array(v, path, (x, p) => c.bounded(x, p, s.min, s.max, true));
      if (b.length !== 2) throw fail(`${path} must be [beta1, beta2], got ${b.length} numbers`);
      return [b[0], b[1]];
    }
  }
}

/**
 * Each of `settings`, in table order, read by `read`: checked when given, else its default (a
 * rule reads the values resolved above it, in `known`), written into a copy of `base`.
 */
function resolve<T extends object>(
  base: object,
  settings: readonly Setting[],
  read: (s: Setting) => unknown,
  name: SettingName,
  fail: Fail,
  known: Record<string, SettingValue> = {},
): T {
  const c = jsonChecks(fail);
  let out = base;
  for (const s of settings) {
    const v = read(s);
    known[s.key] = v === undefined ? defaultOf(s, known) : checkValue(c, fail, s, v, name(s));
    out = withValueAt(out, s.key, known[s.key]);
  }
  return out as T;
}

const configSettings = SETTINGS.filter((s) => s.group === 'config');
const runSettings = SETTINGS.filter((s) => s.group === 'run');
const byPath: SettingName = (s) => `${s.group}.${s.key}`;

/** An object, or {} where the field is absent. */
function objectOr(c: Checks, v: unknown, path: string): Record<string, unknown> {
  return v === undefined ? {} : c.object(v, path);
}

/** A student config (`path` names it in messages); missing fields take their defaults. */
export function checkStudentConfig(raw: unknown, fail: Fail, path = 'config.student'): StudentConfig {
  const o = jsonChecks(fail).object(raw, path);
  const student = configSettings.filter((s) => s.key.startsWith('student.'));
  const field = (s: Setting) => s.key.slice('student.'.length);
  return resolve<{ student: StudentConfig }>(
    { student: o },
    student,
    (s) => o[field(s)],
    (s) => `${path}.${field(s)}`,
    fail,
  ).student;
}

/** A RAPM config; fields this version does not know are kept (a newer writer's). */
export function checkRapmConfig(raw: unknown, fail: Fail, name: SettingName = byPath): RapmConfig {
  const c = jsonChecks(fail);
  const o = c.object(raw, 'config');
  const base = { ...o, student: objectOr(c, o.student, 'config.student') };
  return resolve<RapmConfig>(base, configSettings, (s) => valueAt(base, s.key), name, fail);
}

/**
 * A run's settings as the page sends them or the CLI's flags give them: `{ config, run }`, either
 * part partial. The result is what the run trains with; pass it on rather than check again.
 */
export function checkTrainingSettings(raw: unknown, fail: Fail, name: SettingName = byPath): TrainingSettings {
  const c = jsonChecks(fail);
  const o = c.object(raw, 'settings');
  const config = c.object(o.config ?? {}, 'config');
  const base = { ...config, student: objectOr(c, config.student, 'config.student') };
  const run = objectOr(c, o.run, 'run');
  const known: Record<string, SettingValue> = {};
  return {
    config: resolve<RapmConfig>(base, configSettings, (s) => valueAt(base, s.key), name, fail, known),
    run: resolve({}, runSettings, (s) => run[s.key], name, fail, known),
  };
}

/** The geometry a run was trained on, checked against the teacher's schedule. */
export function checkGeometry(raw: unknown, model: SamplingConfig, fail: Fail): TrajectoryGeometry {
  const c = jsonChecks(fail);
  const o = c.object(raw, 'geometry');
  const T = model.schedule.trainSteps;
  const time = (v: unknown, p: string) => c.int(v, p, 0, T - 1);
  const coarseTimesteps = c.array(o.coarseTimesteps, 'geometry.coarseTimesteps', time, 'slots');
  const deltaTimesteps = c.array(o.deltaTimesteps, 'geometry.deltaTimesteps', time, 'slots');
  if (coarseTimesteps.length === 0) throw fail('geometry.coarseTimesteps is empty');
  if (coarseTimesteps.some((x, i) => i > 0 && x >= coarseTimesteps[i - 1]))
    throw fail(`geometry.coarseTimesteps must be strictly descending, got [${coarseTimesteps}]`);
  if (deltaTimesteps.length !== coarseTimesteps.length)
    throw fail(`geometry.deltaTimesteps needs one entry per coarse timestep (${coarseTimesteps.length})`);
  return {
    coarseTimesteps,
    deltaTimesteps,
    guidance: c.bounded(o.guidance, 'geometry.guidance', -LIMITS.guidanceScale, LIMITS.guidanceScale),
  };
}
