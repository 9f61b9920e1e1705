/**
 * diffusers' UNet2DModel (diffusers 0.25, `models/unet_2d.py`), built from its config: the
 * architecture of the DDPM checkpoints and of diffusers' unconditional-training example. Same
 * numerics as diffusers (tested against it: src/core/diffusers/diffusers-golden.test.ts), written
 * with this studio's layers (conv2d, dense, groupNorm, selfAttention, embedConditioning), so the
 * fused WebGPU kernels and the wasm gradients apply to it as to our own UNet.
 *
 * Parameter names are diffusers' state-dict names (`down_blocks.0.resnets.0.conv1.weight`), in
 * tfjs layout: conv kernels [k, k, in, out], linear weights [in, out] (src/core/diffusers/weights.ts
 * converts). Tensors are NHWC.
 *
 *   x -> (2x - 1 if center_input_sample) -> conv_in
 *     -> down blocks: layers_per_block x (ResnetBlock2D [+ attention]), then a stride-2 conv
 *        (not after the last); every output is kept for the skips
 *     -> mid: resnet, attention (add_attention), resnet
 *     -> up blocks: (layers_per_block + 1) x (concat a skip, ResnetBlock2D [+ attention]), then
 *        nearest 2x + conv (not after the last)
 *     -> GroupNorm, SiLU, conv_out
 * Time: sinusoid (flip_sin_to_cos, freq_shift) -> linear, SiLU, linear; + class_embedding[label].
 */
import * as tf from '@tensorflow/tfjs';
import { selfAttention } from './attention';
import { embedConditioning } from './conditioning';
import { conv2d, conv2dFlops } from './conv';
import { dense } from './dense';
import { groupNorm, silu } from './group-norm';
import type { Network } from './network';
import type { Params } from './unet';

export type DownBlockType = 'DownBlock2D' | 'AttnDownBlock2D';
export type UpBlockType = 'UpBlock2D' | 'AttnUpBlock2D';

/** The UNet2DModel settings this studio runs (src/core/diffusers/config.ts parses config.json into it). */
export interface DiffusersUNetConfig {
  /** [height, width] of a sample. */
  sampleSize: [number, number];
  inChannels: number;
  outChannels: number;
  centerInputSample: boolean;
  flipSinToCos: boolean;
  freqShift: number;
  downBlockTypes: DownBlockType[];
  upBlockTypes: UpBlockType[];
  blockOutChannels: number[];
  layersPerBlock: number;
  midBlockScaleFactor: number;
  /** 1: symmetric padding of the stride-2 conv; 0: one row and column of zeros after the input. */
  downsamplePadding: 0 | 1;
  /** Channels per attention head; null: one head over all channels. */
  attentionHeadDim: number | null;
  normNumGroups: number;
  /** Groups of the mid attention's GroupNorm; null: normNumGroups with `default` shift, no norm with `scale_shift`. */
  attnNormNumGroups: number | null;
  normEps: number;
  resnetTimeScaleShift: 'default' | 'scale_shift';
  /** The mid block's attention. */
  addAttention: boolean;
  /** Rows of the class embedding; null: unconditional. */
  numClassEmbeds: number | null;
}

interface ResOp {
  kind: 'res';
  name: string;
  cin: number;
  cout: number;
  h: number;
  w: number;
  outScale: number;
}
interface AttnOp {
  kind: 'attn';
  name: string;
  ch: number;
  heads: number;
  /** GroupNorm groups before q, k, v; null: none. */
  groups: number | null;
  h: number;
  w: number;
  outScale: number;
}
/** A stride-2 conv (`down`) or nearest 2x then conv (`up`); h, w: the input's size. */
interface ResampleOp {
  kind: 'down' | 'up';
  name: string;
  ch: number;
  h: number;
  w: number;
}
/** `push`: keep h for a skip; `pop`: concatenate the last kept skip to h's channels. */
type SkipOp = { kind: 'push' } | { kind: 'pop' };
type Op = ResOp | AttnOp | ResampleOp | SkipOp;

