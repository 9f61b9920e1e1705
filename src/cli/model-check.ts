/**
 * npm run model:check -- --model DIR|FILE [--inputs F --out F] [--backend wasm]
 *
 * Loads a model the way every tool does, a diffusers UNet2DModel folder (DIR: config.json,
 * diffusion_pytorch_model.safetensors, scheduler_config.json; or a saved pipeline's root) or one
 * of this studio's bundles (FILE), and prints the parsed architecture, the sampling settings and
 * the parameter count; a model it cannot run is refused with the field and value that stop it.
 * With --inputs (safetensors: `sample` [B, C, H, W], `timestep` [B] or one value, `class_labels`
 * [B] for a class-conditional model) it runs one forward pass and writes the output to --out as
 * `sample` [B, C, H, W] F32, to compare with a reference such as diffusers' own UNet2DModel.
 */
import { statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import { loadDiffusersModel, type DiffusersModel } from '../core/diffusers/folder';
import { loadModelBundle } from '../core/io/bundle';
import { FormatError } from '../core/io/errors';
import { bundleModel, type DiffusionModel } from '../core/model';
import { encodeModelOutputs, readModelInputs } from '../core/model-inputs';
import { networkParamCount } from '../core/nn/network';
import { parseCli, runCli, UsageError } from '../node/args';
import { BackendUnavailableError, parseBackend, useBackend } from '../node/backend';
import { readDiffusersFolder } from '../node/diffusers-folder';

const args = parseCli('npm run model:check -- --model DIR|FILE [--inputs F --out F]', {
  model: { type: 'string', help: "a diffusers UNet2DModel folder, or this studio's model bundle (.safetensors)" },
  inputs: { type: 'string', help: 'safetensors with sample [B,C,H,W], timestep [B] or one value, class_labels [B]' },
  out: { type: 'string', help: "where --inputs' forward pass writes its output (sample [B,C,H,W] F32)" },
  backend: { type: 'string', default: 'wasm', help: 'tfjs backend: wasm, webgpu (needs npm package webgpu) or cpu' },
});

async function load(path: string): Promise<{ model: DiffusionModel; lines: string[] }> {
  if (statSync(path).isDirectory()) {
    const folder = await readDiffusersFolder(path);
    const model: DiffusersModel = loadDiffusersModel(folder.files, folder.name);
    const s = model.scheduler;
    return {
      model,
      lines: [
        `files: ${folder.paths.config}, ${folder.paths.weights}, ${folder.paths.scheduler}`,
        `scheduler: ${s.className ?? 'no _class_name'}; DDIM grid: ${s.spacing} spacing, steps_offset ${s.stepsOffset}`,
      ],
    };
  }
  const bundle = loadModelBundle(await readFile(path));
  return { model: bundleModel(bundle), lines: [`file: ${path} (this studio's model bundle)`] };
}

async function main(): Promise<void> {
  if (typeof args.model !== 'string') throw new UsageError('--model DIR|FILE is required');
  if ((args.inputs === undefined) !== (args.out === undefined)) throw new UsageError('--inputs and --out go together');
  const backend = await useBackend(parseBackend(String(args.backend)));
  const { model, lines } = await load(args.model);
  const { sampling, network } = model;
  const sch = sampling.schedule;
  const betas = sch.kind === 'squaredcos_cap_v2' ? '' : ` ${sch.betaStart}..${sch.betaEnd}`;
  const count = networkParamCount(network);
  console.log(
    [
      `model: ${sampling.name} (${model.format}), backend ${backend}`,
      ...lines,
      ...network.describe(),
      `parameters: ${count.toLocaleString('en-US')} in ${Object.keys(model.params).length} tensors ` +
        `(${((4 * count) / 1e6).toFixed(1)} MB as float32); ${(network.flops() / 1e6).toFixed(1)} MFLOP forward per image`,
      `sampling: ${sch.kind}${betas}, ${sch.trainSteps} train steps, prediction ${sampling.prediction}, ` +
        `clip_sample ${sampling.clipSample ?? false}, set_alpha_to_one ${sampling.setAlphaToOne ?? false}, ` +
        (sampling.numClasses > 0 ? `${sampling.numClasses} classes` : 'unconditional'),
    ].join('\n'),
  );
  if (typeof args.inputs === 'string' && typeof args.out === 'string') {
    const inputs = readModelInputs(await readFile(args.inputs), sampling, model.format === 'rapm-studio/model');
    const out = tf.tidy(() => network.apply(model.params, inputs.x, inputs.t, inputs.labels));
    const bytes = await encodeModelOutputs(out, { model: sampling.name, source: `npm run model:check on ${backend}` });
    tf.dispose([out, inputs.x, inputs.t, inputs.labels]);
    await writeFile(args.out, bytes);
    console.log(
      `wrote ${args.out}: sample [${inputs.x.shape[0]}, ${sampling.data.channels}, ${sampling.data.height}, ${sampling.data.width}] F32`,
    );
  }
  tf.dispose(Object.values(model.params));
}

await runCli(main, [FormatError, BackendUnavailableError]);
