/**
 * Chromium for the scripts that drive the studio outside the e2e runner (benchmarks, the README
 * screenshot), launched exactly as playwright.config.ts launches it for the e2e tests: Debian's
 * Chromium (or CHROMIUM_PATH), WebGPU on SwiftShader, headless.
 */
import { chromium, type Browser } from '@playwright/test';
import config from '../playwright.config';

export async function launchStudioChromium(): Promise<Browser> {
  return chromium.launch({ ...config.use?.launchOptions, headless: true });
}
