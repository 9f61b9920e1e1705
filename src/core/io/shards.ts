/**
 * Trajectory shards: the teacher's precomputed trajectories that RAPM trains on, one .safetensors
 * file each. The format is specified in docs/shard-format.md (with a Python writer); in short:
 *
 *   positions        [K, N+1, C, H, W] F16|F32  teacher points z~_N .. z~_0 at the coarse times
 *                                               (`teacherPoint` in the trainer), NCHW like PyTorch
 *   labels           [K]               I32|I64  class of each trajectory, 0 <= label < numClasses
 *   seeds            [K]               I32|I64  optional: the seed of each initial noise
 *   delta_positions  [K, N, C, H, W]   F16|F32  optional: the teacher's point one Delta after each
 *                                               coarse start (zd in the method's pseudo-code)
 *   __metadata__: format "rapm-studio/shard", version "1", shard: JSON of ShardMeta.
 *
 * `validateShard` and `readShard` check everything a trainer relies on and throw ShardError
 * subclasses (each with a `code`) that say what is wrong and what to do.
 */
import type { ScheduleConfig } from '../diffusion/schedule';
import type { PredictionType, SamplingConfig } from '../model-config';
import {
  SafetensorsError,
  ShardError,
  ShardMetadataError,
  ShardNotSafetensorsError,
  ShardTeacherContradictionError,
  ShardTeacherMismatchError,
  ShardTensorError,
  ShardValueError,
} from './errors';
import { jsonChecks, parseHeaderJson, type DataLayout } from './json-checks';
import { LIMITS } from './limits';
import { describeFormat } from './format-names';
import {
  decodeTensor,
  parseSafetensorsHeader,
  writeSafetensors,
  type SafetensorsHeader,
  type TensorToWrite,
} from './safetensors';

export const SHARD_FORMAT = 'rapm-studio/shard';
export const SHARD_VERSION = '1';

export interface TeacherIdentity {
  /** The model bundle's config.name. */
  name: string;
  /** teacherHash of the teacher's bundle: SHA-256 of its config and its data section, lowercase hex. */
  sha256: string;
}

/** What a shard is checked against: the loaded teacher's identity and its config. */
export interface ShardTeacher {
  identity: TeacherIdentity;
  config: SamplingConfig;
}

/** The JSON in `__metadata__.shard`. */
export interface ShardMeta {
  teacher: TeacherIdentity;
  schedule: ScheduleConfig;
  /** tau_N .. tau_1, strictly descending (e.g. [999, 749, 499, 249]); tau_0 = -1 is implicit. */
  coarseTimesteps: number[];
  /** M: teacher DDIM steps inside each coarse slot. */
  fineStepsPerSlot: number;
  /** Nominal Delta in timesteps (one fine step, e.g. 31 for a 32-step trailing grid). */
  delta: number;
  /** Exact timestep reached after Delta from each coarse start (rounding may vary it per slot). */
  deltaTimesteps: number[];
  /** Classifier-free guidance scale the teacher used. */
  guidanceScale: number;
  prediction: PredictionType;
  data: DataLayout;
  /** K: trajectories in this shard. */
  count: number;
  numClasses: number;
  /** Free-form strings: command, date, seed range... */
  provenance?: Record<string, string>;
}

export type FloatDtype = 'F16' | 'F32';

/** What a checked shard holds: its metadata (but the schedule and provenance) and what its tensors say. */
export interface ShardSummary extends Omit<ShardMeta, 'schedule' | 'provenance'> {
  /** N, the number of coarse slots. */
  slots: number;
  positionsDtype: FloatDtype;
  hasDelta: boolean;
  hasSeeds: boolean;
  /** Trajectories per class, index = label. */
  labelCounts: number[];
  byteLength: number;
}

export interface ShardArrays {
  /** [K, N+1, C, H, W] flattened, NCHW. */
  positions: Float32Array;
  labels: Int32Array;
  seeds?: Int32Array;
  /** [K, N, C, H, W] flattened. */
  deltaPositions?: Float32Array;
}

export interface Shard extends ShardArrays {
  meta: ShardMeta;
  summary: ShardSummary;
}

const TENSORS = ['positions', 'labels', 'seeds', 'delta_positions'];
const ACTION = 'regenerate the shard (npm run trajectories) or fix its writer; see docs/shard-format.md';

