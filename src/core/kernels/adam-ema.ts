/**
 * One Adam step with the EMA of the new weights, as WebGPU programs over one parameter tensor:
 * each program reads (p, g, m, v, ema) and writes one of p', m', v', ema' (a program has one
 * output), so a parameter costs 4 dispatches (3 without EMA) instead of ~17 composed kernels.
 * The arithmetic is the composed path's, in the same order (src/core/train/adam.ts):
 *   m' = m * b1 + g * (1 - b1)          v' = v * b2 + g^2 * (1 - b2)
 *   p' = p - (m' / c1) / (sqrt(v' / c2) + eps) * lr      ema' = ema * d + p' * (1 - d)
 */
import type * as tf from '@tensorflow/tfjs';
import { touchAll, type UniformValue, type WebGpuProgram, type WebGpuRunner } from './webgpu-program';

export const ADAM_EMA = 'RapmAdamEma';

export type AdamOutput = 'p' | 'm' | 'v' | 'ema';

export interface AdamEmaAttrs {
  output: AdamOutput;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Bias corrections 1 - beta^step. */
  c1: number;
  c2: number;
  /** EMA decay; read only for the 'ema' output. */
  decay: number;
}

const WG = 64;

/** The uniforms both programs declare, in the order `adamUniforms` fills them. */
const ADAM_UNIFORMS = 'lr : f32, beta1 : f32, beta2 : f32, eps : f32, c1 : f32, c2 : f32, decay : f32,';

/**
 * WGSL: mn, vn and pn from the element's g, m, v and p (expressions over the program's inputs)
 * and the bias corrections c1, c2 (uniforms, or elements of an input).
 */
function adamWgsl(g: string, m: string, v: string, p: string, c1 = 'u.c1', c2 = 'u.c2'): string {
  return `
          let u = uniforms;
          let gi = ${g};
          let mn = ${m} * u.beta1 + gi * (1.0 - u.beta1);
          let vn = ${v} * u.beta2 + gi * gi * (1.0 - u.beta2);
          let pn = ${p} - (mn / ${c1}) / (sqrt(vn / ${c2}) + u.eps) * u.lr;`;
}

/** One entry per scalar: tfjs lays uniforms out by entry length (vectors get vector alignment). */
function adamUniforms(a: Omit<AdamEmaAttrs, 'output'>): UniformValue[] {
  return [a.lr, a.beta1, a.beta2, a.eps, a.c1, a.c2, a.decay].map((x) => ({ type: 'float32', data: [x] }));
}

/** The bias corrections 1 - beta1^step and 1 - beta2^step of step `step` (from 1). */
export function biasCorrections(options: { beta1: number; beta2: number }, step: number): [number, number] {
  return [1 - options.beta1 ** step, 1 - options.beta2 ** step];
}

/** The attributes of one step: the options with the bias corrections of step `step` (from 1). */
export function adamStepAttrs(
  options: { lr: number; beta1: number; beta2: number; eps: number },
  step: number,
  lr: number,
  decay: number,
): Omit<AdamEmaAttrs, 'output'> {
  const { beta1, beta2, eps } = options;
  const [c1, c2] = biasCorrections(options, step);
  return { lr, beta1, beta2, eps, c1, c2, decay };
}

class AdamEmaProgram implements WebGpuProgram {
  variableNames = ['p', 'g', 'm', 'v', 'e'];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WG, 1, 1];
  size = true;
  uniforms = ADAM_UNIFORMS;

  constructor(
    private readonly output: AdamOutput,
    n: number,
  ) {
    this.outputShape = [n];
    this.dispatchLayout = { x: [0] };
    this.dispatch = [Math.ceil(n / WG), 1, 1];
    this.shaderKey = `rapmAdamEma_${output}`;
  }

  getUserCode(): string {
    const value: Record<AdamOutput, string> = {
      m: 'mn',
      v: 'vn',
      p: 'pn',
      ema: 'e[index] * u.decay + pn * (1.0 - u.decay)',
    };
    return `
      fn main(index: i32) {
        ${touchAll(this.variableNames, 'index')}
        if (index < uniforms.size) {${adamWgsl('g[index]', 'm[index]', 'v[index]', 'p[index]')}
          result[index] = ${value[this.output]};
        }
      }`;
  }
}

