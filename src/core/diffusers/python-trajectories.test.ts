/**
 * Shards written in Python by scripts/diffusers-trajectories.py (PyTorch + diffusers 0.25's
 * DDIMScheduler, the standard-library shard writer) for the golden fixture cond-28-attn, 2
 * trajectories at N = 4, M = 8, guidance 2, committed as e2e/fixtures/diffusers-python/. The studio
 * accepts the file as a shard of that model, and its own generator, given the same seeds, classes
 * and grid, writes the same trajectories (measured 7e-6 relative on wasm, about 1e-6 for the
 * unconditional fixtures; held to 1e-4).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { readShard } from '../io/shards';
import { diffusersShardTeacher, diffusersTeacher } from '../teacher-load';
import { generateTrajectories } from '../rapm/trajectories';
import { readDiffusersFolder } from '../../node/diffusers-folder';
import { GOLDEN_ROOT, relativeError } from '../../node/diffusers-golden.test-util';

const SHARD = join(GOLDEN_ROOT, '..', 'diffusers-python', 'cond-28-attn-w2.safetensors');

describe('shards written by the Python script', () => {
  it('validate against the diffusers folder they name, and equal the studio generator for the same seeds', async () => {
    const folder = await readDiffusersFolder(join(GOLDEN_ROOT, 'cond-28-attn'));
    const shard = readShard(readFileSync(SHARD), await diffusersShardTeacher(folder.files, folder.name));
    expect(shard.meta.provenance?.writer).toBe('scripts/diffusers-trajectories.py');
    expect(shard.meta.guidanceScale).toBe(2);
    expect(shard.meta.coarseTimesteps).toEqual([999, 749, 499, 249]);

    const teacher = await diffusersTeacher(folder.files, folder.name);
    try {
      const ours = await generateTrajectories(teacher.config, teacher.params, {
        seeds: shard.seeds!,
        labels: shard.labels,
        slots: shard.meta.coarseTimesteps.length,
        stepsPerSlot: shard.meta.fineStepsPerSlot,
        guidanceScale: shard.meta.guidanceScale,
        batchSize: 2,
      });
      expect(ours.meta.deltaTimesteps).toEqual(shard.meta.deltaTimesteps);
      expect(relativeError(ours.positions, shard.positions)).toBeLessThan(1e-4);
      expect(relativeError(ours.deltaPositions, shard.deltaPositions!)).toBeLessThan(1e-4);
    } finally {
      tf.dispose(Object.values(teacher.params));
    }
  }, 120_000);
});
