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
 * tfjs-wasm hands each pthread worker its Emscripten factory as source text, taken with
 * `factory.toString()`. After bundling and minification that function refers to names of the
 * bundle's scope (`e is not defined` in every pthread), so the threaded build cannot start. This
 * swaps the `toString()` for the factory file's own text, which is self-contained.
 */
function wasmThreadsFactorySource(): Plugin {
  const require = createRequire(import.meta.url);
  const factoryFile = require.resolve('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js');
  const toStringCall = /`var WasmBackendModuleThreadedSimd = ` \+\s*wasmFactoryThreadedSimd\.toString\(\)/;
  return {
    name: 'tfjs-wasm-threads-factory-source',
    transform(code, id) {
      if (!id.replaceAll('\\', '/').endsWith('@tensorflow/tfjs-backend-wasm/dist/backend_wasm.js')) return null;
      if (!toStringCall.test(code)) {
        throw new Error(`${id}: the threaded factory's toString() call moved; update wasmThreadsFactorySource`);
      }
      return { code: code.replace(toStringCall, JSON.stringify(readFileSync(factoryFile, 'utf8'))), map: null };
    },
  };
}

export default defineConfig({
  plugins: [wasmThreadsFactorySource()],
  // The studio worker imports tfjs in chunks; only ES-module workers may be code-split.
  worker: { format: 'es', plugins: () => [wasmThreadsFactorySource()] },
  build: {
    target: 'es2022',
    // tfjs alone is ~3 MB minified; the warning would fire on every build and say nothing new.
    chunkSizeWarningLimit: 4096,
  },
  server: { host: '127.0.0.1', port: 5173, headers: isolation },
  preview: { host: '127.0.0.1', port: 4173, strictPort: true, headers: isolation },
});