function checkMeta(raw: unknown): ShardMeta {
  const c = jsonChecks(
    (msg, violation) => new ShardMetadataError('bad-metadata', `shard metadata: ${msg}; ${ACTION}`, { violation }),
  );
  const o = c.object(raw, 'shard');
  const t = c.object(o.teacher, 'shard.teacher');
  const teacher = { name: c.string(t.name, 'shard.teacher.name'), sha256: c.string(t.sha256, 'shard.teacher.sha256') };
  if (!/^[0-9a-f]{64}$/.test(teacher.sha256)) {
    throw new ShardMetadataError(
      'bad-metadata',
      `shard metadata: shard.teacher.sha256 must be 64 lowercase hex digits, got ${JSON.stringify(teacher.sha256)}`,
    );
  }
  const schedule = c.schedule(o.schedule, 'shard.schedule');
  const T = schedule.trainSteps;
  const coarse = c.array(o.coarseTimesteps, 'shard.coarseTimesteps', (v, p) => c.int(v, p, 0, T - 1), 'slots');
  const bad = (msg: string) => new ShardMetadataError('bad-metadata', `shard metadata: ${msg}; ${ACTION}`);
  if (coarse.length === 0) throw bad('shard.coarseTimesteps is empty');
  if (coarse.some((x, i) => i > 0 && x >= coarse[i - 1])) {
    throw bad(`shard.coarseTimesteps must be strictly descending (tau_N first), got [${coarse}]`);
  }
  const fineStepsPerSlot = c.int(o.fineStepsPerSlot, 'shard.fineStepsPerSlot', 1, 'fineStepsPerSlot');
  const delta = c.int(o.delta, 'shard.delta', 1, T - 1);
  const deltaTimesteps = c.array(o.deltaTimesteps, 'shard.deltaTimesteps', (v, p) => c.int(v, p, 0, T - 1), 'slots');
  if (deltaTimesteps.length !== coarse.length) {
    throw bad(
      `shard.deltaTimesteps has ${deltaTimesteps.length} entries, one per coarse timestep (${coarse.length}) expected`,
    );
  }
  deltaTimesteps.forEach((d, i) => {
    const next = i + 1 < coarse.length ? coarse[i + 1] : -1;
    if (!(d < coarse[i] && d > next)) {
      throw bad(
        `shard.deltaTimesteps[${i}] = ${d} must lie strictly inside slot ${i} (between ${coarse[i]} and ${next})`,
      );
    }
  });
  const meta: ShardMeta = {
    teacher,
    schedule,
    coarseTimesteps: coarse,
    fineStepsPerSlot,
    delta,
    deltaTimesteps,
    guidanceScale: c.bounded(o.guidanceScale, 'shard.guidanceScale', -LIMITS.guidanceScale, LIMITS.guidanceScale),
    prediction: c.oneOf(o.prediction, 'shard.prediction', ['epsilon', 'v_prediction', 'sample'] as const),
    data: c.data(o.data, 'shard.data'),
    count: c.int(o.count, 'shard.count', 1, 'trajectories'),
    numClasses: c.int(o.numClasses, 'shard.numClasses', 0, 'classes'),
  };
  if (o.provenance !== undefined) meta.provenance = c.stringRecord(o.provenance, 'shard.provenance');
  return meta;
}

function metaFromHeader(header: SafetensorsHeader): ShardMeta {
  const m = header.metadata;
  if (m.format !== SHARD_FORMAT || m.version !== SHARD_VERSION) {
    throw new ShardMetadataError(
      'wrong-format',
      `not a trajectory shard: __metadata__ has ${describeFormat(m)}, ` +
        `expected format "${SHARD_FORMAT}" version "${SHARD_VERSION}" (is this a model bundle? pass shard files here)`,
    );
  }
  if (m.shard === undefined) {
    throw new ShardMetadataError('bad-metadata', `shard metadata: __metadata__.shard is missing; ${ACTION}`);
  }
  const raw = parseHeaderJson(
    m.shard,
    (why, cause) =>
      new ShardMetadataError(
        'bad-metadata',
        `shard metadata: __metadata__.shard is not strict JSON (${why}); ${ACTION}`,
        {
          cause,
        },
      ),
  );
  return checkMeta(raw);
}

function expectedShapes(meta: ShardMeta): Record<string, number[]> {
  const { count: K, data } = meta;
  const N = meta.coarseTimesteps.length;
  return {
    positions: [K, N + 1, data.channels, data.height, data.width],
    labels: [K],
    seeds: [K],
    delta_positions: [K, N, data.channels, data.height, data.width],
  };
}

const DIMS: Record<string, string> = {
  positions: '(count, coarse slots + 1, channels, height, width)',
  labels: '(count)',
  seeds: '(count)',
  delta_positions: '(count, coarse slots, channels, height, width)',
};

