/**
 * The UNet's conditioning MLP as WebGPU programs: from the sinusoidal timestep embedding e [B, S]
 * and the labels, with the time MLP (w1 [S, E], b1, w2 [E, E], b2) and the class table [K, E],
 *   h1 = silu(e w1 + b1),   embAct = silu(h1 w2 + b2 + table[label])
 * forward two dispatches in place of about a dozen composed kernels (two fused matMuls, two
 * SiLUs as sigmoid and multiply, one-hot, casts, the class matMul, the add). Backward, with
 * d2 = dy * silu'(pre2) and d1 = (d2 w2^T) * silu'(pre1) (pre-activations recomputed, not stored):
 *   dw2 = h1^T d2,  db2 = sum_b d2,  dtable[r] = sum_{b: label_b = r} d2_b,  dw1 = e^T d1,  db1 = sum_b d1
 * five dispatches at batch 1 (a sum over one row is a reshape), seven otherwise. Every program is
 * one invocation per output element; the sizes are tiny ([B, 64] by default).
 */
import * as tf from '@tensorflow/tfjs';
import { sumToChannels } from './row-sum';
import { touchAll, type WebGpuProgram, type WebGpuRunner } from './webgpu-program';

export const EMBEDDING = 'RapmEmbedding';

type Kind = 'hidden' | 'out' | 'd2' | 'd1' | 'dtable';

const INPUTS: Record<Kind, string[]> = {
  hidden: ['e', 'w1', 'b1'],
  out: ['h1', 'w2', 'b2', 'table', 'labels'],
  d2: ['dy', 'h1', 'w2', 'b2', 'table', 'labels'],
  d1: ['d2', 'w2', 'e', 'w1', 'b1'],
  dtable: ['d2', 'labels'],
};

const WG = 64;

/** WGSL: x * sigmoid(x) and its derivative. */
const SILU_WGSL = `
  fn silu(p: f32) -> f32 {
    return p / (1.0 + exp(-p));
  }
  fn siluGrad(p: f32) -> f32 {
    let sg = 1.0 / (1.0 + exp(-p));
    return sg * (1.0 + p * (1.0 - sg));
  }`;

interface Dims {
  b: number;
  s: number;
  e: number;
  /** Rows of the class table (classes + the null class). */
  k: number;
}

class EmbeddingProgram implements WebGpuProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WG, 1, 1];

  constructor(
    private readonly kind: Kind,
    private readonly d: Dims,
  ) {
    this.variableNames = INPUTS[kind];
    this.outputShape = kind === 'dtable' ? [d.k, d.e] : [d.b, d.e];
    this.dispatchLayout = { x: [0, 1] };
    this.dispatch = [Math.ceil((this.outputShape[0] * d.e) / WG), 1, 1];
    this.shaderKey = `rapmEmbedding_${kind}_${d.b}_${d.s}_${d.e}_${d.k}`;
  }

  getUserCode(): string {
    const { b, s, e } = this.d;
    const size = this.outputShape[0] * e;
    // pre-activations of row bb, column j
    const pre1 = `
      fn pre1(bb: i32, j: i32) -> f32 {
        var acc = b1[j];
        for (var i = 0; i < ${s}; i = i + 1) {
          acc = acc + e[bb * ${s} + i] * w1[i * ${e} + j];
        }
        return acc;
      }`;
    const pre2 = `
      fn pre2(bb: i32, j: i32) -> f32 {
        var acc = b2[j] + table[i32(labels[bb]) * ${e} + j];
        for (var i = 0; i < ${e}; i = i + 1) {
          acc = acc + h1[bb * ${e} + i] * w2[i * ${e} + j];
        }
        return acc;
      }`;
    const body: Record<Kind, string> = {
      hidden: `${pre1} fn value(bb: i32, j: i32) -> f32 { return silu(pre1(bb, j)); }`,
      out: `${pre2} fn value(bb: i32, j: i32) -> f32 { return silu(pre2(bb, j)); }`,
      d2: `${pre2} fn value(bb: i32, j: i32) -> f32 { return dy[bb * ${e} + j] * siluGrad(pre2(bb, j)); }`,
      d1: `${pre1}
        fn value(bb: i32, j: i32) -> f32 {
          var dh = 0.0;
          for (var i = 0; i < ${e}; i = i + 1) {
            dh = dh + d2[bb * ${e} + i] * w2[j * ${e} + i];
          }
          return dh * siluGrad(pre1(bb, j));
        }`,
      // row r of the table: the d2 rows whose label is r
      dtable: `
        fn value(r: i32, j: i32) -> f32 {
          var acc = 0.0;
          for (var bb = 0; bb < ${b}; bb = bb + 1) {
            if (i32(labels[bb]) == r) {
              acc = acc + d2[bb * ${e} + j];
            }
          }
          return acc;
        }`,
    };
    return `${SILU_WGSL}
      ${body[this.kind]}
      fn main(index: i32) {
        ${touchAll(this.variableNames, 'index')}
        if (index < ${size}) {
          result[index] = value(index / ${e}, index % ${e});
        }
      }`;
  }
}

