/**
 * A small class-conditional UNet for diffusion on small images, written as named parameters
 * plus a pure apply function: weights can be frozen, shared with a discriminator (the
 * encoder path), or wrapped by LoRA without touching this file.
 *
 * Layout (NHWC tensors):
 *   conv_in -> for each level: res blocks (+ self-attention) -> skip, 2x2 average pool
 *   -> mid: res, attention (when the last level has attention), res
 *   -> for each level, deepest first: concat skip, res block (+ attention), nearest 2x upsample
 *   -> GroupNorm, SiLU, conv_out.
 * Time: sinusoidal embedding -> MLP; class: one-hot x table (row `numClasses` is the null class
 * used for classifier-free guidance), added to the time embedding and injected in every res block.
 * Down/up sampling is parameter-free (pooling, nearest): it keeps the default model near
 * 75 MFLOP per image, since RAPM runs the UNet many times per batch-1 iteration.
 */
import * as tf from '@tensorflow/tfjs';
import { selfAttention } from './attention';
import { conditioning } from './conditioning';
import { conv2d, conv2dFlops } from './conv';
import { dense } from './dense';
import { groupNorm } from './group-norm';

export interface UNetConfig {
  imageSize: number;
  inChannels: number;
  baseChannels: number;
  /** Channels of level i = baseChannels * channelMults[i]; each level halves the resolution. */
  channelMults: number[];
  resBlocksPerLevel: number;
  /** Levels whose res blocks are followed by self-attention (the mid block too, for the last level). */
  attentionLevels: number[];
  numClasses: number;
  /** GroupNorm groups (capped at the channel count). */
  groups: number;
}

export type Params = Record<string, tf.Tensor>;

/** The built-in MNIST teacher's architecture: 16/32/64 channels at 28/14/7 px. */
export const MNIST_UNET: UNetConfig = {
  imageSize: 28,
  inChannels: 1,
  baseChannels: 16,
  channelMults: [1, 2, 4],
  resBlocksPerLevel: 1,
  attentionLevels: [2],
  numClasses: 10,
  groups: 8,
};

type Shapes = Record<string, number[]>;

const embedDim = (cfg: UNetConfig) => 4 * cfg.baseChannels;
const sinusoidDim = (cfg: UNetConfig) => Math.max(32, cfg.baseChannels);
const levelChannels = (cfg: UNetConfig) => cfg.channelMults.map((m) => m * cfg.baseChannels);

/**
 * The network as a list of blocks with their channel counts and resolutions: the single source
 * for parameter shapes and FLOP counts, walked in the same order as `applyUnet`.
 */
interface ResSpec {
  kind: 'res';
  name: string;
  cin: number;
  cout: number;
  size: number;
}
interface AttnSpec {
  kind: 'attn';
  name: string;
  ch: number;
  size: number;
}
type BlockSpec = ResSpec | AttnSpec;

function plan(cfg: UNetConfig): { down: BlockSpec[][]; mid: BlockSpec[]; up: BlockSpec[][] } {
  const chs = levelChannels(cfg);
  const down: BlockSpec[][] = [];
  const up: BlockSpec[][] = [];
  let ch = cfg.baseChannels;
  let size = cfg.imageSize;
  for (let i = 0; i < chs.length; i++) {
    const blocks: BlockSpec[] = [];
    for (let j = 0; j < cfg.resBlocksPerLevel; j++) {
      blocks.push({ kind: 'res', name: `down.${i}.res.${j}`, cin: ch, cout: chs[i], size });
      ch = chs[i];
      if (cfg.attentionLevels.includes(i)) blocks.push({ kind: 'attn', name: `down.${i}.attn.${j}`, ch, size });
    }
    down.push(blocks);
    if (i < chs.length - 1) size = size / 2;
  }
  const last = chs.length - 1;
  const mid: BlockSpec[] = [{ kind: 'res', name: 'mid.res.0', cin: ch, cout: ch, size }];
  if (cfg.attentionLevels.includes(last)) mid.push({ kind: 'attn', name: 'mid.attn', ch, size });
  mid.push({ kind: 'res', name: 'mid.res.1', cin: ch, cout: ch, size });
  for (let i = last; i >= 0; i--) {
    const blocks: BlockSpec[] = [];
    for (let j = 0; j < cfg.resBlocksPerLevel; j++) {
      const skip = j === 0 ? chs[i] : 0;
      blocks.push({ kind: 'res', name: `up.${i}.res.${j}`, cin: ch + skip, cout: chs[i], size });
      ch = chs[i];
      if (cfg.attentionLevels.includes(i)) blocks.push({ kind: 'attn', name: `up.${i}.attn.${j}`, ch, size });
    }
    up.push(blocks);
    if (i > 0) size = size * 2;
  }
  return { down, mid, up };
}

