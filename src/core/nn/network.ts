/**
 * A denoising network as everything above the layers sees it: named parameter shapes, one
 * forward function, a summary to print. This studio's UNet (unet.ts) and diffusers' UNet2DModel
 * (diffusers-unet.ts) both implement it, so sampling and checks never ask which one they hold.
 */
import type * as tf from '@tensorflow/tfjs';
import {
  applyUnet,
  unetEncoder,
  unetFlops,
  unetLargestActivation,
  unetParamShapes,
  type Params,
  type UNetConfig,
} from './unet';

export interface Network {
  /** `unet` (this studio's bundles) or `diffusers-unet2d` (a diffusers UNet2DModel). */
  readonly architecture: 'unet' | 'diffusers-unet2d';
  /** Every parameter's name and shape in tfjs layout (conv [k, k, in, out], linear [in, out]). */
  paramShapes(): Record<string, number[]>;
  /**
   * The raw model output (eps, v or x0) for NHWC inputs x, float timesteps t [B] and int32 labels
   * [B] (ignored by an unconditional network). `fixed`: parameters no gradient will be taken for.
   */
  apply(p: Params, x: tf.Tensor4D, t: tf.Tensor1D, labels: tf.Tensor1D, fixed?: (name: string) => boolean): tf.Tensor4D;
  /**
   * The encoder half (input conv, down path, mid block): one feature map per resolution level,
   * shallowest first, then the mid block's; the backbone of RAPM's discriminators. `frozen`: no
   * gradient will be taken with respect to `p` (it flows to x only).
   */
  encode(p: Params, x: tf.Tensor4D, t: tf.Tensor1D, labels: tf.Tensor1D, frozen?: boolean): tf.Tensor4D[];
  /** Channels of encode's feature maps, and the GroupNorm groups the discriminator heads use on them. */
  readonly features: { channels: number[]; groups: number };
  /** Forward FLOPs per image (convolutions, linear layers, attention matmuls). */
  flops(): number;
  /** Elements of the largest tensor one image makes in a forward pass (src/core/model-fit.ts sizes buffers with it). */
  largestActivation(): number;
  /** The architecture in a few lines, for a person. */
  describe(): string[];
}

export function unetNetwork(cfg: UNetConfig): Network {
  const levels = cfg.channelMults.map((m) => m * cfg.baseChannels);
  return {
    architecture: 'unet',
    paramShapes: () => unetParamShapes(cfg),
    apply: (p, x, t, labels, fixed) => applyUnet(cfg, p, x, t, labels, fixed),
    encode: (p, x, t, labels, frozen) => unetEncoder(cfg, p, x, t, labels, frozen),
    features: { channels: [...levels, levels[levels.length - 1]], groups: cfg.groups },
    flops: () => unetFlops(cfg),
    largestActivation: () => unetLargestActivation(cfg),
    describe: () => [
      `this studio's UNet: ${cfg.imageSize} px, ${cfg.inChannels} channel(s), ${cfg.numClasses} classes (+ null)`,
      `channels ${cfg.channelMults.map((m) => m * cfg.baseChannels).join('/')}, ${cfg.resBlocksPerLevel} res block(s) per level, ` +
        `attention at levels [${cfg.attentionLevels}], GroupNorm ${cfg.groups} groups`,
    ],
  };
}

/** Parameters (elements) of a network, from its shapes. */
export function networkParamCount(net: Network): number {
  return Object.values(net.paramShapes()).reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0);
}
