/**
 * What the diffusers import refuses, and how: each refusal is a DiffusersError naming the file,
 * the field (or tensor) and its value, and a refused weights file leaves no tensor allocated.
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiffusersError } from '../io/errors';
import { parseSafetensors, writeSafetensors, type TensorToWrite } from '../io/safetensors';
import { diffusersUnetNetwork } from '../nn/diffusers-unet';
import { networkParamCount } from '../nn/network';
import { parseUnetConfig, UNET2D_DEFAULTS } from './config';
import { loadDiffusersModel, readDiffusersConfigs } from './folder';
import { parseSchedulerConfig, SCHEDULER_DEFAULTS } from './scheduler';
import { diffusersWeightTable, loadDiffusersWeights } from './weights';

const DIR = join(import.meta.dirname, '..', '..', '..', 'e2e', 'fixtures', 'diffusers', 'cond-28-attn');
const CONFIG = JSON.parse(readFileSync(join(DIR, 'config.json'), 'utf8')) as Record<string, unknown>;
const SCHEDULER = JSON.parse(readFileSync(join(DIR, 'scheduler_config.json'), 'utf8')) as Record<string, unknown>;
const WEIGHTS = readFileSync(join(DIR, 'diffusion_pytorch_model.safetensors'));

function refusal(f: () => unknown): DiffusersError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DiffusersError);
    return e as DiffusersError;
  }
  throw new Error('expected a DiffusersError');
}

const unet = (edit: Record<string, unknown>) => () => parseUnetConfig(JSON.stringify({ ...CONFIG, ...edit }));
const scheduler = (edit: Record<string, unknown>) => () =>
  parseSchedulerConfig(JSON.stringify({ ...SCHEDULER, ...edit }));

describe('config.json', () => {
  it('parses the fixture and fills what it leaves out with diffusers defaults', () => {
    const cfg = parseUnetConfig(JSON.stringify(CONFIG));
    expect(cfg).toMatchObject({
      sampleSize: [28, 28],
      blockOutChannels: [8, 16],
      attentionHeadDim: 4,
      numClassEmbeds: 10,
    });
    const { flip_sin_to_cos: _flip, norm_eps: _eps, ...rest } = CONFIG;
    const defaults = parseUnetConfig(JSON.stringify(rest));
    expect(defaults.flipSinToCos).toBe(true);
    expect(defaults.normEps).toBe(1e-5);
  });

  it.each([
    [{ time_embedding_type: 'fourier' }, 'unsupported', 'time_embedding_type', '"fourier"'],
    [
      { down_block_types: ['DownBlock2D', 'CrossAttnDownBlock2D'] },
      'unsupported',
      'down_block_types',
      '["DownBlock2D","CrossAttnDownBlock2D"]',
    ],
    [{ up_block_types: ['AttnUpBlock2D'] }, 'bad-config', 'up_block_types', '["AttnUpBlock2D"]'],
    [{ resnet_time_scale_shift: 'ada_group' }, 'unsupported', 'resnet_time_scale_shift', '"ada_group"'],
    [{ class_embed_type: 'timestep' }, 'unsupported', 'class_embed_type', '"timestep"'],
    [{ out_channels: 2 }, 'unsupported', 'out_channels', '2'],
    [{ act_fn: 'mish' }, 'unsupported', 'act_fn', '"mish"'],
    [{ attention_head_dim: 3 }, 'unsupported', 'attention_head_dim', '3'],
    [{ norm_num_groups: 3 }, 'bad-config', 'norm_num_groups', '3'],
    [{ norm_num_groups: null }, 'unsupported', 'norm_num_groups', 'null'],
    [
      {
        sample_size: 30,
        block_out_channels: [8, 16, 16],
        down_block_types: ['DownBlock2D', 'DownBlock2D', 'DownBlock2D'],
        up_block_types: ['UpBlock2D', 'UpBlock2D', 'UpBlock2D'],
      },
      'bad-config',
      'sample_size',
      '30',
    ],
    [{ sample_size: null }, 'bad-config', 'sample_size', 'null'],
    [{ downsample_padding: 2 }, 'bad-config', 'downsample_padding', '2'],
    [{ cross_attention_dim: 768 }, 'unknown-field', 'cross_attention_dim', '768'],
    [{ _class_name: 'UNet2DConditionModel' }, 'unsupported', '_class_name', '"UNet2DConditionModel"'],
  ])('refuses %j (%s, naming %s = %s)', (edit, code, field, value) => {
    const e = refusal(unet(edit));
    expect(e.code).toBe(code);
    expect(e.file).toBe('config.json');
    expect(e.field).toBe(field);
    expect(e.value).toBe(value);
    expect(e.message).toContain(field);
  });

  it('refuses a resnet downsampler only where it would run (an attention block that downsamples)', () => {
    expect(() => unet({ downsample_type: 'resnet' })()).not.toThrow();
    const e = refusal(unet({ downsample_type: 'resnet', down_block_types: ['AttnDownBlock2D', 'DownBlock2D'] }));
    expect([e.code, e.field]).toEqual(['unsupported', 'downsample_type']);
  });

  it('refuses an integer field written as a float, quoting it as written', () => {
    const text = JSON.stringify(CONFIG).replace('"layers_per_block":1', '"layers_per_block":1.0');
    const e = refusal(() => parseUnetConfig(text));
    expect([e.code, e.field, e.value]).toEqual(['bad-config', 'layers_per_block', '1.0']);
  });

  it('refuses a file that is not a JSON object', () => {
    expect(refusal(() => parseUnetConfig('[1, 2]')).code).toBe('not-json');
    expect(refusal(() => parseUnetConfig('{"a": 1, "a": 2}')).code).toBe('not-json');
  });
});

describe('scheduler_config.json', () => {
  it('maps the fixture to our schedule, prediction and grid settings', () => {
    expect(parseSchedulerConfig(JSON.stringify(SCHEDULER))).toEqual({
      className: 'DDIMScheduler',
      schedule: { kind: 'linear', betaStart: 0.0001, betaEnd: 0.02, trainSteps: 1000 },
      prediction: 'epsilon',
      clipSample: true,
      setAlphaToOne: false,
      spacing: 'trailing',
      stepsOffset: 0,
    });
  });

  it("gives a DDPM config DDIMScheduler.from_config's defaults (set_alpha_to_one true, leading spacing)", () => {
    const s = parseSchedulerConfig(JSON.stringify({ _class_name: 'DDPMScheduler', variance_type: 'fixed_large' }));
    expect(s).toMatchObject({ setAlphaToOne: true, clipSample: true, spacing: 'leading', prediction: 'epsilon' });
  });

  it.each([
    [{ _class_name: 'EulerDiscreteScheduler' }, 'unsupported', '_class_name'],
    [{ beta_schedule: 'sigmoid' }, 'unsupported', 'beta_schedule'],
    [{ trained_betas: [0.1, 0.2] }, 'unsupported', 'trained_betas'],
    [{ thresholding: true }, 'unsupported', 'thresholding'],
    [{ rescale_betas_zero_snr: true }, 'unsupported', 'rescale_betas_zero_snr'],
    [{ clip_sample_range: 2.0 }, 'unsupported', 'clip_sample_range'],
    [{ prediction_type: 'flow' }, 'unsupported', 'prediction_type'],
    [{ variance_type: 'learned_range' }, 'unsupported', 'variance_type'],
    [{ timestep_spacing: 'karras' }, 'unsupported', 'timestep_spacing'],
    [{ num_train_timesteps: 0 }, 'bad-config', 'num_train_timesteps'],
    [{ use_karras_sigmas: true }, 'unknown-field', 'use_karras_sigmas'],
  ])('refuses %j (%s, naming %s)', (edit, code, field) => {
    const e = refusal(scheduler(edit));
    expect([e.code, e.file, e.field]).toEqual([code, 'scheduler_config.json', field]);
  });
});

describe('diffusion_pytorch_model.safetensors', () => {
  const cfg = parseUnetConfig(JSON.stringify(CONFIG));
  const file = parseSafetensors(WEIGHTS);
  /** The fixture's tensors with `edit` applied (a value of null drops the tensor). */
  function weights(edit: Record<string, TensorToWrite | null>): Uint8Array {
    const out: Record<string, TensorToWrite> = {};
    for (const [name, t] of file.tensors) out[name] = { dtype: 'F32', shape: t.shape, data: t.data as Float32Array };
    for (const [name, t] of Object.entries(edit)) {
      if (t === null) delete out[name];
      else out[name] = t;
    }
    return writeSafetensors(out);
  }

  it('has one table entry per tensor of the file, with its PyTorch shape', () => {
    const table = diffusersWeightTable(cfg);
    expect(table.map((e) => e.name).sort()).toEqual([...file.tensors.keys()].sort());
    for (const e of table) expect(e.fileShape).toEqual(file.tensors.get(e.name)?.shape);
    expect(table.find((e) => e.name === 'conv_in.weight')).toMatchObject({
      fileShape: [8, 1, 3, 3],
      shape: [3, 3, 1, 8],
      layout: 'conv',
    });
    expect(table.find((e) => e.name.endsWith('attentions.0.to_q.weight'))?.aliases).toEqual([
      'down_blocks.1.attentions.0.query.weight',
    ]);
  });

  it.each([
    ['missing-tensor', { 'conv_out.bias': null }, 'conv_out.bias'],
    ['extra-tensor', { 'conv_out.extra': { dtype: 'F32', shape: [1], data: new Float32Array(1) } }, 'conv_out.extra'],
    [
      'wrong-shape',
      { 'conv_in.weight': { dtype: 'F32', shape: [3, 3, 1, 8], data: new Float32Array(72) } },
      'conv_in.weight',
    ],
    ['wrong-dtype', { 'conv_out.bias': { dtype: 'I32', shape: [1], data: new Int32Array(1) } }, 'conv_out.bias'],
    ['non-finite', { 'conv_out.bias': { dtype: 'F32', shape: [1], data: new Float32Array([NaN]) } }, 'conv_out.bias'],
    [
      'extra-tensor',
      { 'down_blocks.1.attentions.0.query.weight': { dtype: 'F32', shape: [16, 16], data: new Float32Array(256) } },
      'down_blocks.1.attentions.0.query.weight',
    ],
  ] as const)('refuses %s and allocates nothing (case %#)', (code, edit, field) => {
    const bytes = weights(edit as Record<string, TensorToWrite | null>);
    const before = tf.memory().numTensors;
    const e = refusal(() => loadDiffusersWeights(bytes, cfg));
    expect([e.code, e.file, e.field]).toEqual([code, 'diffusion_pytorch_model.safetensors', field]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses bytes that are not safetensors', () => {
    expect(refusal(() => loadDiffusersWeights(new Uint8Array(16), cfg)).code).toBe('not-safetensors');
  });

  it('loads the old attention names as the new ones', () => {
    const renamed: Record<string, TensorToWrite | null> = {};
    for (const [name, t] of file.tensors) {
      const old = name.replace('.to_q.', '.query.').replace('.to_out.0.', '.proj_attn.');
      if (old !== name) Object.assign(renamed, { [name]: null, [old]: { dtype: 'F32', shape: t.shape, data: t.data } });
    }
    const params = loadDiffusersWeights(weights(renamed), cfg);
    expect(Object.keys(params).sort()).toEqual(
      diffusersWeightTable(cfg)
        .map((e) => e.name)
        .sort(),
    );
    tf.dispose(Object.values(params));
  });
});