function validateConfig(cfg: UNetConfig): void {
  const levels = cfg.channelMults.length;
  if (levels < 1 || cfg.resBlocksPerLevel < 1)
    throw new Error('UNet config: need at least one level and one res block');
  if (cfg.imageSize % 2 ** (levels - 1) !== 0) {
    throw new Error(`UNet config: imageSize ${cfg.imageSize} is not divisible by 2^${levels - 1} (levels - 1)`);
  }
}

function resShapes(s: ResSpec, cfg: UNetConfig, out: Shapes): void {
  const n = s.name;
  out[`${n}.norm1.g`] = [s.cin];
  out[`${n}.norm1.b`] = [s.cin];
  out[`${n}.conv1.w`] = [3, 3, s.cin, s.cout];
  out[`${n}.conv1.b`] = [s.cout];
  out[`${n}.temb.w`] = [embedDim(cfg), s.cout];
  out[`${n}.temb.b`] = [s.cout];
  out[`${n}.norm2.g`] = [s.cout];
  out[`${n}.norm2.b`] = [s.cout];
  out[`${n}.conv2.w`] = [3, 3, s.cout, s.cout];
  out[`${n}.conv2.b`] = [s.cout];
  if (s.cin !== s.cout) {
    out[`${n}.skip.w`] = [1, 1, s.cin, s.cout];
    out[`${n}.skip.b`] = [s.cout];
  }
}

function attnShapes(s: AttnSpec, out: Shapes): void {
  out[`${s.name}.norm.g`] = [s.ch];
  out[`${s.name}.norm.b`] = [s.ch];
  out[`${s.name}.qkv.w`] = [s.ch, 3 * s.ch];
  out[`${s.name}.qkv.b`] = [3 * s.ch];
  out[`${s.name}.proj.w`] = [s.ch, s.ch];
  out[`${s.name}.proj.b`] = [s.ch];
}

export function unetParamShapes(cfg: UNetConfig): Shapes {
  validateConfig(cfg);
  const e = embedDim(cfg);
  const out: Shapes = {
    'time.lin1.w': [sinusoidDim(cfg), e],
    'time.lin1.b': [e],
    'time.lin2.w': [e, e],
    'time.lin2.b': [e],
    'class.emb': [cfg.numClasses + 1, e],
    'conv_in.w': [3, 3, cfg.inChannels, cfg.baseChannels],
    'conv_in.b': [cfg.baseChannels],
  };
  const { down, mid, up } = plan(cfg);
  for (const s of [...down.flat(), ...mid, ...up.flat()]) {
    if (s.kind === 'res') resShapes(s, cfg, out);
    else attnShapes(s, out);
  }
  out['out.norm.g'] = [cfg.baseChannels];
  out['out.norm.b'] = [cfg.baseChannels];
  out['out.conv.w'] = [3, 3, cfg.baseChannels, cfg.inChannels];
  out['out.conv.b'] = [cfg.inChannels];
  return out;
}

/**
 * Fresh weights: fan-in scaled normals; GroupNorm gains 1; biases 0; the last conv of every
 * residual branch and the output conv start at 0, so each block starts as the identity.
 */
export function initUnetParams(cfg: UNetConfig, seed: number): Params {
  const shapes = unetParamShapes(cfg);
  const params: Params = {};
  let k = 0;
  for (const [name, shape] of Object.entries(shapes)) {
    k++;
    if (name.endsWith('.g')) params[name] = tf.ones(shape);
    else if (name.endsWith('.b') || name.endsWith('conv2.w') || name === 'out.conv.w' || name.endsWith('proj.w')) {
      params[name] = tf.zeros(shape);
    } else {
      const fanIn = shape.slice(0, -1).reduce((a, b) => a * b, 1);
      const std = name === 'class.emb' ? 1 : 1 / Math.sqrt(fanIn);
      params[name] = tf.randomNormal(shape, 0, std, 'float32', seed * 100_003 + k);
    }
  }
  return params;
}

// ---------------------------------------------------------------------------------------------
// Layers

