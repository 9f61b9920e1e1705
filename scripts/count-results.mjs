/**
 * Sums the test reports that scripts/test.mjs leaves in a folder (default `reports/`) into
 * one line, `N passed, N failed`, counting unit and e2e tests together. A stage that failed
 * without a failing test in its report (lint errors, a crash, a suite that would not load,
 * a web server that would not start) counts as one failure, so a red run never reads green.
 * `--quiet` prints only that line. Exits 1 when anything failed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const quiet = args.includes('--quiet');
const dir = args.find((a) => !a.startsWith('--')) ?? 'reports';

function readJson(name) {
  const path = join(dir, name);
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}

/** Vitest's json reporter: a suite that fails to import has status 'failed' and no assertions. */
function unitCounts(report) {
  if (!report) return null;
  const brokenSuites = (report.testResults ?? []).filter(
    (s) => s.status === 'failed' && (s.assertionResults ?? []).length === 0,
  ).length;
  return { passed: report.numPassedTests ?? 0, failed: (report.numFailedTests ?? 0) + brokenSuites };
}

/** Playwright's json reporter: flaky tests passed on retry; top-level errors stopped tests from running. */
function e2eCounts(report) {
  if (!report?.stats) return null;
  const { expected = 0, unexpected = 0, flaky = 0 } = report.stats;
  return { passed: expected + flaky, failed: unexpected + (report.errors ?? []).length };
}

const stages = readJson('stages.json') ?? {};
const rows = [
  ['lint', { passed: 0, failed: 0 }],
  ['unit', unitCounts(readJson('unit.json'))],
  ['e2e', e2eCounts(readJson('e2e.json'))],
];

let passed = 0;
let failed = 0;
for (const [stage, counts] of rows) {
  const stageFailed = stages[stage] !== 'passed';
  const c = counts ?? { passed: 0, failed: 0 };
  const extra = stageFailed && c.failed === 0 ? 1 : 0;
  passed += c.passed;
  failed += c.failed + extra;
  if (!quiet) {
    const note = extra ? ` (${stages[stage] ?? 'not run'}${counts || stage === 'lint' ? '' : ', no report'})` : '';
    console.log(`${stage}: ${c.passed} passed, ${c.failed + extra} failed${note}`);
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
