/**
 * The student: the frozen teacher plus trainable weights. With LoRA (Hu et al. 2021) each
 * targeted weight W (conv [k, k, cin, cout] or linear [in, out]) becomes
 *   W + (alpha / r) * reshape(A B),  A [k*k*cin, r] ~ N(0, 1/fan_in),  B [r, cout] = 0,
 * so the student starts exactly equal to the teacher. With full fine-tuning the trainable
 * weights are a copy of the teacher's.
 */
import * as tf from '@tensorflow/tfjs';
import { LORA_MERGE, LORA_MERGE_GRAD, type LoraMergeAttrs } from '../kernels/lora-merge';
import { useFused } from '../kernels/fused';
import { DIFFUSERS_TARGET_SUFFIXES } from '../nn/diffusers-unet';
import type { Params } from '../nn/unet';
import { gaussian } from '../random';
import type { StudentConfig } from './config';

/** The teacher's weights a LoRA student adapts: names ending in a target suffix (or its diffusers counterpart). */
export function loraTargets(teacher: Params, cfg: StudentConfig): string[] {
  const suffixes = cfg.targets.flatMap((s) => [s, ...(DIFFUSERS_TARGET_SUFFIXES[s] ?? [])]);
  return Object.keys(teacher).filter((n) => suffixes.some((suffix) => n.endsWith(suffix)));
}

/** Fresh trainable weights: `lora.<name>.A` / `.B` pairs, or `<name>` copies for full fine-tuning. */
export function initStudentWeights(teacher: Params, cfg: StudentConfig, seed: number): Params {
  if (cfg.mode === 'full') return Object.fromEntries(Object.entries(teacher).map(([k, t]) => [k, t.clone()]));
  const out: Params = {};
  loraTargets(teacher, cfg).forEach((name, i) => {
    const shape = teacher[name].shape;
    const fanIn = shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const cout = shape[shape.length - 1];
    const a = gaussian(seed * 7_919 + i + 1, fanIn * cfg.rank).map((v) => v / Math.sqrt(fanIn));
    out[`lora.${name}.A`] = tf.tensor2d(a, [fanIn, cfg.rank]);
    out[`lora.${name}.B`] = tf.zeros([cfg.rank, cout]);
  });
  return out;
}

/** The student's full parameter map (teacher weights with adapters merged in). Call inside a tidy. */
export function studentParams(teacher: Params, trainable: Params, cfg: StudentConfig): Params {
  if (cfg.mode === 'full') return trainable;
  const scale = cfg.alpha / cfg.rank;
  const out: Params = { ...teacher };
  for (const name of loraTargets(teacher, cfg)) {
    const a = trainable[`lora.${name}.A`];
    const b = trainable[`lora.${name}.B`];
    if (!a || !b) continue;
    // (s A) B with s = 1 (the default alpha = rank) skipping the scaling kernel; not fused.matMul with
    // W as its bias: tfjs-wasm's fused matMul takes only a rank-1 bias
    const scaled = scale === 1 ? a : tf.mul(a, scale);
    out[name] = tf.add(teacher[name], tf.matMul(scaled as tf.Tensor2D, b as tf.Tensor2D).reshape(teacher[name].shape));
  }
  return out;
}

/**
 * Each target's adapter names [`lora.<target>.A`, `lora.<target>.B`], in the order
 * initStudentWeights creates them: in a packed group (src/core/train/packed-adam.ts) each pair is
 * one contiguous segment [A | B].
 */
export function loraSegmentNames(teacher: Params, cfg: StudentConfig): { target: string; names: [string, string] }[] {
  return loraTargets(teacher, cfg).map((target) => ({ target, names: [`lora.${target}.A`, `lora.${target}.B`] }));
}

/**
 * The student's full parameter map with each target's adapters as one segment [A | B]
 * (`segments`, keyed by target). Call inside a tidy. `merged`: the same targets merged before
 * from these segments outside a gradient; their values are reused (no kernel) and only the
 * gradient to the segments is formed here. On webgpu the merge and its gradient are one fused
 * kernel each (src/core/kernels/lora-merge.ts).
 */
