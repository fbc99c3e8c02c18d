/**
 * Where one training iteration of a network (the seed by default) spends its time, kernel by kernel
 * (tf.profile), on the backend TRAINYARD_BACKEND picks, plus the wall time of each iteration. A
 * network with a 32x32x3 input trains on the digits made RGB as bench/train-zoo.ts makes them.
 *
 *   npm run bench:profile -- [--network bench/zoo/strided.json] [--iterations 12] [--rows 25]
 *
 * Kernel times nest: a composite op (shown as its op name, e.g. "forward") includes the kernels
 * it ran, so the total counts those twice.
 */
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { take } from '../src/data/dataset.js';
import { loadDigits } from '../src/data/digits.js';
import { InMemorySource } from '../src/data/in-memory-source.js';
import { initBackend } from '../src/nn/backend.js';
import { ensureCustomLayersPass } from '../src/nn/custom/check-runner.js';
import { validateTrainingOptions } from '../src/nn/options.js';
import { validateNetwork } from '../src/nn/spec.js';
import { train } from '../src/nn/train.js';
import { benchData } from './bench-data.js';

const { values } = parseArgs({
  options: {
    network: { type: 'string', default: 'examples/seed-elu.json' },
    iterations: { type: 'string', default: '12' },
    rows: { type: 'string', default: '25' },
  },
});
const iterations = Number(values.iterations);
const config = loadConfig();
const backend = await initBackend(config.backend, { threads: config.threads });
const network = validateNetwork(JSON.parse(readFileSync(values.network!, 'utf8')));
const options = validateTrainingOptions({ maxEpochs: 1, seed: 1, batchNormalizationStatistics: 'moving' });
if (!network.ok || !options.ok) throw new Error(`the network ${values.network} or the options did not validate`);
await ensureCustomLayersPass(network.value, { backend: config.backend, ...config.layerCheck });
const splits = benchData(await loadDigits(), network.value.inputSize);
const source = InMemorySource.of({ train: take(splits.train, 128 * iterations), test: splits.test });
const run = (onProgress?: () => void) => train(network.value, { source }, options.value, { onProgress }).then((r) => r.classifier.dispose());

await run(); // warm-up: wasm compilation, tfjs's cached constants
const wall: number[] = [];
let last = performance.now();
await run(() => {
  const now = performance.now();
  wall.push(now - last);
  last = now;
});
const sorted = [...wall].sort((a, b) => a - b);
console.log(`backend ${backend.name}; wall ms per iteration: ${wall.map((t) => t.toFixed(0)).join(' ')} (median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(1)}, min ${sorted[0]!.toFixed(1)})`);

const info = await tf.profile(() => run().then(() => []));
const byKernel = new Map<string, { ms: number; calls: number }>();
for (const k of info.kernels) {
  const key = `${k.name} ${JSON.stringify(k.inputShapes)}`;
  const entry = byKernel.get(key) ?? { ms: 0, calls: 0 };
  entry.ms += (k.kernelTimeMs as number) / iterations;
  entry.calls += 1 / iterations;
  byKernel.set(key, entry);
}
console.log(`${(info.kernels.length / iterations).toFixed(0)} kernels per iteration; ms per iteration, calls per iteration, kernel and input shapes:`);
for (const [key, { ms, calls }] of [...byKernel.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, Number(values.rows))) {
  console.log(`${ms.toFixed(2).padStart(8)} ${calls.toFixed(1).padStart(5)}  ${key.slice(0, 140)}`);
}
