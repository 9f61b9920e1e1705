/**
 * The golden fixtures' forward pass and DDIM trajectory on tfjs's webgpu backend through Dawn in
 * Node on SwiftShader (real arithmetic on the CPU; needs the dev dependency `webgpu` and the
 * SwiftShader Vulkan driver that ships with Debian's chromium): the fused kernels (GroupNorm with
 * the config's eps, the conditioning embedding, single-head attention) against diffusers.
 * SwiftShader compiles every shader on first use: 3-6 minutes for the three on the 2-core
 * development machine, so this runs only when asked for:
 *   RAPM_WEBGPU_GOLDEN=1 npx vitest run src/core/diffusers/diffusers-golden-webgpu.test.ts
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { hasSwiftShader, useSwiftShaderWebGpu } from '../../node/swiftshader.test-util';
import { goldenForward, goldenTrajectory, GOLDEN_FIXTURES, loadGolden } from '../../node/diffusers-golden.test-util';
import { WEBGPU_FORWARD_TOLERANCE, WEBGPU_TRAJECTORY_TOLERANCE } from './golden';

// The tolerances and why: core/diffusers/golden.ts. The browser's check (in CI): e2e/diffusers-golden.spec.ts.

describe.runIf(hasSwiftShader() && process.env.RAPM_WEBGPU_GOLDEN === '1')(
  'diffusers fixtures on webgpu (Dawn on SwiftShader)',
  () => {
    beforeAll(async () => {
      await useSwiftShaderWebGpu();
    }, 300_000);

    it.each(GOLDEN_FIXTURES)(
      '%s: forward within 1e-4 and DDIM trajectory within 1e-3 of diffusers',
      async (name) => {
        expect(tf.getBackend()).toBe('webgpu');
        const model = await loadGolden(name);
        const forward = await goldenForward(name, model);
        const { errors } = await goldenTrajectory(name, model);
        console.log(
          `${name} (webgpu): forward ${forward.output.toExponential(2)}, DDIM per point ${errors.map((e) => e.toExponential(1)).join(' ')}`,
        );
        tf.dispose(Object.values(model.params));
        expect(forward.leaked).toBe(0);
        expect(forward.output).toBeLessThan(WEBGPU_FORWARD_TOLERANCE);
        for (const e of errors) expect(e).toBeLessThan(WEBGPU_TRAJECTORY_TOLERANCE);
      },
      900_000,
    );
  },
);
