/**
 * One RAPM iteration, as in the method figure (docs/method.md). Names used below:
 *   teacherPoint   z~_n   the teacher's stored position at the end of slot n (absolute target)
 *   deltaPoint     z^d    the teacher's point Delta past the start of the slot
 *   relativeTarget z^_n   detach(student step from the Delta point to the end of the slot)
 *   studentPoint   z^phi_n  the student's step over the whole slot (trained)
 * The student's own trajectory starts from the teacher's initial noise and continues from
 * detached points, so slot n's loss reaches the weights only through z^phi_n. That lets all N
 * slots run as ONE batched pass with per-sample timesteps: a no-grad rollout finds each slot's
 * start, then a single forward/backward over the N*B slot inputs gives every studentPoint.
 */
import * as tf from '@tensorflow/tfjs';
import type { Ddim } from '../diffusion/ddim';
import { modelDdim } from '../diffusion/model-sampling';
import { modelNetwork } from '../model';
import { backendLimits, checkModelFits } from '../model-fit';
import type { AnyModelConfig } from '../model-config';
import type { Network } from '../nn/network';
import type { Params } from '../nn/unet';
import { PackedAdam } from '../train/packed-adam';
import type { RapmConfig } from './config';
import { initHeads } from './discriminator';
import { updateDiscriminators } from './discriminator-step';
import { studentTerms } from './loss-terms';
import { packReadout, readMetrics } from './readout';
import { slotTimes, type SlotTimes } from './slot-geometry';
import { FeatureReplay } from './feature-replay';
import { ReplayedStep } from './replayed-step';
import { asStudentModel } from './student-prediction';
import {
  disposeStepTensors,
  leadRows,
  stepTensors,
  stepValues,
  type StepTensors,
  type StepValues,
} from './step-inputs';
import { initStudentWeights, loraSegmentNames, studentParams, studentParamsFromSegments } from './lora';
import type { RapmMetrics } from './metrics';

/** Where the stored trajectories sit on the time axis (from the shard's metadata). */
export interface TrajectoryGeometry {
  /** Coarse start times tau_N .. tau_1, descending, e.g. [999, 749, 499, 249]. */
  coarseTimesteps: number[];
  /** The time Delta past each coarse start (the time of deltaPositions). */
  deltaTimesteps: number[];
  /** Teacher CFG scale, used only when the shard has no deltaPositions. */
  guidance: number;
}

/** B trajectories, NHWC, each position contiguous: [B, N+1, H, W, C] and [B, N, H, W, C]. */
export interface TrajectoryBatch {
  positions: Float32Array;
  deltaPositions: Float32Array | null;
  labels: Int32Array;
}

export class RapmTrainer {
  /** Each parameter group with its Adam moments (and the student's EMA) packed in one flat tensor. */
  readonly adamStudent: PackedAdam;
  readonly adamRel: PackedAdam;
  readonly adamAbs: PackedAdam;
  iteration = 0;
  /** The teacher's DDIM (its steps to z^d) and the student's (its own output type: student-prediction.ts). */
  private readonly ddim: Ddim;
  private readonly studentDdim: Ddim;
  private readonly slots: number;
  /** Past discriminator inputs (features), when cfg.discReplay > 0. */
  private readonly replay: FeatureReplay;
  /** The iteration captured once and replayed, on webgpu (replayed-step.ts). */
  readonly replayed: ReplayedStep;
  /** The teacher's network (this studio's UNet or a diffusers UNet2DModel); the student is the same network. */
  readonly network: Network;

