/**
 * Finds the Chromium the e2e tests drive (Debian's; Playwright cannot download its own here),
 * installing it with apt-get when we are root and it is missing. Run directly, it prints the path.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

function hasAptGet() {
  return spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
}

/** Returns the Chromium executable, or throws with what to install when it cannot provide one. */
export function ensureChromium() {
  // Dawn (the Node WebGPU tests) and Chromium's SwiftShader WebGPU load the Vulkan loader, which
  // --no-install-recommends leaves out: install it too.
  const vulkan = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1'].some(
    existsSync,
  );
  if (existsSync(CHROMIUM_PATH) && vulkan) return CHROMIUM_PATH;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && hasAptGet()) {
    console.log(`${CHROMIUM_PATH} or libvulkan1 missing: installing Debian's chromium and libvulkan1 with apt-get…`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const run = (args) => spawnSync('apt-get', args, { stdio: 'inherit', env }).status === 0;
    if (
      run(['update']) &&
      run(['install', '-y', '--no-install-recommends', 'chromium', 'libvulkan1']) &&
      existsSync(CHROMIUM_PATH)
    ) {
      return CHROMIUM_PATH;
    }
    if (existsSync(CHROMIUM_PATH)) return CHROMIUM_PATH;
    throw new Error(`apt-get could not install chromium to ${CHROMIUM_PATH}; see the apt-get output above.`);
  }
  if (existsSync(CHROMIUM_PATH)) return CHROMIUM_PATH; // without the Vulkan loader only WebGPU tests fail
  throw new Error(
    `Chromium not found at ${CHROMIUM_PATH}. Install it (Debian/Ubuntu: sudo apt-get install -y chromium), ` +
      'or set CHROMIUM_PATH to a Chromium or Chrome executable.',
  );
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    console.log(ensureChromium());
  } catch (err) {
    console.error(err.message);
    process.exit(1);
  }
}
