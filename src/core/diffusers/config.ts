/**
 * A diffusers UNet2DModel's config.json (diffusers 0.25) -> DiffusersUNetConfig, or a
 * DiffusersError naming the field and value this studio cannot run. Every field of
 * UNet2DModel.__init__ is declared below with diffusers' default; docs/model-format.md lists
 * what is supported.
 */
import { LIMITS } from '../io/limits';
import type { DiffusersUNetConfig, DownBlockType, UpBlockType } from '../nn/diffusers-unet';
import { diffusersUnetParamShapes } from '../nn/diffusers-unet';
import { choice, readConfigFile, type ConfigFile } from './fields';
import { CONFIG_FILE } from './layout';

export { CONFIG_FILE };

/** UNet2DModel.__init__'s arguments and defaults, diffusers 0.25.0. */
export const UNET2D_DEFAULTS: Record<string, unknown> = {
  sample_size: null,
  in_channels: 3,
  out_channels: 3,
  center_input_sample: false,
  time_embedding_type: 'positional',
  freq_shift: 0,
  flip_sin_to_cos: true,
  down_block_types: ['DownBlock2D', 'AttnDownBlock2D', 'AttnDownBlock2D', 'AttnDownBlock2D'],
  up_block_types: ['AttnUpBlock2D', 'AttnUpBlock2D', 'AttnUpBlock2D', 'UpBlock2D'],
  block_out_channels: [224, 448, 672, 896],
  layers_per_block: 2,
  mid_block_scale_factor: 1,
  downsample_padding: 1,
  downsample_type: 'conv',
  upsample_type: 'conv',
  dropout: 0,
  act_fn: 'silu',
  attention_head_dim: 8,
  norm_num_groups: 32,
  attn_norm_num_groups: null,
  norm_eps: 1e-5,
  resnet_time_scale_shift: 'default',
  add_attention: true,
  class_embed_type: null,
  num_class_embeds: null,
  num_train_timesteps: null,
};

const DOWN_BLOCKS: readonly DownBlockType[] = ['DownBlock2D', 'AttnDownBlock2D'];
const UP_BLOCKS: readonly UpBlockType[] = ['UpBlock2D', 'AttnUpBlock2D'];

function blockTypes<T extends string>(cfg: ConfigFile, field: string, supported: readonly T[], levels: number): T[] {
  const c = cfg.check(field);
  const types = c.array(cfg.get(field), field, (v, path) => c.string(v, path));
  if (types.length !== levels) {
    throw cfg.invalid(field, `${types.length} block types for ${levels} entries of block_out_channels`);
  }
  const bad = types.findIndex((t) => !supported.includes(t as T));
  if (bad >= 0) {
    throw cfg.unsupported(
      field,
      `block ${bad} is '${types[bad]}'; this studio builds ${supported.map((s) => `'${s}'`).join(' and ')} only`,
    );
  }
  return types as T[];
}

function sampleSize(cfg: ConfigFile): [number, number] {
  const v = cfg.get('sample_size');
  const c = cfg.check('sample_size');
  if (v === null)
    throw cfg.invalid('sample_size', 'the image size is needed to build the network (an integer or [height, width])');
  if (Array.isArray(v)) {
    const hw = c.array(v, 'sample_size', (x, p) => c.int(x, p, 1, 'imageSize'));
    if (hw.length !== 2) throw cfg.invalid('sample_size', 'must be an integer or [height, width]');
    return [hw[0], hw[1]];
  }
  const s = c.int(v, 'sample_size', 1, 'imageSize');
  return [s, s];
}

/** Positive integer or null. */
function optionalInt(cfg: ConfigFile, field: string, max: number | keyof typeof LIMITS): number | null {
  const v = cfg.get(field);
  return v === null ? null : cfg.check(field).int(v, field, 1, max);
}