export const timeEmbedDim = (cfg: DiffusersUNetConfig) => 4 * cfg.blockOutChannels[0];
const headsFor = (cfg: DiffusersUNetConfig, ch: number) => ch / (cfg.attentionHeadDim ?? ch);

/**
 * The network as one list of operations from conv_in's output to conv_norm_out's input, with the
 * channels and sizes diffusers' constructor gives each block: the single source for parameter
 * shapes, FLOPs and the forward pass.
 */
function plan(cfg: DiffusersUNetConfig): Op[] {
  const chs = cfg.blockOutChannels;
  const levels = chs.length;
  let [h, w] = cfg.sampleSize;
  let ch = chs[0];
  const ops: Op[] = [{ kind: 'push' }];
  const skips: number[] = [ch];
  const attn = (name: string, groups: number | null, outScale = 1): AttnOp => ({
    kind: 'attn',
    name,
    ch,
    heads: headsFor(cfg, ch),
    groups,
    h,
    w,
    outScale,
  });
  cfg.downBlockTypes.forEach((type, i) => {
    for (let j = 0; j < cfg.layersPerBlock; j++) {
      ops.push({ kind: 'res', name: `down_blocks.${i}.resnets.${j}`, cin: ch, cout: chs[i], h, w, outScale: 1 });
      ch = chs[i];
      if (type === 'AttnDownBlock2D') ops.push(attn(`down_blocks.${i}.attentions.${j}`, cfg.normNumGroups));
      ops.push({ kind: 'push' });
      skips.push(ch);
    }
    if (i < levels - 1) {
      ops.push({ kind: 'down', name: `down_blocks.${i}.downsamplers.0.conv`, ch, h, w });
      [h, w] = [h / 2, w / 2];
      ops.push({ kind: 'push' });
      skips.push(ch);
    }
  });
  const s = cfg.midBlockScaleFactor;
  ops.push({ kind: 'res', name: 'mid_block.resnets.0', cin: ch, cout: ch, h, w, outScale: s });
  if (cfg.addAttention) {
    const groups = cfg.attnNormNumGroups ?? (cfg.resnetTimeScaleShift === 'default' ? cfg.normNumGroups : null);
    ops.push(attn('mid_block.attentions.0', groups, s));
  }
  ops.push({ kind: 'res', name: 'mid_block.resnets.1', cin: ch, cout: ch, h, w, outScale: s });
  cfg.upBlockTypes.forEach((type, i) => {
    const cout = chs[levels - 1 - i];
    for (let j = 0; j <= cfg.layersPerBlock; j++) {
      const skip = skips.pop() as number;
      ops.push({ kind: 'pop' });
      ops.push({ kind: 'res', name: `up_blocks.${i}.resnets.${j}`, cin: ch + skip, cout, h, w, outScale: 1 });
      ch = cout;
      if (type === 'AttnUpBlock2D') ops.push(attn(`up_blocks.${i}.attentions.${j}`, cfg.normNumGroups));
    }
    if (i < levels - 1) {
      ops.push({ kind: 'up', name: `up_blocks.${i}.upsamplers.0.conv`, ch, h, w });
      [h, w] = [h * 2, w * 2];
    }
  });
  return ops;
}

type Shapes = Record<string, number[]>;

function resShapes(op: ResOp, cfg: DiffusersUNetConfig, out: Shapes): void {
  const n = op.name;
  const tembOut = cfg.resnetTimeScaleShift === 'scale_shift' ? 2 * op.cout : op.cout;
  out[`${n}.norm1.weight`] = [op.cin];
  out[`${n}.norm1.bias`] = [op.cin];
  out[`${n}.conv1.weight`] = [3, 3, op.cin, op.cout];
  out[`${n}.conv1.bias`] = [op.cout];
  out[`${n}.time_emb_proj.weight`] = [timeEmbedDim(cfg), tembOut];
  out[`${n}.time_emb_proj.bias`] = [tembOut];
  out[`${n}.norm2.weight`] = [op.cout];
  out[`${n}.norm2.bias`] = [op.cout];
  out[`${n}.conv2.weight`] = [3, 3, op.cout, op.cout];
  out[`${n}.conv2.bias`] = [op.cout];
  if (op.cin !== op.cout) {
    out[`${n}.conv_shortcut.weight`] = [1, 1, op.cin, op.cout];
    out[`${n}.conv_shortcut.bias`] = [op.cout];
  }
}

