/**
 * @module A worker's first training step, run before it takes jobs on a backend whose kernels
 * compile on first use (WebGPU's shaders; CUDA's PTX for tfjs-node-gpu on a GPU its TensorFlow has
 * no code for, many minutes on an H100 the first time). Until it ends the worker announces itself
 * as 'warming up' (src/queue/worker-presence.ts), so /readyz (and GET /v1/admin/workers) tells a slow start from a stuck one.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { take, type Dataset } from '../data/dataset.js';
import { InMemorySource } from '../data/in-memory-source.js';
import { validateTrainingOptions } from '../nn/options.js';
import { validateNetwork } from '../nn/spec.js';
import { train } from '../nn/train.js';
import { projectRoot } from '../paths.js';

/**
 * Trains the seed network (examples/seed-elu.json, what most jobs look like: convolution, batch
 * norm, learnable ELU, fully connected) for one mini-batch of the default size on `images`, with the
 * default options (sgdm), and reads the loss back. Returns the milliseconds it took.
 */
export async function warmUp(images: Dataset): Promise<number> {
  const started = performance.now();
  const network = validateNetwork(JSON.parse(readFileSync(path.join(projectRoot, 'examples/seed-elu.json'), 'utf8')));
  const options = validateTrainingOptions({ maxEpochs: 1, validationData: null });
  if (!network.ok || !options.ok) throw new Error('the seed network or the default options no longer validate');
  const batch = take(images, options.value.miniBatchSize);
  const result = await train(network.value, { source: InMemorySource.of({ train: batch, test: batch }), name: 'warm-up' }, options.value);
  result.classifier.dispose();
  return performance.now() - started;
}
