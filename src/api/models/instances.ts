import type { Problem } from '../../nn/problems.js';
import type { Size3 } from '../../nn/spec.js';
import { yieldToEventLoop } from '../../nn/yield.js';

/**
 * Reads predict instances into one float array: each instance an image as nested [h][w][c] arrays,
 * [h][w] when c is 1, or a flat list of h*w*c numbers (row-major, channels last). Every malformed
 * instance is reported with its index and the expected shape. Reads `predictChunk` instances at a time with
 * the event loop let run between chunks: MAX_PREDICT_INSTANCES of them at once would hold the
 * API's loop too long.
 */
export async function readInstances(instances: unknown[], [h, w, c]: Size3): Promise<{ pixels: Float32Array; problems: Problem[] }> {
  const per = h * w * c;
  const pixels = new Float32Array(instances.length * per);
  const problems: Problem[] = [];
  const expected = `a ${h}x${w}x${c} image: [${h}][${w}]${c === 1 ? '' : `[${c}]`} nested arrays${c === 1 ? ` (or [${h}][${w}][1])` : ''}, or ${per} numbers`;
  for (let i = 0; i < instances.length; i++) {
    if (i > 0 && i % predictChunk === 0) await yieldToEventLoop();
    const values = flatten(instances[i], [h, w, c]);
    const path = `instances[${i}]`;
    if (typeof values === 'string') {
      problems.push({ path, message: `${path}: expected ${expected}; ${values}` });
      continue;
    }
    const bad = values.findIndex((v) => typeof v !== 'number' || !Number.isFinite(v));
    if (bad >= 0) {
      problems.push({ path, message: `${path}: value ${bad} is ${JSON.stringify(values[bad]) ?? 'missing'}, not a finite number` });
      continue;
    }
    pixels.set(values as number[], i * per);
  }
  return { pixels, problems };
}

/** How many images predict reads, runs through the network or describes between yields to the event loop. */
export const predictChunk = 32;

/** The instance's numbers in HWC order, or a sentence saying how its shape is wrong. */
function flatten(instance: unknown, [h, w, c]: Size3): unknown[] | string {
  if (!Array.isArray(instance)) return `got ${instance === null ? 'null' : typeof instance}`;
  if (instance.length === h * w * c && !Array.isArray(instance[0])) return instance;
  if (instance.length !== h) return `got an array of ${instance.length}`;
  const out: unknown[] = [];
  for (let y = 0; y < h; y++) {
    const row = instance[y];
    if (!Array.isArray(row) || row.length !== w) return `row ${y} is not an array of ${w}`;
    for (let x = 0; x < w; x++) {
      const cell = row[x];
      if (Array.isArray(cell)) {
        if (cell.length !== c) return `pixel [${y}][${x}] has ${cell.length} channels, not ${c}`;
        out.push(...cell);
      } else if (c === 1) {
        out.push(cell);
      } else {
        return `pixel [${y}][${x}] is not an array of ${c} channels`;
      }
    }
  }
  return out;
}
