/**
 * The diffusers export on the real fixture folders: a student written as a UNet2DModel folder
 * loads back through the import bit for bit, with its grid; a LoRA student's folder holds the
 * merged weights; its peft adapter holds peft's names and layouts; and either zips.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiffusersError } from '../io/errors';
import { parseSafetensors, type LoadedTensor } from '../io/safetensors';
import type { Params } from '../nn/unet';
import { gaussian } from '../random';
import type { StudentConfig } from '../rapm/config';
import { loraTargets, mergeStudent } from '../rapm/lora';
import type { StudentSnapshot } from '../rapm/student-snapshot';
import { loadGolden } from '../../node/diffusers-golden.test-util';
import { schedulerGridSettings, unetConfigJson, type ExportedFile } from './export';
import { parseUnetConfig } from './config';
import { GOLDEN_FIXTURES } from '../../node/diffusers-golden.test-util';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE } from './export-peft';
import { exportDiffusersStudent, zipFolder } from './export-student';
import { loadDiffusersModel, type DiffusersModel } from './folder';
import { parseSchedulerConfig } from './scheduler';

const LORA: StudentConfig = {
  mode: 'lora',
  rank: 2,
  alpha: 3,
  targets: [
    'conv1.weight',
    'conv_shortcut.weight',
    'to_q.weight',
    'to_out.0.weight',
    'linear_1.weight',
    'conv_in.weight',
    'class_embedding.weight',
  ],
};

/** Adapters with B != 0 (a trained student's), deterministic. */
function loraWeights(teacher: Params, cfg: StudentConfig): Params {
  const out: Params = {};
  loraTargets(teacher, cfg).forEach((name, i) => {
    const shape = teacher[name].shape;
    const fanIn = shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const cout = shape[shape.length - 1];
    out[`lora.${name}.A`] = tf.tensor2d(gaussian(100 + i, fanIn * cfg.rank), [fanIn, cfg.rank]).div(Math.sqrt(fanIn));
    out[`lora.${name}.B`] = tf.tensor2d(gaussian(200 + i, cfg.rank * cout), [cfg.rank, cout]).mul(0.1);
  });
  return out;
}

const file = (files: ExportedFile[], name: string) => {
  const f = files.find((x) => x.name === name);
  if (!f) throw new Error(`no ${name} in [${files.map((x) => x.name)}]`);
  return f.bytes;
};

const reimport = (files: ExportedFile[]) =>
  loadDiffusersModel(
    {
      config: file(files, 'config.json'),
      scheduler: file(files, 'scheduler_config.json'),
      weights: file(files, 'diffusion_pytorch_model.safetensors'),
    },
    'cond-28-attn',
  );

async function forward(model: Pick<DiffusersModel, 'network' | 'sampling'>, params: Params): Promise<Float32Array> {
  const { channels, height, width } = model.sampling.data;
  const out = tf.tidy(() =>
    model.network.apply(
      params,
      tf.tensor4d(gaussian(7, 2 * height * width * channels), [2, height, width, channels]),
      tf.tensor1d([999, 250]),
      tf.tensor1d([3, 7], 'int32'),
    ),
  );
  const data = (await out.data()) as Float32Array;
  out.dispose();
  return data;
}

