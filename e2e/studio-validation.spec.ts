/**
 * Validation end to end, on the wasm backend (the flow is backend-independent and wasm is fast
 * here): a short run of the tiny teacher holds out trajectories, shows the teacher's lines and
 * validation points as it trains, keeps them across a reload and resume, and exports its best
 * checkpoint, which loads with the project's loaders and is the iteration the page names.
 */
import { expect, test, type Download, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { loadModelBundle, teacherIdentity } from '../src/core/io/bundle';
import { loadLora } from '../src/core/rapm/student';
import { FIXTURES, fixture } from './fixtures-paths';
import { TINY_TEACHER_NAME } from './tiny-teacher';
import { openAdvanced } from './train-form';

const number = async (page: Page, testId: string) => Number(await page.getByTestId(testId).textContent());

async function downloadOf(page: Page, click: () => Promise<void>): Promise<{ download: Download; bytes: Uint8Array }> {
  const [download] = await Promise.all([page.waitForEvent('download'), click()]);
  return { download, bytes: new Uint8Array(readFileSync(await download.path())) };
}

test('validation points appear, survive a reload, and the best checkpoint exports', async ({ browser }) => {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));

  await page.goto('/?backend=wasm');
  await expect(page.getByTestId('backend')).toHaveText('wasm');
  await expect(page.getByTestId('teacher-name').or(page.getByTestId('no-teacher'))).toBeVisible();
  await page.getByLabel('Load a teacher bundle (.safetensors)').setInputFiles(fixture(FIXTURES.teacher));
  await expect(page.getByTestId('teacher-name')).toHaveText(TINY_TEACHER_NAME);
  await page.getByLabel('Shard files').setInputFiles(FIXTURES.goodShards.map(fixture));
  await expect(page.getByTestId('shard-table').locator('tbody tr')).toHaveCount(FIXTURES.goodShards.length);

  // 32 stored trajectories: the default 64 is capped at a quarter, 8.
  await openAdvanced(page);
  await page.getByLabel('LoRA rank').fill('2');
  await page.getByLabel('Iterations', { exact: true }).fill('400');
  await page.getByLabel('Samples every').fill('50');
  await page.getByLabel('Checkpoint every').fill('4');
  await page.getByLabel('Validate every').fill('4');
  await page.getByRole('button', { name: 'Start training' }).click();

  const table = page.getByTestId('validation-table');
  await expect(page.getByRole('region', { name: 'Validation' })).toContainText('8 held-out trajectories');
  // the teacher's lines: its DDIM at the student's 2 steps and its stored 2 x 2-step trajectory
  await expect(table.getByRole('row', { name: /teacher, 2 steps/ })).toBeVisible();
  await expect(table.getByRole('row', { name: /teacher, 4 steps/ })).toContainText('0.0000');
  await expect.poll(() => number(page, 'validation-points')).toBeGreaterThanOrEqual(3);
  await expect.poll(() => number(page, 'checkpoint-iteration')).toBeGreaterThanOrEqual(8);
  await expect(table.getByRole('row', { name: /student, iteration \d+/ })).toBeVisible();
  await expect(page.getByTestId('validation-cost')).toContainText(/the last took [\d.]+ s/);

  await page.reload();
  const resume = page.getByTestId('resume-offer').getByRole('button', { name: /^Resume run .* from iteration \d+$/ });
  const from = Number((await resume.textContent())?.match(/iteration (\d+)$/)?.[1]);
  await resume.click();
  // Points up to the checkpoint come back with the history (0, 4, ..., from), then new ones follow.
  await expect.poll(() => number(page, 'validation-points')).toBeGreaterThanOrEqual(from / 4 + 1);
  await expect(table.getByRole('row', { name: /teacher, 2 steps/ })).toBeVisible();
  await expect.poll(() => number(page, 'validation-points')).toBeGreaterThanOrEqual(from / 4 + 2);
  await page.getByRole('button', { name: 'Stop' }).click();
  await expect(page.getByTestId('training-state')).toHaveText('idle');

  const hint = page.getByTestId('export-checkpoints');
  await expect(hint).toContainText(/Best validation: iteration \d+ \(RMSE [\d.]+\)/);
  const best = Number((await hint.textContent())?.match(/Best validation: iteration (\d+)/)?.[1]);
  const bestButton = page.getByRole('button', { name: `Best student merged (iteration ${best})` });
  const merged = await downloadOf(page, () => bestButton.click());
  expect(merged.download.suggestedFilename()).toMatch(
    new RegExp(`-rapm-best-merged-it${best}-run-\\w+\\.safetensors$`),
  );
  const teacherBytes = new Uint8Array(readFileSync(fixture(FIXTURES.teacher)));
  const teacher = loadModelBundle(teacherBytes);
  const bundle = loadModelBundle(merged.bytes);
  try {
    expect(bundle.config.unet).toEqual(teacher.config.unet);
    expect(JSON.parse(String(bundle.config.provenance?.student)).iterations).toBe(best);
    const lora = await downloadOf(page, () =>
      page.getByRole('button', { name: `Best student LoRA (iteration ${best})` }).click(),
    );
    const student = loadLora(lora.bytes, teacher.config, (await teacherIdentity(teacherBytes)).sha256, teacher.params);
    expect(Object.keys(student.params).sort()).toEqual(Object.keys(teacher.params).sort());
    tf.dispose(Object.values(student.params));
  } finally {
    tf.dispose([...Object.values(teacher.params), ...Object.values(bundle.params)]);
  }
  expect(pageErrors).toEqual([]);
  await context.close();
});
