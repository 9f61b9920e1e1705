/**
 * npm run bench:kernels -- [--batch 32] [--forward-only] [--top 30]
 *
 * Where one UNet training step's time goes on tfjs-wasm: every kernel of a forward+backward pass
 * (MNIST UNet, the loss of `npm run bench`) timed by this process's CPU time, summed by kernel
 * name, then the costliest kernel + input-shape combinations. CPU time rather than tf.profile's
 * wall time, so that a shared machine's waits do not land on whichever kernel was running.
 * Kernels are timed at the registry, so the wasm replacements of src/core/kernels/wasm-kernels.ts are
 * timed as what the engine calls (their inner calls are not counted twice).
 */
import * as tf from '@tensorflow/tfjs';
import { MNIST_UNET, applyUnet, initUnetParams } from '../core/nn/unet';
import { num, parseCli } from '../node/args';
import { useBackend } from '../node/backend';
import { fmt, medianTimes } from '../node/bench-unet';

const args = parseCli('npm run bench:kernels -- [options]', {
  batch: { type: 'string', default: '32', help: 'UNet batch size' },
  'forward-only': { type: 'boolean', help: 'profile the forward pass alone' },
  top: { type: 'string', default: '30', help: 'kernel + shape rows to list' },
});

interface Timed {
  name: string;
  shapes: string;
  ms: number;
}

/** Wraps every wasm kernel so that, while `on()`, each call's CPU time is recorded. */
function instrument(): { records: Timed[]; setOn: (v: boolean) => void } {
  const records: Timed[] = [];
  let on = false;
  for (const config of tf.getKernelsForBackend('wasm')) {
    const inner = config.kernelFunc;
    tf.unregisterKernel(config.kernelName, 'wasm');
    tf.registerKernel({
      ...config,
      kernelFunc: (a) => {
        if (!on) return inner(a);
        const c0 = process.cpuUsage();
        const out = inner(a);
        const c = process.cpuUsage(c0);
        const shapes = JSON.stringify(Object.values(a.inputs).map((t) => (t as tf.TensorInfo).shape));
        records.push({ name: config.kernelName, shapes, ms: (c.user + c.system) / 1000 });
        return out;
      },
    });
  }
  return { records, setOn: (v) => (on = v) };
}

function table(rows: [string, number, number][], total: number): void {
  console.log('| kernel | calls | cpu ms | share |');
  console.log('|---|---:|---:|---:|');
  for (const [k, n, ms] of rows) console.log(`| ${k} | ${n} | ${fmt(ms)} | ${fmt((100 * ms) / total)}% |`);
}

async function main(): Promise<void> {
  // Instrumented after the backend (and the replacements) are set up: each wrapper times what the engine calls.
  await useBackend('wasm');
  const { records, setOn } = instrument();
  const batch = num(args.batch, 'batch');
  const params = initUnetParams(MNIST_UNET, 0);
  const names = Object.keys(params);
  // Noise on every weight: the zero-initialised branches then do real work in the backward pass.
  const weights = names.map((n, i) => tf.add(params[n], tf.randomNormal(params[n].shape, 0, 0.1, 'float32', i)));
  tf.dispose(Object.values(params));
  const s = MNIST_UNET.imageSize;
  const x = tf.randomNormal([batch, s, s, MNIST_UNET.inChannels], 0, 1, 'float32', 1) as tf.Tensor4D;
  const t = tf.randomUniform([batch], 0, 1000, 'float32', 2) as tf.Tensor1D;
  const labels = tf.randomUniform([batch], 0, MNIST_UNET.numClasses, 'int32', 3) as tf.Tensor1D;
  const step = async () => {
    const done = tf.tidy(() => {
      const apply = (ws: tf.Tensor[]) =>
        applyUnet(MNIST_UNET, Object.fromEntries(names.map((n, i) => [n, ws[i]])), x, t, labels);
      if (args['forward-only']) return tf.sum(apply(weights));
      const { grads } = tf.valueAndGrads((...ws: tf.Tensor[]) => tf.mean(tf.square(apply(ws))) as tf.Scalar)(weights);
      return grads.map((g) => tf.sum(g)).reduce((a, g) => tf.add(a, g));
    });
    await done.data();
    done.dispose();
  };
  const whole = await medianTimes(5, step);
  setOn(true);
  await step();
  setOn(false);
  const total = records.reduce((a, r) => a + r.ms, 0);
  const what = args['forward-only'] ? 'forward' : 'forward+backward';
  console.log(
    `# tfjs-wasm ${what}, MNIST UNet, batch ${batch}: median of 5 ${fmt(whole.wall)} ms wall, ${fmt(whole.cpu)} ms CPU; ` +
      `one profiled pass: ${records.length} kernels, ${fmt(total)} ms CPU inside them\n`,
  );
  const byName = new Map<string, [number, number]>();
  const byShape = new Map<string, [number, number]>();
  for (const r of records) {
    for (const [map, key] of [
      [byName, r.name],
      [byShape, `${r.name} ${r.shapes}`],
    ] as const) {
      const [n, ms] = map.get(key) ?? [0, 0];
      map.set(key, [n + 1, ms + r.ms]);
    }
  }
  const sorted = (m: Map<string, [number, number]>) =>
    [...m.entries()].map(([k, [n, ms]]): [string, number, number] => [k, n, ms]).sort((a, b) => b[2] - a[2]);
  table(sorted(byName), total);
  console.log('');
  table(sorted(byShape).slice(0, num(args.top, 'top')), total);
  tf.dispose([...weights, x, t, labels]);
}

await main();
