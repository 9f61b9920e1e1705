import { expect, test, type Page } from '@playwright/test';
import { FIXTURES, fixture } from './fixtures-paths';

/** Distinct grey levels drawn on the preview canvas: more than one means something was drawn. */
async function distinctGreys(page: Page): Promise<number> {
  return page.getByTestId('preview-grid').evaluate((el: HTMLCanvasElement) => {
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

test('starts the worker on WebGPU without errors or off-site requests', async ({ page, baseURL }) => {
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  const offsite = watchOffsiteRequests(page, baseURL);
  await page.goto('/?backend=webgpu');

  await expect(page.getByTestId('backend')).toHaveText('webgpu');
  await expect(page.getByTestId('adapter')).not.toBeEmpty();
  // Start-up is done once the teacher section settled: the built-in teacher or the "none shipped" state.
  await expect(page.getByTestId('teacher-name').or(page.getByTestId('no-teacher'))).toBeVisible();
  expect(pageErrors).toEqual([]);
  expect(offsite).toEqual([]);
});

test('falls back to wasm with its binaries served locally and samples the teacher there', async ({ page, baseURL }) => {
  const offsite = watchOffsiteRequests(page, baseURL);
  await page.goto('/?backend=wasm');

  await expect(page.getByTestId('backend')).toHaveText('wasm');
  await page.getByLabel('Load a teacher bundle (.safetensors)').setInputFiles(fixture(FIXTURES.teacher));
  await expect(page.getByTestId('teacher-name')).not.toBeEmpty();
  await page.getByLabel('Model').selectOption('teacher');
  await page.getByLabel('Teacher steps').fill('2');
  await page.getByLabel('Count').fill('2');
  await page.getByRole('button', { name: 'Generate preview' }).click();
  await expect(page.getByTestId('preview-timing')).toContainText(/teacher, 2 steps: [\d.]+ ms\/image/);
  // The tiny fixture teacher is random weights: its samples saturate, so only "not blank" is checked.
  expect(await distinctGreys(page)).toBeGreaterThan(1);
  expect(offsite).toEqual([]);
});
