/**
 * The size check on the DDPM CIFAR-10 architecture (35,746,307 parameters, from the fixtures'
 * shapes.json, which the real diffusers wrote): a LoRA student fits WebGPU's default binding limit,
 * a fully fine-tuned one's packed optimiser state does not, and each refusal names its limit.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseUnetConfig } from './diffusers/config';
import { checkModelFits, ModelTooLargeError, WASM_HEAP_BYTES } from './model-fit';
import { diffusersUnetNetwork } from './nn/diffusers-unet';
import { networkParamCount } from './nn/network';

const shapes = JSON.parse(
  readFileSync(join(import.meta.dirname, '..', '..', 'e2e', 'fixtures', 'diffusers', 'shapes.json'), 'utf8'),
) as Record<string, { config: unknown; parameters: number }>;
const cifar = shapes['ddpm-cifar10-32'];
const network = diffusersUnetNetwork(parseUnetConfig(JSON.stringify(cifar.config)));
const MiB = 1024 ** 2;
/** WebGPU's default limits (what an adapter offers at least). */
const WEBGPU_DEFAULT = { backend: 'webgpu', maxBufferSize: 256 * MiB, maxStorageBufferBindingSize: 128 * MiB };

function refusal(f: () => unknown): ModelTooLargeError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ModelTooLargeError);
    return e as ModelTooLargeError;
  }
  throw new Error('expected a ModelTooLargeError');
}

describe('checkModelFits', () => {
  it('sizes the 36M model from its shapes alone', () => {
    expect(networkParamCount(network)).toBe(cifar.parameters);
    const f = checkModelFits(network, WEBGPU_DEFAULT, 'lora', 12);
    expect(f.largest.bytes).toBeLessThan(128 * MiB);
    expect(
      checkModelFits(network, { backend: 'wasm', memoryBytes: WASM_HEAP_BYTES }, 'full', 12).totalBytes,
    ).toBeLessThan(WASM_HEAP_BYTES);
  });

  it('refuses a fully fine-tuned student over the binding and buffer limits, naming each', () => {
    const binding = refusal(() =>
      checkModelFits(network, { ...WEBGPU_DEFAULT, maxBufferSize: 1024 * MiB }, 'full', 12),
    );
    expect(binding.limit).toBe('maxStorageBufferBindingSize');
    expect(binding.message).toContain('the optimiser state (weights, 2 moments, EMA) needs 545.4 MiB');
    expect(binding.message).toContain("device's maxStorageBufferBindingSize of 128.0 MiB");
    expect(refusal(() => checkModelFits(network, WEBGPU_DEFAULT, 'full', 12)).limit).toBe('maxBufferSize');
  });

  it('refuses what exceeds memory, and a pass too wide for one buffer', () => {
    const memory = refusal(() => checkModelFits(network, { backend: 'cpu', memoryBytes: 64 * MiB }, 'sample', 1));
    expect(memory.limit).toBe('memory');
    expect(memory.message).toContain('memory limit of 64.0 MiB');
    const wide = refusal(() => checkModelFits(network, WEBGPU_DEFAULT, 'lora', 4096));
    expect(wide.message).toContain('the largest activation of a pass over 4096 image(s)');
  });
});
