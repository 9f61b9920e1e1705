import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { BundleError } from '../io/errors';
import { writeSafetensors } from '../io/safetensors';
import { MNIST_CLASSIFIER, initClassifierParams } from './classifier';
import { decodeEvaluator, encodeEvaluator } from './evaluator-bundle';

const cfg = { ...MNIST_CLASSIFIER, channels: [4, 8], featureDim: 16 };

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof BundleError) return e.code;
    throw e;
  }
  return undefined;
}

describe('evaluator bundle', () => {
  it('round-trips config, weights and provenance', async () => {
    const params = initClassifierParams(cfg, 3);
    const bytes = await encodeEvaluator(cfg, params, { command: 'npm run evaluator:train', testAccuracy: '0.99' });
    const back = decodeEvaluator(bytes);
    expect(back.config).toEqual(cfg);
    expect(back.provenance).toEqual({ command: 'npm run evaluator:train', testAccuracy: '0.99' });
    for (const [name, t] of Object.entries(params)) expect(back.params[name].dataSync()).toEqual(t.dataSync());
    tf.dispose([...Object.values(params), ...Object.values(back.params)]);
  });

  it('rejects other files with typed errors', () => {
    expect(codeOf(() => decodeEvaluator(new Uint8Array([1, 2, 3])))).toBe('not-safetensors');
    const w = { dtype: 'F32' as const, shape: [1], data: new Float32Array(1) };
    expect(codeOf(() => decodeEvaluator(writeSafetensors({ w }, { format: 'rapm-model' })))).toBe('wrong-format');
    const meta = { format: 'rapm-evaluator', version: '1', config: JSON.stringify(cfg) };
    expect(codeOf(() => decodeEvaluator(writeSafetensors({ w }, { ...meta, config: '{"channels": []}' })))).toBe(
      'bad-config',
    );
    expect(codeOf(() => decodeEvaluator(writeSafetensors({ w }, meta)))).toBe('extra-tensor');
    expect(codeOf(() => decodeEvaluator(writeSafetensors({}, meta)))).toBe('missing-tensor');
  });
});
