/** `npm run test:e2e`: makes sure Chromium exists, then runs Playwright; extra arguments pass through. */
import { spawnSync } from 'node:child_process';
import { ensureChromium } from './ensure-chromium.mjs';

try {
  process.env.CHROMIUM_PATH = ensureChromium();
} catch (err) {
  console.error(err.message);
  process.exit(1);
}
// Playwright's own browser download cannot work offline and is never needed: we drive Debian's Chromium.
const env = { ...process.env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1' };
const result = spawnSync('npx', ['playwright', 'test', ...process.argv.slice(2)], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
