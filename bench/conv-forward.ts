/**
 * trainyard's forward convolution kernel (conv2d_forward.c) against tfjs-backend-wasm's
 * FusedConv2D (XNNPACK) on the convolution shapes of bench/zoo's networks (batch 128), back to
 * back: each shape's runs alternate between the two, and the fastest of each (the least disturbed
 * by other processes on a shared machine) is printed with the
 * rate it reached (2 flops a multiply-add) and the largest difference between their outputs.
 * The rule in src/nn/kernels/conv2d-with-bias.ts (ourKernelIsFaster) comes from these figures.
 *
 *   TRAINYARD_THREADS=1 npm run bench:conv-forward -- [--runs 15] [--only 3x3]
 */
import * as tf from '@tensorflow/tfjs-core';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { initBackend } from '../src/nn/backend.js';
import { conv2dOnWasm } from '../src/nn/kernels/conv2d-with-bias.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '15' }, only: { type: 'string' } } });
const runs = Number(values.runs);

interface Shape {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number;
  pad: 'same' | 'valid';
  dilation: number;
  zoo: string;
}
const shape = (x: Shape['x'], filter: Shape['filter'], pad: Shape['pad'], zoo: string, strides = 1, dilation = 1): Shape => ({ x, filter, strides, pad, dilation, zoo });
const shapes: Shape[] = [
  shape([128, 28, 28, 1], [5, 5, 1, 20], 'valid', 'seed'),
  shape([128, 28, 28, 1], [5, 5, 1, 16], 'valid', 'avgpool-leaky'),
  shape([128, 28, 28, 1], [3, 3, 1, 8], 'same', 'matlab-basic'),
  shape([128, 28, 28, 1], [3, 3, 1, 16], 'same', 'elu-gap, residual'),
  shape([128, 28, 28, 1], [5, 5, 1, 16], 'same', 'mixed', 2),
  shape([128, 32, 32, 3], [3, 3, 3, 32], 'same', 'wide-rgb32'),
  shape([128, 14, 14, 8], [3, 3, 8, 16], 'same', 'matlab-basic'),
  shape([128, 7, 7, 16], [3, 3, 16, 32], 'same', 'matlab-basic'),
  shape([128, 14, 14, 16], [3, 3, 16, 32], 'same', 'elu-gap'),
  shape([128, 12, 12, 16], [5, 5, 16, 32], 'valid', 'avgpool-leaky'),
  shape([128, 12, 12, 12], [3, 3, 12, 24], 'valid', 'tanh-dropout'),
  shape([128, 28, 28, 16], [3, 3, 16, 16], 'same', 'residual, dilated-clipped'),
  shape([128, 28, 28, 16], [3, 3, 16, 16], 'same', 'dilated-clipped', 1, 2),
  shape([128, 28, 28, 16], [3, 3, 16, 32], 'same', 'residual', 2),
  shape([128, 14, 14, 16], [5, 5, 16, 32], 'same', 'mixed', 1, 2),
  shape([128, 7, 7, 32], [3, 3, 32, 48], 'same', 'mixed'),
  shape([128, 16, 16, 32], [3, 3, 32, 64], 'same', 'wide-rgb32'),
  shape([128, 8, 8, 64], [3, 3, 64, 64], 'same', 'wide-rgb32'),
  // Beyond the zoo: deeper layers, where the filter no longer fits in L1.
  shape([32, 16, 16, 128], [3, 3, 128, 128], 'same', 'wider'),
  shape([32, 8, 8, 256], [3, 3, 256, 256], 'same', 'wider'),
  shape([16, 8, 8, 512], [3, 3, 512, 256], 'same', 'wider'),
  shape([128, 14, 14, 64], [1, 1, 64, 128], 'valid', '1x1'),
  shape([128, 14, 14, 256], [1, 1, 256, 64], 'valid', '1x1'),
  shape([32, 32, 32, 64], [3, 3, 64, 64], 'same', 'wider'),
];

const config = loadConfig();
console.log(`backend: ${JSON.stringify(await initBackend('wasm', { threads: config.threads }))}`);
const backend = tf.backend();
const fused = tf.getKernel(tf.FusedConv2D, 'wasm')!;


console.log('x · filter · stride · dilation · pad (zoo)                          XNNPACK ms  GFLOP/s    ours ms  GFLOP/s   speed-up  max |diff|');
for (const s of shapes) {
  const label = `${s.x.join('x')} · ${s.filter.join('x')} · ${s.strides} · ${s.dilation} · ${s.pad} (${s.zoo})`;
  if (values.only && !label.includes(values.only)) continue;
  const x = tf.randomUniform(s.x, -1, 1);
  const w = tf.randomUniform(s.filter, -1, 1);
  const b = tf.randomUniform([s.filter[3]], -1, 1);
  const info = tf.backend_util.computeConv2DInfo(s.x, s.filter, s.strides, s.dilation, s.pad, 'floor');
  const { top, bottom, left, right } = info.padInfo;
  const attrs = { strides: s.strides, pad: s.pad, dataFormat: 'NHWC', dilations: s.dilation, dimRoundingMode: 'floor', activation: 'linear' } as unknown as tf.NamedAttrMap;
  const theirs = () => fused.kernelFunc({ inputs: { x, filter: w, bias: b }, attrs, backend }) as tf.TensorInfo;
  const ours = () => conv2dOnWasm(backend, x, w, b, [s.strides, s.strides], [s.dilation, s.dilation], [top, bottom, left, right]);
  const times = { theirs: [] as number[], ours: [] as number[] };
  let diff = 0;
  for (let run = 0; run < runs + 1; run++) {
    for (const side of ['theirs', 'ours'] as const) {
      const start = performance.now();
      const out = (side === 'theirs' ? theirs : ours)();
      const elapsed = performance.now() - start;
      if (run > 0) times[side].push(elapsed);
      if (run === 0 && side === 'ours') {
        const reference = theirs();
        const [a, r] = [backend.readSync(out.dataId) as Float32Array, backend.readSync(reference.dataId) as Float32Array];
        for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i]! - r[i]!));
        backend.disposeData(reference.dataId);
      }
      backend.disposeData(out.dataId);
    }
  }
  const flops = 2 * s.x[0] * info.outHeight * info.outWidth * s.filter[0] * s.filter[1] * s.filter[2] * s.filter[3];
  const [t, o] = [Math.min(...times.theirs), Math.min(...times.ours)];
  const rate = (ms: number) => (flops / ms / 1e6).toFixed(1).padStart(8);
  console.log(`${label.padEnd(68)} ${t.toFixed(2).padStart(10)} ${rate(t)} ${o.toFixed(2).padStart(10)} ${rate(o)} ${(t / o).toFixed(2).padStart(9)}x  ${diff.toExponential(1)}`);
  tf.dispose([x, w, b]);
}
