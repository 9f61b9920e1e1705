/**
 * npx tsx scripts/diffusers-export-fixture.ts
 *
 * Writes e2e/fixtures/diffusers-export/<name>/ (committed), the studio's half of the check of the
 * diffusers export against the real diffusers (scripts/diffusers-export-check.py writes the other):
 *   student/            a student of the golden fixture <name> (e2e/fixtures/diffusers/), exported
 *                       as a diffusers folder (src/core/diffusers/export.ts)
 *   peft/               a LoRA student's adapters as a peft adapter folder (export-peft.ts)
 *   noise.safetensors   `sample` [B, C, H, W]: the page's preview noise for seeds 0..B-1
 *                       (seededNoise), optional `class_labels` [B] I64
 *   ours.safetensors    `sample` [B, C, H, W]: our preview of student/ for that noise
 *                       (src/node/diffusers-preview.ts: DDIM on the student's grid, guidance 1)
 * The students are deterministic (fixed seeds), not trained: random low-rank adapters with B != 0
 * (cond-28-attn) and a full fine-tune of perturbed weights (uncond-32-plain), which is all the
 * format and sampler check needs.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { seededNoise } from '../src/core/diffusion/sampler';
import type { ExportedFile } from '../src/core/diffusers/export';
import { exportDiffusersStudent } from '../src/core/diffusers/export-student';
import { loadDiffusersModel } from '../src/core/diffusers/folder';
import { writeSafetensors } from '../src/core/io/safetensors';
import type { Params } from '../src/core/nn/unet';
import { gaussian } from '../src/core/random';
import type { StudentConfig } from '../src/core/rapm/config';
import { loraTargets } from '../src/core/rapm/lora';
import type { StudentSnapshot } from '../src/core/rapm/student-snapshot';
import { useWasmBackend } from '../src/node/backend';
import { readDiffusersFolder } from '../src/node/diffusers-folder';
import { previewFile, readNoiseFile, studentPreview } from '../src/node/diffusers-preview';

const GOLDEN = join('e2e', 'fixtures', 'diffusers');
const OUT = join('e2e', 'fixtures', 'diffusers-export');

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

const SPECS = [
  { name: 'cond-28-attn', student: LORA, timesteps: [999, 749, 499, 249], labels: [0, 3, 7, 9] },
  {
    name: 'uncond-32-plain',
    student: { ...LORA, mode: 'full' } as StudentConfig,
    timesteps: [499, 249],
    labels: [0, 0, 0],
  },
];

function studentWeights(teacher: Params, cfg: StudentConfig): Params {
  if (cfg.mode === 'full') {
    return Object.fromEntries(
      Object.entries(teacher).map(([k, t], i) => [
        k,
        tf.tidy(() => t.add(tf.tensor(gaussian(300 + i, t.size), t.shape).mul(0.02))),
      ]),
    );
  }
  const out: Params = {};
  loraTargets(teacher, cfg).forEach((name, i) => {
    const shape = teacher[name].shape;
    const fanIn = shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const cout = shape[shape.length - 1];
    out[`lora.${name}.A`] = tf.tidy(() =>
      tf.tensor2d(gaussian(100 + i, fanIn * cfg.rank), [fanIn, cfg.rank]).div(Math.sqrt(fanIn)),
    );
    out[`lora.${name}.B`] = tf.tidy(() => tf.tensor2d(gaussian(200 + i, cfg.rank * cout), [cfg.rank, cout]).mul(0.1));
  });
  return out;
}

async function writeFolder(dir: string, files: ExportedFile[]) {
  await mkdir(dir, { recursive: true });
  for (const f of files) await writeFile(join(dir, f.name), f.bytes);
}

async function main() {
  await useWasmBackend();
  for (const spec of SPECS) {
    const teacher = loadDiffusersModel((await readDiffusersFolder(join(GOLDEN, spec.name))).files, spec.name);
    const weights = studentWeights(teacher.params, spec.student);
    const snapshot: StudentSnapshot = { student: spec.student, weights, timesteps: spec.timesteps, iteration: 0 };
    const provenance = { tool: 'scripts/diffusers-export-fixture.ts', teacher: `e2e/fixtures/diffusers/${spec.name}` };
    const dir = join(OUT, spec.name);
    await writeFolder(join(dir, 'student'), await exportDiffusersStudent(teacher, snapshot, 'diffusers', provenance));
    if (spec.student.mode === 'lora') {
      await writeFolder(join(dir, 'peft'), await exportDiffusersStudent(teacher, snapshot, 'peft', provenance));
    }
    const { channels, height, width } = teacher.sampling.data;
    const b = spec.labels.length;
    const noise = tf.tidy(() =>
      seededNoise(
        Array.from({ length: b }, (_, i) => i),
        height,
        width,
        channels,
      ).transpose([0, 3, 1, 2]),
    );
    const shape = [b, channels, height, width];
    const noiseTensors: Parameters<typeof writeSafetensors>[0] = {
      sample: { dtype: 'F32', shape, data: (await noise.data()) as Float32Array },
    };
    if (teacher.sampling.numClasses > 0) {
      noiseTensors.class_labels = { dtype: 'I64', shape: [b], data: Int32Array.from(spec.labels) };
    }
    const noiseBytes = writeSafetensors(noiseTensors, { seeds: JSON.stringify([...Array(b).keys()]) });
    await writeFile(join(dir, 'noise.safetensors'), noiseBytes);
    const student = loadDiffusersModel((await readDiffusersFolder(join(dir, 'student'))).files, spec.name);
    const ours = await studentPreview(student, readNoiseFile(noiseBytes));
    await writeFile(
      join(dir, 'ours.safetensors'),
      previewFile(ours, shape, 'RAPM studio DDIM on the student grid (wasm)'),
    );
    console.log(`${spec.name}: ${spec.student.mode} student on [${spec.timesteps}], ${b} samples`);
    tf.dispose([noise, ...Object.values(weights), ...Object.values(teacher.params), ...Object.values(student.params)]);
  }
}

await main();
