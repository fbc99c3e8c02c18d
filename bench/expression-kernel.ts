/**
 * The custom-layer expression kernel (expression.c) alone against the built-in ELU kernels
 * (elu.c) on the seed's ELU tensor, [128, 24, 24, 20]: forward and backward of
 * bench/zoo/seed-custom-elu.json's layer, then of eluWithAlpha, each the fastest of --repeats runs (the machine is shared).
 *
 *   npx tsx bench/expression-kernel.ts [--repeats 30]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/nn/backend.js';
import { fusedLayerFunction } from '../src/nn/custom/fused.js';
import { programFor } from '../src/nn/custom/program.js';
import { definitionFromJson } from '../src/nn/custom/validate.js';
import { eluWithAlpha } from '../src/nn/ops/elu.js';
import type { Size3 } from '../src/nn/spec.js';

const { values } = parseArgs({ options: { repeats: { type: 'string', default: '30' } } });
const repeats = Number(values.repeats);
await initBackend('wasm');

const size: Size3 = [24, 24, 20];
const shape = [128, ...size];
const network = JSON.parse(readFileSync(new URL('./zoo/seed-custom-elu.json', import.meta.url), 'utf8')) as { layers: { type: string }[] };
const { type: _type, name: _name, ...definition } = network.layers.find((l) => l.type === 'custom') as Record<string, unknown>;
const programmed = programFor(definitionFromJson(definition, 'myElu'), size);
if (!programmed.ok) throw new Error(JSON.stringify(programmed.errors));
const custom = fusedLayerFunction(programmed.program);

/** Fastest milliseconds of forward alone and of forward plus backward, for one layer function. */
function time(layer: (x: tf.Tensor, alpha: tf.Tensor) => tf.Tensor): { forward: number; backward: number } {
  const x = tf.randomNormal(shape);
  const dz = tf.randomNormal(shape);
  const alpha = tf.randomUniform([size[2]], 0.1, 1);
  const gradients = tf.grads((xs: tf.Tensor, a: tf.Tensor) => layer(xs, a));
  const median = (f: () => tf.Tensor[]) => {
    const ms: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const start = performance.now();
      const out = f();
      out.forEach((t) => t.dataSync());
      ms.push(performance.now() - start);
      tf.dispose(out);
    }
    return Math.min(...ms);
  };
  const forward = median(() => [layer(x, alpha)]);
  const both = median(() => gradients([x, alpha], dz));
  tf.dispose([x, dz, alpha]);
  return { forward, backward: both - forward };
}

for (const [name, layer] of [
  ['custom ELU (expression.c)', (x: tf.Tensor, alpha: tf.Tensor) => custom(x, [alpha])],
  ['built-in ELU (elu.c)', eluWithAlpha],
] as const) {
  time(layer); // warm up: tier-up and the backend's allocations
  const { forward, backward } = time(layer);
  console.log(`${name.padEnd(26)} forward ${forward.toFixed(2)} ms  backward ${backward.toFixed(2)} ms`);
}
