/**
 * A RAPM training state as one safetensors file: trainable student weights, their EMA, both
 * discriminator heads, the three Adam states, and (in `__metadata__`) iteration, Adam step
 * counts, config and geometry. The trajectory order is a function of (seed, iteration), so this
 * is the whole state: resuming continues the same run.
 */
import type * as tf from '@tensorflow/tfjs';
import { FormatError } from '../io/errors';
import { decodeTensorMap, encodeTensorMap, withPrefix, withoutPrefix } from '../io/tensor-map';
import type { ModelConfig } from '../model-config';
import type { Params } from '../nn/unet';
import type { RapmConfig } from './config';
import { RapmTrainer, type TrajectoryGeometry } from './trainer';

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

/** Rebuilds a trainer from a checkpoint; the teacher must be the one the run started from. */
export function loadRapmCheckpoint(bytes: Uint8Array, model: ModelConfig, teacher: Params): RapmTrainer {
  const { tensors, metadata } = decodeTensorMap(bytes);
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(
      'wrong-format',
      `not a RAPM checkpoint (format '${metadata.format ?? 'none'}'); pick a file saved by the studio or 'npm run distill'`,
    );
  }
  if (metadata.teacher !== model.name) {
    throw new CheckpointError(
      'wrong-teacher',
      `checkpoint was trained from teacher '${metadata.teacher}', but '${model.name}' is loaded; load that teacher first`,
    );
  }
  const cfg = JSON.parse(metadata.config) as RapmConfig; // the trainer fills fields added since it was written
  const geometry = JSON.parse(metadata.geometry) as TrajectoryGeometry;
  const trainer = new RapmTrainer(model, teacher, geometry, cfg);
  const [sStep, rStep, aStep] = JSON.parse(metadata.adamSteps) as number[];
  const replace = (current: Params, prefix: string): Params => {
    const loaded = withoutPrefix(tensors, prefix);
    const missing = Object.keys(current).filter((k) => !loaded[k]);
    if (missing.length)
      throw new CheckpointError(
        'missing-tensor',
        `checkpoint lacks ${prefix}.${missing[0]} (and ${missing.length - 1} more)`,
      );
    Object.values(current).forEach((t) => t.dispose());
    return loaded;
  };
  trainer.trainable = replace(trainer.trainable, 'trainable');
  trainer.ema = replace(trainer.ema, 'ema');
  trainer.headsRel = replace(trainer.headsRel, 'headsRel');
  trainer.headsAbs = replace(trainer.headsAbs, 'headsAbs');
  trainer.adamStudent.load(withoutPrefix(tensors, 'adamStudent'), sStep);
  trainer.adamRel.load(withoutPrefix(tensors, 'adamRel'), rStep);
  trainer.adamAbs.load(withoutPrefix(tensors, 'adamAbs'), aStep);
  trainer.iteration = Number(metadata.iteration);
  return trainer;
}
