import { beforeAll, describe, expect, it } from 'vitest';
import { train, type ProgressRecord } from '../../src/nn/train.js';
import { useTestBackend, worstMismatch } from '../helpers/backend.js';
import { digits, network, options } from '../helpers/data.js';
import { withoutFusedKernels } from '../helpers/gradients.js';

beforeAll(useTestBackend);

async function run() {
  const data = await digits(160);
  const records: ProgressRecord[] = [];
  const result = await train(network(), { source: data.source }, options({ miniBatchSize: 32, maxEpochs: 2, seed: 7, batchNormalizationStatistics: 'moving' }), {
    onProgress: (r) => void records.push(r),
  });
  const weights = result.classifier.model.weights.map((w) => w.read().dataSync() as Float32Array);
  result.classifier.dispose();
  return { losses: records.map((r) => r.miniBatchLoss), weights };
}

describe('training with the fused wasm kernels', () => {
  it('gives the numbers of the plain tfjs path: 10 iterations of the seed network, same seed and data', async () => {
    const fused = await run();
    const plain = await withoutFusedKernels(run);
    expect(fused.losses).toHaveLength(10);
    // Both paths compute the same formulas in float32 but round differently (a polynomial exp,
    // sums in other orders, batch statistics summed in double): about 1e-7 relative per value.
    // Ten SGD steps at learning rate 0.01 carry those differences forward without amplifying
    // them much. Every weight (moving statistics included) agrees to 1e-5 relative plus 1e-6
    // absolute (the conv bias, whose gradient batch norm cancels, is rounding noise near 0). The
    // logits are sums of 11,520 products, so the losses get 2e-5 absolute (seen: 5e-6). A wrong
    // formula anywhere moves them by orders of magnitude more within two steps.
    expect(worstMismatch(fused.losses, plain.losses, 2e-5, 1e-5)).toBeLessThanOrEqual(1);
    fused.weights.forEach((w, k) => expect(worstMismatch(w, plain.weights[k]!, 1e-6, 1e-5), `weight ${k}`).toBeLessThanOrEqual(1));
  });
});
