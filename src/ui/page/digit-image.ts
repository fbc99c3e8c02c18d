/**
 * Turns a drawing into a model input the way MNIST's digits were made: the strokes' bounding box
 * is scaled to fit a box 20/28 of the image's side (keeping its aspect), and the result is placed
 * so that its centre of mass is the image's centre. Values stay in [0, 1], white on black. A
 * drawing fed in as drawn (small, off-centre) looks nothing like the training data and is
 * misread; this makes the prediction depend on the digit's shape.
 */
export interface Grey {
  width: number;
  height: number;
  /** Row-major, one value in [0, 1] a pixel. */
  pixels: Float32Array;
}

const ink = 0.05;
const digitBox = 20 / 28;

export function toModelInput(drawing: Grey, width: number, height: number): Float32Array {
  const out = new Float32Array(width * height);
  const bounds = inkBounds(drawing);
  if (!bounds) return out;
  const scale = (digitBox * Math.min(width, height)) / Math.max(bounds.right - bounds.left, bounds.bottom - bounds.top);
  const { x: cx, y: cy } = centreOfMass(drawing);
  // Output pixel (ox, oy) covers the drawing's area [(ox - width/2) / scale + cx, ... + 1 / scale).
  for (let oy = 0; oy < height; oy++) {
    const [y0, y1] = sourceSpan(oy, height, cy, scale, drawing.height);
    for (let ox = 0; ox < width; ox++) {
      const [x0, x1] = sourceSpan(ox, width, cx, scale, drawing.width);
      out[oy * width + ox] = areaMean(drawing, x0, x1, y0, y1);
    }
  }
  return out;
}

/** The drawing's pixels under one output pixel: at least one, clipped to the drawing. */
function sourceSpan(o: number, size: number, centre: number, scale: number, limit: number): [number, number] {
  const start = Math.floor((o - size / 2) / scale + centre);
  const end = Math.max(start + 1, Math.floor((o + 1 - size / 2) / scale + centre));
  return [Math.max(0, start), Math.min(limit, end)];
}

function areaMean(g: Grey, x0: number, x1: number, y0: number, y1: number): number {
  if (x1 <= x0 || y1 <= y0) return 0;
  let sum = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) sum += g.pixels[y * g.width + x]!;
  return sum / ((x1 - x0) * (y1 - y0));
}

function inkBounds(g: Grey): { left: number; right: number; top: number; bottom: number } | null {
  let [left, right, top, bottom] = [g.width, -1, g.height, -1];
  for (let y = 0; y < g.height; y++) {
    for (let x = 0; x < g.width; x++) {
      if (g.pixels[y * g.width + x]! <= ink) continue;
      left = Math.min(left, x);
      right = Math.max(right, x + 1);
      top = Math.min(top, y);
      bottom = Math.max(bottom, y + 1);
    }
  }
  return right < 0 ? null : { left, right, top, bottom };
}

function centreOfMass(g: Grey): { x: number; y: number } {
  let [mass, sx, sy] = [0, 0, 0];
  for (let y = 0; y < g.height; y++) {
    for (let x = 0; x < g.width; x++) {
      const v = g.pixels[y * g.width + x]!;
      mass += v;
      sx += v * (x + 0.5);
      sy += v * (y + 0.5);
    }
  }
  return { x: sx / mass, y: sy / mass };
}
