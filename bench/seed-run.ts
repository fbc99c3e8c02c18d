/**
 * One seed run in this process (the child that bench/train-seed.ts times): the seed network, MATLAB's
 * default options, the 5000/5000 digits split. Prints one JSON line like torch_seed.py does.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { loadDigits } from '../src/data/digits.js';
import { InMemorySource } from '../src/data/in-memory-source.js';
import { initBackend } from '../src/nn/backend.js';
import { validateTrainingOptions } from '../src/nn/options.js';
import { validateNetwork } from '../src/nn/spec.js';
import { train } from '../src/nn/train.js';

const { values } = parseArgs({ options: { epochs: { type: 'string', default: '30' }, seed: { type: 'string', default: '0' } } });
const config = loadConfig();
const backend = await initBackend(config.backend);
// Read before the clock starts, as a worker has the digits when its first job arrives.
const source = InMemorySource.of(await loadDigits());
const network = validateNetwork(JSON.parse(readFileSync(new URL('../examples/seed-elu.json', import.meta.url), 'utf8')));
const options = validateTrainingOptions({ maxEpochs: Number(values.epochs), seed: Number(values.seed) });
if (!network.ok || !options.ok) throw new Error('the seed network or options did not validate');

// Read the device as a worker does: at most every PROGRESS_INTERVAL_MS, not every iteration.
const result = await train(network.value, { source }, options.value, { readbackIntervalMs: config.events.progressIntervalMs });
const evaluation = await result.classifier.evaluate(source, 'test');
result.classifier.dispose();
console.log(
  JSON.stringify({
    impl: `trainyard-${backend.name}`,
    backend: backend.reason,
    ...(backend.adapter ? { adapter: backend.adapter } : {}),
    epochs: result.epochs,
    iterations: result.iterations,
    seconds: Number(result.trainingSeconds.toFixed(3)),
    finalize_seconds: Number(result.finalizeSeconds.toFixed(3)),
    ms_per_iteration: Number(((1000 * result.trainingSeconds) / result.iterations).toFixed(2)),
    test_accuracy: Number(evaluation.accuracy.toFixed(4)),
    final_minibatch_loss: Number(result.last!.miniBatchLoss.toFixed(5)),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
);