/** One kernel runs every program; `kind` picks it. */
export const embeddingKernel: tf.KernelConfig = {
  kernelName: EMBEDDING,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const { kind, ...dims } = attrs as unknown as Dims & { kind: Kind };
    const program = new EmbeddingProgram(kind, dims);
    const named = INPUTS[kind].map((n) => inputs[n] as tf.TensorInfo);
    return (backend as WebGpuRunner).runWebGPUProgram(program, named, 'float32');
  },
};

export interface EmbeddingWeights {
  w1: tf.Tensor2D;
  b1: tf.Tensor1D;
  w2: tf.Tensor2D;
  b2: tf.Tensor1D;
  table: tf.Tensor2D;
}

/**
 * silu(silu(e w1 + b1) w2 + b2 + table[labels]) with its gradient for the five weights (none
 * when `frozen`: a frozen teacher's conditioning takes no gradient at all).
 */
export function fusedConditioning(
  e: tf.Tensor2D,
  labels: tf.Tensor1D,
  w: EmbeddingWeights,
  frozen: boolean,
): tf.Tensor2D {
  const dims: Dims = { b: e.shape[0], s: e.shape[1], e: w.w2.shape[0], k: w.table.shape[0] };
  const run = (kind: Kind, inputs: tf.NamedTensorMap) =>
    tf.engine().runKernel(EMBEDDING, inputs, { kind, ...dims }) as tf.Tensor2D;
  const ids = tf.cast(labels, 'int32');
  const hidden = (w1: tf.Tensor, b1: tf.Tensor) => run('hidden', { e, w1, b1 });
  const out = (h1: tf.Tensor, w2: tf.Tensor, b2: tf.Tensor, table: tf.Tensor) =>
    run('out', { h1, w2, b2, table, labels: ids });
  if (frozen) return out(hidden(w.w1, w.b1), w.w2, w.b2, w.table);
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [w1, b1, w2, b2, table, save] = args as [
      tf.Tensor,
      tf.Tensor,
      tf.Tensor,
      tf.Tensor,
      tf.Tensor,
      tf.GradSaveFunc,
    ];
    const h1 = hidden(w1, b1);
    // e and the labels too: tensors made outside are gone by the time the gradient runs
    save([w1, b1, w2, b2, table, h1, e, ids]);
    return {
      value: out(h1, w2, b2, table),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sw1, sb1, sw2, sb2, stable, sh1, se, sids] = saved;
        const d2 = run('d2', { dy, h1: sh1, w2: sw2, b2: sb2, table: stable, labels: sids });
        const d1 = run('d1', { d2, w2: sw2, e: se, w1: sw1, b1: sb1 });
        return [
          tf.matMul(se as tf.Tensor2D, d1, true, false),
          sumToChannels(d1),
          tf.matMul(sh1 as tf.Tensor2D, d2, true, false),
          sumToChannels(d2),
          run('dtable', { d2, labels: sids }),
        ];
      },
    };
  }) as (...ts: tf.Tensor[]) => tf.Tensor2D;
  return f(w.w1, w.b1, w.w2, w.b2, w.table);
}