describe('realistic sizes (e2e/fixtures/diffusers/shapes.json, from diffusers)', () => {
  const shapes = JSON.parse(readFileSync(join(DIR, '..', 'shapes.json'), 'utf8')) as Record<
    string,
    { config: Record<string, unknown>; parameters: number; tensors: Record<string, number[]> }
  >;
  it.each(Object.keys(shapes))(
    "%s: the weight table is diffusers' state dict, name for name and shape for shape",
    (name) => {
      const { config, parameters, tensors } = shapes[name];
      const cfg = parseUnetConfig(JSON.stringify(config));
      const table = Object.fromEntries(diffusersWeightTable(cfg).map((e) => [e.name, e.fileShape]));
      expect(table).toEqual(tensors);
      expect(networkParamCount(diffusersUnetNetwork(cfg))).toBe(parameters);
    },
  );
});

describe('the folder', () => {
  it('loads into one DiffusionModel: sampling settings, network, parameters', () => {
    const files = { config: JSON.stringify(CONFIG), scheduler: JSON.stringify(SCHEDULER), weights: WEIGHTS };
    const model = loadDiffusersModel(files, 'fixture');
    expect(model.format).toBe('diffusers');
    expect(model.sampling).toEqual({
      name: 'fixture',
      architecture: 'diffusers-unet2d',
      diffusers: model.unet,
      schedule: { kind: 'linear', betaStart: 0.0001, betaEnd: 0.02, trainSteps: 1000 },
      prediction: 'epsilon',
      data: { channels: 1, height: 28, width: 28, range: [-1, 1] },
      numClasses: 10,
      clipSample: true,
      setAlphaToOne: false,
    });
    expect(networkParamCount(model.network)).toBe(45_289);
    tf.dispose(Object.values(model.params));
  });

  it('reads an unconditional model as numClasses 0', () => {
    const { sampling } = readDiffusersConfigs({
      config: JSON.stringify({ ...CONFIG, num_class_embeds: null }),
      scheduler: '{}',
    });
    expect(sampling.numClasses).toBe(0);
  });
});

it('docs/model-format.md lists every field the parsers declare', () => {
  const docs = readFileSync(join(import.meta.dirname, '..', '..', '..', 'docs', 'model-format.md'), 'utf8');
  const section = docs.slice(docs.indexOf('## diffusers UNet2DModel folder'), docs.indexOf('### Weights'));
  const missing = [...Object.keys(UNET2D_DEFAULTS), ...Object.keys(SCHEDULER_DEFAULTS)].filter(
    (f) => !section.includes(`\`${f}\``),
  );
  expect(missing).toEqual([]);
});
