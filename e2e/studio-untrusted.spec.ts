/**
 * Files from strangers, fed to the page as a user would pick them: a tiny shard and a tiny teacher
 * whose headers claim sizes that would exhaust memory, and shards that name the loaded teacher but
 * contradict its config. Each gets a typed refusal naming the field; nothing stored changes.
 */
import { expect, test, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { parseSafetensorsHeader } from '../src/core/io/safetensors';
import { FIXTURES, fixture } from './fixtures-paths';
import { loadTinyTeacher, TINY_TEACHER_NAME } from './tiny-teacher';

/** `bytes` with __metadata__[key] rewritten by `edit` (tensors kept byte for byte); `data` may edit the tensor bytes. */
function rewritten(
  bytes: Uint8Array,
  key: string,
  edit: (value: Record<string, unknown>) => void,
  data?: (view: DataView, offsets: Map<string, number>) => void,
): Buffer {
  const h = parseSafetensorsHeader(bytes);
  const value = JSON.parse(h.metadata[key]) as Record<string, unknown>;
  edit(value);
  const json: Record<string, unknown> = { __metadata__: { ...h.metadata, [key]: JSON.stringify(value) } };
  const offsets = new Map<string, number>();
  for (const [name, t] of h.tensors) {
    json[name] = { dtype: t.dtype, shape: t.shape, data_offsets: t.dataOffsets };
    offsets.set(name, t.dataOffsets[0]);
  }
  const text = new TextEncoder().encode(JSON.stringify(json));
  const padded = Math.ceil(text.byteLength / 8) * 8;
  const out = new Uint8Array(8 + padded + h.dataLength).fill(0x20, 8, 8 + padded);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(text, 8);
  out.set(bytes.subarray(h.dataStart), 8 + padded);
  data?.(new DataView(out.buffer, 8 + padded), offsets);
  return Buffer.from(out);
}

const shardRows = (page: Page) => page.getByTestId('shard-table').locator('tbody tr');
const file = (name: string, buffer: Buffer) => ({ name, mimeType: 'application/octet-stream', buffer });
const goodShard = () => readFileSync(fixture(FIXTURES.goodShards[0]));

test('headers that claim huge sizes are refused by name; the teacher and stored shards stay', async ({ page }) => {
  await loadTinyTeacher(page);
  await page.getByLabel('Shard files').setInputFiles(fixture(FIXTURES.goodShards[0]));
  await expect(shardRows(page)).toHaveCount(1);

  // 11 KB whose metadata says 100,000,000 classes (labels in range): counting labels per class would need GBs.
  const manyClasses = rewritten(goodShard(), 'shard', (s) => (s.numClasses = 100_000_000));
  await page.getByLabel('Shard files').setInputFiles(file('many-classes.safetensors', manyClasses));
  const rejection = page.getByTestId('shard-rejections').locator('li');
  await expect(rejection).toHaveCount(1);
  await expect(rejection).toHaveAttribute('data-code', 'bad-metadata');
  await expect(rejection).toContainText('shard.numClasses must be an integer in 0..1000');
  await expect(rejection).toContainText('got 100000000');
  await expect(shardRows(page)).toHaveCount(1);

  // The tiny teacher with 3,000,000 res blocks per level: building its parameter list would exhaust the heap.
  const deep = rewritten(readFileSync(fixture(FIXTURES.teacher)), 'config', (c) => {
    (c.unet as Record<string, unknown>).resBlocksPerLevel = 3_000_000;
  });
  await page.getByLabel('Load a teacher bundle (.safetensors)').setInputFiles(file('deep.safetensors', deep));
  await expect(page.getByTestId('teacher-error')).toContainText('config.unet.resBlocksPerLevel');
  await expect(page.getByTestId('teacher-error')).toContainText('got 3000000');
  await expect(page.getByTestId('teacher-name')).toHaveText(TINY_TEACHER_NAME);

  await page.reload();
  await expect(page.getByTestId('backend')).toHaveText('webgpu');
  await expect(shardRows(page)).toHaveCount(1);
  await expect(shardRows(page).first()).toContainText(FIXTURES.goodShards[0]);
});

test('shards that name the teacher but contradict its config are refused; nothing is stored', async ({ page }) => {
  await loadTinyTeacher(page);
  const vPrediction = rewritten(goodShard(), 'shard', (s) => (s.prediction = 'v_prediction'));
  // 11 classes with a trajectory of class 10: the teacher's null class.
  const elevenClasses = rewritten(
    goodShard(),
    'shard',
    (s) => (s.numClasses = 11),
    (view, offsets) => view.setInt32(offsets.get('labels')!, 10, true),
  );
  await page
    .getByLabel('Shard files')
    .setInputFiles([file('v-prediction.safetensors', vPrediction), file('eleven.safetensors', elevenClasses)]);
  const rejection = page.getByTestId('shard-rejections').locator('li');
  await expect(rejection).toHaveCount(2);
  await expect(rejection.nth(0)).toHaveAttribute('data-code', 'teacher-contradiction');
  await expect(rejection.nth(0)).toContainText(
    'shard.prediction is "v_prediction" but the loaded teacher has "epsilon"',
  );
  await expect(rejection.nth(1)).toHaveAttribute('data-code', 'teacher-contradiction');
  await expect(rejection.nth(1)).toContainText('shard.numClasses is 11 but the loaded teacher has 10');
  await expect(page.getByTestId('no-shards')).toBeVisible();
});
