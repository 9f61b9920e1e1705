import { expect, test, type Page } from '@playwright/test';

/** Distinct grey levels drawn on the output canvas: random weights on a random input give many. */
async function distinctGreys(page: Page): Promise<number> {
  return page.getByRole('img', { name: /UNet output/ }).evaluate((el: HTMLCanvasElement) => {
    const ctx = el.getContext('2d');
    if (!ctx) return 0;
    const { data } = ctx.getImageData(0, 0, el.width, el.height);
    const greys = new Set<number>();
    for (let i = 0; i < data.length; i += 4) greys.add(data[i]);
    return greys.size;
  });
}

/** Every URL the page or its worker asks for that is not the local preview server. */
function watchOffsiteRequests(page: Page, baseURL: string | undefined): string[] {
  const offsite: string[] = [];
  const origin = new URL(baseURL ?? 'http://127.0.0.1').origin;
  page.context().on('request', (req) => {
    const url = req.url();
    if (!url.startsWith(origin) && !url.startsWith('data:') && !url.startsWith('blob:')) offsite.push(url);
  });
  return offsite;
}

test('runs the UNet forward pass on WebGPU and draws it', async ({ page, baseURL }, testInfo) => {
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  const offsite = watchOffsiteRequests(page, baseURL);
  await page.goto('/');

  await expect(page.getByLabel('Backend in use')).toHaveText('webgpu');
  await expect(page.getByLabel('Adapter architecture')).not.toBeEmpty();
  await expect(page.getByRole('img', { name: /UNet output/ })).toHaveAttribute('data-rendered', 'true');
  await expect(page.getByLabel('Forward pass timing')).toContainText(' ms');
  expect(await distinctGreys(page)).toBeGreaterThan(10);

  await page.screenshot({ path: testInfo.outputPath('foundation.png'), fullPage: true });
  expect(pageErrors).toEqual([]);
  expect(offsite).toEqual([]);
});

test('falls back to wasm with its binaries served locally', async ({ page, baseURL }) => {
  const offsite = watchOffsiteRequests(page, baseURL);
  await page.goto('/?backend=wasm');

  await expect(page.getByLabel('Backend in use')).toHaveText('wasm');
  await expect(page.getByRole('img', { name: /UNet output/ })).toHaveAttribute('data-rendered', 'true');
  expect(await distinctGreys(page)).toBeGreaterThan(10);
  expect(offsite).toEqual([]);
});
