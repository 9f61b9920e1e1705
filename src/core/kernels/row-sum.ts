/**
 * Sums over the middle axes as one WebGPU dispatch: x viewed as [B, R, C] -> [B, C]. tfjs's
 * webgpu backend reduces only over the innermost axes, so a bias gradient (tf.sum over every axis
 * but the channels) costs a transpose and a reduction there: two dispatches, one here. One
 * workgroup per output element sums its R rows (stride C) in shared memory.
 */
import * as tf from '@tensorflow/tfjs';
import { useFused } from './fused';
import { REDUCE_SUM_WGSL, REDUCE_WG, touchAll, type WebGpuProgram, type WebGpuRunner } from './webgpu-program';

export const ROW_SUM = 'RapmRowSum';

class RowSumProgram implements WebGpuProgram {
  variableNames = ['x'];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [0, 1] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [REDUCE_WG, 1, 1];

  constructor(
    b: number,
    private readonly r: number,
    private readonly c: number,
  ) {
    this.outputShape = [b, c];
    this.dispatch = [b * c, 1, 1];
    this.shaderKey = `rapmRowSum_${b}_${r}_${c}`;
  }

  getUserCode(): string {
    const { r, c } = this;
    return `${REDUCE_SUM_WGSL}
      fn main(index: i32) {
        ${touchAll(this.variableNames, 'index')}
        let out = workgroupIndex();
        let base = (out / ${c}) * ${r * c} + out % ${c};
        var acc = 0.0;
        for (var i = i32(localId.x); i < ${r}; i = i + ${REDUCE_WG}) {
          acc = acc + x[base + i * ${c}];
        }
        let total = reduceSum(acc);
        if (localId.x == 0u) {
          result[out] = total;
        }
      }`;
  }
}

export const rowSumKernel: tf.KernelConfig = {
  kernelName: ROW_SUM,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const { b, r, c } = attrs as unknown as { b: number; r: number; c: number };
    return (backend as WebGpuRunner).runWebGPUProgram(
      new RowSumProgram(b, r, c),
      [inputs.x as tf.TensorInfo],
      'float32',
    );
  },
};

function rowSum(x: tf.Tensor, b: number, c: number): tf.Tensor2D {
  const r = x.size / (b * c);
  if (r === 1) return x.reshape([b, c]);
  return tf.engine().runKernel(ROW_SUM, { x }, { b, r, c }) as tf.Tensor2D;
}

/** x [..., C] summed over every axis but the last (a bias gradient): [C]. */
export function sumToChannels(x: tf.Tensor): tf.Tensor1D {
  const c = x.shape[x.rank - 1];
  if (!useFused(ROW_SUM)) return tf.sum(x, [...Array(x.rank - 1).keys()]) as tf.Tensor1D;
  return rowSum(x, 1, c).reshape([c]);
}

/** x [B, ..., C] summed over the axes between the first and the last: [B, C]. */
export function sumToBatchChannels(x: tf.Tensor): tf.Tensor2D {
  const [b, c] = [x.shape[0], x.shape[x.rank - 1]];
  if (x.rank === 2) return x as tf.Tensor2D;
  if (!useFused(ROW_SUM))
    return tf.sum(
      x,
      [...Array(x.rank - 2).keys()].map((i) => i + 1),
    ) as tf.Tensor2D;
  return rowSum(x, b, c);
}