  constructor(
    readonly model: AnyModelConfig,
    readonly teacher: Params,
    readonly geometry: TrajectoryGeometry,
    /**
     * Checked and completed once where it came in (config-check.ts: a request, the CLI's flags, a
     * checkpoint, a stored run) and used as it is; a field an older version did not write has the
     * default that reproduces it.
     */
    readonly cfg: RapmConfig,
  ) {
    this.slots = geometry.coarseTimesteps.length;
    this.network = modelNetwork(model);
    // before any state is allocated: the widest pass is the discriminators' over 3 N B rows
    checkModelFits(this.network, backendLimits(), cfg.student.mode, 3 * this.slots * cfg.batchSize);
    this.ddim = modelDdim(model);
    this.studentDdim = modelDdim(asStudentModel(model, cfg.student));
    const studentAdam = { lr: cfg.studentLr, beta1: cfg.studentBetas[0], beta2: cfg.studentBetas[1], eps: 1e-8 };
    // the EMA block exists even when the EMA is off (decay 0): it then keeps the initial weights
    this.adamStudent = new PackedAdam(studentAdam, initStudentWeights(teacher, cfg.student, cfg.seed), {
      decay: cfg.emaDecay,
    });
    const channels = this.network.features.channels;
    const discAdam = { lr: cfg.discLr, beta1: cfg.discBetas[0], beta2: cfg.discBetas[1], eps: 1e-8 };
    this.adamRel = new PackedAdam(discAdam, initHeads(channels, cfg.seed * 2 + 1));
    this.adamAbs = new PackedAdam(discAdam, initHeads(channels, cfg.seed * 2 + 2));
    this.replay = new FeatureReplay(cfg.discReplay, cfg.seed);
    this.replayed = new ReplayedStep(this);
  }

  /** The student's trainable weights: LoRA adapters, or every weight when fully fine-tuned (views owned by the trainer). */
  get trainable(): Params {
    return this.adamStudent.params;
  }

  /** Replaces them (the tensors are taken over), e.g. from a checkpoint. */
  set trainable(p: Params) {
    this.adamStudent.setParams(p);
  }

  /** Their exponential moving average (views; the initial weights when the EMA is off). */
  get ema(): Params {
    return this.adamStudent.emaParams;
  }

  set ema(p: Params) {
    this.adamStudent.setEma(p);
  }

  get headsRel(): Params {
    return this.adamRel.params;
  }

  set headsRel(p: Params) {
    this.adamRel.setParams(p);
  }

  get headsAbs(): Params {
    return this.adamAbs.params;
  }

  set headsAbs(p: Params) {
    this.adamAbs.setParams(p);
  }

  /** One iteration: student update, then both discriminator updates (metrics read back synchronously). */
  step(batch: TrajectoryBatch): RapmMetrics {
    const start = performance.now();
    const inputs = this.inputs(batch);
    try {
      const { readout, metrics } = this.update(inputs);
      try {
        return metrics(readout.dataSync(), ++this.iteration, start);
      } finally {
        readout.dispose();
      }
    } finally {
      disposeStepTensors(inputs);
    }
  }

  /**
   * The same iteration with an asynchronous read-back: on WebGPU a synchronous read stalls the
   * queue, and in a browser worker it goes through a canvas that can lose the device. On webgpu
   * the iteration is captured once and then replayed (replayed-step.ts) unless that is switched off.
   */
  async stepAsync(batch: TrajectoryBatch): Promise<RapmMetrics> {
    if (this.replayed.applies()) return this.replayed.step(batch);
    return this.composedStep(batch);
  }

  /** One iteration through tfjs's ops (the reference path on every backend). */
  async composedStep(batch: TrajectoryBatch): Promise<RapmMetrics> {
    const start = performance.now();
    const inputs = this.inputs(batch);
    try {
      const { readout, metrics } = this.update(inputs);
      try {
        return metrics(await readout.data(), ++this.iteration, start);
      } finally {
        readout.dispose();
      }
    } finally {
      disposeStepTensors(inputs);
    }
  }

  /** The groups whose packed state an iteration replaces, in a fixed order. */
  stateTensors(): tf.Tensor[] {
    return [this.adamStudent.packedState, this.adamRel.packedState, this.adamAbs.packedState];
  }

  /** What changes from this iteration to the next, on the CPU (step-inputs.ts). */
  stepValues(batch: TrajectoryBatch): StepValues {
    const { discSteps } = this.cfg;
    return stepValues(
      batch,
      { slots: this.slots, ...this.model.data },
      {
        student: this.adamStudent.nextCorrections(),
        rel: this.adamRel.nextCorrections(discSteps),
        abs: this.adamAbs.nextCorrections(discSteps),
      },
    );
  }

  /** The same as tensors (the caller owns them). */
  stepTensors(values: StepValues): StepTensors {
    return stepTensors(values, { slots: this.slots, ...this.model.data });
  }

