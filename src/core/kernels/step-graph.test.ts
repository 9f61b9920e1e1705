/**
 * The step graph's bookkeeping on tfjs's webgpu backend over Dawn's null backend (every call
 * validated as on a GPU, no GPU work, so fast): what a capture refuses, and that replays keep
 * tensors and GPU memory flat. Its numerics are tested on SwiftShader (rapm/replayed-step.test.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RAPM } from '../rapm/config';
import { TINY_GEOMETRY, TINY_MODEL, tinyBatch, tinyTeacher } from '../rapm/fixtures.test-util';
import { RapmTrainer } from '../rapm/trainer';
import { StepCaptureError, StepGraph, webGpuInternals } from './step-graph';

describe('StepGraph on Dawn (null backend)', () => {
  beforeAll(async () => {
    process.env.DAWN_OPTIONS = 'backend=null';
    const { useBackend } = await import('../../node/backend');
    await useBackend('webgpu');
  }, 120_000);
  afterAll(() => {
    delete process.env.DAWN_OPTIONS;
  });

  it('refuses a step that reads a tensor back, or leaves one alive that it did not declare', () => {
    expect(webGpuInternals()).not.toBeNull();
    const x = tf.tensor1d([1, 2, 3]);
    const readBack = () =>
      StepGraph.capture({
        inputs: [x],
        state: () => [],
        run: () => tf.mul(x, tf.scalar(x.dataSync()[0])),
        readout: (r) => r,
      });
    expect(readBack).toThrow(StepCaptureError);
    expect(readBack).toThrow(/reads a tensor back/);
    let leaked: tf.Tensor | null = null;
    const leak = () =>
      StepGraph.capture({
        inputs: [x],
        state: () => [],
        run: () => {
          leaked = tf.add(x, 1);
          return tf.mul(x, 2);
        },
        readout: (r) => r,
      });
    expect(leak).toThrow(/leaves 1 tensor\(s\) alive/);
    tf.dispose([x, leaked!]);
  });

  it('keeps the tensor count and GPU memory flat over 100 replayed RAPM iterations', async () => {
    const teacher = tinyTeacher(2);
    const trainer = new RapmTrainer(TINY_MODEL, teacher, TINY_GEOMETRY, { ...DEFAULT_RAPM });
    for (let i = 0; i < 3; i++) await trainer.stepAsync(tinyBatch(i)); // warm-up, capture, first replay
    expect(trainer.replayed.failure).toBeNull();
    expect(trainer.replayed.dispatches).toBeGreaterThan(100);
    const tensors = tf.memory().numTensors;
    const bytes = (tf.memory() as tf.MemoryInfo & { numBytesInGPU: number }).numBytesInGPU;
    for (let i = 3; i < 103; i++) await trainer.stepAsync(tinyBatch(i));
    expect(trainer.iteration).toBe(103);
    expect(trainer.adamStudent.step).toBe(103);
    expect(tf.memory().numTensors).toBe(tensors);
    expect((tf.memory() as tf.MemoryInfo & { numBytesInGPU: number }).numBytesInGPU).toBe(bytes);
    trainer.dispose();
    tf.dispose(Object.values(teacher));
  }, 300_000);
});
