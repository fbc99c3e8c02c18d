import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig } from '../config.js';
import { datasetCatalogue, trainingBackend } from '../composition.js';
import { UserProblem } from '../nn/problems.js';
import { verboseFooter, verboseHeader, verboseRow } from '../nn/verbose.js';
import { trainAndSave } from '../run/train-and-save.js';
import { requireValidTrainingRequest } from '../run/training-request.js';
import { ModelStore } from '../store/models.js';
import { fail, intFlag, jsonFlag, parseFlags, problemText } from './args.js';

const usage = `Usage: npm run train -- --network FILE [--dataset digits] [--options JSON|@FILE] [--train-size N] [--out DIR]

Trains a network on a dataset, printing MATLAB's verbose table, then the test accuracy, and saves
the model folder to DIR (default: DATA_DIR/models/cli-<time>).`;

const flags = parseFlags(usage, {
  network: { type: 'string' },
  dataset: { type: 'string', default: 'digits' },
  options: { type: 'string' },
  'train-size': { type: 'string' },
  out: { type: 'string' },
});

try {
  const config = loadConfig();
  if (!flags.network) fail(`--network is required\n\n${usage}`);
  const network = JSON.parse(readFileSync(flags.network, 'utf8')) as unknown;
  const options = jsonFlag(flags.options, '--options');
  const trainSize = intFlag(flags['train-size'], '--train-size');
  const dataset = await datasetCatalogue(config).resolve(trainSize ? { id: flags.dataset!, trainImages: trainSize } : flags.dataset!, 'cli');
  if ('problem' in dataset) fail(`--dataset: ${dataset.problem.message.replace(/^dataset: /, '')}`);
  const out = path.resolve(flags.out ?? path.join(config.dataDir, 'models', `cli-${new Date().toISOString().replace(/[:.]/g, '-')}`));

  const backend = await trainingBackend(config);
  console.log(`backend: ${backend.name} (${backend.reason})`);
  const request = await requireValidTrainingRequest({ network, options }, dataset, config);
  const withValidation = request.options.validationData !== null;
  const trainCount = (await dataset.source.describe()).counts.train;

  console.log(`Training on ${trainCount} ${dataset.name} images.`);
  console.log(verboseHeader(withValidation));
  const { result, manifest } = await trainAndSave(
    config,
    backend,
    dataset,
    request,
    { ...ModelStore.atFolder(out), keepAborted: true },
    {
      onProgress: (r) => {
        if (r.verbose) console.log(verboseRow(r, withValidation));
      },
    },
  );
  console.log(verboseFooter(withValidation));
  console.log(`Training ${result.stopReason === 'max-epochs' ? 'finished: max epochs completed' : `stopped: ${result.stopReason}`}.`);
  console.log(
    `${result.iterations} iterations in ${result.trainingSeconds.toFixed(2)} s (${((1000 * result.trainingSeconds) / Math.max(1, result.iterations)).toFixed(1)} ms/iteration), seed ${result.seed}, backend ${result.backend}`,
  );
  console.log(`model saved to ${out}`);
  console.log(`test accuracy: ${manifest?.metrics.testAccuracy?.toFixed(4) ?? 'n/a'}`);
} catch (err) {
  if (err instanceof UserProblem) fail(problemText(err));
  if (err instanceof ConfigError) fail(err.message);
  throw err;
}