function checkTensors(header: SafetensorsHeader, meta: ShardMeta): void {
  for (const name of header.tensors.keys()) {
    if (!TENSORS.includes(name)) {
      throw new ShardTensorError(
        'unexpected-tensor',
        name,
        `shard has an unexpected tensor '${name}'; allowed: ${TENSORS.join(', ')}`,
      );
    }
  }
  const shapes = expectedShapes(meta);
  for (const name of TENSORS) {
    const entry = header.tensors.get(name);
    if (!entry) {
      if (name === 'positions' || name === 'labels') {
        throw new ShardTensorError('missing-tensor', name, `shard lacks the required tensor '${name}'; ${ACTION}`);
      }
      continue;
    }
    const floats = name === 'positions' || name === 'delta_positions';
    const allowed = floats ? ['F16', 'F32'] : ['I32', 'I64'];
    if (!allowed.includes(entry.dtype)) {
      throw new ShardTensorError(
        'wrong-dtype',
        name,
        `tensor '${name}': expected dtype ${allowed.join(' or ')}, got ${entry.dtype}`,
      );
    }
    const want = shapes[name];
    if (entry.shape.length !== want.length || entry.shape.some((d, i) => d !== want[i])) {
      throw new ShardTensorError(
        'wrong-shape',
        name,
        `tensor '${name}': expected shape [${want}] ${DIMS[name]} from the metadata, got [${entry.shape}]`,
      );
    }
  }
}

function unravel(flat: number, shape: number[]): number[] {
  const index = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    index[d] = flat % shape[d];
    flat = Math.floor(flat / shape[d]);
  }
  return index;
}

function decode(bytes: Uint8Array, header: SafetensorsHeader, name: string) {
  try {
    return decodeTensor(bytes, header, name);
  } catch (e) {
    if (e instanceof SafetensorsError && e.code === 'int64-out-of-range') {
      const code = name === 'labels' ? 'label-out-of-range' : 'seed-out-of-range';
      throw new ShardValueError(code, name, [], `tensor '${name}': ${e.message}; store values that fit in int32`);
    }
    if (e instanceof SafetensorsError) throw new ShardNotSafetensorsError(e);
    throw e;
  }
}

function checkFinite(name: string, data: Float32Array, shape: number[]): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      const index = unravel(i, shape);
      throw new ShardValueError(
        'non-finite',
        name,
        index,
        `tensor '${name}' holds ${data[i]} at [${index}] (flat index ${i}): the teacher diverged or F16 overflowed ` +
          `(|x| > 65504); regenerate this shard (store F32 if values are that large)`,
      );
    }
  }
}

/**
 * Throws unless the shard's metadata agrees with the teacher's config on everything its
 * trajectories depend on: image layout, prediction type, noise schedule and classes.
 */
function checkAgreement(meta: ShardMeta, teacher: SamplingConfig): void {
  const pairs: [string, unknown, unknown][] = [
    ['shard.data.channels', meta.data.channels, teacher.data.channels],
    ['shard.data.height', meta.data.height, teacher.data.height],
    ['shard.data.width', meta.data.width, teacher.data.width],
    ['shard.data.range', meta.data.range, teacher.data.range],
    ['shard.prediction', meta.prediction, teacher.prediction],
    ['shard.schedule.kind', meta.schedule.kind, teacher.schedule.kind],
    ['shard.schedule.betaStart', meta.schedule.betaStart, teacher.schedule.betaStart],
    ['shard.schedule.betaEnd', meta.schedule.betaEnd, teacher.schedule.betaEnd],
    ['shard.schedule.trainSteps', meta.schedule.trainSteps, teacher.schedule.trainSteps],
    ['shard.numClasses', meta.numClasses, teacher.numClasses],
  ];
  for (const [field, mine, theirs] of pairs) {
    const a = JSON.stringify(mine);
    const b = JSON.stringify(theirs);
    if (a !== b) throw new ShardTeacherContradictionError(field, a, b);
  }
}

/**
 * Parse, check and decode a shard. With `teacher` (the loaded one), the shard must name its
 * identity and agree with its config (checkAgreement), so its labels are also below the
 * teacher's null class.
 */
