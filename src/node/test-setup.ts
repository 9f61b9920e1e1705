import { beforeAll } from 'vitest';
import { useWasmBackend } from './backend';

beforeAll(async () => {
  await useWasmBackend();
});
