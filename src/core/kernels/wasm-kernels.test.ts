import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { applyUnet, initUnetParams } from '../nn/unet';
import { TINY_ATTENTION, tinyUnetConfig } from '../tiny-model-config';
import { installWasmKernels } from './wasm-kernels';

/**
 * Each replaced kernel against tfjs's reference cpu backend on the same random inputs, including
 * the cases that fall back to the original kernels. The tests run on wasm (src/node/test-setup.ts),
 * whose backend setup installs the replacements.
 */
type Fn = (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[];

/** f on wasm, and `ref` (by default f itself) on the cpu backend. */
async function onBoth(inputs: tf.Tensor[], f: Fn, ref: Fn) {
  const values = await Promise.all(inputs.map((t) => t.array()));
  const run = async (fn: Fn) => {
    const xs = inputs.map((t, i) => tf.tensor(values[i] as number[], t.shape, t.dtype));
    const out = [fn(...xs)].flat();
    const arrays = await Promise.all(out.map((t) => t.array()));
    const shapes = out.map((t) => t.shape);
    tf.dispose([...xs, ...out]);
    return { arrays, shapes };
  };
  expect(tf.getBackend()).toBe('wasm');
  const wasm = await run(f);
  await tf.setBackend('cpu');
  try {
    return { wasm, cpu: await run(ref) };
  } finally {
    await tf.setBackend('wasm');
  }
}

async function expectSame(inputs: tf.Tensor[], f: Fn, ref: Fn = f, tol = 1e-4) {
  const { wasm, cpu } = await onBoth(inputs, f, ref);
  expect(wasm.shapes).toEqual(cpu.shapes);
  wasm.arrays.forEach((a, i) => {
    const x = tf.tensor(a as number[]);
    const y = tf.tensor(cpu.arrays[i] as number[]);
    const scale = Math.max(1, tf.max(tf.abs(y)).dataSync()[0]);
    expect(tf.max(tf.abs(tf.sub(x, y))).dataSync()[0] / scale, `output ${i}`).toBeLessThan(tol);
    tf.dispose([x, y]);
  });
  tf.dispose(inputs);
}

const rand = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);

