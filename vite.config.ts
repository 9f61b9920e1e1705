import { defineConfig } from 'vite';

export default defineConfig({
  // The studio worker imports tfjs in chunks; only ES-module workers may be code-split.
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    // tfjs alone is ~3 MB minified; the warning would fire on every build and say nothing new.
    chunkSizeWarningLimit: 4096,
  },
  server: { host: '127.0.0.1', port: 5173 },
  preview: { host: '127.0.0.1', port: 4173, strictPort: true },
});
