/**
 * The diffusers import against the real diffusers, on wasm: each fixture folder loads, its forward
 * pass equals diffusers' output, and a DDIM trajectory from the same noise equals
 * DDIMScheduler's (src/node/diffusers-golden.test-util.ts; the webgpu run is diffusers-golden-webgpu.test.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { networkParamCount } from '../nn/network';
import { goldenForward, goldenTrajectory, GOLDEN_FIXTURES, loadGolden } from '../../node/diffusers-golden.test-util';
import { WASM_FORWARD_TOLERANCE, WASM_TRAJECTORY_TOLERANCE } from './golden';

// The tolerances and why: core/diffusers/golden.ts. The browser's check: e2e/diffusers-golden.spec.ts.

describe.each(GOLDEN_FIXTURES)('diffusers fixture %s on wasm', (name) => {
  it('loads, and its forward pass equals diffusers within 1e-5', async () => {
    const model = await loadGolden(name);
    const { output, time, leaked } = await goldenForward(name, model);
    const count = networkParamCount(model.network);
    console.log(
      `${name}: ${count} parameters, forward ${output.toExponential(2)} (time_proj ${time.toExponential(2)})`,
    );
    tf.dispose(Object.values(model.params));
    expect(leaked).toBe(0);
    expect(time).toBeLessThan(WASM_FORWARD_TOLERANCE);
    expect(output).toBeLessThan(WASM_FORWARD_TOLERANCE);
  });

  it("samples DDIM on diffusers' grid and follows DDIMScheduler's trajectory within 1e-4", async () => {
    const model = await loadGolden(name);
    const { grid, expectedGrid, errors } = await goldenTrajectory(name, model);
    console.log(`${name}: DDIM [${grid}], per point ${errors.map((e) => e.toExponential(1)).join(' ')}`);
    tf.dispose(Object.values(model.params));
    expect(grid).toEqual(expectedGrid);
    for (const e of errors) expect(e).toBeLessThan(WASM_TRAJECTORY_TOLERANCE);
  });
});