describe('diffusers export of a student', () => {
  let teacher: DiffusersModel;
  beforeAll(async () => {
    teacher = await loadGolden('cond-28-attn');
  });
  afterAll(() => tf.dispose(Object.values(teacher.params)));

  it('writes the teacher unchanged as a folder that loads back bit for bit, with the grid', async () => {
    const before = tf.memory().numTensors;
    const snapshot: StudentSnapshot = {
      student: { ...LORA, mode: 'full' },
      weights: teacher.params,
      timesteps: [999, 749, 499, 249],
      iteration: 0,
    };
    const files = await exportDiffusersStudent(teacher, snapshot, 'diffusers', { tool: 'test' });
    expect(tf.memory().numTensors).toBe(before);
    expect(files.map((f) => f.name)).toEqual([
      'config.json',
      'diffusion_pytorch_model.safetensors',
      'scheduler_config.json',
    ]);
    expect(new TextDecoder().decode(file(files, 'config.json'))).toBe(teacher.configText);
    const scheduler = JSON.parse(new TextDecoder().decode(file(files, 'scheduler_config.json')));
    expect(scheduler).toMatchObject({
      _class_name: 'DDIMScheduler',
      _rapm_student_timesteps: [999, 749, 499, 249],
      timestep_spacing: 'trailing',
      steps_offset: 0,
      clip_sample: true,
      set_alpha_to_one: false,
      prediction_type: 'epsilon',
    });
    const weights = parseSafetensors(file(files, 'diffusion_pytorch_model.safetensors'));
    for (const t of weights.tensors.values()) expect(t.dtype).toBe('F32');
    expect(JSON.parse(weights.metadata.rapm_student)).toMatchObject({ tool: 'test', timesteps: [999, 749, 499, 249] });

    const back = reimport(files);
    expect(back.sampling).toEqual({ ...teacher.sampling, studentTimesteps: [999, 749, 499, 249] });
    expect(back.unet).toEqual(teacher.unet);
    expect(Object.keys(back.params).sort()).toEqual(Object.keys(teacher.params).sort());
    for (const [name, t] of Object.entries(teacher.params)) {
      const [a, b] = [await t.data(), await back.params[name].data()];
      expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer)), name).toBe(true);
    }
    expect(await forward(back, back.params)).toEqual(await forward(teacher, teacher.params));
    tf.dispose(Object.values(back.params));
  });

  it("writes a LoRA student's merged weights: its forward pass is the merged student's", async () => {
    const weights = loraWeights(teacher.params, LORA);
    const snapshot: StudentSnapshot = { student: LORA, weights, timesteps: [999, 499], iteration: 5 };
    const files = await exportDiffusersStudent(teacher, snapshot, 'diffusers');
    const back = reimport(files);
    const merged = mergeStudent(teacher.params, weights, LORA);
    const ours = await forward(teacher, merged);
    expect(await forward(back, back.params)).toEqual(ours);
    // the adapters changed the network: the comparison above is not the teacher's against itself
    const plain = await forward(teacher, teacher.params);
    expect(Math.max(...ours.map((v, i) => Math.abs(v - plain[i])))).toBeGreaterThan(1e-3);
    expect(back.sampling.studentTimesteps).toEqual([999, 499]);
    tf.dispose([...Object.values(back.params), ...Object.values(merged), ...Object.values(weights)]);
  });

  it("writes a LoRA student's adapters as a peft adapter folder whose merge formula gives the merged weights", async () => {
    const weights = loraWeights(teacher.params, LORA);
    const snapshot: StudentSnapshot = { student: LORA, weights, timesteps: [999, 749, 499, 249], iteration: 5 };
    const files = await exportDiffusersStudent(teacher, snapshot, 'peft');
    const config = JSON.parse(new TextDecoder().decode(file(files, PEFT_CONFIG_FILE)));
    const targets = loraTargets(teacher.params, LORA);
    expect(config).toMatchObject({ peft_type: 'LORA', r: 2, lora_alpha: 3, bias: 'none', lora_dropout: 0 });
    expect(config.target_modules).toEqual(targets.map((n) => n.replace(/\.weight$/, '')).sort());
    const adapter = parseSafetensors(file(files, PEFT_WEIGHTS_FILE));
    expect(adapter.tensors.size).toBe(2 * targets.length);
    const merged = mergeStudent(teacher.params, weights, LORA);
    const diffusersWeights = parseSafetensors(
      file(await exportDiffusersStudent(teacher, { ...snapshot }, 'diffusers'), 'diffusion_pytorch_model.safetensors'),
    );
    const teacherFile = parseSafetensors(
      file(
        await exportDiffusersStudent(
          teacher,
          { ...snapshot, student: { ...LORA, mode: 'full' }, weights: teacher.params },
          'diffusers',
        ),
        'diffusion_pytorch_model.safetensors',
      ),
    );
    // peft's merge, in PyTorch layout: W + (lora_alpha / r) * delta
    const get = (m: Map<string, LoadedTensor>, n: string) => m.get(n) as LoadedTensor;
    const scale = config.lora_alpha / config.r;
    for (const module of config.target_modules as string[]) {
      const w = get(teacherFile.tensors, `${module}.weight`);
      const want = get(diffusersWeights.tensors, `${module}.weight`).data;
      const p = `base_model.model.${module}`;
      const embedding = module === 'class_embedding';
      const a = get(adapter.tensors, embedding ? `${p}.lora_embedding_A` : `${p}.lora_A.weight`);
      const b = get(adapter.tensors, embedding ? `${p}.lora_embedding_B` : `${p}.lora_B.weight`);
      const r = a.shape[0];
      const out = b.shape[0];
      const per = a.data.length / r; // in * kh * kw (conv), in (linear), rows (embedding)
      let worst = 0;
      for (let o = 0; o < out; o++)
        for (let j = 0; j < per; j++) {
          let d = 0;
          for (let k = 0; k < r; k++) d += b.data[o * r + k] * a.data[k * per + j];
          // nn.Embedding's weight is [rows, dim]: its delta is (B A)^T
          const at = embedding ? j * out + o : o * per + j;
          worst = Math.max(worst, Math.abs(w.data[at] + scale * d - want[at]));
        }
      expect(worst, module).toBeLessThan(1e-5);
    }
    tf.dispose([...Object.values(merged), ...Object.values(weights)]);
  });

  it('zips a folder', async () => {
    const files: ExportedFile[] = [
      { name: 'a.json', bytes: new TextEncoder().encode('{"x": 1}\n') },
      { name: 'b.bin', bytes: Uint8Array.from({ length: 1000 }, (_, i) => i % 251) },
    ];
    const zip = zipFolder('student', files);
    const view = new DataView(zip.buffer);
    const end = zip.length - 22;
    expect(view.getUint32(end, true)).toBe(0x06054b50);
    expect(view.getUint16(end + 10, true)).toBe(2);
    let at = view.getUint32(end + 16, true);
    for (const f of files) {
      expect(view.getUint32(at, true)).toBe(0x02014b50);
      const nameLength = view.getUint16(at + 28, true);
      expect(new TextDecoder().decode(zip.subarray(at + 46, at + 46 + nameLength))).toBe(`student/${f.name}`);
      const local = view.getUint32(at + 42, true);
      expect(view.getUint32(local, true)).toBe(0x04034b50);
      const start = local + 30 + view.getUint16(local + 26, true);
      expect(zip.subarray(start, start + f.bytes.length)).toEqual(f.bytes);
      at += 46 + nameLength;
    }
  });
});

