/**
 * The Train panel's presets, in the real page: choosing one fills the fields under the Advanced
 * fold, editing a field turns the choice into "custom", and the fold remembers that it is open.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { openAdvanced } from './train-form';

test('presets fill the fields; an edit shows custom; the Advanced fold stays open across a reload', async ({
  page,
}) => {
  await page.goto('/');
  const presets = page.getByRole('group', { name: 'Preset' });
  const state = page.getByTestId('preset-state');
  const train = page.getByRole('region', { name: 'Train' });
  // A fresh page starts from the short preset.
  await expect(presets.getByRole('radio', { name: 'Quick look' })).toBeChecked();
  await expect(page.getByLabel('LoRA rank')).toBeHidden();
  await openAdvanced(page);

  await presets.getByRole('radio', { name: 'Paper' }).check();
  await expect(state).toHaveText('Settings: Paper.');
  await expect(page.getByLabel('Student', { exact: true })).toHaveValue('lora');
  await expect(page.getByLabel('LoRA rank')).toHaveValue('1');
  await expect(page.getByLabel('Batch size')).toHaveValue('1');
  await expect(page.getByLabel('λ rel (adversarial)')).toHaveValue('1');
  await expect(page.getByLabel('Iterations', { exact: true })).toHaveValue('2000');

  await presets.getByRole('radio', { name: 'Best measured for 4 steps' }).check();
  await expect(page.getByLabel('Student', { exact: true })).toHaveValue('full');
  await expect(page.getByLabel('λ rel (adversarial)')).toHaveValue('0.1');
  await expect(page.getByLabel('λ abs (adversarial)')).toHaveValue('0.1');
  await expect(page.getByLabel('μ rel (regression)')).toHaveValue('1');
  await expect(page.getByLabel('Student learning rate')).toHaveValue('0.00005');
  await expect(page.getByLabel('Iterations', { exact: true })).toHaveValue('200');

  await presets.getByRole('radio', { name: 'Best measured for 1 step' }).check();
  await expect(page.getByLabel('Student predicts')).toHaveValue('v_prediction');
  await expect(page.getByLabel('Student learning rate')).toHaveValue('0.0005');
  await expect(page.getByLabel('Iterations', { exact: true })).toHaveValue('3000');
  await expect(page.getByLabel('λ abs (adversarial)')).toHaveValue('0.1');
  await presets.getByRole('radio', { name: 'Best measured for 4 steps' }).check();
  await expect(page.getByLabel('Student predicts')).toHaveValue('teacher');

  await train.getByLabel('Seed').fill('7');
  await expect(state).toHaveText(/custom/);
  for (const radio of await presets.getByRole('radio').all()) await expect(radio).not.toBeChecked();
  await train.getByLabel('Seed').fill('0');
  await expect(presets.getByRole('radio', { name: 'Best measured for 4 steps' })).toBeChecked();

  await page.reload();
  await expect(page.getByLabel('LoRA rank')).toBeVisible();
});

test("the stored shards' N names its measured preset, one click away", async ({ page }) => {
  test.skip(!existsSync(join('public', 'shards-1step', 'manifest.json')), 'no built-in 1-step shards in public/');
  await page.goto('/');
  await expect(page.getByTestId('teacher-name')).not.toBeEmpty();
  const presets = page.getByRole('group', { name: 'Preset' });
  const fit = page.getByTestId('preset-fit');
  const rows = page.getByTestId('shard-table').locator('tbody tr');
  await page.getByLabel('Built-in set').selectOption('1');
  await page.getByRole('button', { name: 'Use built-in shards' }).click();
  await expect(rows.filter({ hasText: 'shards-1step-shard-' })).toHaveCount(16);
  await expect(fit).toContainText('1-step student');
  await expect(fit).toContainText('Best measured for 1 step');
  await fit.getByRole('button', { name: 'Use it' }).click();
  await expect(presets.getByRole('radio', { name: 'Best measured for 1 step' })).toBeChecked();
  await openAdvanced(page);
  await expect(page.getByLabel('Student predicts')).toHaveValue('v_prediction');
  await expect(fit).toHaveCount(0);
  // shards of two step counts: no one preset fits them
  await page.getByLabel('Built-in set').selectOption('2');
  await page.getByRole('button', { name: 'Use built-in shards' }).click();
  await expect(rows.filter({ hasText: 'shards-2step-shard-' })).toHaveCount(16);
  await presets.getByRole('radio', { name: 'Quick look' }).check();
  await expect(fit).toHaveCount(0);
});
