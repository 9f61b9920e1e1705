/**
 * `npm test`: lint, unit tests (vitest), e2e tests (Playwright on Chromium). Every stage runs
 * even when an earlier one failed, so one run shows everything that is wrong; machine-readable
 * reports go to `reports/` and scripts/count-results.mjs sums them into the closing line.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const reportsDir = process.env.REPORTS_DIR || 'reports';
rmSync(reportsDir, { recursive: true, force: true });
mkdirSync(reportsDir, { recursive: true });

const env = { ...process.env, REPORTS_DIR: reportsDir };
const stages = {};

function stage(name, command, args) {
  console.log(`\n━━ ${name}: ${command} ${args.join(' ')}`);
  const { status } = spawnSync(command, args, { stdio: 'inherit', env });
  stages[name] = status === 0 ? 'passed' : `failed (exit ${status})`;
  writeFileSync(join(reportsDir, 'stages.json'), JSON.stringify(stages, null, 2));
}

stage('lint', 'npm', ['run', '--silent', 'lint']);
stage('unit', 'npx', [
  '--no-install',
  'vitest',
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${join(reportsDir, 'unit.json')}`,
]);
stage('e2e', process.execPath, ['scripts/e2e.mjs']);

console.log('\n━━ summary');
const { status } = spawnSync(process.execPath, ['scripts/count-results.mjs', reportsDir], { stdio: 'inherit' });
process.exit(status ?? 1);