export function readShard(input: Uint8Array | ArrayBuffer, teacher?: ShardTeacher): Shard {
  const bytes = input instanceof ArrayBuffer ? new Uint8Array(input) : input;
  let header: SafetensorsHeader;
  try {
    header = parseSafetensorsHeader(bytes);
  } catch (e) {
    if (e instanceof SafetensorsError) throw new ShardNotSafetensorsError(e);
    throw e;
  }
  const meta = metaFromHeader(header);
  if (teacher) {
    if (teacher.identity.sha256 !== meta.teacher.sha256)
      throw new ShardTeacherMismatchError(meta.teacher, teacher.identity);
    checkAgreement(meta, teacher.config);
  }
  checkTensors(header, meta);
  const shapes = expectedShapes(meta);

  const positions = decode(bytes, header, 'positions').data as Float32Array;
  checkFinite('positions', positions, shapes.positions);
  const labels = decode(bytes, header, 'labels').data as Int32Array;
  // an unconditional teacher's shard (numClasses 0) labels every trajectory 0: one class, counted as such
  const classes = Math.max(1, meta.numClasses);
  const labelCounts = new Array<number>(classes).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (l < 0 || l >= classes) {
      throw new ShardValueError(
        'label-out-of-range',
        'labels',
        [i],
        meta.numClasses === 0
          ? `tensor 'labels' holds ${l} at [${i}]; an unconditional shard (numClasses 0) labels every trajectory 0`
          : `tensor 'labels' holds ${l} at [${i}], outside 0..${meta.numClasses - 1} (numClasses ${meta.numClasses}); ` +
              `the null class is never a trajectory label`,
      );
    }
    labelCounts[l]++;
  }
  const seeds = header.tensors.has('seeds') ? (decode(bytes, header, 'seeds').data as Int32Array) : undefined;
  let deltaPositions: Float32Array | undefined;
  if (header.tensors.has('delta_positions')) {
    deltaPositions = decode(bytes, header, 'delta_positions').data as Float32Array;
    checkFinite('delta_positions', deltaPositions, shapes.delta_positions);
  }
  const summary: ShardSummary = {
    count: meta.count,
    slots: meta.coarseTimesteps.length,
    teacher: meta.teacher,
    coarseTimesteps: meta.coarseTimesteps,
    fineStepsPerSlot: meta.fineStepsPerSlot,
    delta: meta.delta,
    deltaTimesteps: meta.deltaTimesteps,
    guidanceScale: meta.guidanceScale,
    prediction: meta.prediction,
    data: meta.data,
    numClasses: meta.numClasses,
    positionsDtype: header.tensors.get('positions')!.dtype as FloatDtype,
    hasDelta: deltaPositions !== undefined,
    hasSeeds: seeds !== undefined,
    labelCounts,
    byteLength: bytes.byteLength,
  };
  const shard: Shard = { meta, summary, positions, labels };
  if (seeds) shard.seeds = seeds;
  if (deltaPositions) shard.deltaPositions = deltaPositions;
  return shard;
}

/** Everything `readShard` checks; returns the summary (the decoded arrays are dropped). */
export function validateShard(input: Uint8Array | ArrayBuffer, teacher?: ShardTeacher): ShardSummary {
  return readShard(input, teacher).summary;
}

export interface WriteShardOptions {
  /** Storage of positions and delta_positions. F16 halves the file; default F32. */
  dtype?: FloatDtype;
}

/**
 * Serialise K trajectories (K = labels.length). The result is read back through `readShard`
 * before it is returned, so a writer can never produce a shard the trainer would refuse
 * (e.g. values that overflow F16).
 */
export function writeShard(
  meta: Omit<ShardMeta, 'count'>,
  arrays: ShardArrays,
  opts: WriteShardOptions = {},
): Uint8Array {
  const dtype = opts.dtype ?? 'F32';
  const full = checkMeta({ ...meta, count: arrays.labels.length });
  const shapes = expectedShapes(full);
  const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
  const given: [string, Float32Array | Int32Array | undefined][] = [
    ['positions', arrays.positions],
    ['labels', arrays.labels],
    ['seeds', arrays.seeds],
    ['delta_positions', arrays.deltaPositions],
  ];
  const tensors: Record<string, TensorToWrite> = {};
  for (const [name, data] of given) {
    if (data === undefined) continue;
    const float = name === 'positions' || name === 'delta_positions';
    if (float ? !(data instanceof Float32Array) : !(data instanceof Int32Array)) {
      throw new ShardError('bad-input', `writeShard: ${name} must be a ${float ? 'Float32Array' : 'Int32Array'}`);
    }
    if (data.length !== size(shapes[name])) {
      throw new ShardError(
        'bad-input',
        `writeShard: ${name} has ${data.length} values, shape [${shapes[name]}] needs ${size(shapes[name])}`,
      );
    }
    tensors[name] = float
      ? { dtype, shape: shapes[name], data: data as Float32Array }
      : { dtype: 'I32', shape: shapes[name], data: data as Int32Array };
  }
  const bytes = writeSafetensors(tensors, {
    format: SHARD_FORMAT,
    version: SHARD_VERSION,
    shard: JSON.stringify(full),
  });
  readShard(bytes);
  return bytes;
}
