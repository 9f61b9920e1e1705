/**
 * A student of a diffusers teacher, exported back as a diffusers UNet2DModel folder that
 * `UNet2DModel.from_pretrained` loads:
 *   config.json                          the teacher's, byte for byte (the architecture is unchanged)
 *   diffusion_pytorch_model.safetensors  the student's (merged) weights under diffusers' state-dict
 *                                        names, PyTorch layout, F32
 *   scheduler_config.json                a DDIMScheduler config with the teacher's noise schedule and
 *                                        the timestep_spacing (and steps_offset) whose
 *                                        `set_timesteps(N)` builds exactly the student's grid, which is
 *                                        also recorded as `_rapm_student_timesteps`
 * diffusers 0.25's DDIMScheduler takes no explicit timestep list and steps from t to
 * t - T // N, so the grid must be one set_timesteps builds and whose gaps are all T // N (then
 * diffusers' steps land on the grid's entries as ours do); a grid that is not is refused.
 * docs/model-format.md, "diffusers export", shows how to sample it in diffusers.
 */
import { timesteps as gridOf, type TimestepSpacing } from '../diffusion/timesteps';
import { DiffusersError } from '../io/errors';
import { writeSafetensors, type TensorToWrite } from '../io/safetensors';
import type { Params } from '../nn/unet';
import { CONFIG_FILE } from './config';
import type { SamplingConfig } from '../model-config';
import type { DiffusersUNetConfig } from '../nn/diffusers-unet';
import { SCHEDULER_FILE, STUDENT_TIMESTEPS_FIELD } from './scheduler';
import { diffusersWeightTable, WEIGHTS_FILE, type WeightEntry } from './weights';

/** One file of an exported folder. */
export interface ExportedFile {
  name: string;
  bytes: Uint8Array;
}

/** The diffusers version whose classes and defaults the written configs follow. */
export const DIFFUSERS_VERSION = '0.25.0';

/** The spacing (and offset) with which diffusers' DDIMScheduler.set_timesteps(grid.length) builds `grid` and steps along it. */
export function schedulerGridSettings(
  trainSteps: number,
  grid: readonly number[],
): { spacing: TimestepSpacing; stepsOffset: number } {
  const n = grid.length;
  const same = (other: number[]) => other.length === n && other.every((t, i) => t === grid[i]);
  // diffusers steps from t to t - T // n: every gap of the grid must be that, the last step going below 0
  const jump = Math.floor(trainSteps / n);
  const steps =
    n > 0 && grid.every((t, i) => (i + 1 < n ? grid[i + 1] === t - jump : t - jump < 0 && t >= 0)) && n <= trainSteps;
  // np.arange(T, 0, -T/n) has n entries unless float rounding adds one (then diffusers' grid gains a -1)
  const trailingLength = Math.ceil(trainSteps / (trainSteps / n));
  const candidates: { spacing: TimestepSpacing; stepsOffset: number }[] = [
    { spacing: 'trailing', stepsOffset: 0 },
    { spacing: 'leading', stepsOffset: grid[n - 1] ?? 0 },
    { spacing: 'linspace', stepsOffset: 0 },
  ];
  const found = steps
    ? candidates.find(
        (c) =>
          (c.spacing !== 'trailing' || trailingLength === n) &&
          c.stepsOffset < trainSteps &&
          same(gridOf(trainSteps, n, c.spacing, c.stepsOffset)),
      )
    : undefined;
  if (!found) {
    throw new DiffusersError(
      'unsupported',
      SCHEDULER_FILE,
      `the student's timesteps [${grid}] are not a grid diffusers' DDIMScheduler samples on (set_timesteps(${n}) ` +
        `with trailing, leading or linspace spacing, each step going to t - ${trainSteps} // ${n}); ` +
        `export it in this studio's own formats instead`,
      { field: STUDENT_TIMESTEPS_FIELD, value: `[${grid}]` },
    );
  }
  return found;
}

/** What the student's scheduler config is made of: the teacher's noise schedule and DDIM settings. */
export type SchedulerSettings = Pick<SamplingConfig, 'schedule' | 'prediction' | 'clipSample' | 'setAlphaToOne'>;

