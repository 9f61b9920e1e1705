/**
 * Saying what is happening, in the real page with the real worker: during warm-up (the first
 * grids, the first iteration's GPU program compilation: minutes on SwiftShader) a phase line with
 * the elapsed time shows, the header says a run is training, and a Stop is acknowledged at once.
 */
import { expect, test } from '@playwright/test';
import { FIXTURES, fixture } from './fixtures-paths';
import { loadTinyTeacher } from './tiny-teacher';

test('warm-up shows its phase and elapsed time; Stop is acknowledged at once', async ({ page }) => {
  await loadTinyTeacher(page);
  await page.getByLabel('Shard files').setInputFiles(fixture(FIXTURES.goodShards[0]));
  await expect(page.getByTestId('shard-table').locator('tbody tr')).toHaveCount(1);
  await page.getByRole('button', { name: 'Start training' }).click();

  const phase = page.getByTestId('training-phase');
  await expect(phase).toContainText(
    /^(Drawing the first grids|Compiling GPU programs \(the first iteration\))… \d+ s$/,
  );
  await expect(page.getByRole('status', { name: 'Worker status' })).toHaveText(/^Training run [0-9a-f]{8}\.$/);
  // The elapsed time counts up while the phase lasts.
  const seconds = async () => Number((await phase.innerText()).match(/(\d+) s$/)?.[1] ?? NaN);
  const before = await seconds();
  await expect.poll(seconds, { timeout: 5000 }).toBeGreaterThan(before);

  await page.getByRole('button', { name: 'Stop' }).click();
  await expect(page.getByRole('button', { name: 'Stopping…' })).toBeDisabled({ timeout: 1000 });
  await expect(page.getByTestId('training-state')).toHaveText('idle');
  await expect(page.getByTestId('run-state')).toContainText('status stopped');
  await expect(phase).toHaveCount(0);
});
