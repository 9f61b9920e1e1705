/**
 * The tiny UNet teacher that unit tests, the e2e fixtures (scripts/make-e2e-fixtures.ts) and the
 * kernel diagnostics page build on: 8x8 one-channel images, two levels, no attention unless asked
 * (`TINY_ATTENTION` asks). Small enough that a RAPM iteration takes milliseconds on wasm.
 * Tests that need another size or channel count pass overrides here rather than spell a UNet out.
 */
import type { ModelConfig } from './model-config';
import type { UNetConfig } from './nn/unet';

type UNetOverrides = Partial<Omit<UNetConfig, 'numClasses'>>;

/** Self-attention after the second level's res blocks (and in the mid block), so the attention path runs. */
export const TINY_ATTENTION: UNetOverrides = { attentionLevels: [1] };

export function tinyUnetConfig(numClasses: number, unet: UNetOverrides = {}): UNetConfig {
  return {
    imageSize: 8,
    inChannels: 1,
    baseChannels: 8,
    channelMults: [1, 2],
    resBlocksPerLevel: 1,
    attentionLevels: [],
    numClasses,
    groups: 4,
    ...unet,
  };
}

export function tinyModelConfig(name: string, numClasses: number, unet: UNetOverrides = {}): ModelConfig {
  const u = tinyUnetConfig(numClasses, unet);
  return {
    name,
    architecture: 'unet',
    unet: u,
    schedule: { kind: 'linear', betaStart: 1e-4, betaEnd: 0.02, trainSteps: 1000 },
    prediction: 'epsilon',
    data: { channels: u.inChannels, height: u.imageSize, width: u.imageSize, range: [-1, 1] },
    numClasses,
  };
}
