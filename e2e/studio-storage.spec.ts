/**
 * What a run stores, checked in the studio's real IndexedDB (read raw from the page, stored-run.ts),
 * on the wasm backend with the tiny teacher:
 *
 * - the generation fence: once the stored run has a newer generation (what another tab's resume
 *   writes), the tab still training it has its next checkpoint refused: it stops, says so, and
 *   the newer owner's run and checkpoint stay as they were;
 * - a long run's metric history is compacted in place (src/worker/metrics-compaction.ts): past
 *   the policy's chunk limit the chunks merge, and nothing of the history is lost while it is
 *   within the full-resolution window.
 */
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { FIXTURES, fixture } from './fixtures-paths';
import { storedRunState, takeRunOver } from './stored-run';
import { TINY_TEACHER_NAME } from './tiny-teacher';
import { openAdvanced } from './train-form';

/** metrics-compaction.ts METRICS_COMPACTION.maxChunks */
const MAX_CHUNKS = 32;

const number = async (page: Page, testId: string) => Number(await page.getByTestId(testId).textContent());
const runName = async (page: Page) => (await page.getByTestId('run-name').innerText()).trim();

async function openWithTinyTeacher(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  await page.goto('/?backend=wasm');
  await expect(page.getByTestId('backend')).toHaveText('wasm');
  await page.getByLabel('Load a teacher bundle (.safetensors)').setInputFiles(fixture(FIXTURES.teacher));
  await expect(page.getByTestId('teacher-name')).toHaveText(TINY_TEACHER_NAME);
  await page.getByLabel('Shard files').setInputFiles(FIXTURES.goodShards.map(fixture));
  await expect(page.getByTestId('shard-table').locator('tbody tr')).toHaveCount(FIXTURES.goodShards.length);
  return page;
}

async function startRun(page: Page, checkpointEvery: number, checkpointSeconds: number): Promise<string> {
  await openAdvanced(page);
  await page.getByLabel('LoRA rank').fill('2');
  await page.getByLabel('Iterations', { exact: true }).fill('100000');
  await page.getByLabel('Samples every').fill('100000');
  await page.getByLabel('Checkpoint every').fill(String(checkpointEvery));
  await page.getByLabel('Seconds between checkpoints').fill(String(checkpointSeconds));
  await page.getByLabel('Validation trajectories').fill('0');
  await page.getByRole('button', { name: 'Start training' }).click();
  await expect(page.getByTestId('training-state')).toHaveText('running');
  return runName(page);
}

test('a checkpoint from a tab that no longer owns the run is refused and the newer state stays', async ({
  browser,
}) => {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await openWithTinyTeacher(context);
  const run = await startRun(page, 100000, 2);
  await expect.poll(() => number(page, 'checkpoint-iteration')).toBeGreaterThan(0);
  const before = await storedRunState(page, run);
  expect(before.generation).toBe(1);

  // Another owner takes the run's next generation while this tab trains on.
  const taken = await takeRunOver(page, run);
  expect(taken.generation).toBe(2);
  const fault = page.getByTestId('fault-banner').locator('[data-kind="another-tab"]');
  await expect(fault).toContainText(`Run ${run} was resumed in another tab, which now owns it`);
  await expect(page.getByTestId('training-state')).toHaveText('idle');
  const reached = await number(page, 'metric-rows');
  expect(reached, 'the stale tab trained past the taken checkpoint').toBeGreaterThan(taken.checkpoint);

  // Nothing of the stale tab's later work is stored: the newer owner's run and checkpoint stand.
  const after = await storedRunState(page, run);
  expect(after.generation).toBe(2);
  expect(after.checkpoint).toBe(taken.checkpoint);
  expect(after.checkpointIteration).toBe(taken.checkpoint);
  expect(after.iterations[after.iterations.length - 1]).toBe(taken.checkpoint);
  await page.waitForTimeout(3000);
  expect(await storedRunState(page, run), 'and nothing is written later either').toEqual(after);
  await context.close();
});

test("a long run's stored metrics are compacted, and nothing within the full-resolution window is lost", async ({
  browser,
}) => {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await openWithTinyTeacher(context);
  // A checkpoint every 2 iterations: a chunk each, so the chunk limit comes within seconds.
  const run = await startRun(page, 2, 1);
  let most = 0;
  await expect
    .poll(
      async () => {
        const s = await storedRunState(page, run);
        most = Math.max(most, s.chunks);
        return s.checkpointIteration;
      },
      { timeout: 240_000, intervals: [250] },
    )
    .toBeGreaterThan(3 * MAX_CHUNKS * 2);
  const rate = Number(
    (await page.getByRole('progressbar', { name: 'Training' }).getAttribute('aria-valuetext'))?.match(
      /([\d.]+) it\/s/,
    )?.[1],
  );
  test.info().annotations.push({ type: 'rate', description: `${rate} it/s` });
  console.log(`tiny run: ${rate} it/s`);
  // A reload interrupts the run: what is stored is what the page shows before resuming.
  await page.reload();
  await expect(page.getByTestId('resume-offer')).toBeVisible();
  const s = await storedRunState(page, run);
  expect(most, 'chunks merge once past the limit').toBeLessThanOrEqual(MAX_CHUNKS + 1);
  expect(s.chunks).toBeLessThanOrEqual(MAX_CHUNKS);
  // Within the full-resolution window: every iteration from the first to the checkpoint, once.
  expect(s.iterations).toEqual(Array.from({ length: s.checkpointIteration }, (_, i) => i + 1));
  await expect.poll(() => number(page, 'metric-rows')).toBe(s.checkpointIteration);
  await context.close();
});
