/**
 * A LoRA target's merge W' = W + s A B and its gradient, each as ONE WebGPU dispatch, with the
 * adapters given as one flat segment [A | B] (A [fanIn, r] then B [r, cout], row-major: how the
 * student's packed parameters hold them, src/core/train/packed-adam.ts). The composed path slices
 * A and B out of the segment and takes 4-5 kernels each way (slices, matMul, scale, add; two
 * matMuls, a scale and a concat backward).
 *   forward   W'[i, j] = W[i, j] + s * sum_k A[i, k] B[k, j]
 *   backward  dA[i, k] = s * sum_j dW'[i, j] B[k, j],  dB[k, j] = sum_i (s A[i, k]) dW'[i, j]
 * written as one gradient segment [dA | dB]. W and dW' are read as [fanIn, cout] whatever their
 * rank (a conv kernel [k, k, cin, cout] is row-major in the same order).
 */
import type * as tf from '@tensorflow/tfjs';
import { touchAll, type UniformValue, type WebGpuProgram, type WebGpuRunner } from './webgpu-program';

export const LORA_MERGE = 'RapmLoraMerge';
export const LORA_MERGE_GRAD = 'RapmLoraMergeGrad';

export interface LoraMergeAttrs {
  rank: number;
  scale: number;
}

const WG = 64;

class LoraProgram implements WebGpuProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WG, 1, 1];
  size = true;
  uniforms = 'scale : f32, fanIn : i32, cout : i32,';

  constructor(
    private readonly grad: boolean,
    total: number,
    private readonly rank: number,
  ) {
    this.variableNames = grad ? ['dy', 'seg'] : ['w', 'seg'];
    this.outputShape = [total];
    this.dispatch = [Math.ceil(total / WG), 1, 1];
    this.shaderKey = `rapmLora_${grad ? 'grad' : 'merge'}_${rank}`;
  }

  getUserCode(): string {
    const r = this.rank;
    const body = this.grad
      ? `
          let na = u.fanIn * ${r};
          var acc = 0.0;
          if (index < na) {
            let i = index / ${r};
            let k = index - i * ${r};
            for (var j = 0; j < u.cout; j++) {
              acc = acc + dy[i * u.cout + j] * seg[na + k * u.cout + j];
            }
            result[index] = acc * u.scale;
          } else {
            let e = index - na;
            let k = e / u.cout;
            let j = e - k * u.cout;
            for (var i = 0; i < u.fanIn; i++) {
              acc = acc + (seg[i * ${r} + k] * u.scale) * dy[i * u.cout + j];
            }
            result[index] = acc;
          }`
      : `
          let na = u.fanIn * ${r};
          let i = index / u.cout;
          let j = index - i * u.cout;
          var acc = 0.0;
          for (var k = 0; k < ${r}; k++) {
            acc = acc + seg[i * ${r} + k] * seg[na + k * u.cout + j];
          }
          result[index] = w[index] + acc * u.scale;`;
    return `
      fn main(index: i32) {
        ${touchAll(this.variableNames, 'index')}
        if (index < uniforms.size) {
          let u = uniforms;${body}
        }
      }`;
  }
}

/** [fanIn, cout] of a weight of any rank: its last axis is cout. */
function matrixShape(shape: number[]): [number, number] {
  const cout = shape[shape.length - 1];
  return [shape.reduce((a, b) => a * b, 1) / cout, cout];
}

function run(grad: boolean, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap | undefined, backend: unknown) {
  const a = attrs as unknown as LoraMergeAttrs;
  const x = (grad ? inputs.dy : inputs.w) as tf.TensorInfo;
  const seg = inputs.seg as tf.TensorInfo;
  const [fanIn, cout] = matrixShape(x.shape);
  const total = grad ? (fanIn + cout) * a.rank : fanIn * cout;
  const uniforms: UniformValue[] = [
    { type: 'float32', data: [a.scale] },
    { type: 'int32', data: [fanIn] },
    { type: 'int32', data: [cout] },
  ];
  const flat = { ...x, shape: [fanIn * cout] };
  const out = (backend as WebGpuRunner).runWebGPUProgram(
    new LoraProgram(grad, total, a.rank),
    [flat, seg],
    'float32',
    uniforms,
  );
  return grad ? out : { ...out, shape: x.shape };
}

export const loraMergeKernels: tf.KernelConfig[] = [
  {
    kernelName: LORA_MERGE,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => run(false, inputs, attrs, backend),
  },
  {
    kernelName: LORA_MERGE_GRAD,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => run(true, inputs, attrs, backend),
  },
];
