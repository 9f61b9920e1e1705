/**
 * The shape of a program that tfjs's webgpu backend runs (`runWebGPUProgram`), restated here so
 * core code needs no import from the backend package (Node's wasm path never loads it). tfjs
 * prepends bindings to the user code: `result` (the one output), each of `variableNames` as a
 * read-only array, `uniforms` (shapes, then `size` when asked, then the program's own fields),
 * and the private `localId` / `workgroupId`; `main(index)` is called from its entry point.
 */
import type * as tf from '@tensorflow/tfjs';

export interface WebGpuProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  /** Adds `size` (the output's element count) to the uniforms. */
  size?: boolean;
  /** The program's own uniform fields, WGSL struct syntax ("lr : f32, ..."). */
  uniforms?: string;
  getUserCode: () => string;
}

export interface UniformValue {
  type: 'float32' | 'int32';
  data: number[];
}

/** The part of tfjs's WebGPUBackend the fused kernels use. */
export interface WebGpuRunner {
  runWebGPUProgram(
    program: WebGpuProgram,
    inputs: tf.TensorInfo[],
    dtype: tf.DataType,
    uniforms?: UniformValue[],
  ): tf.TensorInfo;
}

/**
 * A statement that reads every input and the uniforms without effect. Pipelines use
 * layout 'auto', which drops bindings the shader never reads, while tfjs always binds every
 * input and the uniforms: an unread one invalidates the bind group and the dispatch.
 */
export function touchAll(variableNames: string[], index: string): string {
  const reads = [...variableNames.map((v) => `f32(${v}[0])`), 'uniforms.NAN'].join(' + ');
  return `if (${index} < 0) { result[0] = ${reads}; }`;
}

/** Workgroup size of the reduction programs; `reduceSum` below assumes a power of two. */
export const REDUCE_WG = 64;

const reduction = (name: string, combine: string) => `
  fn ${name}(v: f32) -> f32 {
    let li = i32(localId.x);
    partial[li] = v;
    workgroupBarrier();
    for (var s = ${REDUCE_WG / 2}; s > 0; s = s >> 1u) {
      if (li < s) {
        let a = partial[li];
        let b = partial[li + s];
        partial[li] = ${combine};
      }
      workgroupBarrier();
    }
    let total = partial[0];
    workgroupBarrier();
    return total;
  }`;

/**
 * Workgroup-wide `reduceSum` and `reduceMax` in shared memory, and `workgroupIndex()` (the flat
 * index of the workgroup, whatever shape tfjs gave the dispatch); every invocation must call the
 * reductions (they have barriers).
 */
export const REDUCE_SUM_WGSL = `
  var<workgroup> partial: array<f32, ${REDUCE_WG}>;
  ${reduction('reduceSum', 'a + b')}
  ${reduction('reduceMax', 'max(a, b)')}
  fn workgroupIndex() -> i32 {
    return i32(workgroupId.z * numWorkgroups.x * numWorkgroups.y + workgroupId.y * numWorkgroups.x + workgroupId.x);
  }
`;
