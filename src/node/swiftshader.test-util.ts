/**
 * tfjs's webgpu backend on Dawn in Node over SwiftShader (real arithmetic on the CPU), for the tests
 * that check WebGPU numerics without a GPU: they need the dev dependency `webgpu` and the SwiftShader
 * Vulkan driver that ships with Debian's chromium, and run only where that driver is installed.
 */
import { existsSync } from 'node:fs';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** Whether the SwiftShader driver is here (describe.runIf). */
export const hasSwiftShader = (): boolean => existsSync(SWIFTSHADER_ICD);

/** Points Dawn at SwiftShader and makes webgpu the tfjs backend (a beforeAll; minutes of timeout). */
export async function useSwiftShaderWebGpu(): Promise<void> {
  process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  const { useBackend } = await import('./backend');
  await useBackend('webgpu');
}