function attnShapes(op: AttnOp, out: Shapes): void {
  const n = op.name;
  if (op.groups !== null) {
    out[`${n}.group_norm.weight`] = [op.ch];
    out[`${n}.group_norm.bias`] = [op.ch];
  }
  for (const p of ['to_q', 'to_k', 'to_v', 'to_out.0']) {
    out[`${n}.${p}.weight`] = [op.ch, op.ch];
    out[`${n}.${p}.bias`] = [op.ch];
  }
}

/** Every parameter's name (diffusers' state-dict name) and shape in tfjs layout. */
export function diffusersUnetParamShapes(cfg: DiffusersUNetConfig): Shapes {
  const c0 = cfg.blockOutChannels[0];
  const e = timeEmbedDim(cfg);
  const out: Shapes = {
    'conv_in.weight': [3, 3, cfg.inChannels, c0],
    'conv_in.bias': [c0],
    'time_embedding.linear_1.weight': [c0, e],
    'time_embedding.linear_1.bias': [e],
    'time_embedding.linear_2.weight': [e, e],
    'time_embedding.linear_2.bias': [e],
  };
  if (cfg.numClassEmbeds !== null) out['class_embedding.weight'] = [cfg.numClassEmbeds, e];
  for (const op of plan(cfg)) {
    if (op.kind === 'res') resShapes(op, cfg, out);
    else if (op.kind === 'attn') attnShapes(op, out);
    else if (op.kind === 'down' || op.kind === 'up') {
      out[`${op.name}.weight`] = [3, 3, op.ch, op.ch];
      out[`${op.name}.bias`] = [op.ch];
    }
  }
  out['conv_norm_out.weight'] = [c0];
  out['conv_norm_out.bias'] = [c0];
  out['conv_out.weight'] = [3, 3, c0, cfg.outChannels];
  out['conv_out.bias'] = [cfg.outChannels];
  return out;
}

// ---------------------------------------------------------------------------------------------
// Layers

interface Net {
  cfg: DiffusersUNetConfig;
  p: Params;
  /** Parameters that take no gradient (a LoRA student's teacher biases and norms). */
  fixed?: (name: string) => boolean;
}

const isFixed = (net: Net, name: string) => net.fixed?.(name) ?? false;

const conv = (net: Net, name: string, x: tf.Tensor4D) => {
  const [w, b] = [isFixed(net, `${name}.weight`), isFixed(net, `${name}.bias`)];
  return conv2d(x, net.p[`${name}.weight`] as tf.Tensor4D, {
    bias: net.p[`${name}.bias`] as tf.Tensor1D,
    frozen: w && b,
    frozenBias: b && !w,
  });
};

const linear = (net: Net, name: string, x: tf.Tensor2D) => {
  const [w, b] = [isFixed(net, `${name}.weight`), isFixed(net, `${name}.bias`)];
  return dense(x, net.p[`${name}.weight`] as tf.Tensor2D, net.p[`${name}.bias`] as tf.Tensor1D, w && b, b && !w);
};

const norm = (net: Net, name: string, x: tf.Tensor4D, groups: number, withSilu: boolean, shift?: tf.Tensor2D) => {
  const frozen = isFixed(net, `${name}.weight`) && isFixed(net, `${name}.bias`);
  const [g, b] = [net.p[`${name}.weight`], net.p[`${name}.bias`]];
  return groupNorm(x, g, b, groups, { silu: withSilu, frozen, shift, eps: net.cfg.normEps });
};

