/**
 * The studio's other ways in, each in a fresh browser profile on WebGPU (SwiftShader): a teacher
 * file picked before the backend is up, shards dropped on the drop zone, and shards generated
 * in the browser from the loaded teacher.
 */
import { expect, test, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { shardTeacher } from '../src/core/io/bundle';
import { validateShard } from '../src/core/io/shards';
import { FIXTURES, fixture } from './fixtures-paths';
import { loadTinyTeacher, TINY_TEACHER_NAME } from './tiny-teacher';

const shardRows = (page: Page) => page.getByTestId('shard-table').locator('tbody tr');

test('a teacher file picked before the backend is up is not replaced by the built-in teacher', async ({ page }) => {
  // Hold the worker script back until the file is picked: the pick then surely comes first.
  let release: () => void = () => undefined;
  const picked = new Promise<void>((resolve) => (release = resolve));
  await page.route('**/studio.worker*.js', async (route) => {
    await picked;
    await route.continue();
  });
  await page.goto('/?backend=webgpu');
  await page.getByLabel('Load a teacher bundle (.safetensors)').setInputFiles(fixture(FIXTURES.teacher));
  await expect(page.getByTestId('backend')).toHaveText('…');
  release();

  await expect(page.getByTestId('backend')).toHaveText('webgpu');
  await expect(page.getByTestId('teacher-name')).toHaveText(TINY_TEACHER_NAME);
  // The worker answers in order, so once this import is checked every earlier request has run:
  // had the built-in teacher been loaded after the file, the shard would not match it.
  await page.getByLabel('Shard files').setInputFiles(fixture(FIXTURES.goodShards[0]));
  await expect(shardRows(page).or(page.getByTestId('shard-rejections'))).toBeVisible();
  await expect(page.getByTestId('shard-rejections')).toHaveCount(0);
  await expect(shardRows(page)).toHaveCount(1);
  await expect(shardRows(page).first()).toContainText('matches');
  await expect(page.getByTestId('teacher-name')).toHaveText(TINY_TEACHER_NAME);
});

test('shards dropped on the drop zone are checked and stored; a damaged one is refused', async ({ page }) => {
  await loadTinyTeacher(page);
  const files = [...FIXTURES.goodShards, FIXTURES.truncatedShard].map((name) => ({
    name,
    base64: readFileSync(fixture(name)).toString('base64'),
  }));
  // A real DataTransfer holding File objects, as the browser builds for a drag from the desktop.
  const dataTransfer = await page.evaluateHandle((list) => {
    const transfer = new DataTransfer();
    for (const { name, base64 } of list) {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      transfer.items.add(new File([bytes], name, { type: 'application/octet-stream' }));
    }
    return transfer;
  }, files);
  const zone = page.getByRole('button', { name: /^Drop shard files here/ });
  await zone.dispatchEvent('dragover', { dataTransfer });
  await expect(zone).toHaveClass(/dragging/);
  await zone.dispatchEvent('drop', { dataTransfer });

  await expect(shardRows(page)).toHaveCount(FIXTURES.goodShards.length);
  for (const [i, name] of FIXTURES.goodShards.entries()) {
    await expect(shardRows(page).nth(i)).toContainText(name);
    await expect(shardRows(page).nth(i)).toContainText('matches');
  }
  const rejection = page.getByTestId('shard-rejections').locator('li');
  await expect(rejection).toHaveCount(1);
  await expect(rejection).toContainText(FIXTURES.truncatedShard);
  await expect(zone).not.toHaveClass(/dragging/);
  await test
    .info()
    .attach('dropped.png', { body: await page.screenshot({ fullPage: true }), contentType: 'image/png' });
});

test('Generate shards runs the teacher in the browser and stores a shard that validates', async ({ page }) => {
  await loadTinyTeacher(page);
  const panel = page.getByRole('region', { name: 'Generate shards' });
  await panel.getByLabel('Trajectories').fill('2');
  await panel.getByLabel('Per shard').fill('2');
  // The grid choice fills N and M (32 teacher steps); other values read as "Other".
  const grid = panel.getByLabel('Student steps');
  await expect(grid).toHaveValue('4');
  await grid.selectOption('1');
  await expect(panel.getByLabel('Coarse steps N')).toHaveValue('1');
  await expect(panel.getByLabel('Fine steps M')).toHaveValue('32');
  await grid.selectOption('2');
  await expect(panel.getByLabel('Fine steps M')).toHaveValue('16');
  await panel.getByLabel('Coarse steps N').fill('2');
  await panel.getByLabel('Fine steps M').fill('2');
  await expect(grid).toHaveValue('custom');
  await panel.getByRole('button', { name: 'Generate shards' }).click();

  const generated = panel.getByRole('list', { name: 'Generated shards' }).getByRole('listitem');
  const error = panel.getByRole('alert');
  await expect(generated.or(error)).toBeVisible();
  await expect(error).toHaveCount(0);
  await expect(generated).toHaveCount(1);
  await expect(generated).toContainText('2 trajectories');
  await expect(shardRows(page)).toHaveCount(1);
  await expect(shardRows(page).first()).toContainText('matches');
  await test.info().attach('generated.png', {
    body: await page.screenshot({ fullPage: true }),
    contentType: 'image/png',
  });

  const [download] = await Promise.all([page.waitForEvent('download'), generated.getByRole('button').click()]);
  const bytes = new Uint8Array(readFileSync(await download.path()));
  const summary = validateShard(bytes, await shardTeacher(readFileSync(fixture(FIXTURES.teacher))));
  expect(summary.count).toBe(2);
  expect(summary.slots).toBe(2);
});
