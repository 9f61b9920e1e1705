/**
 * A loaded model, whatever file family it came from: what it samples with (SamplingConfig), its
 * network and its parameters. Our bundles (io/bundle.ts) and diffusers UNet2DModel folders
 * (diffusers/folder.ts) both load into it; samplers and checks take it without asking which.
 */
import type { ModelBundle } from './io/bundle';
import type { AnyModelConfig } from './model-config';
import { diffusersUnetNetwork } from './nn/diffusers-unet';
import { unetNetwork, type Network } from './nn/network';
import type { Params } from './nn/unet';

export interface DiffusionModel {
  /** `rapm-studio/model` (this studio's bundle) or `diffusers` (a UNet2DModel folder). */
  format: 'rapm-studio/model' | 'diffusers';
  /** What it samples with, and the architecture its network is built from. */
  sampling: AnyModelConfig;
  network: Network;
  /** Owned by whoever loaded the model. */
  params: Params;
}

export function bundleModel(bundle: ModelBundle): DiffusionModel {
  return {
    format: 'rapm-studio/model',
    sampling: bundle.config,
    network: unetNetwork(bundle.config.unet),
    params: bundle.params,
  };
}

/** The network of either family's config. */
export function modelNetwork(config: AnyModelConfig): Network {
  return config.architecture === 'diffusers-unet2d' ? diffusersUnetNetwork(config.diffusers) : unetNetwork(config.unet);
}