  /** A batch's step inputs as tensors (the caller owns them: disposeStepTensors). */
  inputs(batch: TrajectoryBatch): StepTensors {
    return this.stepTensors(this.stepValues(batch));
  }

  /**
   * Runs the updates from the iteration's inputs (and nothing else that varies); every number the
   * metrics need is gathered in `readout` (one read back, not a dozen), which `metrics` decodes.
   */
  update(inputs: StepTensors): {
    readout: tf.Tensor1D;
    metrics: (v: ArrayLike<number>, iteration: number, start: number) => RapmMetrics;
  } {
    // method steps 2-5 (docs/method.md, "One iteration"): the rollout and both targets without
    // gradient, then the student's batched pass over the N slots, its loss and gradient
    const pass = this.studentGradients(inputs);
    // step 5's Adam step on the student, with step 7's EMA in the same update
    const gradStudent = this.adamStudent.updateWithNorm(pass.flatGrad, inputs.adamStudent as tf.Tensor1D);
    // step 6: both discriminators on one encoder pass over [z^; detach(z^phi); z~]
    const { fixed } = pass;
    const { network, teacher, cfg, adamRel, adamAbs, iteration } = this;
    const disc = updateDiscriminators(
      { network, teacher, cfg, adamRel, adamAbs, iteration, replay: this.replay },
      pass.studentPoint,
      fixed.relativeTarget,
      fixed.teacherPoints,
      inputs.discLabels as tf.Tensor1D,
      fixed.times.encoder,
      { rel: inputs.adamRel, abs: inputs.adamAbs },
    );
    const readout = packReadout({ studentLoss: pass.loss, gradStudent, ...disc, terms: pass.terms });
    tf.dispose([gradStudent, ...disc.rel.values, ...disc.abs.values]);
    disposePass(pass);
    const layout = {
      slots: this.slots,
      batch: inputs.labels.shape[0],
      relRealFirst: disc.rel.realFirst,
      absRealFirst: disc.abs.realFirst,
    };
    const metrics = (v: ArrayLike<number>, iteration: number, start: number) =>
      readMetrics(v, layout, iteration, performance.now() - start);
    return { readout, metrics };
  }

  /**
   * Method steps 4 and 5: the student's pass over all N slots at once, its loss and gradient.
   * The student loss and its gradient for one batch, nothing updated. Slot starts and both
   * targets are computed first, outside the differentiated function: they are constants to it,
   * which is exactly the method's detach().
   */
  studentGradients(inputs: StepTensors): StudentPass {
    const { cfg } = this;
    const b = inputs.labels.shape[0];
    const fixed = this.prepare(inputs);
    // LoRA: the gradient is taken per target with respect to its segment [A | B] (one view of the
    // packed weights each), and the segments' gradients concatenated are the group's flat gradient
    const segments = this.segments();
    const weights = segments ?? this.trainable;
    const names = Object.keys(weights);
    let studentPoint: tf.Tensor4D | null = null;
    const terms: Record<string, tf.Tensor1D> = {};
    const { value, flatGrad } = tf.tidy(() => {
      const f = (...ws: tf.Tensor[]) => {
        const given = Object.fromEntries(names.map((k, i) => [k, ws[i]]));
        const params = segments
          ? studentParamsFromSegments(this.teacher, given, cfg.student, fixed.merged)
          : studentParams(this.teacher, given, cfg.student);
        // with LoRA only the merged targets carry a gradient: the teacher's biases and norms skip theirs
        const zphi = this.studentStep(
          params,
          fixed.slotStarts,
          fixed.times.start,
          fixed.times.end,
          fixed.slotLabels,
          segments ? (name) => !(name in segments) : undefined,
        );
        studentPoint = tf.keep(zphi);
        const t = studentTerms(
          this,
          zphi,
          fixed.relativeTarget,
          fixed.teacherPoints,
          fixed.slotLabels,
          fixed.times.encoder,
        );
        for (const [k, v] of Object.entries(t)) terms[k] = tf.keep(v);
        const total = tf.addN([
          tf.mul(t.advRel, cfg.lambdaRel),
          tf.mul(t.advAbs, cfg.lambdaAbs),
          tf.mul(t.regRel, cfg.muRel),
          tf.mul(t.regAbs, cfg.muAbs),
        ]);
        return tf.div(tf.sum(total), b) as tf.Scalar; // sum over slots, mean over the batch
      };
      const r = tf.valueAndGrads(f)(names.map((k) => weights[k]));
      const grads = segments
        ? (tf.concat(r.grads.map((g) => g.reshape([-1]))) as tf.Tensor1D)
        : this.adamStudent.flatten(Object.fromEntries(names.map((k, i) => [k, r.grads[i]])));
      return { value: r.value, flatGrad: grads };
    });
    return {
      loss: value,
      flatGrad,
      studentPoint: studentPoint!,
      terms: terms as StudentPass['terms'],
      fixed,
    };
  }

