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

class AdamEmaProgram implements WebGpuProgram {
  variableNames = ['p', 'g', 'm', 'v', 'e'];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WG, 1, 1];
  size = true;
  uniforms = 'lr : f32, beta1 : f32, beta2 : f32, eps : f32, c1 : f32, c2 : f32, decay : f32,';

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
        if (index < uniforms.size) {
          let u = uniforms;
          let gi = g[index];
          let mn = m[index] * u.beta1 + gi * (1.0 - u.beta1);
          let vn = v[index] * u.beta2 + gi * gi * (1.0 - u.beta2);
          let pn = p[index] - (mn / u.c1) / (sqrt(vn / u.c2) + u.eps) * u.lr;
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
    // one entry per scalar: tfjs lays uniforms out by entry length (vectors get vector alignment)
    const uniforms: UniformValue[] = [a.lr, a.beta1, a.beta2, a.eps, a.c1, a.c2, a.decay].map((x) => ({
      type: 'float32',
      data: [x],
    }));
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
