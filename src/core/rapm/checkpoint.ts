/**
 * A RAPM training state as one safetensors file: trainable student weights, their EMA, both
 * discriminator heads, the three Adam states, and (in `__metadata__`) iteration, Adam step
 * counts, config and geometry. The trajectory order is a function of (seed, iteration), so this
 * is the whole state: resuming continues the same run.
 */
import * as tf from '@tensorflow/tfjs';
import { FormatError, SafetensorsError, type LimitViolation } from '../io/errors';
import { describeFormat } from '../io/format-names';
import { jsonChecks, parseHeaderJson } from '../io/json-checks';
import { decodeTensor, parseSafetensorsHeader, type SafetensorsHeader } from '../io/safetensors';
import { encodeTensorMap, withPrefix, withoutPrefix } from '../io/tensor-map';
import type { ModelConfig } from '../model-config';
import type { Params } from '../nn/unet';
import { checkGeometry, checkRapmConfig } from './config-check';
import { RapmTrainer } from './trainer';

export const CHECKPOINT_FORMAT = 'rapm-studio/checkpoint';

export async function saveRapmCheckpoint(trainer: RapmTrainer, teacherName: string): Promise<Uint8Array> {
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
    version: '1',
    teacher: teacherName,
    iteration: String(trainer.iteration),
    adamSteps: JSON.stringify([trainer.adamStudent.step, trainer.adamRel.step, trainer.adamAbs.step]),
    config: JSON.stringify(trainer.cfg),
    geometry: JSON.stringify(trainer.geometry),
  });
}

export class CheckpointError extends FormatError {}

const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Rebuilds a trainer from a checkpoint; the teacher must be the one the run started from.
 * Everything in the header (config, geometry, counters, tensor names and shapes) is checked
 * before a tensor is decoded, and every tensor allocated is disposed again when the file is
 * refused.
 */
export function loadRapmCheckpoint(bytes: Uint8Array, model: ModelConfig, teacher: Params): RapmTrainer {
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
  if (metadata.teacher !== model.name) {
    throw new CheckpointError(
      'wrong-teacher',
      `checkpoint was trained from teacher '${metadata.teacher}', but '${model.name}' is loaded; load that teacher first`,
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
  const cfg = checkRapmConfig(json('config'), bad);
  const geometry = checkGeometry(json('geometry'), model, bad);
  const c = jsonChecks(bad);
  const adamSteps = c.array(json('adamSteps'), 'adamSteps', (v, p) => c.int(v, p, 0, 'iterations'));
  if (adamSteps.length !== 3) throw bad(`adamSteps must hold 3 step counts, got ${adamSteps.length}`);
  const iteration = c.int(json('iteration'), 'iteration', 0, 'iterations');

  const trainer = new RapmTrainer(model, teacher, geometry, cfg);
  const loaded: Record<string, tf.Tensor> = {};
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
      loaded[name] = tf.tensor(t.data, t.shape, 'float32');
    }
  } catch (e) {
    trainer.dispose();
    tf.dispose(Object.values(loaded));
    if (e instanceof SafetensorsError)
      throw new CheckpointError('not-safetensors', `not a readable checkpoint: ${e.message}`, { cause: e });
    throw e;
  }
  const replace = (current: Params, prefix: string): Params => {
    tf.dispose(Object.values(current));
    return withoutPrefix(loaded, prefix);
  };
  trainer.trainable = replace(trainer.trainable, 'trainable');
  trainer.ema = replace(trainer.ema, 'ema');
  trainer.headsRel = replace(trainer.headsRel, 'headsRel');
  trainer.headsAbs = replace(trainer.headsAbs, 'headsAbs');
  trainer.adamStudent.load(withoutPrefix(loaded, 'adamStudent'), adamSteps[0]);
  trainer.adamRel.load(withoutPrefix(loaded, 'adamRel'), adamSteps[1]);
  trainer.adamAbs.load(withoutPrefix(loaded, 'adamAbs'), adamSteps[2]);
  trainer.iteration = iteration;
  return trainer;
}
