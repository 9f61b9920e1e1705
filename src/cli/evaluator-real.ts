/**
 * npm run evaluator:real -- [--evaluator public/evaluator.safetensors] [--out public/evaluator-real.safetensors]
 *
 * Fits a Gaussian to the evaluator's features on the real MNIST test split and writes it beside
 * the evaluator (src/core/eval/real-features.ts), so the studio can measure FID to real digits
 * without the digits.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { tensorDataHash } from '../core/io/bundle';
import { FormatError } from '../core/io/errors';
import { decodeEvaluator } from '../core/eval/evaluator-bundle';
import { fitGaussian } from '../core/eval/fid';
import { classifyImages } from '../core/eval/metrics';
import { encodeRealFeatures } from '../core/eval/real-features';
import { parseCli, runCli } from '../node/args';
import { useWasmBackend } from '../node/backend';
import { loadMnist } from '../node/mnist';

const args = parseCli('npm run evaluator:real -- [options]', {
  evaluator: { type: 'string', default: 'public/evaluator.safetensors', help: 'evaluator bundle' },
  out: { type: 'string', default: 'public/evaluator-real.safetensors', help: 'where to write the fit' },
});

async function main(): Promise<void> {
  await useWasmBackend();
  const bytes = await readFile(String(args.evaluator));
  const evaluator = decodeEvaluator(bytes);
  const test = loadMnist('test');
  const { features, featureDim } = await classifyImages(evaluator.config, evaluator.params, test.images, test.count);
  const fit = fitGaussian(features, test.count, featureDim);
  const source = `MNIST test split of the mnist npm package (${test.count} digits, src/node/mnist.ts)`;
  await writeFile(
    String(args.out),
    encodeRealFeatures({ ...fit, evaluatorSha256: await tensorDataHash(bytes), source }),
  );
  console.log(`wrote ${args.out}: ${featureDim}-d features of ${source}`);
}

await runCli(main, [FormatError]);
