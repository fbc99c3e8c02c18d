import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { trainingFlops } from '../../bench/training-flops.js';
import { wasmPeakGflops } from '../../bench/wasm-peak.js';
import { validateNetwork } from '../../src/nn/spec.js';

const network = (file: string) => {
  const validated = validateNetwork(JSON.parse(readFileSync(file, 'utf8')));
  if (!validated.ok) throw new Error(`${file} did not validate`);
  return validated.value;
};

describe('trainingFlops', () => {
  it('counts the seed: a first convolution without its input gradient, and a fully connected head with one', () => {
    // conv 5x5x1 -> 24x24x20 reads the image: forward and weights' gradient only.
    const conv = 128 * 24 * 24 * 20 * (5 * 5 * 1) * 2;
    // fully connected 24x24x20 -> 10: forward, weights' gradient and input gradient.
    const fc = 128 * 10 * (24 * 24 * 20) * 3;
    expect(trainingFlops(network('bench/zoo/seed.json'), 128)).toBe(2 * (conv + fc));
  });

  it('counts a strided convolution by its outputs and scales with the batch', () => {
    const strided = network('bench/zoo/strided.json');
    // 28x28x1 -> 14x14x16 (3x3, stride 2), reads the image.
    const first = 14 * 14 * 16 * 9 * 2;
    // 14x14x16 -> 7x7x32, 7x7x32 -> 4x4x32, both 3x3; then 4x4x32 -> 10.
    const rest = (7 * 7 * 32 * 9 * 16 + 4 * 4 * 32 * 9 * 32 + 10 * 4 * 4 * 32) * 3;
    expect(trainingFlops(strided, 1)).toBe(2 * (first + rest));
    expect(trainingFlops(strided, 64)).toBe(64 * trainingFlops(strided, 1));
  });
});

describe('wasmPeakGflops', () => {
  it('compiles its hand-written module and measures a rate on one and two threads', async () => {
    for (const threads of [1, 2]) {
      const rate = await wasmPeakGflops(threads, { steps: 200_000, rounds: 1 });
      expect(rate).toBeGreaterThan(0);
      expect(Number.isFinite(rate)).toBe(true);
    }
  });
});
