/** The tiny e2e teacher, loaded from its file the way a user would. */
import { expect, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { readModelConfig } from '../src/core/io/bundle';
import { FIXTURES, fixture } from './fixtures-paths';

export const TINY_TEACHER_NAME = readModelConfig(readFileSync(fixture(FIXTURES.teacher))).name;

/**
 * Opens the studio and loads the tiny teacher from its file once the built-in one (the page's
 * default, loaded when the backend is up) has settled, so the file's teacher is the one that stays.
 * Pinned to WebGPU (`?backend=`): the automatic choice would time every backend and pick wasm here.
 */
export async function loadTinyTeacher(page: Page): Promise<void> {
  await page.goto('/?backend=webgpu');
  await expect(page.getByTestId('backend')).toHaveText('webgpu');
  await expect(page.getByTestId('teacher-name').or(page.getByTestId('no-teacher'))).toBeVisible();
  await page.getByLabel('Load a teacher bundle (.safetensors)').setInputFiles(fixture(FIXTURES.teacher));
  await expect(page.getByTestId('teacher-name')).toHaveText(TINY_TEACHER_NAME);
}
