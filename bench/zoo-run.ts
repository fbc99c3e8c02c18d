/**
 * One network of bench/train-zoo.ts trained by trainyard in this process (the child the bench
 * times): MATLAB's sgdm defaults, `--iterations` mini-batches of 128 from the raw splits in
 * `--data`, then test accuracy on the first `--test` test images. Timing: the wall time of the
 * iterations after the first `--warmup` (wasm compilation, tfjs's cached constants), per
 * iteration, as torch_zoo.py measures it. Prints one JSON line.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { take } from '../src/data/dataset.js';
import { InMemorySource } from '../src/data/in-memory-source.js';
import { initBackend } from '../src/nn/backend.js';
import { ensureCustomLayersPass } from '../src/nn/custom/check-runner.js';
import { validateTrainingOptions } from '../src/nn/options.js';
import { validateNetwork } from '../src/nn/spec.js';
import { train } from '../src/nn/train.js';
import { readRawSplits } from './raw-data.js';

const { values } = parseArgs({
  options: {
    network: { type: 'string' },
    data: { type: 'string' },
    iterations: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '2' },
    test: { type: 'string', default: '1000' },
    seed: { type: 'string', default: '0' },
  },
});
const iterations = Number(values.iterations);
const warmup = Number(values.warmup);
const config = loadConfig();
const backend = await initBackend(config.backend, { threads: config.threads });
const network = validateNetwork(JSON.parse(readFileSync(values.network!, 'utf8')));
if (!network.ok) throw new Error(`${values.network} did not validate: ${network.problems.map((p) => p.message).join('; ')}`);
await ensureCustomLayersPass(network.value, { backend: config.backend, ...config.layerCheck });
const classes = Array.from({ length: network.value.numClasses }, (_, i) => String(i));
const splits = await readRawSplits(values.data!, network.value.inputSize, classes);
const options = validateTrainingOptions({ maxEpochs: 1, seed: Number(values.seed) });
if (!options.ok) throw new Error('the options did not validate');

let timedFrom = 0;
let timedTo = 0;
const source = InMemorySource.of({ train: take(splits.train, 128 * iterations), test: take(splits.test, Number(values.test)) });
const result = await train(network.value, { source }, options.value, {
  onProgress: ({ iteration }) => {
    if (iteration === warmup) timedFrom = performance.now();
    if (iteration === iterations) timedTo = performance.now();
  },
});
const evaluation = (await result.classifier.evaluate(source, 'test'))!;
result.classifier.dispose();
console.log(
  JSON.stringify({
    impl: `trainyard-${backend.name}`,
    iterations: result.iterations,
    ms_per_iteration: Number(((timedTo - timedFrom) / (iterations - warmup)).toFixed(2)),
    test_accuracy: Number(evaluation.accuracy.toFixed(4)),
    final_minibatch_loss: Number(result.last!.miniBatchLoss.toFixed(5)),
  }),
);