  /** LoRA: each target's adapters as one view [A | B] of the packed weights, keyed by target (null when fully fine-tuned). */
  private segments(): Record<string, tf.Tensor> | null {
    if (this.cfg.student.mode !== 'lora') return null;
    const pairs = loraSegmentNames(this.teacher, this.cfg.student);
    return this.adamStudent.segments(Object.fromEntries(pairs.map((p) => [p.target, p.names])));
  }

  /**
   * Method steps 2 and 3 (docs/method.md, "One iteration"): the rollout and both targets, without gradient.
   * Everything the gradient must not flow through: slot starts, Delta points, both targets, and
   * the adapters merged into the teacher (reused by the gradient pass). Slot 0's rollout step and
   * the relative targets use the same weights and do not depend on each other, so they run as ONE
   * forward over B + N*B rows (per-sample timesteps; every layer works per sample, so the values
   * are those of two separate passes); the rest of the rollout follows from its first B rows.
   */
  prepare(inputs: StepTensors): FixedInputs {
    const b = inputs.labels.shape[0];
    const n = this.slots;
    const times = slotTimes(this.geometry, b);
    const { coarseTimesteps: tau } = this.geometry;
    const tensors = tf.tidy(() => {
      const teacherPoints = tf.clone(inputs.teacherPoints) as tf.Tensor4D;
      const slotLabels = tf.clone(inputs.slotLabels) as tf.Tensor1D;
      const segments = this.segments();
      const student = segments
        ? studentParamsFromSegments(this.teacher, segments, this.cfg.student)
        : studentParams(this.teacher, this.trainable, this.cfg.student);
      const noise = inputs.noise as tf.Tensor4D;
      // rows of the shared pass: slot 0's rollout step (when there is a next slot), then the Delta points
      const lead = leadRows(n, b);
      const fill = (t: number) => new Float32Array(lead).fill(t);
      let input: tf.Tensor4D;
      if (inputs.deltaStored) {
        input = inputs.passRows as tf.Tensor4D;
      } else {
        const deltaPoints = this.teacherDeltaPoints(inputs.passRows as tf.Tensor4D, slotLabels, times);
        input = lead ? (tf.concat([noise, deltaPoints]) as tf.Tensor4D) : deltaPoints;
      }
      const shared = this.studentStep(
        student,
        input,
        Float32Array.from([...fill(tau[0]), ...times.delta]),
        Float32Array.from([...fill(tau[1]), ...times.end]),
        inputs.passLabels as tf.Tensor1D,
      );
      const relativeTarget = lead ? (shared.slice([lead], [n * b]) as tf.Tensor4D) : shared;
      // the student's own trajectory, no gradient: slot j's start is detach(z^phi_{j-1})
      const starts: tf.Tensor4D[] = [noise];
      if (lead) starts.push(shared.slice([0], [b]) as tf.Tensor4D);
      for (let j = 1; j < n - 1; j++) {
        const t = new Float32Array(b).fill(tau[j]);
        const s = new Float32Array(b).fill(tau[j + 1]);
        starts.push(this.studentStep(student, starts[j], t, s, inputs.labels as tf.Tensor1D));
      }
      const slotStarts = (starts.length > 1 ? tf.concat(starts) : tf.clone(starts[0])) as tf.Tensor4D;
      const merged: Params = segments ? Object.fromEntries(Object.keys(segments).map((k) => [k, student[k]])) : {};
      return { slotStarts, teacherPoints, relativeTarget, slotLabels, merged };
    });
    return { ...tensors, times };
  }

