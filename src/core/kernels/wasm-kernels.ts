/**
 * Faster replacements for the tfjs-wasm kernels that dominated the UNet's training step.
 *
 * Why: profiling forward+backward at batch 32 on tfjs-wasm 4.22 (docs/benchmarks.md) found time
 * going to slow code paths rather than arithmetic:
 * - `BatchMatMul` uses XNNPACK's GEMM only for one plain product (no transpose flag, batch 1);
 *   anything else, every matMul gradient and every attention product included, runs a scalar
 *   loop 5-10x slower. Here transposes are done first and batches are run one product at a time
 *   through the fast path.
 * - `Identity` copies its input; gradients pass through it hundreds of times a step. Tensors are
 *   immutable, so it shares the data instead, as the backend's own `Reshape` does.
 * - `Sum` over the leading axes (every bias gradient) transposes the tensor first; a product
 *   with a row of ones reads it in place.
 * - The gradients of 2x nearest upsampling and 2x2 average pooling run generic loops; they are
 *   the other operation scaled by a power of two (2x2 sum = 4 x average; the spread back is
 *   nearest upsampling x 1/4), so those kernels give the same values faster.
 * - `Reverse` over leading axes (the flipped filter of every convolution's input gradient)
 *   reverses the order of contiguous blocks: a few block copies.
 * - `Slice` copies its WHOLE input out of the wasm heap before taking the slice (readSync), so
 *   unpacking the packed Adam state of a fully fine-tuned student (77 slices of one 475k-float
 *   buffer, src/core/train/packed-adam.ts) copied about 150 MB a step and made RAPM iterations
 *   2-5 s. A contiguous slice is now one copy of just its elements, heap to heap.
 * Each replacement either computes exactly what the kernel did or the same products through
 * XNNPACK (float sums in another order); anything else goes to the original kernel.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

type KernelArgs = Parameters<tf.KernelFunc>[0];
type Info = tf.TensorInfo;

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

let installed = false;

function original(name: string): tf.KernelConfig {
  const config = tf.getKernel(name, 'wasm');
  if (!config) throw new Error(`tfjs-wasm has no '${name}' kernel to wrap: is @tensorflow/tfjs-backend-wasm loaded?`);
  return config;
}

function replace(config: tf.KernelConfig, kernelFunc: (args: KernelArgs) => Info): void {
  tf.unregisterKernel(config.kernelName, 'wasm');
  tf.registerKernel({ ...config, kernelFunc: kernelFunc as tf.KernelFunc });
}

/** The original kernels, called directly (not through the engine) on backend tensors. */
class Kernels {
  constructor(
    readonly backend: BackendWasm,
    private readonly funcs: Record<string, tf.KernelFunc>,
  ) {}

  run(name: string, inputs: Record<string, Info>, attrs: object = {}): Info {
    return this.funcs[name]({ inputs, backend: this.backend, attrs } as KernelArgs) as Info;
  }

  heap(t: Info): Float32Array {
    return this.backend.typedArrayFromHeap(t) as Float32Array;
  }

  /** A new float32 tensor filled with `value`. */
  fill(shape: number[], value: number): Info {
    const out = this.backend.makeOutput(shape, 'float32');
    this.heap(out).fill(value);
    return out;
  }

  /** A new tensor holding `count` elements of `src` from `offset` (views are re-made after each allocation). */
  copy(src: Info, offset: number, shape: number[]): Info {
    const out = this.backend.makeOutput(shape, 'float32');
    const n = size(shape);
    this.heap(out).set(this.heap(src).subarray(offset, offset + n));
    return out;
  }

  /** The same data under another shape (shares storage, like Reshape). */
  view(t: Info, shape: number[]): Info {
    this.backend.incRef(t.dataId);
    return { dataId: t.dataId, shape, dtype: t.dtype };
  }

  dispose(...ts: Info[]): void {
    for (const t of ts) this.backend.disposeData(t.dataId);
  }

  /** The product of [M, K] and [K, N] through XNNPACK (plain operands, batch 1). */
  gemm(a: Info, b: Info): Info {
    return this.run('BatchMatMul', { a, b }, { transposeA: false, transposeB: false });
  }
}

