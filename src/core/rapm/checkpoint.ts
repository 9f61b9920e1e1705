/**
 * A RAPM training state as one safetensors file: trainable student weights, their EMA, both
 * discriminator heads, the three Adam states, and (in `__metadata__`) iteration, Adam step
 * counts, config, geometry, the teacher's identity and the validation split (the held-out
 * trajectories). The trajectory order is a function of (seed, iteration, split), so this is the
 * whole state: resuming continues the same run. A checkpoint is
 * only ever loaded against the teacher it names and, to resume, against shards of its geometry.
 */
import * as tf from '@tensorflow/tfjs';
import { FormatError, SafetensorsError, type LimitViolation } from '../io/errors';
import { describeFormat } from '../io/format-names';
import { jsonChecks, parseHeaderJson } from '../io/json-checks';
import { firstNonFinite } from '../io/finite-weights';
import { decodeTensor, parseSafetensorsHeader, type SafetensorsHeader } from '../io/safetensors';
import { encodeTensorMap, withPrefix, withoutPrefix } from '../io/tensor-map';
import type { TeacherIdentity } from '../io/shards';
import type { AnyModelConfig } from '../model-config';
import type { Params } from '../nn/unet';
import { checkGeometry, checkRapmConfig } from './config-check';
import { RapmTrainer, type TrajectoryGeometry } from './trainer';
import { sameGeometry } from './trajectory-set';
import type { ValidationSplit } from './validation-split';

export const CHECKPOINT_FORMAT = 'rapm-studio/checkpoint';
/** Version 2 records the teacher's identity (name and sha256); version 1 held its name only. */
export const CHECKPOINT_VERSION = '2';

export async function saveRapmCheckpoint(
  trainer: RapmTrainer,
  teacher: TeacherIdentity,
  split: ValidationSplit | null = null,
): Promise<Uint8Array> {
  const tensors: Record<string, tf.Tensor> = {
    ...withPrefix(trainer.trainable, 'trainable'),
    ...withPrefix(trainer.ema, 'ema'),
    ...withPrefix(trainer.headsRel, 'headsRel'),
    ...withPrefix(trainer.headsAbs, 'headsAbs'),
    ...withPrefix(trainer.adamStudent.state(), 'adamStudent'),
    ...withPrefix(trainer.adamRel.state(), 'adamRel'),
    ...withPrefix(trainer.adamAbs.state(), 'adamAbs'),
  };
  return encodeTensorMap(tensors, {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    teacher: JSON.stringify({ name: teacher.name, sha256: teacher.sha256 }),
    iteration: String(trainer.iteration),
    adamSteps: JSON.stringify([trainer.adamStudent.step, trainer.adamRel.step, trainer.adamAbs.step]),
    config: JSON.stringify(trainer.cfg),
    geometry: JSON.stringify(trainer.geometry),
    ...(split ? { validation: JSON.stringify(split) } : {}),
  });
}

/** Codes: not-safetensors, wrong-format, wrong-version, wrong-teacher, wrong-geometry, bad-metadata, and tensor ones. */
export class CheckpointError extends FormatError {}

/** The checkpoint's validation split; null for runs without one (and checkpoints written before splits existed). */
export function checkpointValidationSplit(bytes: Uint8Array): ValidationSplit | null {
  const { validation } = parseSafetensorsHeader(bytes).metadata;
  if (validation === undefined) return null;
  let split: Partial<ValidationSplit>;
  try {
    split = JSON.parse(validation) as Partial<ValidationSplit>;
  } catch (cause) {
    throw new CheckpointError('bad-metadata', 'checkpoint metadata: validation is not JSON; the file is damaged', {
      cause,
    });
  }
  const { seed, trajectories, indices } = split ?? {};
  const ok =
    Number.isFinite(seed) &&
    Number.isInteger(trajectories) &&
    Array.isArray(indices) &&
    indices.every((k, i) => Number.isInteger(k) && k >= 0 && k < trajectories! && (i === 0 || k > indices[i - 1]));
  if (!ok) {
    throw new CheckpointError(
      'bad-metadata',
      'checkpoint metadata: validation is not {seed, trajectories, ascending indices below trajectories}; the file is damaged',
    );
  }
  return { seed: seed!, trajectories: trajectories!, indices: indices! };
}

/** What a checkpoint must match to be loaded. */
export interface CheckpointExpectation {
  /** The loaded teacher: the checkpoint must name the same one (name and sha256). */
  teacher: TeacherIdentity;
  /** The geometry of the shards a resumed run trains on; null to read the student only (export, preview). */
  geometry: TrajectoryGeometry | null;
}

const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Rebuilds a trainer from a checkpoint of the loaded teacher (and, to resume, of the shards'
 * geometry). Everything in the header (teacher, config, geometry, counters, tensor names and
 * shapes) is checked before a tensor is decoded, and every tensor allocated is disposed again
 * when the file is refused.
 */