/** scheduler_config.json of the student: DDIMScheduler, the teacher's schedule, the student's grid. */
export function studentSchedulerConfig(settings: SchedulerSettings, grid: readonly number[]): string {
  const { schedule } = settings;
  const { spacing, stepsOffset } = schedulerGridSettings(schedule.trainSteps, grid);
  // every DDIMScheduler.__init__ argument (0.25), so no default of another version applies; thresholding
  // is off (the import refuses it), so its two settings are diffusers' defaults
  const config = {
    _class_name: 'DDIMScheduler',
    _diffusers_version: DIFFUSERS_VERSION,
    [STUDENT_TIMESTEPS_FIELD]: [...grid],
    beta_end: schedule.betaEnd,
    beta_schedule: schedule.kind,
    beta_start: schedule.betaStart,
    clip_sample: settings.clipSample ?? false,
    clip_sample_range: 1.0,
    dynamic_thresholding_ratio: 0.995,
    num_train_timesteps: schedule.trainSteps,
    prediction_type: settings.prediction,
    rescale_betas_zero_snr: false,
    sample_max_value: 1.0,
    set_alpha_to_one: settings.setAlphaToOne ?? false,
    steps_offset: stepsOffset,
    thresholding: false,
    timestep_spacing: spacing,
    trained_betas: null,
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/**
 * config.json of a parsed config, under diffusers' names: what the teacher's file said, for a
 * teacher held without its file's text (parseUnetConfig of it gives `unet` back).
 */
export function unetConfigJson(unet: DiffusersUNetConfig): string {
  const [h, w] = unet.sampleSize;
  const config = {
    _class_name: 'UNet2DModel',
    _diffusers_version: DIFFUSERS_VERSION,
    act_fn: 'silu',
    add_attention: unet.addAttention,
    attention_head_dim: unet.attentionHeadDim,
    attn_norm_num_groups: unet.attnNormNumGroups,
    block_out_channels: unet.blockOutChannels,
    center_input_sample: unet.centerInputSample,
    class_embed_type: null,
    down_block_types: unet.downBlockTypes,
    downsample_padding: unet.downsamplePadding,
    downsample_type: 'conv',
    dropout: 0.0,
    flip_sin_to_cos: unet.flipSinToCos,
    freq_shift: unet.freqShift,
    in_channels: unet.inChannels,
    layers_per_block: unet.layersPerBlock,
    mid_block_scale_factor: unet.midBlockScaleFactor,
    norm_eps: unet.normEps,
    norm_num_groups: unet.normNumGroups,
    num_class_embeds: unet.numClassEmbeds,
    num_train_timesteps: null,
    out_channels: unet.outChannels,
    resnet_time_scale_shift: unet.resnetTimeScaleShift,
    sample_size: h === w ? h : [h, w],
    time_embedding_type: 'positional',
    up_block_types: unet.upBlockTypes,
    upsample_type: 'conv',
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** tfjs layout -> PyTorch layout, on the host (the inverse of weights.ts's toOurLayout). */
function toTorchLayout(data: Float32Array, e: WeightEntry): Float32Array {
  if (e.layout === 'as-is') return data;
  const out = new Float32Array(data.length);
  if (e.layout === 'linear') {
    const [o, i] = e.fileShape;
    for (let r = 0; r < o; r++) for (let c = 0; c < i; c++) out[r * i + c] = data[c * o + r];
    return out;
  }
  const [o, i, kh, kw] = e.fileShape;
  for (let a = 0; a < o; a++)
    for (let b = 0; b < i; b++)
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++) out[((a * i + b) * kh + y) * kw + x] = data[((y * kw + x) * i + b) * o + a];
  return out;
}

/**
 * diffusion_pytorch_model.safetensors of `params` (every tensor of the config's network, tfjs
 * layout), F32 under diffusers' current names (to_q, ..., not the deprecated query, ...). A
 * missing or misshapen parameter, or a non-finite value, is refused: diffusers would load it
 * silently (or sample NaNs).
 */
export async function diffusersWeightsFile(
  unet: DiffusersUNetConfig,
  params: Params,
  metadata: Record<string, string> = {},
): Promise<Uint8Array> {
  const tensors = new Map<string, TensorToWrite>();
  for (const e of diffusersWeightTable(unet)) {
    const t = params[e.name];
    if (!t) {
      throw new DiffusersError('missing-tensor', WEIGHTS_FILE, `the student has no parameter '${e.name}'`, {
        field: e.name,
      });
    }
    if (t.shape.join() !== e.shape.join()) {
      throw new DiffusersError(
        'wrong-shape',
        WEIGHTS_FILE,
        `the student's '${e.name}' has shape [${t.shape}], the network needs [${e.shape}]`,
        { field: e.name, value: `[${t.shape}]` },
      );
    }
    const data = (await t.data()) as Float32Array;
    const bad = data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      throw new DiffusersError(
        'non-finite',
        WEIGHTS_FILE,
        `the student's '${e.name}' holds ${data[bad]} at flat index ${bad}: a diverged student cannot be exported`,
        { field: e.name, value: String(data[bad]) },
      );
    }
    tensors.set(e.name, { dtype: 'F32', shape: e.fileShape, data: toTorchLayout(data, e) });
  }
  // diffusers' own save_pretrained writes {"format": "pt"}
  return writeSafetensors(tensors, { format: 'pt', ...metadata });
}

/** What the folder is written from: the teacher's parsed config (and its config.json text, when at hand). */
export interface DiffusersExportTeacher {
  unet: DiffusersUNetConfig;
  sampling: SchedulerSettings;
  /** config.json as the teacher's folder had it: written back byte for byte (else unetConfigJson). */
  configText?: string;
}

/**
 * The whole folder: the teacher's configs, `params` (the student's full parameters, LoRA merged
 * in) and the student's grid. `provenance` goes into the weights' __metadata__ as `rapm_student`.
 */
export async function exportDiffusersFolder(
  teacher: DiffusersExportTeacher,
  params: Params,
  grid: readonly number[],
  provenance: Record<string, unknown> = {},
): Promise<ExportedFile[]> {
  const scheduler = studentSchedulerConfig(teacher.sampling, grid);
  const weights = await diffusersWeightsFile(teacher.unet, params, {
    rapm_student: JSON.stringify({ ...provenance, timesteps: [...grid] }),
  });
  const utf8 = (s: string) => new TextEncoder().encode(s);
  return [
    { name: CONFIG_FILE, bytes: utf8(teacher.configText ?? unetConfigJson(teacher.unet)) },
    { name: WEIGHTS_FILE, bytes: weights },
    { name: SCHEDULER_FILE, bytes: utf8(scheduler) },
  ];
}
