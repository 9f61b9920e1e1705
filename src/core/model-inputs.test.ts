/** The forward-pass inputs file of npm run model:check: what it accepts, and what it refuses by tensor. */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { ModelInputsError } from './io/errors';
import { writeSafetensors, type TensorToWrite } from './io/safetensors';
import type { SamplingConfig } from './model-config';
import { readModelInputs } from './model-inputs';

const MODEL: SamplingConfig = {
  name: 'm',
  schedule: { kind: 'linear', betaStart: 1e-4, betaEnd: 0.02, trainSteps: 1000 },
  prediction: 'epsilon',
  data: { channels: 2, height: 4, width: 4, range: [-1, 1] },
  numClasses: 3,
};
const sample: TensorToWrite = {
  dtype: 'F32',
  shape: [2, 2, 4, 4],
  data: Float32Array.from({ length: 64 }, (_, i) => i),
};
const file = (tensors: Record<string, TensorToWrite>) => writeSafetensors(tensors);
const labels = (...v: number[]): TensorToWrite => ({ dtype: 'I64', shape: [v.length], data: Int32Array.from(v) });

describe('readModelInputs', () => {
  it('reads NCHW as NHWC, broadcasts one timestep and keeps fractional ones', async () => {
    const t: TensorToWrite = { dtype: 'F32', shape: [], data: new Float32Array([12.5]) };
    const inputs = readModelInputs(file({ sample, timestep: t, class_labels: labels(0, 2) }), MODEL, false);
    expect(inputs.x.shape).toEqual([2, 4, 4, 2]);
    expect((await inputs.x.data())[1]).toBe(16); // x[0, 0, 0, 1] = sample[0, 1, 0, 0]
    expect(Array.from(await inputs.t.data())).toEqual([12.5, 12.5]);
    expect(Array.from(await inputs.labels.data())).toEqual([0, 2]);
    tf.dispose([inputs.x, inputs.t, inputs.labels]);
  });

  it.each([
    ['missing-tensor', 'class_labels', { sample, timestep: labels(1, 2) }],
    ['label-out-of-range', 'class_labels', { sample, timestep: labels(1, 2), class_labels: labels(0, 3) }],
    ['wrong-shape', 'timestep', { sample, timestep: labels(1, 2, 3), class_labels: labels(0, 1) }],
    [
      'wrong-shape',
      'sample',
      { sample: { ...sample, shape: [2, 4, 4, 2] }, timestep: labels(1), class_labels: labels(0, 1) },
    ],
    ['unexpected-tensor', 'noise', { sample, timestep: labels(1), class_labels: labels(0, 1), noise: sample }],
    [
      'wrong-dtype',
      'class_labels',
      { sample, timestep: labels(1), class_labels: { dtype: 'F32', shape: [2], data: new Float32Array(2) } },
    ],
  ] as const)('refuses %s of %s', (code, tensor, tensors) => {
    const before = tf.memory().numTensors;
    const bytes = file(tensors as Record<string, TensorToWrite>);
    let error: unknown;
    try {
      readModelInputs(bytes, MODEL, false);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ModelInputsError);
    expect([(error as ModelInputsError).code, (error as ModelInputsError).tensor]).toEqual([code, tensor]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("accepts this studio's null class where asked to", () => {
    const inputs = readModelInputs(file({ sample, timestep: labels(5), class_labels: labels(3, 3) }), MODEL, true);
    tf.dispose([inputs.x, inputs.t, inputs.labels]);
  });
});