/** ResnetBlock2D: silu(GN(x)) -> conv1 -> (+ temb | GN then * (1 + scale) + shift) -> silu -> conv2, + skip, / scale. */
function resBlock(op: ResOp, net: Net, x: tf.Tensor4D, embAct: tf.Tensor2D): tf.Tensor4D {
  const { cfg } = net;
  const n = op.name;
  const h = conv(net, `${n}.conv1`, norm(net, `${n}.norm1`, x, cfg.normNumGroups, true));
  const temb = linear(net, `${n}.time_emb_proj`, embAct);
  let h2: tf.Tensor4D;
  if (cfg.resnetTimeScaleShift === 'default') {
    // the projection is added to h inside the norm (the fused kernel's shift)
    h2 = norm(net, `${n}.norm2`, h, cfg.normNumGroups, true, temb);
  } else {
    const [scale, shift] = tf.split(temb, 2, 1);
    const [b, , , c] = h.shape;
    const normed = norm(net, `${n}.norm2`, h, cfg.normNumGroups, false);
    const modulated = tf.add(tf.mul(normed, tf.add(scale, 1).reshape([b, 1, 1, c])), shift.reshape([b, 1, 1, c]));
    h2 = silu(modulated) as tf.Tensor4D;
  }
  const out = conv(net, `${n}.conv2`, h2);
  const skip = op.cin === op.cout ? x : conv(net, `${n}.conv_shortcut`, x);
  const sum = tf.add(skip, out) as tf.Tensor4D;
  return op.outScale === 1 ? sum : (tf.div(sum, op.outScale) as tf.Tensor4D);
}

/** Attention with `_from_deprecated_attn_block`: (x + to_out(softmax(q k^T / sqrt(d)) v)) / scale, q k v from GN(x). */
function attention(op: AttnOp, net: Net, x: tf.Tensor4D): tf.Tensor4D {
  const n = op.name;
  const frozen = ['to_q', 'to_k', 'to_v', 'to_out.0'].every((k) => isFixed(net, `${n}.${k}.weight`));
  const h = op.groups === null ? x : norm(net, `${n}.group_norm`, x, op.groups, false);
  const w = (k: string) => net.p[`${n}.${k}`];
  const y =
    op.heads === 1
      ? selfAttention(
          x,
          h,
          {
            qkvW: tf.concat([w('to_q.weight'), w('to_k.weight'), w('to_v.weight')], 1) as tf.Tensor2D,
            qkvB: tf.concat([w('to_q.bias'), w('to_k.bias'), w('to_v.bias')]) as tf.Tensor1D,
            projW: w('to_out.0.weight') as tf.Tensor2D,
            projB: w('to_out.0.bias') as tf.Tensor1D,
          },
          frozen,
        )
      : multiHeadAttention(op, net, x, h);
  return op.outScale === 1 ? y : (tf.div(y, op.outScale) as tf.Tensor4D);
}

/** x + to_out(attention over heads of d = C / heads channels each), composed from tfjs ops. */
function multiHeadAttention(op: AttnOp, net: Net, x: tf.Tensor4D, h: tf.Tensor4D): tf.Tensor4D {
  const [b, hh, ww, c] = x.shape;
  const [n, heads, d] = [hh * ww, op.heads, c / op.heads];
  const flat = h.reshape([b * n, c]) as tf.Tensor2D;
  const split = (name: string) =>
    linear(net, `${op.name}.${name}`, flat)
      .reshape([b, n, heads, d])
      .transpose([0, 2, 1, 3])
      .reshape([b * heads, n, d]) as tf.Tensor3D;
  const [q, k, v] = [split('to_q'), split('to_k'), split('to_v')];
  const probs = tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(d)));
  const merged = tf
    .matMul(probs, v)
    .reshape([b, heads, n, d])
    .transpose([0, 2, 1, 3])
    .reshape([b * n, c]) as tf.Tensor2D;
  return tf.add(x, linear(net, `${op.name}.to_out.0`, merged).reshape([b, hh, ww, c])) as tf.Tensor4D;
}

/**
 * The stride-2 3x3 conv as the stride-1 'same' conv read at every other pixel: with padding 1 the
 * even pixels, with padding 0 (zeros after the input) the odd ones. The same sums, and it reuses
 * conv2d's gradients (tfjs-wasm has no strided-conv filter gradient).
 */
