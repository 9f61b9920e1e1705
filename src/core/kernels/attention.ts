/**
 * The UNet's single-head self-attention core with its output projection and residual, as WebGPU
 * programs: forward one dispatch in place of nine composed kernels (split into q, k, v, two
 * batched matmuls, scale, softmax, projection, residual add), backward four (two with frozen
 * weights) in place of about twenty.
 *
 * Inputs: qkv [B, N, 3C] (q, k, v side by side, the qkv linear's output), x [B, H, W, C] with
 * N = H * W (the residual), wp [C, C] and bp [C] (the projection). With s = 1 / sqrt(C):
 *   P = softmax_rows(s * q k^T),  A = P v,  y = x + A wp + bp
 * Forward: one workgroup per (sample, query row) computes the row's scores in shared memory, their
 * softmax (max subtracted, as tf.softmax), A's row, then the projected row plus the residual.
 * Backward, with dA = dy wp^T, D_i = sum_j P_ij dP_ij = dA_i . A_i and dS = P * (dA v^T - D):
 *   dq = s dS k,  dk = s dS^T q,  dv = P^T dA,  dwp = A^T dy,  dbp = sum_rows dy,  dx = dy
 * in three programs: `rows` (per row: A, dA, the softmax's max and 1 / sum, and D, packed),
 * `dqkv` (one workgroup per (sample, position j): row j of dS for dq_j and column j of dS and P
 * for dk_j and dv_j, all from the packed rows) and `dwp`; dbp is one row sum (row-sum.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { sumToChannels } from './row-sum';
import { REDUCE_SUM_WGSL, REDUCE_WG, touchAll, type WebGpuProgram, type WebGpuRunner } from './webgpu-program';

export const ATTENTION = 'RapmAttention';
export const ATTENTION_ROWS = 'RapmAttentionRows';
export const ATTENTION_DQKV = 'RapmAttentionGradQkv';
export const ATTENTION_DWP = 'RapmAttentionGradProj';

type Kind = 'forward' | 'rows' | 'dqkv' | 'dwp';

/** Floats of shared memory the programs need at most (3 rows of scores, one of channels). */
const sharedFloats = (n: number, c: number) => 3 * n + c + REDUCE_WG;

/** Whether the fused programs handle N positions of C channels (their shared memory fits in 16 KiB). */
export function attentionFits(n: number, c: number): boolean {
  return sharedFloats(n, c) * 4 <= 16384;
}

/** Row layout of the packed `rows` output: A (C), dA (C), max, 1 / sum, D. */
const rowWidth = (c: number) => 2 * c + 3;

