import type { Config } from '../../src/config.js';
import { encodePng } from '../../src/data/png.js';
import { expressionLimits } from '../../src/nn/custom/syntax.js';
import { digits } from './data.js';

/**
 * The heaviest requests the API accepts with its default limits, for the tests that check the
 * event loop stays free under them and that what comes after is still right.
 */

/**
 * `wrap(x + x * 1.0001 + ...)` with `terms` terms, padded with spaces to the expression language's
 * length limit: as long as an expression may be, with few enough nodes that the memory estimate
 * accepts MAX_LAYERS of them.
 */
function nearLengthLimit(wrap: (terms: string) => string, terms = 8): string {
  const expression = wrap(Array.from({ length: terms }, (_, k) => `x * 1.${String(k + 1).padStart(4, '0')}`).join(' + '));
  return expression.padEnd(expressionLimits.maxLength, ' ');
}

/** A custom layer with two learnables whose four expressions are each just under the length limit. */
function longLayer(i: number) {
  return {
    type: 'custom',
    name: `long${i}`,
    learnables: { alpha: { shape: 'scalar', initializer: 'ones' }, beta: { shape: 'scalar', initializer: 'zeros' } },
    forward: nearLengthLimit((t) => `alpha * (${t}) + beta`),
    backward: {
      x: nearLengthLimit((t) => `dz * alpha * (${t})`),
      alpha: nearLengthLimit((t) => `sum(dz * (${t}), "spatial+batch+channel")`),
      beta: nearLengthLimit((t) => `sum(dz + 0 * (${t}), "spatial+batch+channel")`),
    },
  };
}

/**
 * A job of MAX_LAYERS layers, most of them custom layers with expressions near the length limit,
 * laid out (JSON indentation) to just under JOB_BODY_LIMIT_BYTES: the most JSON and the most
 * expressions one job submission makes the API parse and check.
 */
export function heaviestJobBody(config: Config): string {
  const custom = config.networkLimits.maxLayers - 4;
  const job = {
    name: 'heaviest',
    network: { layers: [{ type: 'imageInput', inputSize: [28, 28, 1] }, ...Array.from({ length: custom }, (_, i) => longLayer(i)), { type: 'fullyConnected', outputSize: 10 }, { type: 'softmax' }, { type: 'classification' }] },
    dataset: { id: 'digits', trainImages: 64 },
    options: { maxEpochs: 1, miniBatchSize: 1 },
  };
  for (let indent = 10; indent >= 0; indent--) {
    const body = JSON.stringify(job, null, indent);
    if (Buffer.byteLength(body) <= config.limits.jobBodyBytes) return body;
  }
  throw new Error('the heaviest job no longer fits JOB_BODY_LIMIT_BYTES at all');
}

/** MAX_PREDICT_INSTANCES test digits, as the JSON predict body and as one PNG each, with their labels. */
export async function largestPredict(config: Config): Promise<{ json: string; pngs: Buffer[]; labels: number[] }> {
  const n = config.predict.maxInstances;
  const { test } = await digits(10, n);
  const images = Array.from({ length: n }, (_, i) => Array.from(test.images.subarray(i * 784, (i + 1) * 784)));
  return {
    json: JSON.stringify({ instances: images }),
    pngs: images.map((image) => encodePng(image, 28, 28, 1)),
    labels: Array.from(test.labels.subarray(0, n)),
  };
}

/** A real PNG of MAX_IMAGE_PIXELS pixels (a square as near it as whole sides allow). */
export function largestPng(config: Config): Buffer {
  const side = Math.floor(Math.sqrt(config.limits.imagePixels));
  return encodePng(new Float32Array(side * side).fill(0.5), side, side, 1);
}

/** The attack's layer check: 16 learnables and a 63-term forward on 256x256x4, 1 observation (377 s on the event loop before checks had a budget and a thread). */
export const heavyLayerCheck = {
  layer: {
    type: 'custom',
    name: 'heavy',
    learnables: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`a${i}`, {}])),
    forward: Array.from({ length: 63 }, (_, i) => `a${i % 16}*x`).join('+'),
  },
  inputSize: [256, 256, 4],
  observations: 1,
};
