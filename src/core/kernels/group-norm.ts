/**
 * GroupNorm + affine (+ SiLU) as single WebGPU dispatches, forward and backward, in place of
 * the ~12 composed kernels forward (moments, sub, sqrt, div, mul, add, sigmoid, mul) and ~30
 * backward.
 *
 * x [B, H, W, C] NHWC with G groups of C/G channels. Forward: one workgroup per (b, g) computes
 * the group's mean and biased variance in shared memory (two passes, as tf.moments), then writes
 * y = act((x - mean) / sqrt(var + eps) * gamma[c] + beta[c]). Backward, with xhat the normalized
 * input, d = dy * act'(pre) and dxhat = d * gamma[c]:
 *   dx = rstd * (dxhat - mean_group(dxhat) - xhat * mean_group(dxhat * xhat))   (one workgroup per (b, g))
 *   dgamma[c] = sum_{b,h,w} d * xhat,  dbeta[c] = sum_{b,h,w} d                    (one workgroup per c)
 * Statistics are recomputed in each backward program rather than stored: a program has one output.
 * Optionally a per-(sample, channel) shift t [B, C] is added to x first (the res blocks' time
 * embedding): the norm of x + t, with dt = sum_{h,w} dx one more dispatch (row-sum.ts), so the broadcast add is no
 * dispatch of its own.
 */
import * as tf from '@tensorflow/tfjs';
import { sumToBatchChannels } from './row-sum';
import { REDUCE_SUM_WGSL, REDUCE_WG, touchAll, type WebGpuProgram, type WebGpuRunner } from './webgpu-program';

export const GROUP_NORM = 'RapmGroupNorm';
export const GROUP_NORM_GRAD_X = 'RapmGroupNormGradX';
export const GROUP_NORM_GRAD_AFFINE = 'RapmGroupNormGradAffine';

interface GroupNormAttrs {
  groups: number;
  silu: boolean;
  eps: number;
  /** Whether the input t (a [B, C] shift added to x) is present. */
  shift: boolean;
}

type Kind = 'forward' | 'dx' | 'dgamma' | 'dbeta';

class GroupNormProgram implements WebGpuProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [REDUCE_WG, 1, 1];

  constructor(
    private readonly kind: Kind,
    private readonly shape: [number, number, number, number],
    private readonly attrs: GroupNormAttrs,
  ) {
    const [b, , , c] = shape;
    const g = attrs.groups;
    this.variableNames = ['x', ...(attrs.shift ? ['t'] : []), 'gamma', 'beta', ...(kind === 'forward' ? [] : ['dy'])];
    const perChannel = kind === 'dgamma' || kind === 'dbeta';
    this.outputShape = perChannel ? [c] : [...shape];
    this.dispatchLayout = { x: this.outputShape.map((_, i) => i) };
    this.dispatch = [perChannel ? c : b * g, 1, 1];
    this.shaderKey = `rapmGroupNorm_${kind}_${shape.join('x')}_${g}_${attrs.silu}_${attrs.eps}_${attrs.shift}`;
  }

  getUserCode(): string {
    const [b, h, w, c] = this.shape;
    const { groups: g, silu, eps, shift } = this.attrs;
    const cg = c / g;
    const n = h * w * cg;
    const hw = h * w;
    // Statistics of group gg of sample bb; every invocation of the workgroup calls it.
    const stats = `
      // the normalized input at flat index idx of sample bb, channel ch
      fn xin(bb: i32, idx: i32, ch: i32) -> f32 {
        return x[idx]${shift ? ` + t[bb * ${c} + ch]` : ''};
      }
      fn stats(bb: i32, gg: i32) -> vec2<f32> {
        let base = bb * ${hw * c} + gg * ${cg};
        let li = i32(localId.x);
        var s = 0.0;
        for (var i = li; i < ${n}; i = i + ${REDUCE_WG}) {
          s = s + xin(bb, base + (i / ${cg}) * ${c} + i % ${cg}, gg * ${cg} + i % ${cg});
        }
        let mean = reduceSum(s) / ${n}.0;
        var q = 0.0;
        for (var i = li; i < ${n}; i = i + ${REDUCE_WG}) {
          let d = xin(bb, base + (i / ${cg}) * ${c} + i % ${cg}, gg * ${cg} + i % ${cg}) - mean;
          q = q + d * d;
        }
        let variance = reduceSum(q) / ${n}.0;
        return vec2<f32>(mean, 1.0 / sqrt(variance + ${eps}));
      }
      // dL/dpre from dL/dy at pre-activation value pre
      fn dpre(dyv: f32, pre: f32) -> f32 {
        ${silu ? 'let sg = 1.0 / (1.0 + exp(-pre)); return dyv * sg * (1.0 + pre * (1.0 - sg));' : 'return dyv;'}
      }
    `;
    const header = `${REDUCE_SUM_WGSL}${stats}`;
    if (this.kind === 'forward' || this.kind === 'dx') {
      const prologue = `
        let bg = i32(workgroupId.x);
        let bb = bg / ${g};
        let gg = bg % ${g};
        let base = bb * ${hw * c} + gg * ${cg};
        let li = i32(localId.x);
        let st = stats(bb, gg);
      `;
      if (this.kind === 'forward') {
        return `${header}
          fn main(index: i32) {
${touchAll(this.variableNames, 'index')}
            ${prologue}
            for (var i = li; i < ${n}; i = i + ${REDUCE_WG}) {
              let ch = gg * ${cg} + i % ${cg};
              let idx = base + (i / ${cg}) * ${c} + i % ${cg};
              let y = (xin(bb, idx, ch) - st.x) * st.y * gamma[ch] + beta[ch];
              result[idx] = ${silu ? 'y / (1.0 + exp(-y))' : 'y'};
            }
          }`;
      }
      return `${header}
        fn main(index: i32) {
${touchAll(this.variableNames, 'index')}
          ${prologue}
          var a1 = 0.0;
          var a2 = 0.0;
          for (var i = li; i < ${n}; i = i + ${REDUCE_WG}) {
            let ch = gg * ${cg} + i % ${cg};
            let idx = base + (i / ${cg}) * ${c} + i % ${cg};
            let xh = (xin(bb, idx, ch) - st.x) * st.y;
            let dxh = dpre(dy[idx], xh * gamma[ch] + beta[ch]) * gamma[ch];
            a1 = a1 + dxh;
            a2 = a2 + dxh * xh;
          }
          let m1 = reduceSum(a1) / ${n}.0;
          let m2 = reduceSum(a2) / ${n}.0;
          for (var i = li; i < ${n}; i = i + ${REDUCE_WG}) {
            let ch = gg * ${cg} + i % ${cg};
            let idx = base + (i / ${cg}) * ${c} + i % ${cg};
            let xh = (xin(bb, idx, ch) - st.x) * st.y;
            let dxh = dpre(dy[idx], xh * gamma[ch] + beta[ch]) * gamma[ch];
            result[idx] = st.y * (dxh - m1 - xh * m2);
          }
        }`;
    }
    const term = this.kind === 'dgamma' ? 'd * xh' : 'd';
    return `${header}
      fn main(index: i32) {
${touchAll(this.variableNames, 'index')}
        let ch = i32(workgroupId.x);
        let gg = ch / ${cg};
        let li = i32(localId.x);
        var acc = 0.0;
        for (var bb = 0; bb < ${b}; bb = bb + 1) {
          let st = stats(bb, gg);
          for (var p = li; p < ${hw}; p = p + ${REDUCE_WG}) {
            let idx = bb * ${hw * c} + p * ${c} + ch;
            let xh = (xin(bb, idx, ch) - st.x) * st.y;
            let d = dpre(dy[idx], xh * gamma[ch] + beta[ch]);
            acc = acc + ${term};
          }
        }
        let total = reduceSum(acc);
        if (li == 0) {
          result[ch] = total;
        }
      }`;
  }
}