/**
 * What one apply call works with. `frozen`: no gradient will be taken with respect to `p` (a
 * frozen teacher under the student's loss), so layers skip their weight gradients.
 */
interface Net {
  cfg: UNetConfig;
  p: Params;
  frozen: boolean;
  /** Parameters that take no gradient although the net is not frozen (a LoRA student's teacher biases and norms). */
  fixed?: (name: string) => boolean;
}

const isFixed = (net: Net, name: string) => net.frozen || (net.fixed?.(name) ?? false);

const conv = (net: Net, name: string, x: tf.Tensor4D) => {
  const [w, b] = [isFixed(net, `${name}.w`), isFixed(net, `${name}.b`)];
  return conv2d(x, net.p[`${name}.w`] as tf.Tensor4D, {
    bias: net.p[`${name}.b`] as tf.Tensor1D,
    frozen: w && b,
    frozenBias: b && !w,
  });
};

const linear = (net: Net, name: string, x: tf.Tensor) => {
  const [w, b] = [isFixed(net, `${name}.w`), isFixed(net, `${name}.b`)];
  return dense(x as tf.Tensor2D, net.p[`${name}.w`] as tf.Tensor2D, net.p[`${name}.b`] as tf.Tensor1D, w && b, b && !w);
};

const norm = (net: Net, name: string, x: tf.Tensor4D, withSilu: boolean, shift?: tf.Tensor2D) => {
  const frozen = isFixed(net, `${name}.g`) && isFixed(net, `${name}.b`);
  return groupNorm(x, net.p[`${name}.g`], net.p[`${name}.b`], net.cfg.groups, { silu: withSilu, frozen, shift });
};

/** `embAct` is silu(emb), shared by every res block. */
function resBlock(s: ResSpec, net: Net, x: tf.Tensor4D, embAct: tf.Tensor2D): tf.Tensor4D {
  const n = s.name;
  const h = conv(net, `${n}.conv1`, norm(net, `${n}.norm1`, x, true));
  // the time embedding's projection is added to h inside the norm
  const temb = linear(net, `${n}.temb`, embAct);
  const h2 = conv(net, `${n}.conv2`, norm(net, `${n}.norm2`, h, true, temb));
  const skip = s.cin === s.cout ? x : conv(net, `${n}.skip`, x);
  return tf.add(skip, h2);
}

function attention(s: AttnSpec, net: Net, x: tf.Tensor4D): tf.Tensor4D {
  const w = (k: string) => net.p[`${s.name}.${k}`];
  const weights = {
    qkvW: w('qkv.w') as tf.Tensor2D,
    qkvB: w('qkv.b') as tf.Tensor1D,
    projW: w('proj.w') as tf.Tensor2D,
    projB: w('proj.b') as tf.Tensor1D,
  };
  return selfAttention(x, norm(net, `${s.name}.norm`, x, false), weights, net.frozen);
}

function runBlocks(blocks: BlockSpec[], net: Net, x: tf.Tensor4D, embAct: tf.Tensor2D): tf.Tensor4D {
  for (const s of blocks) x = s.kind === 'res' ? resBlock(s, net, x, embAct) : attention(s, net, x);
  return x;
}

function embedding(net: Net, t: tf.Tensor1D, labels: tf.Tensor1D): tf.Tensor2D {
  const { p } = net;
  const weights = {
    w1: p['time.lin1.w'] as tf.Tensor2D,
    b1: p['time.lin1.b'] as tf.Tensor1D,
    w2: p['time.lin2.w'] as tf.Tensor2D,
    b2: p['time.lin2.b'] as tf.Tensor1D,
    table: p['class.emb'] as tf.Tensor2D,
  };
  return conditioning(t, labels, weights, net.frozen);
}

const avgPool2 = (x: tf.Tensor4D) => tf.avgPool(x, 2, 2, 'valid') as tf.Tensor4D;
const upsample2 = (x: tf.Tensor4D) => tf.image.resizeNearestNeighbor(x, [x.shape[1] * 2, x.shape[2] * 2]);

interface Encoded {
  /** Output of each level before pooling, shallowest first. */
  skips: tf.Tensor4D[];
  mid: tf.Tensor4D;
  /** silu of the conditioning embedding, the input of every res block's projection. */
  embAct: tf.Tensor2D;
}

