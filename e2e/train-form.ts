import type { Page } from '@playwright/test';

/** Opens the Train panel's "Advanced settings" fold (it remembers being open, so it may be open already). */
export async function openAdvanced(page: Page): Promise<void> {
  const fold = page.locator('details').filter({ has: page.locator('summary', { hasText: 'Advanced settings' }) });
  if (!(await fold.evaluate((el) => (el as HTMLDetailsElement).open))) await fold.locator('summary').click();
}