/** The named inputs in program order (tfjs types kernel inputs as possibly absent). */
function pick(inputs: tf.NamedTensorInfoMap, attrs: GroupNormAttrs, withDy: boolean): tf.TensorInfo[] {
  const names = ['x', ...(attrs.shift ? ['t'] : []), 'gamma', 'beta', ...(withDy ? ['dy'] : [])];
  return names.map((n) => inputs[n] as tf.TensorInfo);
}

function run(kind: Kind, backend: unknown, inputs: tf.NamedTensorInfoMap, attrs: GroupNormAttrs): tf.TensorInfo {
  const shape = (inputs.x as tf.TensorInfo).shape as [number, number, number, number];
  const program = new GroupNormProgram(kind, shape, attrs);
  return (backend as WebGpuRunner).runWebGPUProgram(program, pick(inputs, attrs, kind !== 'forward'), 'float32');
}

const attrsOf = (a: unknown) => a as unknown as GroupNormAttrs;

/** The three kernels for tf.registerKernel on the webgpu backend. */
export const groupNormKernels: tf.KernelConfig[] = [
  {
    kernelName: GROUP_NORM,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => run('forward', backend, inputs, attrsOf(attrs)),
  },
  {
    kernelName: GROUP_NORM_GRAD_X,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => run('dx', backend, inputs, attrsOf(attrs)),
  },
  {
    kernelName: GROUP_NORM_GRAD_AFFINE,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const a = attrs as unknown as GroupNormAttrs & { beta: boolean };
      return run(a.beta ? 'dbeta' : 'dgamma', backend, inputs, a);
    },
  },
];

const runKernel = (name: string, inputs: tf.NamedTensorMap, attrs: object) =>
  tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.Tensor;

/**
 * The fused op with its gradient: GroupNorm of x (+ shift, broadcast over H and W). With
 * `frozen`, gamma and beta are closed over, so the backward pass runs the dx program only (and
 * the sum for the shift's gradient).
 */
export function fusedGroupNorm(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  groups: number,
  silu: boolean,
  frozen: boolean,
  eps: number,
  shift?: tf.Tensor2D,
): tf.Tensor4D {
  const attrs: GroupNormAttrs = { groups, silu, eps, shift: shift !== undefined };
  /** [x, t?] as the customGrad inputs, then gamma and beta unless frozen. */
  const inputs: tf.Tensor[] = [x, ...(shift ? [shift] : []), ...(frozen ? [] : [gamma, beta])];
  const named = (t: tf.Tensor[]) => {
    const [xx, ...rest] = t;
    const tt = shift ? rest.shift() : undefined;
    const [gg, bb] = frozen ? [gamma, beta] : rest;
    return { x: xx, ...(tt ? { t: tt } : {}), gamma: gg, beta: bb } as tf.NamedTensorMap;
  };
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const ts = args as tf.Tensor[];
    save(ts);
    return {
      value: runKernel(GROUP_NORM, named(ts), attrs) as tf.Tensor4D,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const m = { ...named(saved), dy };
        const dx = runKernel(GROUP_NORM_GRAD_X, m, attrs);
        const grads = [dx];
        if (shift) grads.push(sumToBatchChannels(dx));
        if (!frozen) {
          for (const isBeta of [false, true])
            grads.push(runKernel(GROUP_NORM_GRAD_AFFINE, m, { ...attrs, beta: isBeta }));
        }
        return grads;
      },
    };
  }) as (...ts: tf.Tensor[]) => tf.Tensor4D;
  return f(...inputs);
}