export function studentParamsFromSegments(
  teacher: Params,
  segments: Record<string, tf.Tensor>,
  cfg: StudentConfig,
  merged?: Params,
): Params {
  const attrs: LoraMergeAttrs = { rank: cfg.rank, scale: cfg.alpha / cfg.rank };
  const out: Params = { ...teacher };
  for (const [target, seg] of Object.entries(segments)) {
    const w = teacher[target];
    out[target] = merged?.[target] ? reuseMerged(merged[target], seg, attrs) : mergeSegment(w, seg, attrs);
  }
  return out;
}

const runKernel = (name: string, inputs: tf.NamedTensorMap, attrs: LoraMergeAttrs) =>
  tf.engine().runKernel(name, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;

/** A [fanIn, r] and B [r, cout] out of a segment for a weight of shape `shape`. */
function splitSegment(seg: tf.Tensor, shape: number[], rank: number): [tf.Tensor2D, tf.Tensor2D] {
  const cout = shape[shape.length - 1];
  const fanIn = seg.size / rank - cout;
  return [
    seg.slice(0, fanIn * rank).reshape([fanIn, rank]) as tf.Tensor2D,
    seg.slice(fanIn * rank, rank * cout).reshape([rank, cout]) as tf.Tensor2D,
  ];
}

/** W + s A B: one kernel where fused (with its gradient to the segment; W is frozen), else the composed ops of studentParams. */
function mergeSegment(w: tf.Tensor, seg: tf.Tensor, attrs: LoraMergeAttrs): tf.Tensor {
  if (useFused(LORA_MERGE)) return withSegmentGrad(() => runKernel(LORA_MERGE, { w, seg }, attrs), seg, attrs);
  const [a, b] = splitSegment(seg, w.shape, attrs.rank);
  const scaled = attrs.scale === 1 ? a : tf.mul(a, attrs.scale);
  return tf.add(w, tf.matMul(scaled as tf.Tensor2D, b).reshape(w.shape));
}

/** The segment's gradient [dA | dB] from dW': as through the composed merge, dA = s (dW' B^T), dB = (s A)^T dW'. */
function segmentGrad(dy: tf.Tensor, seg: tf.Tensor, attrs: LoraMergeAttrs): tf.Tensor {
  if (useFused(LORA_MERGE_GRAD)) return runKernel(LORA_MERGE_GRAD, { dy, seg }, attrs);
  const [a, b] = splitSegment(seg, dy.shape, attrs.rank);
  const d = dy.reshape([a.shape[0], b.shape[1]]) as tf.Tensor2D;
  const scaled = attrs.scale === 1 ? a : tf.mul(a, attrs.scale);
  const dScaled = tf.matMul(d, b, false, true);
  const da = attrs.scale === 1 ? dScaled : tf.mul(dScaled, attrs.scale);
  return tf.concat([da.reshape([-1]), tf.matMul(scaled as tf.Tensor2D, d, true, false).reshape([-1])]);
}

/** W' with the value `w` already computed (no kernel: a reference to it) and the gradient of the merge. */
function reuseMerged(w: tf.Tensor, seg: tf.Tensor, attrs: LoraMergeAttrs): tf.Tensor {
  return withSegmentGrad(() => tf.clone(w), seg, attrs);
}

/** `value()` as a function of the segment whose gradient is the merge's. */
function withSegmentGrad(value: () => tf.Tensor, seg: tf.Tensor, attrs: LoraMergeAttrs): tf.Tensor {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [s, save] = args as [tf.Tensor, tf.GradSaveFunc];
    save([s]);
    return {
      value: value(),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [segmentGrad(dy, saved[0], attrs)],
    };
  }) as (seg: tf.Tensor) => tf.Tensor;
  return f(seg);
}
/** Merged weights as new tensors that outlive the call (for export and sampling). */
export function mergeStudent(teacher: Params, trainable: Params, cfg: StudentConfig): Params {
  const merged = tf.tidy(() => {
    const p = studentParams(teacher, trainable, cfg);
    // copy everything so the result owns its tensors independently of teacher and trainable
    return Object.fromEntries(Object.entries(p).map(([k, t]) => [k, t.clone()]));
  });
  return merged;
}