export const adamEmaKernel: tf.KernelConfig = {
  kernelName: ADAM_EMA,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const a = attrs as unknown as AdamEmaAttrs;
    const [p, g, m, v, e] = ['p', 'g', 'm', 'v', 'e'].map((k) => inputs[k] as tf.TensorInfo);
    const n = p.shape.reduce((x, y) => x * y, 1);
    const uniforms = adamUniforms(a);
    const flat = (t: tf.TensorInfo) => ({ ...t, shape: [n] });
    const out = (backend as WebGpuRunner).runWebGPUProgram(
      new AdamEmaProgram(a.output, n),
      [p, g, m, v, e].map(flat),
      'float32',
      uniforms,
    );
    return { ...out, shape: p.shape };
  },
};

/**
 * The same update over a whole parameter group packed in one flat tensor
 * s = [p | m | v | ema?] (blocks of n elements, src/core/train/packed-adam.ts) with the group's
 * flat gradient g [n]: ONE dispatch writes the new packed state, whatever the number of tensors
 * in the group. Thread i writes element i % n of block i / n; with `emaOn` 0 the ema block is
 * copied unchanged (an EMA switched off keeps its initial weights, as the per-tensor path does).
 * The bias corrections come in as a tensor h = [c1, c2], not as uniforms: they change every step,
 * and a replayed step (step-graph.ts) writes new values only into its inputs.
 */
export const ADAM_PACKED = 'RapmAdamPacked';

export interface AdamPackedAttrs extends Omit<AdamEmaAttrs, 'output' | 'c1' | 'c2'> {
  emaOn: boolean;
}

class AdamPackedProgram implements WebGpuProgram {
  variableNames = ['s', 'g', 'h'];
  outputShape: number[];
  shaderKey = 'rapmAdamPacked';
  dispatchLayout = { x: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WG, 1, 1];
  size = true;
  uniforms = 'lr : f32, beta1 : f32, beta2 : f32, eps : f32, decay : f32, n : i32, emaOn : i32,';

  constructor(total: number) {
    this.outputShape = [total];
    this.dispatch = [Math.ceil(total / WG), 1, 1];
  }

  getUserCode(): string {
    return `
      fn main(index: i32) {
        ${touchAll(this.variableNames, 'index')}
        if (index < uniforms.size) {
          let n = uniforms.n;
          let block = index / n;
          let j = index - block * n;
          if (block == 3 && uniforms.emaOn == 0) {
            result[index] = s[index];
            return;
          }${adamWgsl('g[j]', 's[n + j]', 's[2 * n + j]', 's[j]', 'h[0]', 'h[1]')}
          var r = pn;
          if (block == 1) {
            r = mn;
          } else if (block == 2) {
            r = vn;
          } else if (block == 3) {
            r = s[index] * u.decay + pn * (1.0 - u.decay);
          }
          result[index] = r;
        }
      }`;
  }
}

export const adamPackedKernel: tf.KernelConfig = {
  kernelName: ADAM_PACKED,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const a = attrs as unknown as AdamPackedAttrs;
    const [s, g, h] = ['s', 'g', 'h'].map((k) => inputs[k] as tf.TensorInfo);
    const uniforms: UniformValue[] = [
      ...[a.lr, a.beta1, a.beta2, a.eps, a.decay].map((x): UniformValue => ({ type: 'float32', data: [x] })),
      { type: 'int32', data: [g.shape[0]] },
      { type: 'int32', data: [a.emaOn ? 1 : 0] },
    ];
    return (backend as WebGpuRunner).runWebGPUProgram(
      new AdamPackedProgram(s.shape[0]),
      [s, g, h],
      'float32',
      uniforms,
    );
  },
};
