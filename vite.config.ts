import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { defineConfig, type Plugin } from 'vite';

/**
 * Cross-origin isolation: with these two headers the page may use SharedArrayBuffer, which
 * tfjs-wasm's threaded build needs for its pthreads. Without them it runs one thread.
 */
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/**
 * Two fixes to tfjs-wasm's threaded-SIMD build, which otherwise cannot help the studio:
 *
 * - It hands each pthread worker its Emscripten factory as source text, taken with
 *   `factory.toString()`. After bundling and minification that function refers to names of the
 *   bundle's scope (`e is not defined` in every pthread), so the build could not start. The
 *   pthreads get the factory file's own text instead, which is self-contained.
 * - Its C++ caps the thread count at half of `navigator.hardwareConcurrency` (it assumes two
 *   hyperthreads per core), which is one thread on a 2-core machine, whatever
 *   `setThreadsCount` asks. Reporting twice the logical cores to it lifts that cap, so the
 *   count the studio sets (backend-start.ts) is the one used.
 */
function wasmThreads(): Plugin {
  const require = createRequire(import.meta.url);
  const factoryFile = require.resolve('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js');
  const coresCall = 'return navigator["hardwareConcurrency"]}';
  const patchCores = (code: string, id: string) => {
    if (!code.includes(coresCall)) {
      throw new Error(`${id}: the logical-core query moved; update wasmThreads in vite.config.ts`);
    }
    return code.replace(coresCall, 'return 2*navigator["hardwareConcurrency"]}');
  };
  const toStringCall = /`var WasmBackendModuleThreadedSimd = ` \+\s*wasmFactoryThreadedSimd\.toString\(\)/;
  const normal = (id: string) => id.replaceAll('\\', '/').split('?')[0];
  return {
    name: 'tfjs-wasm-threads',
    transform(code, id) {
      if (normal(id) === normal(factoryFile)) return { code: patchCores(code, id), map: null };
      if (!normal(id).endsWith('@tensorflow/tfjs-backend-wasm/dist/backend_wasm.js')) return null;
      if (!toStringCall.test(code)) {
        throw new Error(`${id}: the threaded factory's toString() call moved; update wasmThreads in vite.config.ts`);
      }
      const source = patchCores(readFileSync(factoryFile, 'utf8'), factoryFile);
      return { code: code.replace(toStringCall, JSON.stringify(source)), map: null };
    },
  };
}

export default defineConfig({
  plugins: [wasmThreads()],
  // The studio worker imports tfjs in chunks; only ES-module workers may be code-split.
  worker: { format: 'es', plugins: () => [wasmThreads()] },
  build: {
    target: 'es2022',
    // tfjs alone is ~3 MB minified; the warning would fire on every build and say nothing new.
    chunkSizeWarningLimit: 4096,
    // kernels.html: the fused-kernel diagnostics page for e2e tests and the dispatch benchmark
    rollupOptions: { input: { main: 'index.html', kernels: 'kernels.html' } },
  },
  server: { host: '127.0.0.1', port: 5173, headers: isolation },
  preview: { host: '127.0.0.1', port: 4173, strictPort: true, headers: isolation },
});
