/**
 * Exports and previews while a run trains on WebGPU (SwiftShader): the LoRA and merged files
 * download and validate, a student preview draws, and the run keeps running throughout (they are
 * served between two iterations on a snapshot of the weights, never by pausing the run). The
 * student's files and preview use the 2-step grid of the fixtures' shards.
 */
import { expect, test, type Download, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { loadModelBundle, teacherIdentity } from '../src/core/io/bundle';
import { loadLora } from '../src/core/rapm/student';
import { FIXTURES, fixture } from './fixtures-paths';
import { loadTinyTeacher } from './tiny-teacher';
import { openAdvanced } from './train-form';

/** The fixtures' coarse timesteps (N = 2): the student's grid. */
const GRID = [999, 499];

async function downloadOf(page: Page, click: () => Promise<void>): Promise<{ download: Download; bytes: Uint8Array }> {
  const [download] = await Promise.all([page.waitForEvent('download'), click()]);
  return { download, bytes: new Uint8Array(readFileSync(await download.path())) };
}

test('exports LoRA and merged and draws a preview while a run trains, without pausing it', async ({ browser }) => {
  // every request waits for the iteration in flight: tens of seconds each on a shared CPU's SwiftShader
  test.setTimeout(900_000);
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1366, height: 768 } });
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  await loadTinyTeacher(page);
  await page.getByLabel('Shard files').setInputFiles(FIXTURES.goodShards.map(fixture));
  await expect(page.getByTestId('shard-table').locator('tbody tr')).toHaveCount(FIXTURES.goodShards.length);

  await openAdvanced(page);
  await page.getByLabel('LoRA rank').fill('2');
  await page.getByLabel('Iterations', { exact: true }).fill('1000');
  await page.getByLabel('Samples every').fill('0');
  await page.getByRole('button', { name: 'Start training' }).click();
  const state = () => page.getByTestId('training-state').innerText();
  const iteration = async () =>
    Number(await page.getByRole('progressbar', { name: 'Training' }).getAttribute('aria-valuenow'));
  await expect.poll(iteration, { message: 'a first iteration' }).toBeGreaterThanOrEqual(1);
  expect(await state()).toBe('running');

  const teacherBytes = new Uint8Array(readFileSync(fixture(FIXTURES.teacher)));
  const { sha256 } = await teacherIdentity(teacherBytes);
  const teacher = loadModelBundle(teacherBytes);
  try {
    const button = (name: string) => page.getByRole('button', { name });
    const lora = await downloadOf(page, () => button('Student LoRA (.safetensors)').click());
    const student = loadLora(lora.bytes, teacher.config, sha256, teacher.params);
    expect(student.model.studentTimesteps).toEqual(GRID);
    tf.dispose(Object.values(student.params));
    expect(await state()).toBe('running');

    const merged = await downloadOf(page, () => button('Student merged (.safetensors)').click());
    const bundle = loadModelBundle(merged.bytes);
    expect(bundle.config.studentTimesteps).toEqual(GRID);
    expect(bundle.config.unet).toEqual(teacher.config.unet);
    tf.dispose(Object.values(bundle.params));
    expect(await state()).toBe('running');
  } finally {
    tf.dispose(Object.values(teacher.params));
  }
  const afterExports = await iteration();

  await page.getByLabel('Model').selectOption('student');
  await page.getByLabel('Count').fill('2');
  await page.getByRole('button', { name: 'Generate preview' }).click();
  await expect(page.getByTestId('preview-timing')).toContainText(/student, 2 steps: [\d.]+ ms\/image/);
  await expect(page.getByTestId('preview-grid')).toBeVisible();
  // the loop went on meanwhile: it was never paused for the exports or the preview
  expect(await state()).toBe('running');
  await expect.poll(iteration, { message: 'iterations after the exports' }).toBeGreaterThan(afterExports);

  await page.getByRole('button', { name: 'Stop' }).click();
  await expect.poll(state, { message: 'the run to stop' }).toBe('idle');
  expect(pageErrors).toEqual([]);
  await context.close();
});