export function loadRapmCheckpoint(
  bytes: Uint8Array,
  model: AnyModelConfig,
  teacher: Params,
  expect: CheckpointExpectation,
): RapmTrainer {
  let header: SafetensorsHeader;
  try {
    header = parseSafetensorsHeader(bytes);
  } catch (e) {
    if (!(e instanceof SafetensorsError)) throw e;
    throw new CheckpointError('not-safetensors', `not a readable checkpoint: ${e.message}`, { cause: e });
  }
  const { metadata } = header;
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(
      'wrong-format',
      `not a RAPM checkpoint (${describeFormat(metadata)}); pick a file saved by the studio or 'npm run distill'`,
    );
  }
  if (metadata.version !== CHECKPOINT_VERSION) {
    throw new CheckpointError(
      'wrong-version',
      `checkpoint version '${metadata.version ?? 'none'}' is not ${CHECKPOINT_VERSION} (version 1 did not record ` +
        `its teacher's identity, so it cannot be checked against one); start a new run`,
    );
  }
  const bad = (message: string, violation?: LimitViolation) =>
    new CheckpointError('bad-metadata', `checkpoint metadata: ${message}; the file is damaged`, { violation });
  const json = (key: string): unknown => {
    const text = metadata[key];
    if (text === undefined) throw bad(`${key} is missing`);
    return parseHeaderJson(
      text,
      (why, cause) =>
        new CheckpointError('bad-metadata', `checkpoint metadata: ${key} is not strict JSON (${why})`, { cause }),
    );
  };
  const c = jsonChecks(bad);
  const named = c.object(json('teacher'), 'teacher');
  const loaded = expect.teacher;
  if (
    c.string(named.name, 'teacher.name') !== loaded.name ||
    c.string(named.sha256, 'teacher.sha256') !== loaded.sha256
  ) {
    throw new CheckpointError(
      'wrong-teacher',
      `checkpoint was trained from teacher '${named.name}' (sha256 ${String(named.sha256).slice(0, 12)}…), but ` +
        `'${loaded.name}' (sha256 ${loaded.sha256.slice(0, 12)}…) is loaded; load that teacher first`,
    );
  }
  const cfg = checkRapmConfig(json('config'), bad);
  const geometry = checkGeometry(json('geometry'), model, bad);
  if (expect.geometry && !sameGeometry(geometry, expect.geometry)) {
    throw new CheckpointError(
      'wrong-geometry',
      `checkpoint was trained on trajectories with grid ${JSON.stringify(geometry)}, but the shards have ` +
        `${JSON.stringify(expect.geometry)}; train on the run's shards (and only those) to resume it`,
    );
  }
  const adamSteps = c.array(json('adamSteps'), 'adamSteps', (v, p) => c.int(v, p, 0, 'iterations'));
  if (adamSteps.length !== 3) throw bad(`adamSteps must hold 3 step counts, got ${adamSteps.length}`);
  const iteration = c.int(json('iteration'), 'iteration', 0, 'iterations');

  const trainer = new RapmTrainer(model, teacher, geometry, cfg);
  const decoded: Record<string, tf.Tensor> = {};
  try {
    const required = new Map<string, readonly number[]>();
    const optional = new Map<string, readonly number[]>();
    const groups = {
      trainable: trainer.trainable,
      ema: trainer.ema,
      headsRel: trainer.headsRel,
      headsAbs: trainer.headsAbs,
    };
    for (const [prefix, params] of Object.entries(groups))
      for (const [k, t] of Object.entries(params)) required.set(`${prefix}.${k}`, t.shape);
    // Adam keeps moments only for parameters it has updated
    const adams = { adamStudent: trainer.trainable, adamRel: trainer.headsRel, adamAbs: trainer.headsAbs };
    for (const [prefix, params] of Object.entries(adams))
      for (const [k, t] of Object.entries(params)) {
        optional.set(`${prefix}.m.${k}`, t.shape);
        optional.set(`${prefix}.v.${k}`, t.shape);
      }
    for (const [name, entry] of header.tensors) {
      const shape = required.get(name) ?? optional.get(name);
      if (!shape) {
        throw new CheckpointError(
          'extra-tensor',
          `checkpoint has a tensor this run's student does not use: '${name}' (saved with another mode, rank or targets?)`,
        );
      }
      if (!sameShape(entry.shape, shape))
        throw new CheckpointError(
          'wrong-shape',
          `checkpoint tensor '${name}' has shape [${entry.shape}], the run needs [${shape}]`,
        );
      if (entry.dtype !== 'F32' && entry.dtype !== 'F16')
        throw new CheckpointError('wrong-dtype', `checkpoint tensor '${name}' is ${entry.dtype}, not F32 or F16`);
    }
    const missing = [...required.keys()].filter((n) => !header.tensors.has(n));
    if (missing.length)
      throw new CheckpointError('missing-tensor', `checkpoint lacks ${missing[0]} (and ${missing.length - 1} more)`);
    for (const name of header.tensors.keys()) {
      const t = decodeTensor(bytes, header, name);
      const bad = firstNonFinite(t.data);
      if (bad >= 0) {
        throw new CheckpointError(
          'non-finite',
          `checkpoint tensor '${name}' holds ${t.data[bad]} at flat index ${bad}: the run had diverged when it ` +
            `was saved, or the file is damaged; resume from an earlier checkpoint or start a new run`,
        );
      }
      decoded[name] = tf.tensor(t.data, t.shape, 'float32');
    }
  } catch (e) {
    trainer.dispose();
    tf.dispose(Object.values(decoded));
    if (e instanceof SafetensorsError)
      throw new CheckpointError('not-safetensors', `not a readable checkpoint: ${e.message}`, { cause: e });
    throw e;
  }
  const replace = (current: Params, prefix: string): Params => {
    tf.dispose(Object.values(current));
    return withoutPrefix(decoded, prefix);
  };
  trainer.trainable = replace(trainer.trainable, 'trainable');
  trainer.ema = replace(trainer.ema, 'ema');
  trainer.headsRel = replace(trainer.headsRel, 'headsRel');
  trainer.headsAbs = replace(trainer.headsAbs, 'headsAbs');
  trainer.adamStudent.load(withoutPrefix(decoded, 'adamStudent'), adamSteps[0]);
  trainer.adamRel.load(withoutPrefix(decoded, 'adamRel'), adamSteps[1]);
  trainer.adamAbs.load(withoutPrefix(decoded, 'adamAbs'), adamSteps[2]);
  trainer.iteration = iteration;
  return trainer;
}
