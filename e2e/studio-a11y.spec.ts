/**
 * The studio for people, in a fresh profile on a laptop-sized screen (no training): every control
 * has an accessible name, the main controls are reached with Tab, the page does not scroll
 * sideways at 1366x768, and it follows the system's light or dark theme.
 */
import { expect, test, type Locator, type Page } from '@playwright/test';
import { FIXTURES, fixture } from './fixtures-paths';
import { loadTinyTeacher } from './tiny-teacher';

test.use({ viewport: { width: 1366, height: 768 } });

/** The tiny teacher and one of its shards: enough for Start training to be offered. */
async function openWithShard(page: Page): Promise<void> {
  await loadTinyTeacher(page);
  await page.getByLabel('Shard files').setInputFiles(fixture(FIXTURES.goodShards[0]));
  await expect(page.getByTestId('shard-table').locator('tbody tr')).toHaveCount(1);
}

test('controls are labelled, reached by keyboard, and fit a laptop screen', async ({ page }) => {
  await openWithShard(page);

  // (a) Every control a person can see has a name: a label, aria-label or its text.
  const controls = page.locator('button, input, select, textarea').filter({ visible: true });
  const count = await controls.count();
  expect(count).toBeGreaterThan(20);
  for (let i = 0; i < count; i++) {
    const control = controls.nth(i);
    const html = await control.evaluate((el) => el.outerHTML.slice(0, 160));
    await expect(control, `no accessible name: ${html}`).toHaveAccessibleName(/\S/, { timeout: 1000 });
  }

  // (b) Tab from the top of the page reaches the main controls.
  const targets: Record<string, Locator> = {
    'shard picker': page.getByRole('button', { name: /^Drop shard files here/ }),
    'Start training': page.getByRole('button', { name: 'Start training' }),
    'Student merged': page.getByRole('button', { name: 'Student merged (.safetensors)' }),
    'Metrics CSV': page.getByRole('button', { name: 'Metrics CSV' }),
    'Sample grid PNG': page.getByRole('button', { name: 'Sample grid PNG' }),
  };
  for (const [name, target] of Object.entries(targets))
    await target.evaluate((el, n) => (el.dataset.tabTarget = n), name);
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  const reached = new Set<string>();
  for (let presses = 0; presses < 150 && reached.size < Object.keys(targets).length; presses++) {
    await page.keyboard.press('Tab');
    const hit = await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.tabTarget);
    if (hit) reached.add(hit);
  }
  expect([...reached].sort()).toEqual(Object.keys(targets).sort());

  // (c) No sideways scrolling on a 1366x768 screen.
  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
  );
  expect(overflow).toBeLessThanOrEqual(0);
  await test.info().attach('a11y-1366.png', { body: await page.screenshot(), contentType: 'image/png' });
});

test('follows the system light or dark theme', async ({ page }) => {
  await page.goto('/');
  const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  await page.emulateMedia({ colorScheme: 'light' });
  const light = await background();
  await page.emulateMedia({ colorScheme: 'dark' });
  const dark = await background();
  expect(dark).not.toBe(light);
  await test.info().attach('dark.png', { body: await page.screenshot(), contentType: 'image/png' });
});
