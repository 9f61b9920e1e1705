/**
 * Teacher previews of an unconditional diffusers teacher (the uncond-32-plain fixture): class 0
 * at guidance 1 draws; another class or a guidance the model cannot take is refused by name.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DiffusersModel } from '../core/diffusers/folder';
import { loadGolden } from '../node/diffusers-golden.test-util';
import { previewTeacher, PreviewRequestError } from './preview';

describe('previews of an unconditional teacher', () => {
  let model: DiffusersModel;
  beforeAll(async () => {
    model = await loadGolden('uncond-32-plain');
  });
  afterAll(() => tf.dispose(Object.values(model.params)));

  const request = { classLabel: 0, seed: 3, count: 2, steps: 2, guidance: 1 };

  it('draws class 0 at guidance 1', async () => {
    const before = tf.memory().numTensors;
    const { image, steps } = await previewTeacher(model.sampling, model.params, request);
    expect(steps).toBe(2);
    // two 32 x 32 tiles side by side, a 1-px gap between them
    expect([image.width, image.height]).toEqual([65, 32]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses another class and classifier-free guidance, saying why', async () => {
    await expect(previewTeacher(model.sampling, model.params, { ...request, classLabel: 1 })).rejects.toThrow(
      /Class must be 0\.\.0, got 1/,
    );
    const cfg = previewTeacher(model.sampling, model.params, { ...request, guidance: 3 });
    await expect(cfg).rejects.toBeInstanceOf(PreviewRequestError);
    await expect(cfg).rejects.toThrow(/Guidance must be 1 for the unconditional model 'uncond-32-plain'/);
  });
});