function downsample(op: ResampleOp, net: Net, x: tf.Tensor4D): tf.Tensor4D {
  const y = conv(net, op.name, x);
  const [b, h, w, c] = y.shape;
  const o = net.cfg.downsamplePadding === 1 ? 0 : 1;
  // 4-D views only: the slice's gradient is a pad of the same rank, and tfjs-webgpu's pad shader
  // does not compile for rank 5 (it declares a vec5), so a 5-D view here broke training on WebGPU
  return y
    .reshape([b * (h / 2), 2, w / 2, 2 * c])
    .slice([0, o, 0, o * c], [b * (h / 2), 1, w / 2, c])
    .reshape([b, h / 2, w / 2, c]) as tf.Tensor4D;
}

function upsample(op: ResampleOp, net: Net, x: tf.Tensor4D): tf.Tensor4D {
  return conv(net, op.name, tf.image.resizeNearestNeighbor(x, [x.shape[1] * 2, x.shape[2] * 2]));
}

/**
 * diffusers' get_timestep_embedding in float32 as PyTorch computes it: exponent_i =
 * f32(-ln 10000) * i / (half - freq_shift), frequency exp(exponent_i), each step rounded to float32.
 */
export function sinusoidFrequencies(dim: number, freqShift: number): Float32Array {
  const half = Math.floor(dim / 2);
  const c = Math.fround(-Math.log(10000));
  const denom = Math.fround(half - freqShift);
  return Float32Array.from({ length: half }, (_, i) => Math.fround(Math.exp(Math.fround(Math.fround(c * i) / denom))));
}

/** [sin, cos] of t x frequencies (flipped to [cos, sin] with flip_sin_to_cos), zero-padded to an odd dim. */
export function diffusersTimestepEmbedding(cfg: DiffusersUNetConfig, t: tf.Tensor1D): tf.Tensor2D {
  const dim = cfg.blockOutChannels[0];
  const freqs = sinusoidFrequencies(dim, cfg.freqShift);
  const args = tf.mul(t.reshape([-1, 1]), tf.tensor2d(freqs, [1, freqs.length]));
  const [sin, cos] = [tf.sin(args), tf.cos(args)];
  const parts = cfg.flipSinToCos ? [cos, sin] : [sin, cos];
  if (dim % 2 === 1) parts.push(tf.zeros([t.shape[0], 1]));
  return tf.concat(parts, 1) as tf.Tensor2D;
}

/** silu(time_embedding(sinusoid(t)) + class_embedding[labels]): the input of every resnet's projection. */
function embedding(net: Net, t: tf.Tensor1D, labels: tf.Tensor1D): tf.Tensor2D {
  const { p, cfg } = net;
  const e = diffusersTimestepEmbedding(cfg, t);
  const names = ['linear_1.weight', 'linear_1.bias', 'linear_2.weight', 'linear_2.bias'];
  const frozen = names.every((k) => isFixed(net, `time_embedding.${k}`));
  const w1 = p['time_embedding.linear_1.weight'] as tf.Tensor2D;
  const b1 = p['time_embedding.linear_1.bias'] as tf.Tensor1D;
  const w2 = p['time_embedding.linear_2.weight'] as tf.Tensor2D;
  const b2 = p['time_embedding.linear_2.bias'] as tf.Tensor1D;
  if (cfg.numClassEmbeds !== null) {
    return embedConditioning(e, labels, { w1, b1, w2, b2, table: p['class_embedding.weight'] as tf.Tensor2D }, frozen);
  }
  return silu(dense(silu(dense(e, w1, b1, frozen)) as tf.Tensor2D, w2, b2, frozen)) as tf.Tensor2D;
}

/**
 * Runs the network on NHWC x: the model output, or with `encoderOnly` the encoder features (each
 * level's output before its downsampler, then the mid block's) and nothing after the mid block.
 */
