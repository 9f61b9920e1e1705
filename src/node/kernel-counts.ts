/**
 * tfjs kernels per step, counted with `tf.profile` on the current backend: on webgpu every kernel
 * but the view-only ones (Reshape, Identity, and a same-dtype Cast) is one GPU dispatch, and each
 * dispatch costs tens of microseconds of API overhead whatever its size (docs/benchmarks.md), so
 * the count is the floor of a step's time on a GPU.
 */
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_RAPM } from '../core/rapm/config';
import { RapmTrainer, type TrajectoryBatch } from '../core/rapm/trainer';
import { MNIST_UNET, applyUnet, initUnetParams } from '../core/nn/unet';
import { gaussian } from '../core/random';
import { MNIST_TEACHER_CONFIG } from '../core/mnist-teacher-config';

const VIEW_KERNELS = new Set(['Reshape', 'Identity', 'Cast']);

export interface KernelCount {
  total: number;
  /** Kernels other than Reshape, Identity and Cast. */
  compute: number;
  /** The most frequent kernels, most frequent first. */
  top: [string, number][];
}

export async function countKernels(f: () => void): Promise<KernelCount> {
  const info = await tf.profile(f);
  // the profile also lists wrappers (customGrad forwards, fused ops' `__op` scopes) that run no kernel themselves
  const backend = tf.getBackend();
  const kernels = info.kernels.filter((k) => tf.getKernel(k.name, backend) !== undefined);
  const byName = new Map<string, number>();
  for (const k of kernels) byName.set(k.name, (byName.get(k.name) ?? 0) + 1);
  const compute = kernels.filter((k) => !VIEW_KERNELS.has(k.name)).length;
  const top = [...byName].sort((a, b) => b[1] - a[1]).slice(0, 8);
  return { total: kernels.length, compute, top };
}

/** A random MNIST-sized trajectory batch of one (benchmarks: values do not matter, shapes do). */
export function randomBatch(seed: number, slots = 4): TrajectoryBatch {
  const px = MNIST_UNET.imageSize ** 2;
  return {
    positions: gaussian(seed, (slots + 1) * px),
    deltaPositions: gaussian(seed + 1, slots * px),
    labels: Int32Array.of(seed % 10),
  };
}

/** Kernels of one UNet forward and forward+backward at batch 1, and of one default RAPM iteration (steady state). */
export async function kernelCounts(): Promise<Record<string, KernelCount>> {
  const teacher = initUnetParams(MNIST_UNET, 0);
  const x = tf.randomNormal([1, 28, 28, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
  const t = tf.tensor1d([500]);
  const labels = tf.tensor1d([3], 'int32');
  const names = Object.keys(teacher);
  const forward = await countKernels(() => {
    tf.tidy(() => applyUnet(MNIST_UNET, teacher, x, t, labels));
  });
  const forwardBackward = await countKernels(() => {
    tf.tidy(() =>
      tf.grads((...ps: tf.Tensor[]) => {
        const p = Object.fromEntries(names.map((n, i) => [n, ps[i]]));
        return tf.mean(tf.square(applyUnet(MNIST_UNET, p, x, t, labels))) as tf.Scalar;
      })(names.map((n) => teacher[n])),
    );
  });
  const geometry = { coarseTimesteps: [999, 749, 499, 249], deltaTimesteps: [968, 718, 468, 218], guidance: 2 };
  const trainer = new RapmTrainer(MNIST_TEACHER_CONFIG, teacher, geometry, DEFAULT_RAPM);
  const slots = geometry.coarseTimesteps.length;
  // iterations 1 and 2 create the Adam moments; count iteration 3
  trainer.step(randomBatch(1, slots));
  trainer.step(randomBatch(2, slots));
  const rapm = await countKernels(() => {
    trainer.step(randomBatch(3, slots));
  });
  trainer.dispose();
  tf.dispose([x, t, labels, ...Object.values(teacher)]);
  return {
    'UNet forward, batch 1': forward,
    'UNet forward+backward, batch 1': forwardBackward,
    'RAPM iteration': rapm,
  };
}

export async function printKernelCounts(): Promise<void> {
  const counts = await kernelCounts();
  console.log(`\n## tfjs kernels per step (${tf.getBackend()}; on webgpu each non-view kernel is one dispatch)\n`);
  console.log('| step | kernels | without Reshape/Identity/Cast | most frequent |');
  console.log('|---|---:|---:|---|');
  for (const [what, c] of Object.entries(counts)) {
    console.log(`| ${what} | ${c.total} | ${c.compute} | ${c.top.map(([k, n]) => `${k} ${n}`).join(', ')} |`);
  }
}
