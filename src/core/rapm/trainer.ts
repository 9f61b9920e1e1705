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
import type { ModelConfig } from '../model-config';
import { applyUnet, unetEncoder, type Params } from '../nn/unet';
import { Adam } from '../train/adam';
import { DEFAULT_RAPM, type RapmConfig } from './config';
import { applyHeads, hingeLoss, initHeads } from './discriminator';
import { initStudentWeights, studentParams } from './lora';
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
  trainable: Params;
  ema: Params;
  headsRel: Params;
  headsAbs: Params;
  readonly adamStudent: Adam;
  readonly adamRel: Adam;
  readonly adamAbs: Adam;
  iteration = 0;
  private readonly ddim: Ddim;
  private readonly slots: number;
  readonly cfg: RapmConfig;

  constructor(
    readonly model: ModelConfig,
    readonly teacher: Params,
    readonly geometry: TrajectoryGeometry,
    config: RapmConfig,
  ) {
    // a config saved by an older version (a stored run, a checkpoint) lacks the fields added since:
    // they take their defaults, which reproduce the behaviour of that version
    const cfg = { ...DEFAULT_RAPM, ...config };
    this.cfg = cfg;
    this.slots = geometry.coarseTimesteps.length;
    this.ddim = modelDdim(model);
    this.trainable = initStudentWeights(teacher, cfg.student, cfg.seed);
    this.ema = cloneAll(this.trainable);
    const channels = featureChannels(model);
    this.headsRel = initHeads(channels, cfg.seed * 2 + 1);
    this.headsAbs = initHeads(channels, cfg.seed * 2 + 2);
    this.adamStudent = new Adam({
      lr: cfg.studentLr,
      beta1: cfg.studentBetas[0],
      beta2: cfg.studentBetas[1],
      eps: 1e-8,
    });
    this.adamRel = new Adam({ lr: cfg.discLr, beta1: cfg.discBetas[0], beta2: cfg.discBetas[1], eps: 1e-8 });
    this.adamAbs = new Adam({ lr: cfg.discLr, beta1: cfg.discBetas[0], beta2: cfg.discBetas[1], eps: 1e-8 });
  }

  /** One iteration: student update, then both discriminator updates (metrics read back synchronously). */
  step(batch: TrajectoryBatch): RapmMetrics {
    const { readout, metrics } = this.update(batch);
    try {
      return metrics(readout.dataSync());
    } finally {
      readout.dispose();
    }
  }

  /**
   * The same iteration with an asynchronous read-back: on WebGPU a synchronous read stalls the
   * queue, and in a browser worker it goes through a canvas that can lose the device.
   */
  async stepAsync(batch: TrajectoryBatch): Promise<RapmMetrics> {
    const { readout, metrics } = this.update(batch);
    try {
      return metrics(await readout.data());
    } finally {
      readout.dispose();
    }
  }

  /** Runs the updates; every number the metrics need is gathered in `readout` (one read back, not a dozen). */
  private update(batch: TrajectoryBatch): { readout: tf.Tensor1D; metrics: (v: ArrayLike<number>) => RapmMetrics } {
    const start = performance.now();
    const b = batch.labels.length;
    const n = this.slots;
    const pass = this.studentGradients(batch);
    const studentGradNorm = globalNorm(pass.grads);
    const ema = this.cfg.emaDecay > 0 ? { weights: this.ema, decay: this.cfg.emaDecay } : undefined;
    this.trainable = this.adamStudent.apply(this.trainable, pass.grads, undefined, ema);

    // Discriminator updates on one shared encoder pass over [fake; relative real; absolute real].
    const { fixed } = pass;
    const disc = this.discriminatorStep(
      pass.studentPoint,
      fixed.relativeTarget,
      fixed.teacherPoints,
      fixed.slotLabels,
      fixed.times.encoder,
    );
    const { terms } = pass;
    const scalars = [pass.loss, studentGradNorm, ...disc.rel, ...disc.abs];
    const readout = tf.tidy(
      () =>
        tf.concat([
          ...scalars.map((t) => t.reshape([1])),
          terms.advRel,
          terms.advAbs,
          terms.regRel,
          terms.regAbs,
        ]) as tf.Tensor1D,
    );
    tf.dispose([studentGradNorm, ...disc.rel, ...disc.abs]);
    disposePass(pass);
    const iteration = ++this.iteration;
    const metrics = (v: ArrayLike<number>): RapmMetrics => {
      const [loss, gradStudent, relLoss, relReal, relFake, relNorm, absLoss, absReal, absFake, absNorm] = Array.from(
        { length: scalars.length },
        (_, i) => v[i],
      );
      const perSlot = (k: number) =>
        slotMeans(
          Array.from({ length: n * b }, (_, i) => v[scalars.length + k * n * b + i]),
          n,
          b,
        );
      return {
        iteration,
        studentLoss: loss,
        perSlot: { advRel: perSlot(0), advAbs: perSlot(1), regRel: perSlot(2), regAbs: perSlot(3) },
        discLossRel: relLoss,
        discLossAbs: absLoss,
        accuracy: { relReal, relFake, absReal, absFake },
        gradNorm: { student: gradStudent, rel: relNorm, abs: absNorm },
        ms: performance.now() - start,
      };
    };
    return { readout, metrics };
  }

  /**
   * The student loss and its gradient for one batch, nothing updated. Slot starts and both
   * targets are computed first, outside the differentiated function: they are constants to it,
   * which is exactly the method's detach().
   */
  studentGradients(batch: TrajectoryBatch): StudentPass {
    const { cfg } = this;
    const b = batch.labels.length;
    const fixed = this.prepare(batch);
    const names = Object.keys(this.trainable);
    let studentPoint: tf.Tensor4D | null = null;
    const terms: Record<string, tf.Tensor1D> = {};
    const { value, grads } = tf.tidy(() => {
      const f = (...ws: tf.Tensor[]) => {
        const trainable = Object.fromEntries(names.map((k, i) => [k, ws[i]]));
        const zphi = this.studentStep(
          studentParams(this.teacher, trainable, cfg.student),
          fixed.slotStarts,
          fixed.times.start,
          fixed.times.end,
          fixed.slotLabels,
        );
        studentPoint = tf.keep(zphi);
        const t = this.studentTerms(
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
      const r = tf.valueAndGrads(f)(names.map((k) => this.trainable[k]));
      return { value: r.value, grads: Object.fromEntries(names.map((k, i) => [k, r.grads[i]])) };
    });
    return {
      loss: value,
      grads,
      studentPoint: studentPoint!,
      terms: terms as StudentPass['terms'],
      fixed,
    };
  }

  /** Everything the gradient must not flow through: slot starts, Delta points, both targets. */
  prepare(batch: TrajectoryBatch): FixedInputs {
    const b = batch.labels.length;
    const n = this.slots;
    const { height: h, width: w, channels: c } = this.model.data;
    const times = this.slotTimes(b);
    const tensors = tf.tidy(() => {
      const positions = tf.tensor(batch.positions, [b, n + 1, h, w, c]);
      const labels = tf.tensor1d(batch.labels, 'int32');
      const slotLabels = tf.tile(labels, [n]) as tf.Tensor1D; // slot-major: sample i of slot j at j*b + i
      const teacherPoints = slotMajor(positions.slice([0, 1], [b, n]), n);
      // the adapters merged into the teacher once for every no-gradient student pass below
      const student = studentParams(this.teacher, this.trainable, this.cfg.student);
      const noise = positions.slice([0, 0], [b, 1]).reshape([b, h, w, c]) as tf.Tensor4D;
      const slotStarts = this.rollout(student, noise, labels);
      const deltaPoints = batch.deltaPositions
        ? slotMajor(tf.tensor(batch.deltaPositions, [b, n, h, w, c]), n)
        : this.teacherDeltaPoints(slotMajor(positions.slice([0, 0], [b, n]), n), slotLabels, times);
      const relativeTarget = this.studentStep(student, deltaPoints, times.delta, times.end, slotLabels);
      return { slotStarts, teacherPoints, relativeTarget, slotLabels };
    });
    return { ...tensors, times };
  }

  /** The EMA weights (or the raw ones when the EMA is off) to sample and export with. */
  samplingWeights(): Params {
    return this.cfg.emaDecay > 0 ? this.ema : this.trainable;
  }

  /** Student DDIM step over one slot with the student's full weights `p`, per-sample times, batch of N*B. */
  private studentStep(p: Params, z: tf.Tensor4D, t: Float32Array, s: Float32Array, labels: tf.Tensor1D) {
    return tf.tidy(() => {
      const out = applyUnet(this.model.unet, p, z, tf.tensor1d(t), labels);
      return this.ddim.step(out, z, t, s);
    });
  }

  /** The student's own trajectory, no gradient: slot j's start is detach(z^phi_{j-1}). */
  private rollout(student: Params, noise: tf.Tensor4D, labels: tf.Tensor1D): tf.Tensor4D {
    return tf.tidy(() => {
      const b = noise.shape[0];
      const starts: tf.Tensor4D[] = [noise];
      const { coarseTimesteps: tau } = this.geometry;
      for (let j = 0; j < this.slots - 1; j++) {
        const t = new Float32Array(b).fill(tau[j]);
        const s = new Float32Array(b).fill(tau[j + 1]);
        starts.push(this.studentStep(student, starts[j], t, s, labels));
      }
      return tf.concat(starts) as tf.Tensor4D;
    });
  }

  /** z^d = T(z~_{n+1}, tau -> tau - Delta; c, w) when the shard did not store it. */
  private teacherDeltaPoints(starts: tf.Tensor4D, labels: tf.Tensor1D, times: SlotTimes): tf.Tensor4D {
    return tf.tidy(() => {
      const { unet, numClasses } = this.model;
      const w = this.geometry.guidance;
      const m = starts.shape[0];
      const both = applyUnet(
        unet,
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

  /** Per-sample student loss terms [N*B]: adversarial (-D) and regression distances. */
  private studentTerms(
    zphi: tf.Tensor4D,
    relTarget: tf.Tensor4D,
    absTarget: tf.Tensor4D,
    labels: tf.Tensor1D,
    encT: Float32Array,
  ) {
    const { cfg } = this;
    const m = zphi.shape[0];
    const zeros = tf.zeros([m]) as tf.Tensor1D;
    let advRel = zeros;
    let advAbs = zeros;
    if (cfg.lambdaRel > 0 || cfg.lambdaAbs > 0) {
      const feats = unetEncoder(this.model.unet, this.teacher, zphi, tf.tensor1d(encT), labels, true);
      const groups = this.model.unet.groups;
      if (cfg.lambdaRel > 0) advRel = tf.neg(tf.mean(applyHeads(this.headsRel, feats, groups), 1));
      if (cfg.lambdaAbs > 0) advAbs = tf.neg(tf.mean(applyHeads(this.headsAbs, feats, groups), 1));
    }
    return {
      advRel,
      advAbs,
      regRel: distance(zphi, relTarget, cfg.distance),
      regAbs: distance(zphi, absTarget, cfg.distance),
    };
  }

  private discriminatorStep(
    fake: tf.Tensor4D,
    relReal: tf.Tensor4D,
    absReal: tf.Tensor4D,
    labels: tf.Tensor1D,
    encT: Float32Array,
  ) {
    const m = fake.shape[0];
    const groups = this.model.unet.groups;
    const feats = tf.tidy(() =>
      unetEncoder(
        this.model.unet,
        this.teacher,
        tf.concat([fake, relReal, absReal]) as tf.Tensor4D,
        tf.tensor1d(Float32Array.from([...encT, ...encT, ...encT])),
        tf.concat([labels, labels, labels]) as tf.Tensor1D,
      ),
    );
    const part = (k: number) => feats.map((f) => f.slice([k * m], [m])) as tf.Tensor4D[];
    const [fakeF, relF, absF] = [part(0), part(1), part(2)];
    const update = (heads: Params, adam: Adam, realF: tf.Tensor4D[], weight: number) => {
      // [loss, accReal, accFake, gradNorm] as scalars the caller reads back (NaN accuracy when off),
      // measured at the first of the discSteps updates
      if (weight === 0) return { heads, values: [0, NaN, NaN, 0].map((x) => tf.scalar(x)) };
      const names = Object.keys(heads);
      let values: tf.Scalar[] = [];
      for (let k = 0; k < this.cfg.discSteps; k++) {
        const current = heads;
        const r = tf.tidy(() => {
          const f = (...ws: tf.Tensor[]) => {
            const p = Object.fromEntries(names.map((n, i) => [n, ws[i]]));
            return hingeLoss(applyHeads(p, realF, groups), applyHeads(p, fakeF, groups));
          };
          const { value, grads } = tf.valueAndGrads(f)(names.map((n) => current[n]));
          const real = tf.mean(applyHeads(current, realF, groups), 1);
          const fk = tf.mean(applyHeads(current, fakeF, groups), 1);
          return {
            value,
            grads: Object.fromEntries(names.map((n, i) => [n, grads[i]])),
            accReal: tf.mean(tf.cast(tf.greater(real, 0), 'float32')) as tf.Scalar,
            accFake: tf.mean(tf.cast(tf.less(fk, 0), 'float32')) as tf.Scalar,
          };
        });
        const norm = globalNorm(r.grads);
        heads = adam.apply(heads, r.grads);
        tf.dispose(Object.values(r.grads));
        const step = [r.value, r.accReal, r.accFake, norm];
        if (k === 0) values = step;
        else tf.dispose(step);
      }
      return { heads, values };
    };
    const rel = update(this.headsRel, this.adamRel, relF, this.cfg.lambdaRel);
    const abs = update(this.headsAbs, this.adamAbs, absF, this.cfg.lambdaAbs);
    this.headsRel = rel.heads;
    this.headsAbs = abs.heads;
    tf.dispose(feats);
    [fakeF, relF, absF].forEach((fs) => tf.dispose(fs));
    return { rel: rel.values, abs: abs.values };
  }

  /** Per-sample times of the N*B slot rows (slot-major). */
  private slotTimes(b: number): SlotTimes {
    const { coarseTimesteps: tau, deltaTimesteps } = this.geometry;
    const n = this.slots;
    const rows = (f: (j: number) => number) => Float32Array.from({ length: n * b }, (_, r) => f(Math.floor(r / b)));
    const end = (j: number) => (j + 1 < n ? tau[j + 1] : -1);
    return {
      start: rows((j) => tau[j]),
      delta: rows((j) => deltaTimesteps[j]),
      end: rows(end),
      // the discriminators look at each point at its own time; the final clean point at t = 0
      encoder: rows((j) => Math.max(end(j), 0)),
    };
  }

  dispose(): void {
    tf.dispose([
      ...Object.values(this.trainable),
      ...Object.values(this.ema),
      ...Object.values(this.headsRel),
      ...Object.values(this.headsAbs),
    ]);
    this.adamStudent.dispose();
    this.adamRel.dispose();
    this.adamAbs.dispose();
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
  times: SlotTimes;
}

export interface StudentPass {
  loss: tf.Scalar;
  grads: Params;
  /** z^phi_n for every slot (a value, no longer attached to the gradient). */
  studentPoint: tf.Tensor4D;
  terms: { advRel: tf.Tensor1D; advAbs: tf.Tensor1D; regRel: tf.Tensor1D; regAbs: tf.Tensor1D };
  fixed: FixedInputs;
}

export function disposePass(pass: StudentPass): void {
  const { times: _times, ...fixed } = pass.fixed;
  void _times;
  tf.dispose([
    pass.loss,
    pass.studentPoint,
    ...Object.values(pass.grads),
    ...Object.values(pass.terms),
    ...Object.values(fixed),
  ]);
}

interface SlotTimes {
  start: Float32Array;
  delta: Float32Array;
  end: Float32Array;
  encoder: Float32Array;
}

/** Channels of the teacher encoder's feature maps: one per level, then the mid block. */
export function featureChannels(model: ModelConfig): number[] {
  const chs = model.unet.channelMults.map((m) => m * model.unet.baseChannels);
  return [...chs, chs[chs.length - 1]];
}

/** [B, N, H, W, C] -> [N*B, H, W, C] with slot j's samples at rows j*B .. j*B+B-1. */
function slotMajor(x: tf.Tensor, n: number): tf.Tensor4D {
  const [b, , h, w, c] = x.shape;
  return x
    .reshape([b, n, h, w, c])
    .transpose([1, 0, 2, 3, 4])
    .reshape([n * b, h, w, c]) as tf.Tensor4D;
}

/** Per-sample distance [M]: mean squared error, or pseudo-Huber (iCT, c = 0.00054 sqrt(dim)) per pixel. */
function distance(a: tf.Tensor4D, b: tf.Tensor4D, kind: RapmConfig['distance']): tf.Tensor1D {
  const m = a.shape[0];
  const sq = tf.sum(tf.squaredDifference(a, b).reshape([m, -1]), 1);
  const dim = a.size / m;
  if (kind === 'mse') return tf.div(sq, dim) as tf.Tensor1D;
  const c = 0.00054 * Math.sqrt(dim);
  return tf.div(tf.sub(tf.sqrt(tf.add(sq, c * c)), c), Math.sqrt(dim)) as tf.Tensor1D;
}

function slotMeans(values: ArrayLike<number>, n: number, b: number): number[] {
  return Array.from({ length: n }, (_, j) => {
    let s = 0;
    for (let i = 0; i < b; i++) s += values[j * b + i];
    return s / b;
  });
}

/**
 * The L2 norm of all gradients as one vector: concatenated flat, then one square, sum and sqrt
 * (not tf.addN over per-tensor sums: WebGPU's AddN silently sums only the first 4 inputs, tfjs 4.22).
 */
function globalNorm(grads: Params): tf.Scalar {
  return tf.tidy(() => {
    const flat = tf.concat(Object.values(grads).map((g) => g.reshape([-1])));
    return tf.sqrt(tf.sum(tf.square(flat))) as tf.Scalar;
  });
}

function cloneAll(p: Params): Params {
  return Object.fromEntries(Object.entries(p).map(([k, t]) => [k, t.clone()]));
}
