/**
 * A LoRA student of a diffusers teacher as a peft adapter folder (peft 0.7's LoraConfig, which
 * `PeftModel.from_pretrained(unet, DIR)` loads onto the teacher's UNet2DModel):
 *   adapter_config.json        peft_type LORA, r, lora_alpha, target_modules (every adapted
 *                              module's full path, so nothing else matches), no dropout, no bias
 *   adapter_model.safetensors  `base_model.model.<module>.lora_A.weight` / `.lora_B.weight` (F32),
 *                              the names peft's get_peft_model_state_dict saves
 * Layouts (ours: W + (alpha / r) reshape(A B), A [fan_in, r], B [r, out], tfjs order):
 *   nn.Linear  W [out, in]:         lora_A.weight = A^T [r, in],          lora_B.weight = B^T [out, r]
 *   nn.Conv2d  W [out, in, kh, kw]: lora_A.weight [r, in, kh, kw] (a conv like W's), lora_B.weight
 *                                   [out, r, 1, 1]; peft's delta conv(A^T, B)^T is our reshape(A B)
 *   nn.Embedding (class_embedding [rows, dim]): lora_embedding_A = A^T [r, rows],
 *                                   lora_embedding_B = B^T [dim, r]
 * peft's scaling is lora_alpha / r, as ours; merged: W + scaling * delta, the merged export's weights.
 */
import { DiffusersError } from '../io/errors';
import { writeSafetensors, type TensorToWrite } from '../io/safetensors';
import type { Params } from '../nn/unet';
import type { StudentConfig } from '../rapm/config';
import type { ExportedFile } from './export';
import type { DiffusersUNetConfig } from '../nn/diffusers-unet';
import { diffusersWeightTable, type WeightEntry } from './weights';

export const PEFT_CONFIG_FILE = 'adapter_config.json';
export const PEFT_WEIGHTS_FILE = 'adapter_model.safetensors';
/** PeftModel's prefix of the wrapped model's modules. */
const PREFIX = 'base_model.model.';

interface PeftModule {
  module: string;
  kind: 'linear' | 'conv' | 'embedding';
  entry: WeightEntry;
}

/** The peft module a LoRA target (one of our parameter names) adapts, or a DiffusersError. */
function peftModule(target: string, table: Map<string, WeightEntry>): PeftModule {
  const entry = table.get(target);
  const refuse = (why: string) =>
    new DiffusersError('unsupported', PEFT_WEIGHTS_FILE, `LoRA target '${target}' ${why}`, { field: target });
  if (!entry) throw refuse("is not a parameter of the teacher's UNet2DModel");
  if (!target.endsWith('.weight')) throw refuse('is not a weight (peft adapts the weights of modules)');
  const module = target.slice(0, -'.weight'.length);
  if (entry.layout === 'conv') return { module, kind: 'conv', entry };
  if (entry.layout === 'linear') return { module, kind: 'linear', entry };
  if (target === 'class_embedding.weight') return { module, kind: 'embedding', entry };
  throw refuse('is not a Linear, Conv2d or Embedding weight');
}

/** [rows, cols] -> [cols, rows], on the host. */
function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

/** Our A [kh*kw*in, r] (rows in (y, x, in) order) -> peft's lora_A.weight [r, in, kh, kw]. */
function convA(a: Float32Array, kh: number, kw: number, cin: number, r: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < cin; i++)
        for (let k = 0; k < r; k++) out[((k * cin + i) * kh + y) * kw + x] = a[((y * kw + x) * cin + i) * r + k];
  return out;
}

/**
 * The adapter folder of a LoRA student: `weights` holds `lora.<target>.A` / `.B` for every target
 * of `student` (the snapshot's trainable weights), `grid` its timesteps (recorded in the weights'
 * __metadata__ with `provenance`, as peft keeps no field for them).
 */