function swapLast(k: Kernels, t: Info): Info {
  const perm = t.shape.map((_, i) => i);
  const r = perm.length;
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return k.run('Transpose', { x: t }, { perm });
}

function batchMatMul(k: Kernels, args: KernelArgs): Info {
  const { a, b } = args.inputs as { a: Info; b: Info };
  const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
  const batchShapeA = a.shape.slice(0, -2);
  const batchShapeB = b.shape.slice(0, -2);
  const batchA = size(batchShapeA);
  const batchB = size(batchShapeB);
  const sameBatch = batchShapeA.length === batchShapeB.length && batchShapeA.every((d, i) => d === batchShapeB[i]);
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || !(sameBatch || batchA === 1 || batchB === 1)) {
    return k.run('BatchMatMul', { a, b }, args.attrs);
  }
  const at = transposeA ? swapLast(k, a) : a;
  const bt = transposeB ? swapLast(k, b) : b;
  const [m, inner] = at.shape.slice(-2);
  const n = bt.shape[bt.shape.length - 1];
  const batchShape = batchA >= batchB ? batchShapeA : batchShapeB;
  const outShape = [...batchShape, m, n];
  let out: Info;
  if (batchB === 1) {
    // One product: the batches of a stack into rows.
    const a2 = k.view(at, [batchA * m, inner]);
    const b2 = k.view(bt, [inner, n]);
    const flat = k.gemm(a2, b2);
    out = k.view(flat, outShape);
    k.dispose(a2, b2, flat);
  } else {
    out = k.backend.makeOutput(outShape, 'float32');
    const shared = batchA === 1 ? k.view(at, [m, inner]) : null;
    for (let i = 0; i < batchB; i++) {
      const ai = shared ?? k.copy(at, i * m * inner, [m, inner]);
      const bi = k.copy(bt, i * inner * n, [inner, n]);
      const ri = k.gemm(ai, bi);
      k.heap(out).set(k.heap(ri), i * m * n);
      k.dispose(bi, ri);
      if (!shared) k.dispose(ai);
    }
    if (shared) k.dispose(shared);
  }
  if (at !== a) k.dispose(at);
  if (bt !== b) k.dispose(bt);
  return out;
}

function normalizedAxes(axis: number | number[], rank: number): number[] {
  return (Array.isArray(axis) ? axis : [axis]).map((ax) => (ax < 0 ? ax + rank : ax)).sort((p, q) => p - q);
}

function sum(k: Kernels, args: KernelArgs): Info {
  const { x } = args.inputs as { x: Info };
  const { axis, keepDims } = args.attrs as { axis: number | number[]; keepDims: boolean };
  const axes = normalizedAxes(axis, x.shape.length);
  const leading = axes.every((ax, i) => ax === i) && axes.length > 0 && axes.length < x.shape.length;
  if (x.dtype !== 'float32' || !leading) return k.run('Sum', { x }, args.attrs);
  const rows = size(x.shape.slice(0, axes.length));
  const rest = x.shape.slice(axes.length);
  const ones = k.fill([1, rows], 1);
  const x2 = k.view(x, [rows, size(rest)]);
  const r = k.gemm(ones, x2);
  const out = k.view(r, keepDims ? [...axes.map(() => 1), ...rest] : rest);
  k.dispose(ones, x2, r);
  return out;
}

function scaled(k: Kernels, t: Info, factor: number): Info {
  const s = k.fill([], factor);
  const out = k.run('Multiply', { a: t, b: s });
  k.dispose(s);
  return out;
}

/** 2x nearest upsampling without corner alignment: each input pixel feeds one 2x2 block. */
function resizeNearestGrad(k: Kernels, args: KernelArgs): Info {
  const { images, dy } = args.inputs as { images: Info; dy: Info };
  const { alignCorners, halfPixelCenters } = args.attrs as { alignCorners: boolean; halfPixelCenters: boolean };
  const [, h, w] = images.shape;
  const exact2x = !alignCorners && !halfPixelCenters && dy.shape[1] === 2 * h && dy.shape[2] === 2 * w;
  if (!exact2x || dy.dtype !== 'float32') return k.run('ResizeNearestNeighborGrad', { images, dy }, args.attrs);
  const avg = k.run('AvgPool', { x: dy }, { filterSize: 2, strides: 2, pad: 'valid' });
  const out = scaled(k, avg, 4);
  k.dispose(avg);
  return out;
}