/** Parses and checks config.json's text. */
export function parseUnetConfig(text: string): DiffusersUNetConfig {
  const cfg = readConfigFile(CONFIG_FILE, text, UNET2D_DEFAULTS);
  const className = cfg.raw._class_name;
  if (className !== undefined && className !== 'UNet2DModel') {
    throw cfg.unsupported(
      '_class_name',
      `this studio runs diffusers' UNet2DModel (pixel-space, optionally class-conditional) only`,
    );
  }
  const int = (field: string, min: number, max: number | keyof typeof LIMITS) =>
    cfg.check(field).int(cfg.get(field), field, min, max);
  const num = (field: string) => cfg.check(field).number(cfg.get(field), field);
  const bool = (field: string) => cfg.check(field).boolean(cfg.get(field), field);

  const c = cfg.check('block_out_channels');
  const blockOutChannels = c.array(
    cfg.get('block_out_channels'),
    'block_out_channels',
    (v, p) => c.int(v, p, 1, 'baseChannels'),
    'levels',
  );
  if (blockOutChannels.length === 0) throw cfg.invalid('block_out_channels', 'needs at least one level');
  const levels = blockOutChannels.length;
  const downBlockTypes = blockTypes(cfg, 'down_block_types', DOWN_BLOCKS, levels);
  const upBlockTypes = blockTypes(cfg, 'up_block_types', UP_BLOCKS, levels);

  const inChannels = int('in_channels', 1, 'dataChannels');
  const outChannels = int('out_channels', 1, 'dataChannels');
  if (outChannels !== inChannels) {
    throw cfg.unsupported(
      'out_channels',
      `differs from in_channels ${inChannels}: a model that also outputs variances (learned variance) is not supported`,
    );
  }
  const [height, width] = sampleSize(cfg);
  const step = 2 ** (levels - 1);
  if (height % step !== 0 || width % step !== 0) {
    throw cfg.invalid(
      'sample_size',
      `${height}x${width} is not divisible by 2^${levels - 1} (one halving per level after the first)`,
    );
  }

  choice(cfg, 'time_embedding_type', ['positional'] as const, {
    fourier:
      "Gaussian Fourier features of log(sigma) belong to score-SDE (VE) models, which DDIM's schedule does not describe",
    learned: 'a learned table of timestep embeddings is not supported',
  });
  choice(cfg, 'act_fn', ['silu', 'swish'] as const);
  const downsamplePadding = int('downsample_padding', 0, 1) as 0 | 1;
  // The resample types only change AttnDown/AttnUp blocks that resample (diffusers' get_down_block / get_up_block).
  if (downBlockTypes.some((t, i) => t === 'AttnDownBlock2D' && i < levels - 1)) {
    choice(cfg, 'downsample_type', ['conv'] as const, { resnet: 'a resnet downsampler is not supported' });
  }
  if (upBlockTypes.some((t, i) => t === 'AttnUpBlock2D' && i < levels - 1)) {
    choice(cfg, 'upsample_type', ['conv'] as const, { resnet: 'a resnet upsampler is not supported' });
  }
  const dropout = num('dropout');
  if (dropout < 0 || dropout >= 1) throw cfg.invalid('dropout', 'must be in [0, 1)');
  const resnetTimeScaleShift = choice(cfg, 'resnet_time_scale_shift', ['default', 'scale_shift'] as const, {
    ada_group: 'adaptive group norm is not supported',
    spatial: 'spatial norm is not supported',
  });
  if (cfg.get('class_embed_type') !== null) {
    throw cfg.unsupported(
      'class_embed_type',
      'only the default (an embedding table of num_class_embeds rows) is supported',
    );
  }
  const midBlockScaleFactor = num('mid_block_scale_factor');
  if (!(midBlockScaleFactor > 0)) throw cfg.invalid('mid_block_scale_factor', 'must be positive');
  const normEps = num('norm_eps');
  if (!(normEps > 0)) throw cfg.invalid('norm_eps', 'must be positive');
  if (cfg.get('norm_num_groups') === null) {
    throw cfg.unsupported('norm_num_groups', 'null is not supported: give the GroupNorm group count');
  }
  const vt = cfg.get('num_train_timesteps');
  if (vt !== null) cfg.check('num_train_timesteps').int(vt, 'num_train_timesteps', 1, 'trainSteps');

  const unet: DiffusersUNetConfig = {
    sampleSize: [height, width],
    inChannels,
    outChannels,
    centerInputSample: bool('center_input_sample'),
    flipSinToCos: bool('flip_sin_to_cos'),
    freqShift: num('freq_shift'),
    downBlockTypes,
    upBlockTypes,
    blockOutChannels,
    layersPerBlock: int('layers_per_block', 1, 'resBlocksPerLevel'),
    midBlockScaleFactor,
    downsamplePadding,
    attentionHeadDim: optionalInt(cfg, 'attention_head_dim', 'baseChannels'),
    normNumGroups: int('norm_num_groups', 1, 'groups'),
    attnNormNumGroups: optionalInt(cfg, 'attn_norm_num_groups', 'groups'),
    normEps,
    resnetTimeScaleShift,
    addAttention: bool('add_attention'),
    numClassEmbeds: optionalInt(cfg, 'num_class_embeds', 'classes'),
  };
  const half = Math.floor(blockOutChannels[0] / 2);
  if (half - unet.freqShift === 0)
    throw cfg.invalid('freq_shift', `divides by half the sinusoid's size minus it, ${half} - ${unet.freqShift} = 0`);
  checkDivisibility(cfg, unet);
  return unet;
}

/** GroupNorm groups and attention heads must split their channels evenly (PyTorch refuses otherwise). */
function checkDivisibility(cfg: ConfigFile, unet: DiffusersUNetConfig): void {
  const attnChannels = new Set<number>();
  unet.downBlockTypes.forEach((t, i) => t === 'AttnDownBlock2D' && attnChannels.add(unet.blockOutChannels[i]));
  unet.upBlockTypes.forEach(
    (t, i) => t === 'AttnUpBlock2D' && attnChannels.add(unet.blockOutChannels[unet.blockOutChannels.length - 1 - i]),
  );
  const last = unet.blockOutChannels[unet.blockOutChannels.length - 1];
  if (unet.addAttention) attnChannels.add(last);
  if (unet.attentionHeadDim !== null) {
    const d = unet.attentionHeadDim;
    const bad = [...attnChannels].find((ch) => ch % d !== 0);
    if (bad !== undefined) {
      throw cfg.unsupported(
        'attention_head_dim',
        `does not divide the ${bad} channels of an attention block into whole heads`,
      );
    }
  }
  if (unet.attnNormNumGroups !== null && unet.addAttention && last % unet.attnNormNumGroups !== 0) {
    throw cfg.invalid('attn_norm_num_groups', `does not divide the mid block's ${last} channels`);
  }
  for (const [name, [channels]] of Object.entries(diffusersUnetParamShapes(unet))) {
    const isNorm =
      /(norm1|norm2|conv_norm_out)\.weight$/.test(name) ||
      (/group_norm\.weight$/.test(name) && !name.startsWith('mid_block'));
    if (isNorm && channels % unet.normNumGroups !== 0) {
      throw cfg.invalid('norm_num_groups', `does not divide the ${channels} channels normalised by '${name}'`);
    }
  }
}