export async function exportPeftAdapter(
  teacher: { unet: DiffusersUNetConfig },
  student: StudentConfig,
  weights: Params,
  grid: readonly number[],
  provenance: Record<string, unknown> = {},
): Promise<ExportedFile[]> {
  if (student.mode !== 'lora') {
    throw new DiffusersError(
      'bad-input',
      PEFT_WEIGHTS_FILE,
      'a fully fine-tuned student has no LoRA adapter; export it as a diffusers folder',
    );
  }
  const table = new Map(diffusersWeightTable(teacher.unet).map((e) => [e.name, e]));
  const r = student.rank;
  const targets = Object.keys(weights)
    .filter((n) => n.startsWith('lora.') && n.endsWith('.A'))
    .map((n) => n.slice('lora.'.length, -'.A'.length));
  if (targets.length === 0) {
    throw new DiffusersError('bad-input', PEFT_WEIGHTS_FILE, 'the student has no LoRA adapters to export');
  }
  const tensors = new Map<string, TensorToWrite>();
  const modules: string[] = [];
  for (const target of targets) {
    const { module, kind, entry } = peftModule(target, table);
    const a = weights[`lora.${target}.A`];
    const b = weights[`lora.${target}.B`];
    const fanIn = entry.shape.slice(0, -1).reduce((x, y) => x * y, 1);
    const out = entry.shape[entry.shape.length - 1];
    if (!b || a.shape.join() !== `${fanIn},${r}` || b.shape.join() !== `${r},${out}`) {
      throw new DiffusersError(
        'wrong-shape',
        PEFT_WEIGHTS_FILE,
        `the adapters of '${target}' are [${a.shape}] and [${b?.shape ?? 'missing'}]; rank ${r} needs [${fanIn},${r}] and [${r},${out}]`,
        { field: target },
      );
    }
    const [ad, bd] = [(await a.data()) as Float32Array, (await b.data()) as Float32Array];
    const name = `${PREFIX}${module}`;
    if (kind === 'conv') {
      const [kh, kw, cin] = entry.shape;
      tensors.set(`${name}.lora_A.weight`, { dtype: 'F32', shape: [r, cin, kh, kw], data: convA(ad, kh, kw, cin, r) });
      tensors.set(`${name}.lora_B.weight`, { dtype: 'F32', shape: [out, r, 1, 1], data: transpose(bd, r, out) });
    } else if (kind === 'linear') {
      tensors.set(`${name}.lora_A.weight`, { dtype: 'F32', shape: [r, fanIn], data: transpose(ad, fanIn, r) });
      tensors.set(`${name}.lora_B.weight`, { dtype: 'F32', shape: [out, r], data: transpose(bd, r, out) });
    } else {
      tensors.set(`${name}.lora_embedding_A`, { dtype: 'F32', shape: [r, fanIn], data: transpose(ad, fanIn, r) });
      tensors.set(`${name}.lora_embedding_B`, { dtype: 'F32', shape: [out, r], data: transpose(bd, r, out) });
    }
    modules.push(module);
  }
  for (const [name, t] of tensors) {
    const bad = t.data.findIndex((v) => !Number.isFinite(Number(v)));
    if (bad >= 0) {
      throw new DiffusersError('non-finite', PEFT_WEIGHTS_FILE, `'${name}' holds a non-finite value at ${bad}`, {
        field: name,
      });
    }
  }
  const config = {
    alpha_pattern: {},
    base_model_name_or_path: null,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layers_pattern: null,
    layers_to_transform: null,
    lora_alpha: student.alpha,
    lora_dropout: 0.0,
    modules_to_save: null,
    peft_type: 'LORA',
    r,
    rank_pattern: {},
    revision: null,
    target_modules: [...modules].sort(),
    task_type: null,
  };
  const metadata = { format: 'pt', rapm_student: JSON.stringify({ ...provenance, student, timesteps: [...grid] }) };
  return [
    { name: PEFT_CONFIG_FILE, bytes: new TextEncoder().encode(`${JSON.stringify(config, null, 2)}\n`) },
    { name: PEFT_WEIGHTS_FILE, bytes: writeSafetensors(tensors, metadata) },
  ];
}