function encode(net: Net, x: tf.Tensor4D, t: tf.Tensor1D, labels: tf.Tensor1D): Encoded {
  const { down, mid } = plan(net.cfg);
  const embAct = embedding(net, t, labels);
  let h = conv(net, 'conv_in', x);
  const skips: tf.Tensor4D[] = [];
  down.forEach((blocks, i) => {
    h = runBlocks(blocks, net, h, embAct);
    skips.push(h);
    if (i < down.length - 1) h = avgPool2(h);
  });
  return { skips, mid: runBlocks(mid, net, h, embAct), embAct };
}

/**
 * The encoder half (conv_in, down path, mid block) at (x, t, labels): multi-scale features
 * [level 0 .. level L-1, mid], the backbone of RAPM's discriminators. `frozen`: gradients will
 * flow to x only, never to `p` (the teacher under the student's adversarial loss).
 */
export function unetEncoder(
  cfg: UNetConfig,
  p: Params,
  x: tf.Tensor4D,
  t: tf.Tensor1D,
  labels: tf.Tensor1D,
  frozen = false,
): tf.Tensor4D[] {
  const { skips, mid } = encode({ cfg, p, frozen }, x, t, labels);
  return [...skips, mid];
}

/**
 * The model output (epsilon or v, per the bundle's config) for a batch of noisy inputs. `fixed`:
 * parameters no gradient will be taken for (a LoRA student's teacher biases and norms); their
 * layers skip those gradients (GroupNorm's affine, conv and linear biases).
 */
export function applyUnet(
  cfg: UNetConfig,
  p: Params,
  x: tf.Tensor4D,
  t: tf.Tensor1D,
  labels: tf.Tensor1D,
  fixed?: (name: string) => boolean,
): tf.Tensor4D {
  const net: Net = { cfg, p, frozen: false, fixed };
  const { up } = plan(cfg);
  const { skips, mid, embAct } = encode(net, x, t, labels);
  let h = mid;
  up.forEach((blocks, k) => {
    const level = up.length - 1 - k;
    h = tf.concat([h, skips[level]], 3) as tf.Tensor4D;
    h = runBlocks(blocks, net, h, embAct);
    if (level > 0) h = upsample2(h);
  });
  return conv(net, 'out.conv', norm(net, 'out.norm', h, true));
}

function blockFlops(s: BlockSpec): number {
  if (s.kind === 'attn') {
    const n = s.size * s.size;
    return 2 * n * s.ch * 4 * s.ch + 2 * 2 * n * n * s.ch; // qkv + proj, scores + weighted sum
  }
  let f = conv2dFlops(1, s.size, s.size, 3, s.cin, s.cout) + conv2dFlops(1, s.size, s.size, 3, s.cout, s.cout);
  if (s.cin !== s.cout) f += conv2dFlops(1, s.size, s.size, 1, s.cin, s.cout);
  return f;
}

const sumFlops = (blocks: BlockSpec[]) => blocks.reduce((a, s) => a + blockFlops(s), 0);

/** Forward FLOPs per image (convolutions, linear layers and attention matmuls; norms and activations omitted). */
export function unetFlops(cfg: UNetConfig): number {
  const { up } = plan(cfg);
  const convOut = conv2dFlops(1, cfg.imageSize, cfg.imageSize, 3, cfg.baseChannels, cfg.inChannels);
  return unetEncoderFlops(cfg) + sumFlops(up.flat()) + convOut;
}

/** Forward FLOPs per image of the encoder half (conv_in, down path, mid): the discriminators' backbone. */
export function unetEncoderFlops(cfg: UNetConfig): number {
  const { down, mid } = plan(cfg);
  const convIn = conv2dFlops(1, cfg.imageSize, cfg.imageSize, 3, cfg.inChannels, cfg.baseChannels);
  return convIn + sumFlops(down.flat()) + sumFlops(mid);
}

/** Elements of the largest tensor one image makes in a forward pass (an activation, a skip concat or an attention map). */
export function unetLargestActivation(cfg: UNetConfig): number {
  const { down, mid, up } = plan(cfg);
  let most = cfg.imageSize ** 2 * Math.max(cfg.inChannels, cfg.baseChannels);
  for (const s of [...down.flat(), ...mid, ...up.flat()]) {
    most = Math.max(
      most,
      s.kind === 'res' ? s.size ** 2 * Math.max(s.cin, s.cout) : Math.max(s.size ** 4, s.size ** 2 * 3 * s.ch),
    );
  }
  return most;
}

export function paramCount(params: Params): number {
  return Object.values(params).reduce((a, t) => a + t.size, 0);
}
