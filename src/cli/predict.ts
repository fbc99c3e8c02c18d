import { ConfigError, loadConfig } from '../config.js';
import { datasetCatalogue, trainingBackend } from '../composition.js';
import { InvalidKey } from '../store/blob-store.js';
import { ModelStore, ModelUnreadable } from '../store/models.js';
import { fail, parseFlags } from './args.js';

const usage = `Usage: npm run predict -- --model DIR [--dataset digits]

Loads a saved model folder and prints its accuracy on the dataset's 5000 test images.`;

const flags = parseFlags(usage, { model: { type: 'string' }, dataset: { type: 'string', default: 'digits' } });

try {
  const config = loadConfig();
  if (!flags.model) fail(`--model is required\n\n${usage}`);
  const dataset = await datasetCatalogue(config).resolve(flags.dataset!, 'cli');
  if ('problem' in dataset) fail(`--dataset: ${dataset.problem.message.replace(/^dataset: /, '')}`);
  const backend = await trainingBackend(config);
  const folder = ModelStore.atFolder(flags.model);
  const loaded = await folder.store.load(folder.id);
  if (!loaded) fail(`no model at ${flags.model}`);
  const { classifier, manifest } = loaded;
  const evaluation = await classifier.evaluate(dataset.source, 'test');
  classifier.dispose();
  console.log(`model ${manifest.id}: trained ${manifest.createdAt} on ${manifest.training.backend.name}; predicting on ${backend.name}`);
  console.log(`test images: ${evaluation.count}, mean cross-entropy: ${evaluation.loss.toFixed(4)}`);
  console.log(`test accuracy: ${evaluation.accuracy.toFixed(4)}`);
} catch (err) {
  if (err instanceof ConfigError) fail(err.message);
  if (err instanceof ModelUnreadable || err instanceof InvalidKey) fail(err.message);
  throw err;
}
