/**
 * Reading a diffusers config file (config.json, scheduler_config.json) against one declaration
 * of its fields: every field diffusers' constructor takes, with diffusers' default (what
 * `from_config` uses when the file leaves it out). A field not declared is refused by name, as
 * is a value this studio cannot run; `_`-prefixed keys (`_class_name`, `_diffusers_version`,
 * `_name_or_path`) are diffusers' own bookkeeping and are read only where they matter.
 */
import { DiffusersError } from '../io/errors';
import { jsonChecks, parseHeaderJson } from '../io/json-checks';
import { describeJson } from '../io/strict-json';

export interface ConfigFile {
  /** The file's name in messages. */
  file: string;
  /** The parsed object, for `_`-prefixed keys. */
  raw: Record<string, unknown>;
  /** A field's value as written, or diffusers' default when the file leaves it out. */
  get(field: string): unknown;
  /** jsonChecks whose errors name `field` and its value. */
  check(field: string): ReturnType<typeof jsonChecks>;
  /** A value this studio cannot run: a DiffusersError `unsupported` naming the field and value. */
  unsupported(field: string, why: string): DiffusersError;
  /** A value that is not valid at all (diffusers would refuse it too). */
  invalid(field: string, why: string): DiffusersError;
}

/** Parses `text` (strict JSON, an object) and checks that every key is declared in `defaults`. */
export function readConfigFile(file: string, text: string, defaults: Record<string, unknown>): ConfigFile {
  const parsed = parseHeaderJson(
    text,
    (why, cause) => new DiffusersError('not-json', file, `not JSON (${why})`, { cause }),
  );
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new DiffusersError('not-json', file, `must hold a JSON object, got ${describeJson(parsed)}`);
  }
  const raw = parsed as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!key.startsWith('_') && !Object.hasOwn(defaults, key)) {
      throw new DiffusersError(
        'unknown-field',
        file,
        `unknown field '${key}' (= ${describeJson(raw[key])}): not a setting this studio knows how to run; ` +
          `the supported fields are listed in docs/model-format.md`,
        { field: key, value: describeJson(raw[key]) },
      );
    }
  }
  const get = (field: string) => (Object.hasOwn(raw, field) ? raw[field] : defaults[field]);
  const error = (code: 'unsupported' | 'bad-config', field: string, why: string) => {
    const value = describeJson(get(field));
    return new DiffusersError(code, file, `${field} = ${value}: ${why}`, { field, value });
  };
  return {
    file,
    raw,
    get,
    check: (field) =>
      jsonChecks(
        (message, violation) =>
          new DiffusersError('bad-config', file, message, { field, value: describeJson(get(field)), violation }),
      ),
    unsupported: (field, why) => error('unsupported', field, why),
    invalid: (field, why) => error('bad-config', field, why),
  };
}

/** A string field that must be one of `supported`; `known` values are diffusers' and get a reason. */
export function choice<T extends string>(
  cfg: ConfigFile,
  field: string,
  supported: readonly T[],
  known: Record<string, string> = {},
): T {
  const v = cfg.get(field);
  if (supported.includes(v as T)) return v as T;
  if (typeof v === 'string' && Object.hasOwn(known, v)) throw cfg.unsupported(field, known[v]);
  throw cfg.unsupported(field, `this studio runs ${supported.map((s) => `'${s}'`).join(' or ')}`);
}