describe('wasm kernel replacements', () => {
  it('is idempotent', () => {
    const before = tf.getKernel('BatchMatMul', 'wasm');
    installWasmKernels();
    expect(tf.getKernel('BatchMatMul', 'wasm')).toBe(before);
  });

  for (const [ta, tb] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ]) {
    it(`matMul matches, 2-D and batched, transposeA ${ta} transposeB ${tb}`, async () => {
      const sa = (b: number[]) => (ta ? [...b, 5, 3] : [...b, 3, 5]);
      const sb = (b: number[]) => (tb ? [...b, 4, 5] : [...b, 5, 4]);
      await expectSame([rand(sa([]), 1), rand(sb([]), 2)], (a, b) => tf.matMul(a, b, ta, tb));
      await expectSame([rand(sa([6]), 3), rand(sb([6]), 4)], (a, b) => tf.matMul(a, b, ta, tb));
      await expectSame([rand(sa([2, 3]), 5), rand(sb([2, 3]), 6)], (a, b) => tf.matMul(a, b, ta, tb));
      // one side's batch broadcast
      await expectSame([rand(sa([6]), 7), rand(sb([1]), 8)], (a, b) => tf.matMul(a, b, ta, tb));
      await expectSame([rand(sa([1]), 9), rand(sb([6]), 10)], (a, b) => tf.matMul(a, b, ta, tb));
      await expectSame([rand(sa([6]), 11), rand(sb([]), 12)], (a, b) => tf.matMul(a, b, ta, tb));
    });
  }

  it('slice matches: contiguous (the packed-Adam unpacking) and strided, float32 and int32, views of views', async () => {
    await expectSame([rand([1000], 1)], (x) => [x.slice([0], [10]), x.slice([990], [10]), x.slice([123], [0])]);
    await expectSame([rand([6, 4, 5], 2)], (x) => [x.slice([2], [3]), x.slice([1, 0, 0], [1, 4, 5])]);
    // strided: not contiguous, so the original kernel runs
    await expectSame([rand([6, 4, 5], 3)], (x) => [x.slice([1, 1, 2], [3, 2, 2]), x.slice([0, 0, 1], [6, 4, 3])]);
    await expectSame([tf.range(0, 60, 1, 'int32').reshape([6, 10])], (x) => x.slice([2, 0], [2, 10]));
    await expectSame([rand([100], 4)], (x) => x.slice([10], [50]).reshape([5, 10]).slice([1], [2]));
    await expectSame([rand([8, 3], 5), rand([2, 3], 6)], (x, dy) =>
      tf.grad((v: tf.Tensor) => v.slice([3], [2]))(x, dy),
    );
  });

  it('matMul gradients match (the transposed products of the backward pass)', async () => {
    await expectSame([rand([4, 7, 3], 1), rand([4, 3, 5], 2), rand([4, 7, 5], 3)], (a, b, dy) =>
      tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y))([a, b], dy),
    );
  });

  it('sum matches over leading axes, with and without keepDims, and falls back elsewhere', async () => {
    const x = () => rand([3, 4, 5, 6], 4);
    for (const axis of [0, [0, 1], [0, 1, 2], [1, 0], [1], [1, 2], [-1], [0, 1, 2, 3], [0, 2]]) {
      for (const keepDims of [false, true]) await expectSame([x()], (t) => tf.sum(t, axis, keepDims));
    }
    await expectSame([tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32')], (t) => tf.sum(t, 0));
  });

  it("nearest 2x upsampling's gradient matches, and other resizes fall back", async () => {
    const grad = (size: [number, number], alignCorners: boolean) => (x: tf.Tensor, dy: tf.Tensor) =>
      tf.grad((t: tf.Tensor) => tf.image.resizeNearestNeighbor(t as tf.Tensor4D, size, alignCorners))(x, dy);
    // The cpu backend's own kernel for this gradient mixes up the batch (tfjs 4.22), so the
    // reference is the definition: each input pixel collects the 2x2 block it was copied to.
    const blockSums = (_x: tf.Tensor, dy: tf.Tensor) => tf.sum(dy.reshape([2, 3, 2, 4, 2, 5]), [2, 4]);
    await expectSame([rand([2, 3, 4, 5], 1), rand([2, 6, 8, 5], 2)], grad([6, 8], false), blockSums);
    // fallbacks, checked at batch 1 where the cpu reference is right
    await expectSame([rand([1, 3, 4, 5], 1), rand([1, 9, 12, 5], 2)], grad([9, 12], false));
    await expectSame([rand([1, 3, 4, 5], 1), rand([1, 6, 8, 5], 2)], grad([6, 8], true));
  });

  it("2x2 average pooling's gradient matches, and other pools fall back", async () => {
    const grad = (k: number, s: number) => (x: tf.Tensor, dy: tf.Tensor) =>
      tf.grad((t: tf.Tensor) => tf.avgPool(t as tf.Tensor4D, k, s, 'valid'))(x, dy);
    await expectSame([rand([2, 6, 8, 3], 1), rand([2, 3, 4, 3], 2)], grad(2, 2));
    await expectSame([rand([2, 6, 8, 3], 1), rand([2, 2, 2, 3], 2)], grad(3, 3));
  });

  it('reverse matches over leading axes and falls back elsewhere', async () => {
    for (const axes of [[0], [0, 1], [1], [1, 2], [0, 2], [-1]]) {
      await expectSame([rand([3, 3, 4, 5], 1)], (t) => tf.reverse(t, axes));
    }
  });

  it('identity shares data safely: the source can be disposed, and tensor counts stay flat', () => {
    const before = tf.memory().numTensors;
    const x = tf.tensor1d([1, 2, 3]);
    const y = tf.clone(x);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3]);
    y.dispose();
    const z = tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(tf.matMul(t, t, false, true)))(tf.ones([3, 3])));
    z.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a whole UNet forward and backward (attention, pooling, upsampling, norms) matches the cpu backend', async () => {
    const cfg = tinyUnetConfig(10, TINY_ATTENTION);
    const params = initUnetParams(cfg, 0);
    const names = Object.keys(params);
    // Noise on every weight, so the zero-initialised branches carry gradient too.
    const weights = names.map((n, i) => tf.add(params[n], tf.randomNormal(params[n].shape, 0, 0.1, 'float32', i)));
    tf.dispose(Object.values(params));
    const t = tf.tensor1d([300]);
    const labels = tf.tensor1d([4], 'int32');
    // Batch 1: the cpu backend's upsampling gradient is wrong for larger batches (see above).
    const x = rand([1, 8, 8, 1], 5);
    const f = (xx: tf.Tensor, ...ws: tf.Tensor[]) => {
      const run = (a: tf.Tensor, ...b: tf.Tensor[]) => {
        const p = Object.fromEntries(names.map((n, i) => [n, b[i]]));
        return tf.mean(tf.square(applyUnet(cfg, p, a as tf.Tensor4D, t, labels).sub(0.5))) as tf.Scalar;
      };
      const { value, grads } = tf.valueAndGrads(run)([xx, ...ws]);
      return [value, ...grads];
    };
    await expectSame([x, ...weights], f, f, 1e-3);
    tf.dispose([t, labels]);
  });
});
