/**
 * The fused WebGPU kernels against tfjs's composed ops on the same device (Chromium's WebGPU,
 * SwiftShader here), through the diagnostics page kernels.html: GroupNorm (+ SiLU) forward and
 * gradients, Adam with the EMA, and one whole RAPM iteration agree within 1e-4 relative.
 */
import { expect, test } from '@playwright/test';

test.beforeEach(async ({ page }) => {
  page.on('pageerror', (err) => console.log(`page error: ${err.message}`));
  await page.goto('/kernels.html');
  await expect(page.locator('#status')).toHaveText('ready: webgpu');
});

test('fused kernels match the composed ops within 1e-4 relative', async ({ page }) => {
  const checks = await page.evaluate(() => window.rapmKernels.equivalence());
  expect(checks.length).toBeGreaterThan(20);
  for (const c of checks) expect.soft(c.relError, c.name).toBeLessThan(1e-4);
});

test('RAPM iterations on the fused path keep the tensor count flat', async ({ page }) => {
  const counts = await page.evaluate(() => window.rapmKernels.tensorCounts(3));
  // the first iteration creates the Adam state; every later one ends where it started
  expect(counts[2]).toBe(counts[1]);
});
