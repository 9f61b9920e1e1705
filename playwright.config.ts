import { defineConfig } from '@playwright/test';

/**
 * Port of the preview server the tests start; not `npm start`'s 4173, so both can run at once.
 * E2E_PORT moves it, so several checkouts on one machine can run their e2e tests side by side.
 */
const PORT = Number(process.env.E2E_PORT) || 4174;
const reportsDir = process.env.REPORTS_DIR;

export default defineConfig({
  testDir: 'e2e',
  // SwiftShader runs WebGPU on the CPU and compiles each shader on first use: minutes, not seconds.
  timeout: 300_000,
  expect: { timeout: 240_000 },
  workers: 1,
  retries: 0,
  forbidOnly: !!process.env.CI,
  outputDir: 'test-results',
  reporter: reportsDir ? [['list'], ['json', { outputFile: `${reportsDir}/e2e.json` }]] : [['list']],
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    browserName: 'chromium',
    headless: true,
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      // See docs/environment.md: WebGPU on SwiftShader (a CPU Vulkan), root needs --no-sandbox,
      // and the machine is offline, so Chromium's background fetching is switched off.
      args: [
        '--no-sandbox',
        '--enable-unsafe-webgpu',
        '--enable-features=Vulkan',
        '--use-webgpu-adapter=swiftshader',
        '--use-angle=swiftshader',
        '--enable-unsafe-swiftshader',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
  webServer: {
    command: `npx vite build && npx vite preview --host 127.0.0.1 --port ${PORT} --strictPort`,
    url: `http://127.0.0.1:${PORT}`,
    timeout: 300_000,
    reuseExistingServer: false,
    stdout: 'pipe',
  },
});