class AttentionProgram implements WebGpuProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [REDUCE_WG, 1, 1];

  constructor(
    private readonly kind: Kind,
    private readonly b: number,
    private readonly n: number,
    private readonly c: number,
  ) {
    const inputs: Record<Kind, string[]> = {
      forward: ['qkv', 'x', 'wp', 'bp'],
      rows: ['qkv', 'wp', 'dy'],
      dqkv: ['qkv', 'rows'],
      dwp: ['rows', 'dy'],
    };
    const outputs: Record<Kind, number[]> = {
      forward: [b, n, c],
      rows: [b * n, rowWidth(c)],
      dqkv: [b, n, 3 * c],
      dwp: [c, c],
    };
    this.variableNames = inputs[kind];
    this.outputShape = outputs[kind];
    this.dispatchLayout = { x: this.outputShape.map((_, i) => i) };
    // one workgroup per (sample, row), except dwp: one invocation per weight
    this.dispatch = [kind === 'dwp' ? Math.ceil((c * c) / REDUCE_WG) : b * n, 1, 1];
    this.shaderKey = `rapmAttention_${kind}_${b}_${n}_${c}`;
  }

  getUserCode(): string {
    const { n, c } = this;
    const c3 = 3 * c;
    const w = rowWidth(c);
    const scale = `${1 / Math.sqrt(c)}`;
    const touch = touchAll(this.variableNames, 'index');
    if (this.kind === 'dwp') {
      return `
        fn main(index: i32) {
          ${touch}
          if (index < ${c * c}) {
            let ci = index / ${c};
            let ni = index % ${c};
            var acc = 0.0;
            for (var r = 0; r < ${this.b * n}; r = r + 1) {
              acc = acc + rows[r * ${w} + ci] * dy[r * ${c} + ni];
            }
            result[index] = acc;
          }
        }`;
    }
    // q_i . k_j (scaled) for rows i, j of the sample starting at row `first`
    const score = `
      fn score(first: i32, i: i32, j: i32) -> f32 {
        let qi = (first + i) * ${c3};
        let kj = (first + j) * ${c3} + ${c};
        var d = 0.0;
        for (var cc = 0; cc < ${c}; cc = cc + 1) {
          d = d + qkv[qi + cc] * qkv[kj + cc];
        }
        return d * ${scale};
      }`;
    const header = `${REDUCE_SUM_WGSL}${score}
      var<workgroup> s0: array<f32, ${n}>;
      var<workgroup> s1: array<f32, ${n}>;
      var<workgroup> s2: array<f32, ${n}>;
      var<workgroup> sc: array<f32, ${c}>;`;
    const prologue = `
      ${touch}
      let row = workgroupIndex();
      let first = (row / ${n}) * ${n};
      let i = row - first;
      let li = i32(localId.x);`;
    // s0 = exp(score - max) of row i; m and inv: the max and 1 / sum
    const softmaxRow = `
      var mx = -3.402823e38;
      for (var j = li; j < ${n}; j = j + ${REDUCE_WG}) {
        let z = score(first, i, j);
        s0[j] = z;
        mx = max(mx, z);
      }
      let m = reduceMax(mx);
      var se = 0.0;
      for (var j = li; j < ${n}; j = j + ${REDUCE_WG}) {
        let e = exp(s0[j] - m);
        s0[j] = e;
        se = se + e;
      }
      let inv = 1.0 / reduceSum(se);`;
    // A_i[cc] = sum_j P_ij v_j[cc]
    const aRow = `
      fn attended(first: i32, cc: i32, inv: f32) -> f32 {
        var a = 0.0;
        for (var j = 0; j < ${n}; j = j + 1) {
          a = a + s0[j] * qkv[(first + j) * ${c3} + ${2 * c} + cc];
        }
        return a * inv;
      }`;
    if (this.kind === 'forward') {
      return `${header}${aRow}
        fn main(index: i32) {
          ${prologue}
          ${softmaxRow}
          for (var cc = li; cc < ${c}; cc = cc + ${REDUCE_WG}) {
            sc[cc] = attended(first, cc, inv);
          }
          workgroupBarrier();
          for (var o = li; o < ${c}; o = o + ${REDUCE_WG}) {
            var y = bp[o];
            for (var cc = 0; cc < ${c}; cc = cc + 1) {
              y = y + sc[cc] * wp[cc * ${c} + o];
            }
            result[row * ${c} + o] = x[row * ${c} + o] + y;
          }
        }`;
    }
    if (this.kind === 'rows') {
      return `${header}${aRow}
        fn main(index: i32) {
          ${prologue}
          ${softmaxRow}
          var dsum = 0.0;
          for (var cc = li; cc < ${c}; cc = cc + ${REDUCE_WG}) {
            let a = attended(first, cc, inv);
            var da = 0.0;
            for (var o = 0; o < ${c}; o = o + 1) {
              da = da + dy[row * ${c} + o] * wp[cc * ${c} + o];
            }
            result[row * ${w} + cc] = a;
            result[row * ${w} + ${c} + cc] = da;
            dsum = dsum + a * da;
          }
          let dd = reduceSum(dsum);
          if (li == 0) {
            result[row * ${w} + ${2 * c}] = m;
            result[row * ${w} + ${2 * c + 1}] = inv;
            result[row * ${w} + ${2 * c + 2}] = dd;
          }
        }`;
    }
    // dqkv: j = this workgroup's position; s0 = dS_jk over k, s1 = dS_ij and s2 = P_ij over i
    return `${header}
      // P_ij and dS_ij from the packed rows
      fn pds(first: i32, i: i32, j: i32) -> vec2<f32> {
        let ri = (first + i) * ${w};
        let p = exp(score(first, i, j) - rows[ri + ${2 * c}]) * rows[ri + ${2 * c + 1}];
        var dp = 0.0;
        let vj = (first + j) * ${c3} + ${2 * c};
        for (var cc = 0; cc < ${c}; cc = cc + 1) {
          dp = dp + rows[ri + ${c} + cc] * qkv[vj + cc];
        }
        return vec2<f32>(p, p * (dp - rows[ri + ${2 * c + 2}]));
      }
      fn main(index: i32) {
        ${prologue}
        for (var k = li; k < ${n}; k = k + ${REDUCE_WG}) {
          s0[k] = pds(first, i, k).y;
          let col = pds(first, k, i);
          s2[k] = col.x;
          s1[k] = col.y;
        }
        workgroupBarrier();
        for (var o = li; o < ${c3}; o = o + ${REDUCE_WG}) {
          var acc = 0.0;
          if (o < ${c}) {
            for (var k = 0; k < ${n}; k = k + 1) {
              acc = acc + s0[k] * qkv[(first + k) * ${c3} + ${c} + o];
            }
            acc = acc * ${scale};
          } else if (o < ${2 * c}) {
            for (var k = 0; k < ${n}; k = k + 1) {
              acc = acc + s1[k] * qkv[(first + k) * ${c3} + o - ${c}];
            }
            acc = acc * ${scale};
          } else {
            for (var k = 0; k < ${n}; k = k + 1) {
              acc = acc + s2[k] * rows[(first + k) * ${w} + ${c} + o - ${2 * c}];
            }
          }
          result[row * ${c3} + o] = acc;
        }
      }`;
  }
}

