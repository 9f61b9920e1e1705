/** The built-in MNIST teacher's model config (what `npm run teacher:train` trains). */
import type { ModelConfig } from './model-config';
import { MNIST_UNET } from './nn/unet';

/**
 * Pixel-space MNIST teacher: linear betas 1e-4..0.02 with epsilon prediction (DDPM's setting
 * for pixel data). scaled_linear (the latent-diffusion schedule) ends at abar = 0.0047, leaving
 * 7% of the signal at t = 999, so samplers that start from pure noise begin off-distribution.
 * clipSample: see ModelConfig; measured in docs/results.md.
 */
export const MNIST_TEACHER_CONFIG: ModelConfig = {
  name: 'mnist-teacher',
  architecture: 'unet',
  unet: MNIST_UNET,
  schedule: { kind: 'linear', betaStart: 1e-4, betaEnd: 0.02, trainSteps: 1000 },
  prediction: 'epsilon',
  data: { channels: 1, height: 28, width: 28, range: [-1, 1] },
  numClasses: 10,
  clipSample: true,
};
