import { expect, test } from '@playwright/test';

test('runs the UNet forward pass on WebGPU and draws it', async ({ page }, testInfo) => {
  const workerErrors: string[] = [];
  page.on('pageerror', (err) => workerErrors.push(err.message));
  await page.goto('/');

  await expect(page.getByLabel('Backend in use')).toHaveText('webgpu');
  await expect(page.getByLabel('Adapter architecture')).not.toBeEmpty();

  const canvas = page.getByRole('img', { name: /UNet output/ });
  await expect(canvas).toHaveAttribute('data-rendered', 'true');
  await expect(page.getByLabel('Forward pass timing')).toContainText(' ms');

  // Random weights on a random input give varied grey levels: a blank canvas means nothing was drawn.
  const distinctGreys = await canvas.evaluate((el: HTMLCanvasElement) => {
    const ctx = el.getContext('2d');
    if (!ctx) return 0;
    const { data } = ctx.getImageData(0, 0, el.width, el.height);
    const greys = new Set<number>();
    for (let i = 0; i < data.length; i += 4) greys.add(data[i]);
    return greys.size;
  });
  expect(distinctGreys).toBeGreaterThan(10);

  await page.screenshot({ path: testInfo.outputPath('foundation.png'), fullPage: true });
  expect(workerErrors).toEqual([]);
});
