import { describe, expect, it } from 'vitest';
import { toModelInput, type Grey } from '../../src/ui/page/digit-image.js';

/** A 280x280 drawing with a filled rectangle of ink. */
function drawing(x0: number, y0: number, x1: number, y1: number): Grey {
  const pixels = new Float32Array(280 * 280);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) pixels[y * 280 + x] = 1;
  return { width: 280, height: 280, pixels };
}

function inked(image: Float32Array, side: number) {
  let [left, right, top, bottom, mass, mx, my] = [side, -1, side, -1, 0, 0, 0];
  image.forEach((v, i) => {
    if (v <= 0) return;
    const [x, y] = [i % side, Math.floor(i / side)];
    [left, right, top, bottom] = [Math.min(left, x), Math.max(right, x), Math.min(top, y), Math.max(bottom, y)];
    mass += v;
    mx += v * (x + 0.5);
    my += v * (y + 0.5);
  });
  return { width: right - left + 1, height: bottom - top + 1, centre: [mx / mass, my / mass] };
}

describe('toModelInput: a drawing as MNIST digits were made', () => {
  it('scales a small off-centre stroke to a 20-pixel box centred by its mass', () => {
    const image = toModelInput(drawing(10, 20, 50, 120), 28, 28);
    const ink = inked(image, 28);
    expect(ink.height).toBeGreaterThanOrEqual(20);
    expect(ink.height).toBeLessThanOrEqual(21);
    expect(ink.width).toBeGreaterThanOrEqual(8);
    expect(ink.width).toBeLessThanOrEqual(9);
    expect(ink.centre[0]).toBeCloseTo(14, 0);
    expect(ink.centre[1]).toBeCloseTo(14, 0);
    expect(Math.max(...image)).toBeLessThanOrEqual(1);
    expect(Math.min(...image)).toBeGreaterThanOrEqual(0);
  });

  it('gives an empty input for an empty pad', () => {
    expect(toModelInput(drawing(0, 0, 0, 0), 28, 28).every((v) => v === 0)).toBe(true);
  });
});