describe("the student's grid in diffusers' DDIMScheduler", () => {
  it.each([
    [1000, [999, 749, 499, 249], 'trailing', 0],
    [1000, [999, 499], 'trailing', 0],
    [1000, [999], 'trailing', 0],
    [500, [499, 374, 249, 124], 'trailing', 0],
    [1000, [751, 501, 251, 1], 'leading', 1],
  ])('T = %i, [%s] -> %s offset %i', (T, grid, spacing, offset) => {
    expect(schedulerGridSettings(T, grid)).toEqual({ spacing, stepsOffset: offset });
  });

  it.each([
    [1000, [999, 666, 332]], // trailing 3: diffusers steps 999 -> 666 -> 333, off the grid
    [1000, [999, 666, 333, 0]], // linspace 4: gaps 333, diffusers' step is 250
    [1000, [900, 300]], // gaps other than T // n
  ])('refuses T = %i, [%s], naming the field', (T, grid) => {
    try {
      schedulerGridSettings(T, grid);
      throw new Error('expected a refusal');
    } catch (e) {
      expect(e).toBeInstanceOf(DiffusersError);
      expect((e as DiffusersError).field).toBe('_rapm_student_timesteps');
    }
  });
});

describe('_rapm_student_timesteps on import', () => {
  const text = (grid: unknown) =>
    JSON.stringify({ _class_name: 'DDIMScheduler', num_train_timesteps: 1000, _rapm_student_timesteps: grid });
  it('reads a grid and refuses one that is not descending or leaves the train steps', () => {
    expect(parseSchedulerConfig(text([999, 499])).studentTimesteps).toEqual([999, 499]);
    expect(parseSchedulerConfig(text([999, 499]).replace(/,"_rapm[^\]]*\]/, '')).studentTimesteps).toBeUndefined();
    for (const bad of [[499, 999], [], [1000], [999.5], 'x']) {
      expect(() => parseSchedulerConfig(text(bad))).toThrow(DiffusersError);
    }
  });
});

describe('config.json of a parsed config', () => {
  const shapes = JSON.parse(
    readFileSync(join(import.meta.dirname, '..', '..', '..', 'e2e', 'fixtures', 'diffusers', 'shapes.json'), 'utf8'),
  ) as Record<string, { config: Record<string, unknown> }>;
  const configs = [
    ...GOLDEN_FIXTURES.map((name) => [
      name,
      readFileSync(
        join(import.meta.dirname, '..', '..', '..', 'e2e', 'fixtures', 'diffusers', name, 'config.json'),
        'utf8',
      ),
    ]),
    ...Object.entries(shapes).map(([name, s]) => [name, JSON.stringify(s.config)]),
  ];
  it.each(configs)('%s: parses back to the same config', (_name, text) => {
    const unet = parseUnetConfig(text);
    expect(parseUnetConfig(unetConfigJson(unet))).toEqual(unet);
    expect(parseUnetConfig(unetConfigJson({ ...unet, sampleSize: [32, 64] })).sampleSize).toEqual([32, 64]);
  });
});
