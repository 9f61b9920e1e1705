/** Node's tfjs backend: wasm (its .wasm files ship inside the npm package; tfjs-node cannot install here). */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

export async function useWasmBackend(): Promise<string> {
  await tf.setBackend('wasm');
  await tf.ready();
  return tf.getBackend();
}
