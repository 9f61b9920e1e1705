/**
 * The studio's other ways in, each in a fresh browser profile on WebGPU (SwiftShader): a teacher
 * file picked before the backend is up.
 */
import { expect, test, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { readModelConfig } from '../src/core/io/bundle';
import { FIXTURES, fixture } from './fixtures-paths';

const teacherName = readModelConfig(readFileSync(fixture(FIXTURES.teacher))).name;
const shardRows = (page: Page) => page.getByTestId('shard-table').locator('tbody tr');

test('a teacher file picked before the backend is up is not replaced by the built-in teacher', async ({ page }) => {
  // Hold the worker script back until the file is picked: the pick then surely comes first.
  let release: () => void = () => undefined;
  const picked = new Promise<void>((resolve) => (release = resolve));
  await page.route('**/studio.worker*.js', async (route) => {
    await picked;
    await route.continue();
  });
  await page.goto('/');
  await page.getByLabel('Load a teacher bundle (.safetensors)').setInputFiles(fixture(FIXTURES.teacher));
  await expect(page.getByTestId('backend')).toHaveText('…');
  release();

  await expect(page.getByTestId('backend')).toHaveText('webgpu');
  await expect(page.getByTestId('teacher-name')).toHaveText(teacherName);
  // The worker answers in order, so once this import is checked every earlier request has run:
  // had the built-in teacher been loaded after the file, the shard would not match it.
  await page.getByLabel('Shard files').setInputFiles(fixture(FIXTURES.goodShards[0]));
  await expect(shardRows(page).or(page.getByTestId('shard-rejections'))).toBeVisible();
  await expect(page.getByTestId('shard-rejections')).toHaveCount(0);
  await expect(shardRows(page)).toHaveCount(1);
  await expect(shardRows(page).first()).toContainText('matches');
  await expect(page.getByTestId('teacher-name')).toHaveText(teacherName);
});
