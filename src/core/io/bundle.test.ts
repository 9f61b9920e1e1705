import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ModelConfig } from '../model-config';
import { applyUnet, initUnetParams, type Params } from '../nn/unet';
import { TINY_ATTENTION, tinyModelConfig } from '../tiny-model-config';
import {
  loadModelBundle,
  readModelConfig,
  saveModelBundle,
  teacherHash,
  teacherIdentity,
  tensorDataHash,
} from './bundle';
import { BundleError } from './errors';
import { NonFiniteWeightError } from './finite-weights';
import { parseSafetensors, writeSafetensors, type TensorToWrite } from './safetensors';

const CONFIG: ModelConfig = {
  ...tinyModelConfig('tiny-teacher', 3, TINY_ATTENTION),
  provenance: { command: 'test' },
};
const UNET = CONFIG.unet;

function expectBundleError(f: () => unknown, code: string, text?: string): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(BundleError);
    expect((e as BundleError).code).toBe(code);
    if (text) expect((e as Error).message).toContain(text);
    return;
  }
  throw new Error(`expected a BundleError with code ${code}`);
}

/** Re-write a bundle's tensors and metadata through `edit`, as a foreign tool might. */
function rewrite(
  bytes: Uint8Array,
  edit: (tensors: Map<string, TensorToWrite>, metadata: Record<string, string>) => void,
): Uint8Array {
  const file = parseSafetensors(bytes);
  const tensors = new Map<string, TensorToWrite>();
  for (const [name, t] of file.tensors)
    tensors.set(name, { dtype: 'F32', shape: t.shape, data: t.data as Float32Array });
  const metadata = { ...file.metadata };
  edit(tensors, metadata);
  return writeSafetensors(tensors, metadata);
}