function run(
  net: Net,
  x: tf.Tensor4D,
  t: tf.Tensor1D,
  labels: tf.Tensor1D,
  encoderOnly: boolean,
): { out: tf.Tensor4D | null; features: tf.Tensor4D[] } {
  const { cfg } = net;
  const input = cfg.centerInputSample ? (tf.sub(tf.mul(x, 2), 1) as tf.Tensor4D) : x;
  const embAct = embedding(net, t, labels);
  let h = conv(net, 'conv_in', input);
  const skips: tf.Tensor4D[] = [];
  const features: tf.Tensor4D[] = [];
  for (const op of plan(cfg)) {
    if (op.kind === 'down' || (op.kind === 'res' && op.name === 'mid_block.resnets.0')) features.push(h);
    if (op.kind === 'push') skips.push(h);
    else if (op.kind === 'pop') h = tf.concat([h, skips.pop() as tf.Tensor4D], 3) as tf.Tensor4D;
    else if (op.kind === 'res') h = resBlock(op, net, h, embAct);
    else if (op.kind === 'attn') h = attention(op, net, h);
    else h = op.kind === 'down' ? downsample(op, net, h) : upsample(op, net, h);
    if (op.kind === 'res' && op.name === 'mid_block.resnets.1') {
      features.push(h);
      if (encoderOnly) return { out: null, features };
    }
  }
  return { out: conv(net, 'conv_out', norm(net, 'conv_norm_out', h, cfg.normNumGroups, true)), features };
}

/** The model output (eps, v or x0, per the scheduler config) for NHWC x, float timesteps t [B], int32 labels [B]. */
export function applyDiffusersUnet(
  cfg: DiffusersUNetConfig,
  p: Params,
  x: tf.Tensor4D,
  t: tf.Tensor1D,
  labels: tf.Tensor1D,
  fixed?: (name: string) => boolean,
): tf.Tensor4D {
  return run({ cfg, p, fixed }, x, t, labels, false).out as tf.Tensor4D;
}

/**
 * The encoder half (conv_in, the down blocks, the mid block) at (x, t, labels): one feature map
 * per level (its output before the downsampler, at the level's resolution) and the mid block's,
 * the backbone of RAPM's discriminators as unetEncoder is for our UNet. `frozen`: gradients flow
 * to x only.
 */
export function diffusersUnetEncoder(
  cfg: DiffusersUNetConfig,
  p: Params,
  x: tf.Tensor4D,
  t: tf.Tensor1D,
  labels: tf.Tensor1D,
  frozen = false,
): tf.Tensor4D[] {
  return run({ cfg, p, fixed: frozen ? () => true : undefined }, x, t, labels, true).features;
}

/** Elements of the largest tensor one image makes in a forward pass (an activation or an attention map). */
export function diffusersUnetLargestActivation(cfg: DiffusersUNetConfig): number {
  const [h, w] = cfg.sampleSize;
  let most = h * w * Math.max(cfg.inChannels, cfg.blockOutChannels[0]);
  for (const op of plan(cfg)) {
    if (op.kind === 'res') most = Math.max(most, op.h * op.w * Math.max(op.cin, op.cout));
    else if (op.kind === 'attn') most = Math.max(most, op.heads * (op.h * op.w) ** 2, op.h * op.w * op.ch);
    else if (op.kind === 'up') most = Math.max(most, 4 * op.h * op.w * op.ch);
  }
  return most;
}

function opFlops(op: Op): number {
  if (op.kind === 'res') {
    let f = conv2dFlops(1, op.h, op.w, 3, op.cin, op.cout) + conv2dFlops(1, op.h, op.w, 3, op.cout, op.cout);
    if (op.cin !== op.cout) f += conv2dFlops(1, op.h, op.w, 1, op.cin, op.cout);
    return f;
  }
  if (op.kind === 'attn') {
    const n = op.h * op.w;
    return 2 * n * op.ch * 4 * op.ch + 2 * 2 * n * n * op.ch;
  }
  if (op.kind === 'down') return conv2dFlops(1, op.h, op.w, 3, op.ch, op.ch);
  if (op.kind === 'up') return conv2dFlops(1, 2 * op.h, 2 * op.w, 3, op.ch, op.ch);
  return 0;
}