const shapeOf = (qkv: tf.TensorInfo): [number, number, number] => {
  const [b, n, c3] = qkv.shape;
  return [b, n, c3 / 3];
};

function run(kind: Kind, backend: unknown, inputs: tf.NamedTensorInfoMap, names: string[]): tf.TensorInfo {
  const [b, n, c] = shapeOf(inputs.qkv ?? (inputs.rows as tf.TensorInfo));
  const program = new AttentionProgram(kind, b, n, c);
  return (backend as WebGpuRunner).runWebGPUProgram(
    program,
    names.map((k) => inputs[k] as tf.TensorInfo),
    'float32',
  );
}

/** The kernels for tf.registerKernel on the webgpu backend (dwp reads the shape from its attrs). */
export const attentionKernels: tf.KernelConfig[] = [
  {
    kernelName: ATTENTION,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend }) => {
      const out = run('forward', backend, inputs, ['qkv', 'x', 'wp', 'bp']);
      return { ...out, shape: (inputs.x as tf.TensorInfo).shape };
    },
  },
  {
    kernelName: ATTENTION_ROWS,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend }) => run('rows', backend, inputs, ['qkv', 'wp', 'dy']),
  },
  {
    kernelName: ATTENTION_DQKV,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend }) => run('dqkv', backend, inputs, ['qkv', 'rows']),
  },
  {
    kernelName: ATTENTION_DWP,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { b, n, c } = attrs as unknown as { b: number; n: number; c: number };
      const names = ['rows', 'dy'];
      return (backend as WebGpuRunner).runWebGPUProgram(
        new AttentionProgram('dwp', b, n, c),
        names.map((k) => inputs[k] as tf.TensorInfo),
        'float32',
      );
    },
  },
];

const runKernel = (name: string, inputs: tf.NamedTensorMap, attrs: object = {}) =>
  tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.Tensor;

/**
 * x + softmax(q k^T / sqrt(C)) v wp + bp with its gradient, qkv [B * N, 3C] as the qkv linear
 * gives it. With `frozen`, wp and bp are closed over and the backward pass forms dx and dqkv only.
 */
export function fusedAttention(
  x: tf.Tensor4D,
  qkv: tf.Tensor2D,
  wp: tf.Tensor2D,
  bp: tf.Tensor1D,
  frozen: boolean,
): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const n = h * w;
  const forward = (xx: tf.Tensor, q: tf.Tensor, pw: tf.Tensor, pb: tf.Tensor) =>
    runKernel(ATTENTION, { qkv: q.reshape([b, n, 3 * c]), x: xx, wp: pw, bp: pb }) as tf.Tensor4D;
  /** [dx, dqkv] and the packed rows, for dwp. */
  const grads = (q: tf.Tensor, pw: tf.Tensor, dy: tf.Tensor) => {
    const qkv3 = q.reshape([b, n, 3 * c]);
    const rows = runKernel(ATTENTION_ROWS, { qkv: qkv3, wp: pw, dy: dy.reshape([b * n, c]) });
    const dqkv = runKernel(ATTENTION_DQKV, { qkv: qkv3, rows }).reshape(q.shape);
    return { dx: dy.clone(), dqkv, rows };
  };
  if (frozen) {
    const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [xx, q, save] = args as [tf.Tensor4D, tf.Tensor2D, tf.GradSaveFunc];
      // wp saved too: it may be a tensor made inside the gradient's scope (merged LoRA weights)
      save([q, wp]);
      return {
        value: forward(xx, q, wp, bp),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const g = grads(saved[0], saved[1], dy);
          g.rows.dispose();
          return [g.dx, g.dqkv];
        },
      };
    }) as (x: tf.Tensor4D, qkv: tf.Tensor2D) => tf.Tensor4D;
    return f(x, qkv);
  }
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xx, q, pw, pb, save] = args as [tf.Tensor4D, tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
    save([q, pw]);
    return {
      value: forward(xx, q, pw, pb),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [qs, ws] = saved;
        const g = grads(qs, ws, dy);
        const dwp = runKernel(ATTENTION_DWP, { rows: g.rows, dy: dy.reshape([b * n, c]) }, { b, n, c });
        const dbp = sumToChannels(dy);
        return [g.dx, g.dqkv, dwp, dbp];
      },
    };
  }) as (x: tf.Tensor4D, qkv: tf.Tensor2D, wp: tf.Tensor2D, bp: tf.Tensor1D) => tf.Tensor4D;
  return f(x, qkv, wp, bp);
}
