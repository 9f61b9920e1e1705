/**
 * A replay of past discriminator inputs [our design, issue #14]: the teacher-encoder features of
 * the last `capacity` iterations' rows, kept as they were computed. At batch size 1 a head sees one
 * real and one fake example per slot per iteration, which left both heads at chance
 * (docs/results.md); with a replay each head update also sees one earlier iteration's rows (its real
 * points and the student's fakes as they were then). The encoder is frozen, so stored features stay
 * exactly what the encoder would compute now; only the heads are retrained on them.
 *
 * Not part of a checkpoint: a resumed run starts with an empty replay.
 */
import * as tf from '@tensorflow/tfjs';
import { mulberry32 } from '../random';

export class FeatureReplay {
  private readonly entries: tf.Tensor4D[][] = [];

  constructor(
    readonly capacity: number,
    private readonly seed: number,
  ) {}

  /**
   * One iteration's feature maps (one tensor per level, all rows), taken over (disposed when they
   * fall out, or at once when the replay is off). The caller adds the current iteration after
   * drawing from the earlier ones.
   */
  push(features: tf.Tensor4D[]): void {
    if (this.capacity <= 0) {
      tf.dispose(features);
      return;
    }
    this.entries.push(features);
    if (this.entries.length > this.capacity) tf.dispose(this.entries.shift()!);
  }

  /** A kept iteration's features, drawn by (seed, iteration) so runs repeat; null while empty. Owned by the replay. */
  pick(iteration: number): tf.Tensor4D[] | null {
    if (this.entries.length === 0) return null;
    const u = mulberry32((this.seed * 1_000_003 + iteration * 7919 + 17) >>> 0)();
    return this.entries[Math.floor(u * this.entries.length)];
  }

  dispose(): void {
    for (const e of this.entries) tf.dispose(e);
    this.entries.length = 0;
  }
}