  /** The EMA weights (or the raw ones when the EMA is off) to sample and export with. */
  samplingWeights(): Params {
    return this.cfg.emaDecay > 0 ? this.ema : this.trainable;
  }

  /** The same as new tensors the caller owns (and disposes): sliced out of the packed state, nothing cached. */
  samplingWeightsCopy(): Params {
    return this.adamStudent.copy(this.cfg.emaDecay > 0 ? 'ema' : 'params');
  }

  /** Student DDIM step over one slot with the student's full weights `p`, per-sample times, batch of N*B. */
  private studentStep(
    p: Params,
    z: tf.Tensor4D,
    t: Float32Array,
    s: Float32Array,
    labels: tf.Tensor1D,
    fixed?: (name: string) => boolean,
  ) {
    return tf.tidy(() => {
      const out = this.network.apply(p, z, tf.tensor1d(t), labels, fixed);
      return this.studentDdim.step(out, z, t, s);
    });
  }

  /** z^d = T(z~_{n+1}, tau -> tau - Delta; c, w) when the shard did not store it. */
  private teacherDeltaPoints(starts: tf.Tensor4D, labels: tf.Tensor1D, times: SlotTimes): tf.Tensor4D {
    return tf.tidy(() => {
      const { numClasses } = this.model;
      const w = this.geometry.guidance;
      const m = starts.shape[0];
      if (w === 1 || numClasses === 0) {
        const out = this.network.apply(this.teacher, starts, tf.tensor1d(times.start), labels);
        return this.ddim.step(out, starts, times.start, times.delta);
      }
      const both = this.network.apply(
        this.teacher,
        tf.concat([starts, starts]) as tf.Tensor4D,
        tf.tensor1d(Float32Array.from([...times.start, ...times.start])),
        tf.concat([labels, tf.fill([m], numClasses, 'int32')]) as tf.Tensor1D,
      );
      const [cond, uncond] = tf.split(both, 2);
      const guided = tf.add(uncond, tf.mul(tf.sub(cond, uncond), w)) as tf.Tensor4D;
      return this.ddim.step(guided, starts, times.start, times.delta);
    });
  }

  dispose(): void {
    this.replayed.dispose();
    this.adamStudent.dispose();
    this.adamRel.dispose();
    this.adamAbs.dispose();
    this.replay.dispose();
  }
}

export interface FixedInputs {
  /** z_n for every slot: the detached start of the student's step (slot-major, N*B rows). */
  slotStarts: tf.Tensor4D;
  /** z~_n: the teacher's stored points at the end of each slot. */
  teacherPoints: tf.Tensor4D;
  /** z^_n: detach(student step from the Delta point). */
  relativeTarget: tf.Tensor4D;
  slotLabels: tf.Tensor1D;
  /** LoRA targets with the adapters merged in, as the no-gradient passes used them (empty when fully fine-tuned). */
  merged: Params;
  times: SlotTimes;
}

export interface StudentPass {
  loss: tf.Scalar;
  /** The gradient of every trainable weight, flat in the packed group's layout (the order of `trainable`'s names). */
  flatGrad: tf.Tensor1D;
  /** z^phi_n for every slot (a value, no longer attached to the gradient). */
  studentPoint: tf.Tensor4D;
  terms: { advRel: tf.Tensor1D; advAbs: tf.Tensor1D; regRel: tf.Tensor1D; regAbs: tf.Tensor1D };
  fixed: FixedInputs;
}

export function disposePass(pass: StudentPass): void {
  const { slotStarts, teacherPoints, relativeTarget, slotLabels, merged } = pass.fixed;
  tf.dispose([
    pass.loss,
    pass.studentPoint,
    pass.flatGrad,
    ...Object.values(pass.terms),
    slotStarts,
    teacherPoints,
    relativeTarget,
    slotLabels,
    ...Object.values(merged),
  ]);
}

/** Channels of the teacher encoder's feature maps: one per level, then the mid block. */
export function featureChannels(model: AnyModelConfig): number[] {
  return modelNetwork(model).features.channels;
}
