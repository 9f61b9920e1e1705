/**
 * Checks for JSON that came from a file (a bundle's config, a shard's metadata, a checkpoint's
 * config): each check names the field's path and what it should be, and throws whatever typed
 * error the caller's format uses, via `fail`. Counts and sizes are bounded by LIMITS here, before
 * any caller allocates from them; a bound broken comes with a LimitViolation.
 */
import type { ScheduleConfig, ScheduleKind } from '../diffusion/schedule';
import type { BundlePredictionType } from '../model-config';
import type { LimitViolation } from './errors';
import { LIMITS, type LimitName } from './limits';
import { describeJson, JsonNumberLiteral, JsonSyntaxError, parseStrictJson } from './strict-json';

export type DataLayout = { channels: number; height: number; width: number; range: [number, number] };

/** Parses JSON text from a header strictly (see strict-json.ts); `fail` turns a syntax error into the format's error. */
export function parseHeaderJson(text: string, fail: (message: string, cause: unknown) => Error): unknown {
  try {
    return parseStrictJson(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError) throw fail(e.message, e);
    throw e;
  }
}

export function jsonChecks(fail: (message: string, violation?: LimitViolation) => Error) {
  const describe = describeJson;

  const object = (v: unknown, path: string): Record<string, unknown> => {
    if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof JsonNumberLiteral)
      throw fail(`${path} must be an object, got ${describe(v)}`);
    return v as Record<string, unknown>;
  };
  const string = (v: unknown, path: string): string => {
    if (typeof v !== 'string' || v.length === 0) throw fail(`${path} must be a non-empty string, got ${describe(v)}`);
    return v;
  };
  const number = (v: unknown, path: string): number => {
    const n = v instanceof JsonNumberLiteral ? v.value : v;
    if (typeof n !== 'number' || !Number.isFinite(n)) throw fail(`${path} must be a finite number, got ${describe(v)}`);
    return n;
  };
  /** A number in [min, max] (inclusive unless `maxExclusive`). */
  const bounded = (v: unknown, path: string, min: number, max: number, maxExclusive = false): number => {
    const n = number(v, path);
    if (n < min || (maxExclusive ? n >= max : n > max)) {
      const range = `${min} <= ${path} ${maxExclusive ? '<' : '<='} ${max}`;
      throw fail(`${path} must satisfy ${range}, got ${describe(v)}`, {
        field: path,
        value: describe(v),
        limit: range,
      });
    }
    return n;
  };
  /**
   * An integer written as one (not 1.0 or 1e3), in [min, max]; `max` is a number or the name of a
   * documented limit. Out of range is a LimitViolation.
   */
  const int = (v: unknown, path: string, min: number, max: number | LimitName = Number.MAX_SAFE_INTEGER): number => {
    const top = typeof max === 'number' ? max : LIMITS[max];
    const range = top === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in ${min}..${top}`;
    // An integer literal beyond 2^53 is an integer, just out of every range.
    const huge = v instanceof JsonNumberLiteral && /^-?[0-9]+$/.test(v.source);
    if (!huge && (typeof v !== 'number' || !Number.isInteger(v))) {
      throw fail(`${path} must be an integer ${range} written without a fraction or exponent, got ${describe(v)}`);
    }
    if (huge || (v as number) < min || (v as number) > top) {
      const limit = typeof max === 'number' ? range : `${range} (the documented '${max}' limit)`;
      throw fail(`${path} must be an integer ${limit}, got ${describe(v)}`, {
        field: path,
        value: describe(v),
        limit: range,
      });
    }
    return v as number;
  };
  const oneOf = <T extends string>(v: unknown, path: string, options: readonly T[]): T => {
    if (!options.includes(v as T)) throw fail(`${path} must be one of ${options.join(', ')}, got ${describe(v)}`);
    return v as T;
  };
  const array = <T>(v: unknown, path: string, item: (x: unknown, path: string) => T, maxLength?: LimitName): T[] => {
    if (!Array.isArray(v)) throw fail(`${path} must be an array, got ${describe(v)}`);
    if (maxLength !== undefined && v.length > LIMITS[maxLength]) {
      throw fail(`${path} has ${v.length} entries, more than the limit '${maxLength}' of ${LIMITS[maxLength]}`, {
        field: `${path}.length`,
        value: String(v.length),
        limit: `<= ${LIMITS[maxLength]}`,
      });
    }
    return v.map((x, i) => item(x, `${path}[${i}]`));
  };
  const boolean = (v: unknown, path: string): boolean => {
    if (typeof v !== 'boolean') throw fail(`${path} must be true or false, got ${describe(v)}`);
    return v;
  };
  const stringRecord = (v: unknown, path: string): Record<string, string> => {
    const o = object(v, path);
    for (const [k, x] of Object.entries(o)) if (typeof x !== 'string') throw fail(`${path}.${k} must be a string`);
    return { ...o } as Record<string, string>;
  };

  const schedule = (v: unknown, path: string): ScheduleConfig => {
    const o = object(v, path);
    const kinds: readonly ScheduleKind[] = ['linear', 'scaled_linear', 'squaredcos_cap_v2'];
    const cfg: ScheduleConfig = {
      kind: oneOf(o.kind, `${path}.kind`, kinds),
      betaStart: number(o.betaStart, `${path}.betaStart`),
      betaEnd: number(o.betaEnd, `${path}.betaEnd`),
      trainSteps: int(o.trainSteps, `${path}.trainSteps`, 1, 'trainSteps'),
    };
    if (!(cfg.betaStart > 0 && cfg.betaStart <= cfg.betaEnd && cfg.betaEnd < 1)) {
      throw fail(`${path} needs 0 < betaStart <= betaEnd < 1, got ${cfg.betaStart}..${cfg.betaEnd}`);
    }
    return cfg;
  };
  const prediction = (v: unknown, path: string): BundlePredictionType =>
    oneOf(v, path, ['epsilon', 'v_prediction'] as const);
  const data = (v: unknown, path: string): DataLayout => {
    const o = object(v, path);
    const range = array(o.range, `${path}.range`, number);
    if (range.length !== 2 || !(range[0] < range[1])) throw fail(`${path}.range must be [low, high] with low < high`);
    return {
      channels: int(o.channels, `${path}.channels`, 1, 'dataChannels'),
      height: int(o.height, `${path}.height`, 1, 'imageSize'),
      width: int(o.width, `${path}.width`, 1, 'imageSize'),
      range: [range[0], range[1]],
    };
  };

  return { object, string, number, bounded, int, oneOf, array, boolean, stringRecord, schedule, prediction, data };
}
