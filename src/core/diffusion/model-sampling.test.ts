import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelConfig } from '../model-config';
import { initUnetParams, type Params } from '../nn/unet';
import { tinyModelConfig } from '../tiny-model-config';
import { modelDdim, modelDenoiser, sampleModel } from './model-sampling';
import { sampleDdim, SamplerInputError, seededNoise } from './sampler';

const config: ModelConfig = tinyModelConfig('tiny', 10);
let params: Params;
beforeAll(() => {
  params = initUnetParams(config.unet, 5);
});

describe('sampleModel', () => {
  it("draws each seed's DDIM sample whatever the batching, and leaks no tensors", async () => {
    const req = { seeds: [4, 5, 6], labels: [3, 1, 8], steps: 4, spacing: 'trailing' as const, guidanceScale: 2 };
    const before = tf.memory().numTensors;
    const batched = await sampleModel(config, params, { ...req, batchSize: 2 });
    expect(tf.memory().numTensors).toBe(before);
    const single = await sampleModel(config, params, { ...req, batchSize: 1 });
    expect(Math.max(...batched.map((v, i) => Math.abs(v - single[i])))).toBeLessThan(1e-5);
    const ref = sampleDdim(
      modelDdim(config),
      modelDenoiser(config, params),
      seededNoise([6], 8, 8, 1),
      tf.tensor1d([8], 'int32'),
      { ...req, numClasses: 10 },
    ).samples.dataSync();
    expect(Math.max(...ref.map((v, i) => Math.abs(v - batched[128 + i])))).toBeLessThan(1e-5);
  });

  it('rejects mismatched labels', async () => {
    const req = { seeds: [1], labels: [1, 2], steps: 1, spacing: 'trailing' as const, guidanceScale: 1, batchSize: 1 };
    await expect(sampleModel(config, params, req)).rejects.toThrow(SamplerInputError);
  });
});
