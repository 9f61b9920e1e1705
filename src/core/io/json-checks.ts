/**
 * Checks for JSON that came from a file (a bundle's config, a shard's metadata): each check
 * names the field's path and what it should be, and throws whatever typed error the caller's
 * format uses, via `fail`.
 */
import type { ScheduleConfig, ScheduleKind } from '../diffusion/schedule';
import type { PredictionType } from '../model-config';

export type DataLayout = { channels: number; height: number; width: number; range: [number, number] };

export function jsonChecks(fail: (message: string) => Error) {
  const describe = (v: unknown) => (v === undefined ? 'missing' : (JSON.stringify(v) ?? typeof v));

  const object = (v: unknown, path: string): Record<string, unknown> => {
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      throw fail(`${path} must be an object, got ${describe(v)}`);
    return v as Record<string, unknown>;
  };
  const string = (v: unknown, path: string): string => {
    if (typeof v !== 'string' || v.length === 0) throw fail(`${path} must be a non-empty string, got ${describe(v)}`);
    return v;
  };
  const number = (v: unknown, path: string): number => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw fail(`${path} must be a finite number, got ${describe(v)}`);
    return v;
  };
  const int = (v: unknown, path: string, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in ${min}..${max}`;
      throw fail(`${path} must be an integer ${range}, got ${describe(v)}`);
    }
    return v;
  };
  const oneOf = <T extends string>(v: unknown, path: string, options: readonly T[]): T => {
    if (!options.includes(v as T)) throw fail(`${path} must be one of ${options.join(', ')}, got ${describe(v)}`);
    return v as T;
  };
  const array = <T>(v: unknown, path: string, item: (x: unknown, path: string) => T): T[] => {
    if (!Array.isArray(v)) throw fail(`${path} must be an array, got ${describe(v)}`);
    return v.map((x, i) => item(x, `${path}[${i}]`));
  };
  const stringRecord = (v: unknown, path: string): Record<string, string> => {
    const o = object(v, path);
    for (const [k, x] of Object.entries(o)) if (typeof x !== 'string') throw fail(`${path}.${k} must be a string`);
    return o as Record<string, string>;
  };

  const schedule = (v: unknown, path: string): ScheduleConfig => {
    const o = object(v, path);
    const kinds: readonly ScheduleKind[] = ['linear', 'scaled_linear', 'squaredcos_cap_v2'];
    const cfg: ScheduleConfig = {
      kind: oneOf(o.kind, `${path}.kind`, kinds),
      betaStart: number(o.betaStart, `${path}.betaStart`),
      betaEnd: number(o.betaEnd, `${path}.betaEnd`),
      trainSteps: int(o.trainSteps, `${path}.trainSteps`, 1),
    };
    if (!(cfg.betaStart > 0 && cfg.betaStart <= cfg.betaEnd && cfg.betaEnd < 1)) {
      throw fail(`${path} needs 0 < betaStart <= betaEnd < 1, got ${cfg.betaStart}..${cfg.betaEnd}`);
    }
    return cfg;
  };
  const prediction = (v: unknown, path: string): PredictionType => oneOf(v, path, ['epsilon', 'v_prediction'] as const);
  const data = (v: unknown, path: string): DataLayout => {
    const o = object(v, path);
    const range = array(o.range, `${path}.range`, number);
    if (range.length !== 2 || !(range[0] < range[1])) throw fail(`${path}.range must be [low, high] with low < high`);
    return {
      channels: int(o.channels, `${path}.channels`, 1),
      height: int(o.height, `${path}.height`, 1),
      width: int(o.width, `${path}.width`, 1),
      range: [range[0], range[1]],
    };
  };

  return { object, string, number, int, oneOf, array, stringRecord, schedule, prediction, data };
}
