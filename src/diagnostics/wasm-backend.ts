/**
 * tfjs-wasm on the diagnostics page (`kernels.html?backend=wasm`), set up as the studio worker sets
 * it up (src/worker/backend-start.ts): the .wasm binaries bundled by Vite, this project's wasm
 * kernels installed. The page's checks then run on the browser's wasm as the studio does.
 */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { installWasmKernels } from '../core/kernels/wasm-kernels';

export async function startWasm(): Promise<void> {
  setWasmPaths({
    'tfjs-backend-wasm.wasm': wasmPlain,
    'tfjs-backend-wasm-simd.wasm': wasmSimd,
    'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimd,
  });
  installWasmKernels();
  if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") failed');
  await tf.ready();
}