export function diffusersUnetFlops(cfg: DiffusersUNetConfig): number {
  const [h, w] = cfg.sampleSize;
  const c0 = cfg.blockOutChannels[0];
  const io = conv2dFlops(1, h, w, 3, cfg.inChannels, c0) + conv2dFlops(1, h, w, 3, c0, cfg.outChannels);
  return plan(cfg).reduce((a, op) => a + opFlops(op), io);
}

function describe(cfg: DiffusersUNetConfig): string[] {
  const [h, w] = cfg.sampleSize;
  const heads = (ch: number) => `${headsFor(cfg, ch)} head${headsFor(cfg, ch) === 1 ? '' : 's'}`;
  const levels = cfg.blockOutChannels.map((ch, i) => {
    const attn = cfg.downBlockTypes[i] === 'AttnDownBlock2D' ? `, attention ${heads(ch)}` : '';
    return `${ch} ch at ${h / 2 ** i}x${w / 2 ** i}${attn}`;
  });
  return [
    `diffusers UNet2DModel: ${cfg.inChannels} x ${h} x ${w} in, ${cfg.outChannels} channel(s) out, ` +
      (cfg.numClassEmbeds === null ? 'unconditional' : `${cfg.numClassEmbeds} class embeddings`),
    `down ${cfg.downBlockTypes.join(', ')}; up ${cfg.upBlockTypes.join(', ')}; ${cfg.layersPerBlock} layer(s) per block`,
    `levels: ${levels.join('; ')}`,
    `mid: resnet, ${cfg.addAttention ? `attention ${heads(cfg.blockOutChannels.at(-1) as number)}, ` : ''}resnet` +
      (cfg.midBlockScaleFactor === 1 ? '' : ` (output / ${cfg.midBlockScaleFactor})`),
    `GroupNorm ${cfg.normNumGroups} groups, eps ${cfg.normEps}; time scale shift ${cfg.resnetTimeScaleShift}; ` +
      `downsample padding ${cfg.downsamplePadding}` +
      (cfg.centerInputSample ? '; input centred (2x - 1)' : ''),
    `time: sinusoid of ${cfg.blockOutChannels[0]} (flip_sin_to_cos ${cfg.flipSinToCos}, freq_shift ${cfg.freqShift}), ` +
      `embedding ${timeEmbedDim(cfg)}`,
  ];
}

export function diffusersUnetNetwork(cfg: DiffusersUNetConfig): Network {
  return {
    architecture: 'diffusers-unet2d',
    paramShapes: () => diffusersUnetParamShapes(cfg),
    apply: (p, x, t, labels, fixed) => applyDiffusersUnet(cfg, p, x, t, labels, fixed),
    encode: (p, x, t, labels, frozen) => diffusersUnetEncoder(cfg, p, x, t, labels, frozen),
    features: {
      channels: [...cfg.blockOutChannels, cfg.blockOutChannels.at(-1) as number],
      groups: cfg.normNumGroups,
    },
    flops: () => diffusersUnetFlops(cfg),
    largestActivation: () => diffusersUnetLargestActivation(cfg),
    describe: () => describe(cfg),
  };
}

/**
 * This studio's LoRA target suffixes (src/core/rapm/config.ts) and the UNet2DModel parameters that
 * play the same part, so one student config adapts either network; other suffixes match as given.
 */
export const DIFFUSERS_TARGET_SUFFIXES: Record<string, string[]> = {
  'conv1.w': ['conv1.weight'],
  'conv2.w': ['conv2.weight'],
  'skip.w': ['conv_shortcut.weight'],
  'qkv.w': ['to_q.weight', 'to_k.weight', 'to_v.weight'],
  'proj.w': ['to_out.0.weight'],
  'temb.w': ['time_emb_proj.weight'],
  'conv_in.w': ['conv_in.weight'],
  'out.conv.w': ['conv_out.weight'],
};
