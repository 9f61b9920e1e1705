/**
 * The backend is picked by measured speed, in the real page and worker, served cross-origin
 * isolated as `vite preview` serves it (vite.config.ts). Here WebGPU and WebGL exist only on
 * SwiftShader, a software adapter, so the page must pick wasm, say why, list every candidate,
 * run the threaded wasm build, and let the user pin another backend.
 */
import { expect, test } from '@playwright/test';

test('picks wasm over a software GPU adapter, lists every candidate and says why', async ({ page }) => {
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  // Every choice the page shows, and whether the teacher was already loaded when each appeared.
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { choicesSeen: string[] }).choicesSeen = seen;
    new MutationObserver(() => {
      const choice = document.querySelector('[data-testid="backend"]')?.getAttribute('data-choice');
      const teacher = document.querySelector('[data-testid="teacher-name"]') !== null;
      const entry = `${choice}${teacher ? ' (teacher loaded)' : ''}`;
      if (choice && !seen.some((s) => s.startsWith(choice))) seen.push(entry);
    }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-choice'] });
  });
  await page.goto('/');

  await expect(page.getByTestId('backend')).toHaveText('wasm');
  await expect(page.getByTestId('subtitle-backend')).toContainText('on WebAssembly');
  await expect(page.getByTestId('subtitle-backend')).not.toContainText('WebGPU');
  const candidates = page.getByTestId('backend-candidates').locator('li');
  await expect(candidates).toHaveCount(3);
  const wasm = candidates.and(page.locator('[data-backend="wasm"]'));
  await expect(wasm).toHaveAttribute('data-chosen', 'true');
  await expect(wasm).toContainText(/\d+ ms per step/);
  const webgpu = candidates.and(page.locator('[data-backend="webgpu"]'));
  await expect(webgpu).toContainText(/swiftshader/i);
  await expect(webgpu).toContainText('software adapter');
  await expect(webgpu).toContainText('not used');
  await expect(page.getByTestId('backend-why')).toContainText(
    /wasm is the fastest measured: \d+ ms per UNet forward\+backward at batch 1/,
  );
  // The page is cross-origin isolated, so tfjs-wasm runs its threaded build on every core.
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
  const cores = await page.evaluate(() => Math.min(navigator.hardwareConcurrency, 8));
  await expect(page.getByTestId('wasm-threads')).toHaveText(cores > 1 ? `${cores} threads` : '1 thread');
  await expect(page.getByTestId('teacher-name').or(page.getByTestId('no-teacher'))).toBeVisible();
  // A first visit does not wait for the timing: the page starts on wasm, loads the teacher, and
  // only then times every backend and takes the fastest.
  await expect(page.getByTestId('backend')).toHaveAttribute('data-choice', 'calibrated');
  expect(await page.evaluate(() => (window as unknown as { choicesSeen: string[] }).choicesSeen)).toEqual([
    'provisional',
    'calibrated (teacher loaded)',
  ]);

  // A reload uses the stored calibration instead of measuring again, and says when it was measured.
  await page.reload();
  await expect(page.getByTestId('backend')).toHaveText('wasm');
  await expect(page.getByTestId('backend-why')).toContainText('stored for this browser');
  expect(pageErrors).toEqual([]);
});

test('the control pins another backend, and back to the automatic choice', async ({ page }) => {
  await page.goto('/?backend=wasm');
  await expect(page.getByTestId('backend')).toHaveText('wasm');
  await expect(page.getByTestId('backend-why')).toContainText('?backend=wasm');

  await page.getByLabel('Backend to use').selectOption('webgpu');
  await expect(page).toHaveURL(/\?backend=webgpu/);
  await expect(page.getByTestId('backend')).toHaveText('webgpu');
  await expect(page.getByTestId('subtitle-backend')).toContainText('on WebGPU (software adapter)');
  await expect(page.getByTestId('adapter')).toContainText(/swiftshader/i);

  await page.getByLabel('Backend to use').selectOption('auto');
  await expect(page).not.toHaveURL(/backend=/);
  await expect(page.getByTestId('backend')).toHaveText('wasm');
});

test('?threads=1 runs the single-thread wasm build in the isolated page, and says so', async ({ page }) => {
  await page.goto('/?backend=wasm&threads=1');
  await expect(page.getByTestId('backend')).toHaveText('wasm');
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
  await expect(page.getByTestId('wasm-threads')).toHaveText('1 thread: the single-thread build, as ?threads=1 asks');
});
