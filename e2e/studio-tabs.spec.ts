/**
 * One run, one owner, on the wasm backend (the ownership flow is backend-independent and wasm is
 * fast here), with the tiny teacher and short runs:
 *
 * - two pages of one browser context: shards stored in one appear in the other without a reload;
 *   a run training in the first shows in the second as "training in another tab" with its live
 *   progress and cannot be resumed there; the second trains its own run as a separate run; once
 *   the first page crashes (CDP Page.crash, as a renderer crash does) the second resumes the run
 *   from its last checkpoint;
 * - a reload mid-run loses at most about the seconds between checkpoints; the stored curves and a
 *   primary Resume are there before resuming; a run that failed (an error thrown inside the
 *   worker's training loop, injected from outside) is offered again after a reload and resumes.
 */
import { expect, test, type BrowserContext, type Page, type Worker } from '@playwright/test';
import { FIXTURES, fixture } from './fixtures-paths';
import { TINY_TEACHER_NAME } from './tiny-teacher';
import { openAdvanced } from './train-form';

const number = async (page: Page, testId: string) => Number(await page.getByTestId(testId).textContent());
const shardRows = (page: Page) => page.getByTestId('shard-table').locator('tbody tr');
const runName = async (page: Page) => (await page.getByTestId('run-name').innerText()).trim();

/** Seconds between checkpoints in these runs: what a reload may lose, at most (plus an iteration). */
const CHECKPOINT_SECONDS = 3;

async function openWasm(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  await page.goto('/?backend=wasm');
  await expect(page.getByTestId('backend')).toHaveText('wasm');
  await expect(page.getByTestId('teacher-name').or(page.getByTestId('no-teacher'))).toBeVisible();
  return page;
}

async function loadTeacherFile(page: Page): Promise<void> {
  await page.getByLabel('Load a teacher bundle (.safetensors)').setInputFiles(fixture(FIXTURES.teacher));
  await expect(page.getByTestId('teacher-name')).toHaveText(TINY_TEACHER_NAME);
}

/** A long tiny run that checkpoints by time only. */
async function startRun(page: Page): Promise<void> {
  await openAdvanced(page);
  await page.getByLabel('LoRA rank').fill('2');
  await page.getByLabel('Iterations', { exact: true }).fill('5000');
  await page.getByLabel('Samples every').fill('5000');
  await page.getByLabel('Checkpoint every').fill('5000');
  await page.getByLabel('Seconds between checkpoints').fill(String(CHECKPOINT_SECONDS));
  await page.getByLabel('Validation trajectories').fill('0');
  await page.getByRole('button', { name: 'Start training' }).click();
  await expect(page.getByTestId('training-state')).toHaveText('running');
}

async function stopRun(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Stop' }).click();
  await expect(page.getByTestId('training-state')).toHaveText('idle');
}

async function studioWorker(page: Page): Promise<Worker> {
  await expect.poll(() => page.workers().some((w) => w.url().includes('studio.worker'))).toBe(true);
  const worker = page.workers().find((w) => w.url().includes('studio.worker'));
  if (!worker) throw new Error('the studio worker did not start');
  return worker;
}

test('two tabs: stored state in both, one owner per run, the second resumes it after the first crashes', async ({
  browser,
}) => {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const first = await openWasm(context);
  const second = await openWasm(context);
  await loadTeacherFile(first);
  await loadTeacherFile(second);

  await first.getByLabel('Shard files').setInputFiles(FIXTURES.goodShards.map(fixture));
  await expect(shardRows(first)).toHaveCount(FIXTURES.goodShards.length);
  await expect(shardRows(second), 'shards stored in one tab appear in the other').toHaveCount(
    FIXTURES.goodShards.length,
  );

  await startRun(first);
  const owned = await runName(first);
  await expect.poll(() => number(first, 'checkpoint-iteration')).toBeGreaterThan(0);

  // The second tab sees the run train, live, and is offered nothing of it to resume or remove.
  const live = second.getByTestId('other-tab-run');
  await expect(live).toHaveCount(1);
  await expect(live).toContainText(`Run ${owned}: training in another tab`);
  const seen = Number(await live.getByTestId('other-tab-iteration').innerText());
  await expect
    .poll(async () => Number(await live.getByTestId('other-tab-iteration').innerText()))
    .toBeGreaterThan(seen);
  await expect(second.getByTestId('resume-offer')).toHaveCount(0);
  await expect(second.getByRole('button', { name: new RegExp(`Resume run ${owned}`) })).toHaveCount(0);
  await expect(second.getByTestId('start-note')).toContainText(`Run ${owned} trains in another tab`);

  // Its own run is a separate run, training beside the first.
  await startRun(second);
  const separate = await runName(second);
  expect(separate).not.toBe(owned);
  await expect.poll(() => number(second, 'checkpoint-iteration')).toBeGreaterThan(0);
  await stopRun(second);
  await expect(first.getByTestId('training-state'), 'the first tab trains on').toHaveText('running');

  // The first tab's renderer dies: the browser lets go of its lock, the second can take the run up.
  const cdp = await context.newCDPSession(first);
  const crashed = first.waitForEvent('crash');
  // A crashed page never answers the command: wait for the crash instead.
  void cdp.send('Page.crash').catch(() => undefined);
  await crashed;
  const offer = second.getByTestId('resume-offer');
  const resume = offer.getByRole('button', { name: new RegExp(`^Resume run ${owned} from iteration \\d+$`) });
  await expect(resume).toBeVisible();
  await expect(second.getByTestId('other-tab-run')).toHaveCount(0);
  await expect(offer).toContainText(`Run ${owned}`);
  await expect(offer).toContainText('interrupted');
  const from = Number((await resume.textContent())?.match(/iteration (\d+)$/)?.[1]);
  expect(from).toBeGreaterThan(0);
  await resume.click();
  await expect(second.getByTestId('run-name')).toHaveText(owned);
  await expect(second.getByTestId('training-state')).toHaveText('running');
  await expect.poll(() => number(second, 'checkpoint-iteration')).toBeGreaterThan(from);
  await stopRun(second);
  await context.close();
});

