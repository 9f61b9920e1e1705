/**
 * The fused WebGPU kernels against tfjs's composed ops on the same device (Chromium's WebGPU,
 * SwiftShader here), through the diagnostics page kernels.html: GroupNorm (+ SiLU, + shift),
 * self-attention, the conditioning MLP, forward and gradients, the whole tiny UNet's output and
 * parameter gradients, Adam with the EMA, and one whole RAPM iteration agree within 1e-4 relative;
 * three RAPM iterations with the replayed step (captured, then replayed) equal the composed ones.
 */
import { expect, test } from '@playwright/test';

test.beforeEach(async ({ page }) => {
  page.on('pageerror', (err) => console.log(`page error: ${err.message}`));
  await page.goto('/kernels.html');
  await expect(page.locator('#status')).toHaveText('ready: webgpu');
});

test('fused kernels match the composed ops within 1e-4 relative', async ({ page }) => {
  // the fused path is really there: otherwise both runs would be the composed ops
  const registered = await page.evaluate(() => window.rapmKernels.fusedKernels());
  for (const k of ['RapmGroupNorm', 'RapmAttention', 'RapmEmbedding', 'RapmRowSum', 'RapmAdamEma']) {
    expect(registered).toContain(k);
  }
  const checks = await page.evaluate(() => window.rapmKernels.equivalence());
  expect(checks.length).toBeGreaterThan(20);
  const worst = checks.reduce((a, b) => (b.relError > a.relError ? b : a));
  console.log(`${checks.length} checks, largest relative error ${worst.relError.toExponential(2)} (${worst.name})`);
  for (const c of checks) expect.soft(c.relError, c.name).toBeLessThan(1e-4);
});

test('the replayed RAPM step engages in the browser and equals the composed one', async ({ page }) => {
  const { checks, dispatches, failure } = await page.evaluate(() => window.rapmKernels.replay());
  expect(failure).toBeNull();
  expect(dispatches).toBeGreaterThan(100);
  for (const c of checks) {
    console.log(`${c.name}: relative error ${c.relError.toExponential(2)}`);
    expect.soft(c.relError, c.name).toBeLessThan(1e-6);
  }
});

test('RAPM iterations on the fused path keep the tensor count flat', async ({ page }) => {
  const counts = await page.evaluate(() => window.rapmKernels.tensorCounts(3));
  // the first iteration creates the Adam state; every later one ends where it started
  expect(counts[2]).toBe(counts[1]);
});