describe('model bundle', () => {
  let params: Params;
  beforeEach(() => {
    params = initUnetParams(UNET, 3);
  });
  afterEach(() => {
    tf.dispose(Object.values(params));
  });

  it('round-trips config and parameters exactly in F32', async () => {
    const bytes = await saveModelBundle(CONFIG, params);
    const loaded = loadModelBundle(bytes);
    expect(loaded.config).toEqual(CONFIG);
    expect(Object.keys(loaded.params).sort()).toEqual(Object.keys(params).sort());
    for (const [name, t] of Object.entries(params)) {
      expect(loaded.params[name].shape, name).toEqual(t.shape);
      expect(loaded.params[name].dataSync(), name).toEqual(t.dataSync());
    }
    // The loaded network computes what the saved one did.
    const x = tf.randomNormal([2, 8, 8, 1], 0, 1, 'float32', 5) as tf.Tensor4D;
    const t = tf.tensor1d([10, 500]);
    const labels = tf.tensor1d([0, 3], 'int32');
    const a = applyUnet(UNET, params, x, t, labels);
    const b = applyUnet(UNET, loaded.params, x, t, labels);
    expect(b.dataSync()).toEqual(a.dataSync());
    tf.dispose([x, t, labels, a, b, ...Object.values(loaded.params)]);
    expect(readModelConfig(bytes)).toEqual(CONFIG);
  });

  it('stores F16 at half the size, within half precision', async () => {
    const f32 = await saveModelBundle(CONFIG, params);
    const f16 = await saveModelBundle(CONFIG, params, { dtype: 'F16' });
    expect(f16.byteLength).toBeLessThan(0.6 * f32.byteLength);
    const loaded = loadModelBundle(f16);
    for (const [name, t] of Object.entries(params)) {
      const want = t.dataSync();
      const got = loaded.params[name].dataSync();
      let worst = 0;
      for (let i = 0; i < want.length; i++) {
        worst = Math.max(worst, Math.abs(got[i] - want[i]) - (Math.abs(want[i]) * 2 ** -11 + 2 ** -24));
      }
      expect(worst, name).toBeLessThanOrEqual(0);
    }
    tf.dispose(Object.values(loaded.params));
  });

  it('names what is wrong with a damaged bundle', async () => {
    const bytes = await saveModelBundle(CONFIG, params);
    expectBundleError(() => loadModelBundle(bytes.subarray(0, 100)), 'not-safetensors');
    expectBundleError(
      () => loadModelBundle(rewrite(bytes, (t) => t.delete('conv_in.w'))),
      'missing-tensor',
      'conv_in.w',
    );
    expectBundleError(
      () =>
        loadModelBundle(
          rewrite(bytes, (t) => t.set('lora.a', { dtype: 'F32', shape: [1], data: new Float32Array(1) })),
        ),
      'extra-tensor',
      'lora.a',
    );
    expectBundleError(
      () =>
        loadModelBundle(
          rewrite(bytes, (t) => t.set('conv_in.b', { dtype: 'F32', shape: [4, 2], data: new Float32Array(8) })),
        ),
      'wrong-shape',
      'conv_in.b',
    );
    expectBundleError(
      () =>
        loadModelBundle(
          rewrite(bytes, (t) => t.set('conv_in.b', { dtype: 'I32', shape: [8], data: new Int32Array(8) })),
        ),
      'wrong-dtype',
      'conv_in.b',
    );
    expectBundleError(
      () => loadModelBundle(rewrite(bytes, (_, m) => (m.config = '{"name":'))),
      'bad-config',
      'not strict JSON',
    );
    const noUnet = JSON.stringify({ ...CONFIG, unet: undefined });
    expectBundleError(
      () => loadModelBundle(rewrite(bytes, (_, m) => (m.config = noUnet))),
      'bad-config',
      'config.unet',
    );
    const clash = JSON.stringify({ ...CONFIG, numClasses: 4 });
    expectBundleError(() => loadModelBundle(rewrite(bytes, (_, m) => (m.config = clash))), 'bad-config', 'numClasses');
    const odd = JSON.stringify({
      ...CONFIG,
      unet: { ...UNET, imageSize: 7 },
      data: { ...CONFIG.data, height: 7, width: 7 },
    });
    expectBundleError(
      () => loadModelBundle(rewrite(bytes, (_, m) => (m.config = odd))),
      'bad-config',
      'not divisible by 2^1',
    );
    expectBundleError(
      () => loadModelBundle(rewrite(bytes, (_, m) => (m.format = 'rapm-studio/shard'))),
      'wrong-format',
    );
    expectBundleError(() => loadModelBundle(rewrite(bytes, (_, m) => (m.version = '2'))), 'wrong-format');
  });

  it('refuses to save parameters that do not match the config', async () => {
    const { ['conv_in.w']: dropped, ...rest } = params;
    await expect(saveModelBundle(CONFIG, rest)).rejects.toMatchObject({ code: 'missing-tensor' });
    const extra = tf.zeros([1]);
    await expect(saveModelBundle(CONFIG, { ...params, extra })).rejects.toMatchObject({ code: 'extra-tensor' });
    const wrong = tf.zeros([3, 3, 1, 9]);
    await expect(saveModelBundle(CONFIG, { ...rest, 'conv_in.w': wrong })).rejects.toMatchObject({
      code: 'wrong-shape',
    });
    tf.dispose([extra, wrong]);
    expect(dropped.isDisposed).toBe(false);
  });

  it('hashes the stored config and the tensor data: the teacher identity', async () => {
    // Known vectors (hashlib): SHA-256 of b"\\0" (no config, no data) and of b'{}\\0' + float32 1.0.
    expect(await teacherHash(writeSafetensors({}))).toBe(
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    );
    const one = writeSafetensors({ x: { dtype: 'F32', shape: [1], data: new Float32Array([1]) } }, { config: '{}' });
    expect(await teacherHash(one)).toBe('bc20328a9bcc7fbc15e8b623a4883644ac8996dd2f65587f1845bbd30bd71970');

    const a = await saveModelBundle(CONFIG, params);
    const other = initUnetParams(UNET, 4);
    const b = await saveModelBundle(CONFIG, other);
    tf.dispose(Object.values(other));
    expect(await teacherHash(b)).not.toBe(await teacherHash(a));
    // Same weights, edited config (even only its name or provenance): another teacher.
    const renamed = await saveModelBundle({ ...CONFIG, name: 'other' }, params);
    expect(await teacherHash(renamed)).not.toBe(await teacherHash(a));
    const clipped = await saveModelBundle({ ...CONFIG, clipSample: true }, params);
    expect(await teacherHash(clipped)).not.toBe(await teacherHash(a));
    // Other metadata outside the config (none is written today) does not change it.
    const tagged = rewrite(a, (_, m) => (m.note = 'copied'));
    expect(await teacherHash(tagged)).toBe(await teacherHash(a));
    expect(await teacherIdentity(a)).toEqual({ name: 'tiny-teacher', sha256: await teacherHash(a) });
  });

  it("hashes an evaluator's tensor data only: its identity", async () => {
    // Known vectors: SHA-256 of no bytes, and of the 4 bytes of float32 1.0.
    expect(await tensorDataHash(writeSafetensors({}))).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    const one = writeSafetensors({ x: { dtype: 'F32', shape: [1], data: new Float32Array([1]) } }, { any: 'thing' });
    expect(await tensorDataHash(one)).toBe('e00e5eb9444182f352323374ef4e08ebcb784725fdd4fd612d7730540b3e0c8c');
  });

  it('reads setAlphaToOne when a config sets it, and refuses a non-boolean', async () => {
    const good = await saveModelBundle({ ...CONFIG, setAlphaToOne: true }, params);
    expect(readModelConfig(good).setAlphaToOne).toBe(true);
    const edited = rewrite(good, (_, m) => {
      m.config = JSON.stringify({ ...(JSON.parse(m.config) as ModelConfig), setAlphaToOne: 'yes' });
    });
    expectBundleError(() => loadModelBundle(edited), 'bad-config', 'config.setAlphaToOne must be true or false');
  });

  it('refuses groups that do not divide a normalised channel count, before building anything', async () => {
    const good = await saveModelBundle(CONFIG, params);
    for (const groups of [3, 7]) {
      const edited = rewrite(good, (_, m) => {
        const c = JSON.parse(m.config) as ModelConfig;
        m.config = JSON.stringify({ ...c, unet: { ...c.unet, groups } });
      });
      expectBundleError(() => loadModelBundle(edited), 'bad-config', `groups ${groups} does not divide`);
    }
  });

  it('refuses a non-finite weight, naming the tensor, before any tensor is made', async () => {
    // the built-in teacher with one NaN (and then one infinity) written into a real file
    const teacher = new Uint8Array(await readFile('public/teacher.safetensors'));
    const dir = await mkdtemp(join(tmpdir(), 'nan-bundle-'));
    for (const [name, value] of [
      ['mid.attn.qkv.w', NaN],
      ['out.conv.b', -Infinity],
    ] as const) {
      const path = join(dir, 'teacher-bad.safetensors');
      await writeFile(
        path,
        rewrite(teacher, (t) => {
          const data = Float32Array.from(t.get(name)!.data as Float32Array);
          data[5 % data.length] = value;
          t.set(name, { dtype: 'F32', shape: t.get(name)!.shape, data });
        }),
      );
      const before = tf.memory().numTensors;
      let error: unknown;
      try {
        loadModelBundle(await readFile(path));
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(NonFiniteWeightError);
      expect((error as NonFiniteWeightError).code).toBe('non-finite');
      expect((error as NonFiniteWeightError).tensor).toBe(name);
      expect((error as Error).message).toContain(`'${name}' holds ${value}`);
      expect(tf.memory().numTensors).toBe(before);
    }
    await rm(dir, { recursive: true });
  });
});
