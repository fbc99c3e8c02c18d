/**
 * A small RGB dataset made here, without downloads, for examples/residual-rgb.json: 32x32 colour
 * PNGs of a red or blue circle, square or triangle (6 classes, so neither colour nor shape alone
 * separates them) at a random place, size and turn, on a random low-saturation background with
 * per-pixel noise. Written as `OUT/train/<class>/<n>.png` and `OUT/test/<class>/<n>.png`, the
 * layout `npm run train -- --dataset OUT` and an upload read.
 *
 * Deterministic: image k (train images first, class by class, then test) is drawn from its own
 * generator seeded with deriveSeed(seed, k), so the same seed writes the same pixels, and, with the
 * same sharp (libvips) as the lockfile's, the same bytes.
 *
 *   npx tsx examples/make-shapes-rgb.ts [OUT=shapes-rgb] [--seed 1] [--train-per-class 500] [--test-per-class 100]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { deriveSeed, Random } from '../src/nn/random.js';

export const shapeSide = 32;
const colours = ['red', 'blue'] as const;
const shapes = ['circle', 'square', 'triangle'] as const;
export const shapeClasses = colours.flatMap((colour) => shapes.map((shape) => `${colour}-${shape}`));

/** Whether the point (x, y), relative to the shape's centre, is inside a shape of "radius" r turned by angle. */
function inside(shape: (typeof shapes)[number], x: number, y: number, r: number, angle: number): boolean {
  if (shape === 'circle') return x * x + y * y <= r * r;
  if (shape === 'square') {
    // Half-side 0.85 r: about the circle's area, so size does not give the shape away.
    const u = x * Math.cos(angle) + y * Math.sin(angle);
    const v = -x * Math.sin(angle) + y * Math.cos(angle);
    return Math.abs(u) <= 0.85 * r && Math.abs(v) <= 0.85 * r;
  }
  // An equilateral triangle of circumradius 1.3 r: inside all three edges, each at the inradius (half the circumradius).
  for (let k = 0; k < 3; k++) {
    const normal = angle + (2 * Math.PI * k) / 3;
    if (x * Math.cos(normal) + y * Math.sin(normal) > 0.65 * r) return false;
  }
  return true;
}

/** Image `index` of class `label` under `seed`: 32x32 RGB pixels, row by row, as bytes. */
export function shapePixels(seed: number, index: number, label: number): Uint8Array {
  const random = new Random(deriveSeed(seed, index));
  const between = (lo: number, hi: number) => lo + (hi - lo) * random.next();
  const colour = colours[Math.floor(label / shapes.length)]!;
  const shape = shapes[label % shapes.length]!;
  const grey = between(0.15, 0.85);
  const background = [0, 1, 2].map(() => grey + between(-0.1, 0.1));
  const strong = () => between(0.65, 1);
  const weak = () => between(0, 0.3);
  const fill = colour === 'red' ? [strong(), weak(), weak()] : [weak(), weak(), strong()];
  const [r, cx, cy, angle] = [between(5, 10), between(8, 24), between(8, 24), between(0, 2 * Math.PI)];
  const pixels = new Uint8Array(shapeSide * shapeSide * 3);
  for (let y = 0; y < shapeSide; y++) {
    for (let x = 0; x < shapeSide; x++) {
      // 2x2 samples a pixel: soft edges, as a photographed shape has.
      let covered = 0;
      for (const [sx, sy] of [[0.25, 0.25], [0.75, 0.25], [0.25, 0.75], [0.75, 0.75]] as const) covered += inside(shape, x + sx - cx, y + sy - cy, r, angle) ? 0.25 : 0;
      for (let c = 0; c < 3; c++) {
        const value = covered * fill[c]! + (1 - covered) * background[c]! + between(-0.08, 0.08);
        pixels[(y * shapeSide + x) * 3 + c] = Math.round(255 * Math.min(1, Math.max(0, value)));
      }
    }
  }
  return pixels;
}

export function shapePng(seed: number, index: number, label: number): Promise<Buffer> {
  return sharp(Buffer.from(shapePixels(seed, index, label)), { raw: { width: shapeSide, height: shapeSide, channels: 3 } }).png().toBuffer();
}

/** Writes the dataset's class folders under `dir`; answers the number of images written. */
export async function writeShapesRgb(dir: string, { seed = 1, trainPerClass = 500, testPerClass = 100 } = {}): Promise<number> {
  let index = 0;
  for (const [split, perClass] of [['train', trainPerClass], ['test', testPerClass]] as const) {
    for (const [label, name] of shapeClasses.entries()) {
      const folder = path.join(dir, split, name);
      await mkdir(folder, { recursive: true });
      for (let n = 0; n < perClass; n++) await writeFile(path.join(folder, `${String(n).padStart(4, '0')}.png`), await shapePng(seed, index++, label));
    }
  }
  return index;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { seed: { type: 'string', default: '1' }, 'train-per-class': { type: 'string', default: '500' }, 'test-per-class': { type: 'string', default: '100' } },
  });
  const dir = positionals[0] ?? 'shapes-rgb';
  const count = await writeShapesRgb(dir, { seed: Number(values.seed), trainPerClass: Number(values['train-per-class']), testPerClass: Number(values['test-per-class']) });
  console.log(`${count} images of ${shapeClasses.length} classes (${shapeClasses.join(', ')}) in ${dir}/train and ${dir}/test, seed ${values.seed}`);
}