test('a reload loses seconds, shows the stored curves and offers Resume first; a failed run resumes after a reload', async ({
  browser,
}) => {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await openWasm(context);
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  await loadTeacherFile(page);
  await page.getByLabel('Shard files').setInputFiles(FIXTURES.goodShards.map(fixture));
  await expect(shardRows(page)).toHaveCount(FIXTURES.goodShards.length);

  await startRun(page);
  const run = await runName(page);
  await expect.poll(() => number(page, 'checkpoint-iteration'), { timeout: 60_000 }).toBeGreaterThan(0);
  // Reload somewhere between two checkpoints, at a steady rate.
  await page.waitForTimeout(CHECKPOINT_SECONDS * 1000 + 700);
  const reached = await number(page, 'metric-rows');
  const rate = Number(
    (await page.getByRole('progressbar', { name: 'Training' }).getAttribute('aria-valuetext'))?.match(
      /([\d.]+) it\/s/,
    )?.[1],
  );
  await page.reload();

  const offer = page.getByTestId('resume-offer');
  const resume = offer.getByRole('button', { name: new RegExp(`^Resume run ${run} from iteration \\d+$`) });
  await expect(resume).toBeVisible();
  const from = Number((await resume.textContent())?.match(/iteration (\d+)$/)?.[1]);
  const lostSeconds = (reached - from) / rate;
  test.info().annotations.push({
    type: 'reload loss',
    description: `${reached - from} iterations at ${rate} it/s = ${lostSeconds.toFixed(1)} s (checkpoint every ${CHECKPOINT_SECONDS} s)`,
  });
  expect(lostSeconds, 'a reload loses at most about the seconds between checkpoints').toBeLessThanOrEqual(
    CHECKPOINT_SECONDS + 1.5,
  );
  // Before Resume is clicked: the stored curves, and Resume as the first action.
  await expect.poll(() => number(page, 'metric-rows')).toBe(from);
  await expect(page.getByTestId('resume-primary')).toHaveText(`Resume run ${run}`);
  await expect(page.getByTestId('start-note')).toContainText(`run ${run} stays stored`);
  await page.getByTestId('resume-primary').click();
  await expect(page.getByTestId('training-state')).toHaveText('running');

  // An error inside the loop: the next clock read, the rate meter's at the end of an iteration.
  await (
    await studioWorker(page)
  ).evaluate(() => {
    const now = performance.now.bind(performance);
    let armed = true;
    performance.now = () => {
      if (!armed) return now();
      armed = false;
      throw new Error('e2e: injected failure');
    };
  });
  const fault = page.getByTestId('fault-banner').locator('[data-kind="worker"]');
  await expect(fault).toContainText(/Training failed at iteration \d+: e2e: injected failure\. .* resume it/);
  await expect(page.getByTestId('run-state')).toContainText('status error');
  await expect(offer).toContainText('failed');

  await page.reload();
  const again = offer.getByRole('button', { name: new RegExp(`^Resume run ${run} from iteration \\d+$`) });
  await expect(again).toBeVisible();
  await expect(offer).toContainText('e2e: injected failure');
  const resumedFrom = Number((await again.textContent())?.match(/iteration (\d+)$/)?.[1]);
  expect(resumedFrom).toBeGreaterThanOrEqual(from);
  await again.click();
  await expect(page.getByTestId('training-state')).toHaveText('running');
  await expect(page.getByTestId('run-state')).toContainText('status running');
  await expect.poll(() => number(page, 'checkpoint-iteration')).toBeGreaterThan(resumedFrom);
  await stopRun(page);
  expect(pageErrors).toEqual([]);
  await context.close();
});
