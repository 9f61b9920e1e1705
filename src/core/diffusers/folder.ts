/**
 * A diffusers UNet2DModel folder: config.json + diffusion_pytorch_model.safetensors, with the
 * scheduler's scheduler_config.json beside them (diffusers' pipeline layout puts it in a sibling
 * `scheduler/` folder; either way the three files are handed over here). Reading the configs is
 * cheap; loading also checks and decodes the weights.
 */
import { DiffusersError } from '../io/errors';
import type { DiffusionModel } from '../model';
import type { DiffusersModelConfig } from '../model-config';
import { diffusersUnetNetwork, type DiffusersUNetConfig } from '../nn/diffusers-unet';
import { CONFIG_FILE, parseUnetConfig } from './config';
import { parseSchedulerConfig, SCHEDULER_FILE, type DiffusersScheduler } from './scheduler';
import { loadDiffusersWeights } from './weights';

export interface DiffusersFiles {
  config: string | Uint8Array;
  scheduler: string | Uint8Array;
  weights: Uint8Array | ArrayBuffer;
}

export interface DiffusersConfigs {
  /** config.json's text as read (an export writes it back unchanged). */
  configText: string;
  unet: DiffusersUNetConfig;
  scheduler: DiffusersScheduler;
  sampling: DiffusersModelConfig;
}

export interface DiffusersModel extends DiffusionModel, DiffusersConfigs {
  format: 'diffusers';
  sampling: DiffusersModelConfig;
}

function text(file: string, v: string | Uint8Array): string {
  if (typeof v === 'string') return v;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(v);
  } catch (e) {
    throw new DiffusersError('not-json', file, 'is not UTF-8 text', { cause: e });
  }
}

/** Both configs parsed and checked, and what the DDIM samples with (no weights read). */
export function readDiffusersConfigs(
  files: Pick<DiffusersFiles, 'config' | 'scheduler'>,
  name = 'diffusers-unet2d',
): DiffusersConfigs {
  const configText = text(CONFIG_FILE, files.config);
  const unet = parseUnetConfig(configText);
  const scheduler = parseSchedulerConfig(text(SCHEDULER_FILE, files.scheduler));
  const [height, width] = unet.sampleSize;
  const sampling: DiffusersModelConfig = {
    name,
    architecture: 'diffusers-unet2d',
    diffusers: unet,
    schedule: scheduler.schedule,
    prediction: scheduler.prediction,
    data: { channels: unet.inChannels, height, width, range: [-1, 1] },
    numClasses: unet.numClassEmbeds ?? 0,
    clipSample: scheduler.clipSample,
    setAlphaToOne: scheduler.setAlphaToOne,
    ...(scheduler.studentTimesteps ? { studentTimesteps: scheduler.studentTimesteps } : {}),
  };
  return { configText, unet, scheduler, sampling };
}

/** The configs, then the weights checked against them and decoded (fresh tensors, owned by the caller). */
export function loadDiffusersModel(files: DiffusersFiles, name?: string): DiffusersModel {
  const configs = readDiffusersConfigs(files, name);
  const params = loadDiffusersWeights(files.weights, configs.unet);
  return { format: 'diffusers', ...configs, network: diffusersUnetNetwork(configs.unet), params };
}