/** 2x2 average pooling with stride 2 and no padding: each output spreads 1/4 over its block. */
function avgPoolGrad(k: Kernels, args: KernelArgs): Info {
  const { dy, input } = args.inputs as { dy: Info; input: Info };
  const { filterSize, strides, pad, dimRoundingMode } = args.attrs as {
    filterSize: number | [number, number];
    strides: number | [number, number];
    pad: unknown;
    dimRoundingMode?: unknown;
  };
  const two = (v: number | [number, number]) => (Array.isArray(v) ? v[0] === 2 && v[1] === 2 : v === 2);
  const [, h, w] = input.shape;
  const exact =
    two(filterSize) && two(strides) && pad === 'valid' && dimRoundingMode == null && h % 2 === 0 && w % 2 === 0;
  if (!exact || dy.dtype !== 'float32') return k.run('AvgPoolGrad', { dy, input }, args.attrs);
  const up = k.run(
    'ResizeNearestNeighbor',
    { images: dy },
    { alignCorners: false, halfPixelCenters: false, size: [h, w] },
  );
  const out = scaled(k, up, 0.25);
  k.dispose(up);
  return out;
}

function reverse(k: Kernels, args: KernelArgs): Info {
  const { x } = args.inputs as { x: Info };
  const axes = normalizedAxes((args.attrs as { dims: number | number[] }).dims, x.shape.length);
  const leading = axes.length > 0 && axes.every((ax, i) => ax === i);
  if (x.dtype !== 'float32' || !leading) return k.run('Reverse', { x }, args.attrs);
  // Reversing every leading axis reverses their flattened index: blocks move whole.
  const blocks = size(x.shape.slice(0, axes.length));
  const block = size(x.shape.slice(axes.length));
  const out = k.backend.makeOutput(x.shape, 'float32');
  const src = k.heap(x);
  const dst = k.heap(out);
  for (let i = 0; i < blocks; i++) dst.set(src.subarray(i * block, (i + 1) * block), (blocks - 1 - i) * block);
  return out;
}

/** Puts the replacements in place for the wasm backend; safe to call more than once. */
/** A contiguous float32 slice as one heap-to-heap copy; null for anything else (the original kernel runs). */
function slice(k: Kernels, args: KernelArgs): Info | null {
  const { x } = args.inputs as { x: Info };
  const { begin, size: sizes } = args.attrs as unknown as { begin: number | number[]; size: number | number[] };
  if (x.dtype !== 'float32') return null;
  const [begin_, size_] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, sizes);
  if (!tf.slice_util.isSliceContinous(x.shape, begin_, size_)) return null;
  const offset = tf.slice_util.computeFlatOffset(begin_, tf.util.computeStrides(x.shape));
  return k.copy(x, offset, size_);
}

export function installWasmKernels(): void {
  if (installed) return;
  installed = true;
  const names = [
    'BatchMatMul',
    'Transpose',
    'Sum',
    'Multiply',
    'AvgPool',
    'AvgPoolGrad',
    'ResizeNearestNeighbor',
    'ResizeNearestNeighborGrad',
    'Reverse',
    'Identity',
    'Slice',
  ];
  const configs = Object.fromEntries(names.map((n) => [n, original(n)]));
  const funcs = Object.fromEntries(names.map((n) => [n, configs[n].kernelFunc]));
  const kernels = (args: KernelArgs) => new Kernels(args.backend as BackendWasm, funcs);
  replace(configs.BatchMatMul, (args) => batchMatMul(kernels(args), args));
  replace(configs.Sum, (args) => sum(kernels(args), args));
  replace(configs.ResizeNearestNeighborGrad, (args) => resizeNearestGrad(kernels(args), args));
  replace(configs.AvgPoolGrad, (args) => avgPoolGrad(kernels(args), args));
  replace(configs.Reverse, (args) => reverse(kernels(args), args));
  replace(configs.Slice, (args) => slice(kernels(args), args) ?? (funcs.Slice(args) as Info));
  replace(configs.Identity, (args) => {
    const { x } = args.inputs as { x: Info };
    if (x.dtype === 'string') return funcs.Identity(args) as Info;
    return kernels(args).view(x, x.shape);
  });
}
