/**
 * A student at one moment of a run: its sampling weights (the EMA when on) held by the snapshot,
 * not by the trainer, so an export or preview can read them back asynchronously while the loop
 * goes on replacing and disposing its own. The copies are sliced out of the trainer's packed state
 * (one small GPU copy per tensor); dispose them when done.
 */
import * as tf from '@tensorflow/tfjs';
import type { Params } from '../nn/unet';
import type { StudentConfig } from './config';
import type { RapmTrainer } from './trainer';

export interface StudentSnapshot {
  student: StudentConfig;
  /** Trainable weights to sample with: LoRA adapters, or every weight when fully fine-tuned. */
  weights: Params;
  /** The coarse timesteps the student was trained on (descending): its sampling grid. */
  timesteps: number[];
  iteration: number;
}

export function snapshotStudent(trainer: RapmTrainer): StudentSnapshot {
  const weights = trainer.samplingWeightsCopy();
  return {
    student: trainer.cfg.student,
    weights,
    timesteps: [...trainer.geometry.coarseTimesteps],
    iteration: trainer.iteration,
  };
}

export function disposeSnapshot(snapshot: StudentSnapshot): void {
  tf.dispose(Object.values(snapshot.weights));
}
