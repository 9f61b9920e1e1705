/**
 * The student: the frozen teacher plus trainable weights. With LoRA (Hu et al. 2021) each
 * targeted weight W (conv [k, k, cin, cout] or linear [in, out]) becomes
 *   W + (alpha / r) * reshape(A B),  A [k*k*cin, r] ~ N(0, 1/fan_in),  B [r, cout] = 0,
 * so the student starts exactly equal to the teacher. With full fine-tuning the trainable
 * weights are a copy of the teacher's.
 */
import * as tf from '@tensorflow/tfjs';
import type { Params } from '../nn/unet';
import { gaussian } from '../random';
import type { StudentConfig } from './config';

export function loraTargets(teacher: Params, cfg: StudentConfig): string[] {
  return Object.keys(teacher).filter((n) => cfg.targets.some((suffix) => n.endsWith(suffix)));
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

/** Merged weights as new tensors that outlive the call (for export and sampling). */
export function mergeStudent(teacher: Params, trainable: Params, cfg: StudentConfig): Params {
  const merged = tf.tidy(() => {
    const p = studentParams(teacher, trainable, cfg);
    // copy everything so the result owns its tensors independently of teacher and trainable
    return Object.fromEntries(Object.entries(p).map(([k, t]) => [k, t.clone()]));
  });
  return merged;
}
