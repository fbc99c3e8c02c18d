import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { PNG } from 'pngjs';
import { checkDeclaredImageSize } from './image-size.js';

const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  /** 0 grey, 2 RGB, 3 palette, 4 grey and alpha, 6 RGBA. */
  colourType: number;
}

/** What a PNG's IHDR chunk (always the first, right after the signature) declares, without decoding. */
export function pngHeader(buffer: Buffer): PngHeader {
  if (buffer.length < 26 || !buffer.subarray(0, 8).equals(signature)) throw new Error('no PNG signature');
  if (buffer.toString('latin1', 12, 16) !== 'IHDR') throw new Error('the first chunk is not IHDR');
  return { width: buffer.readUInt32BE(16), height: buffer.readUInt32BE(20), bitDepth: buffer[24]!, colourType: buffer[25]! };
}

/** Whether a chunk of `type` comes before the image data (IDAT), where the chunks that describe the image are. */
export function pngHasChunk(buffer: Buffer, type: string): boolean {
  for (let at = 8; at + 8 <= buffer.length; ) {
    const name = buffer.toString('latin1', at + 4, at + 8);
    if (name === type) return true;
    if (name === 'IDAT') return false;
    at += 12 + buffer.readUInt32BE(at);
  }
  return false;
}

/** Up to this many pixels a PNG decodes on the calling thread (about 20 ms for 256x256 on one slow core). */
const inlinePixels = 256 * 256;

/**
 * A PNG as a float image in [0, 1] with `channels` channels (HWC): grey is luminance, colour is
 * RGB; transparency is composited over black, the background of the digits. The size the header
 * declares is checked against `maxPixels` (ImageSizeError) before anything is decoded. Larger
 * images decode in a worker thread: pngjs holds its thread for about 40 ms a 512x512 image and
 * seconds at 2048x2048 (its streaming parser too, in one final synchronous step).
 */
export async function decodePng(buffer: Buffer, channels: 1 | 3, maxPixels: number): Promise<{ width: number; height: number; pixels: Float32Array }> {
  const declared = pngHeader(buffer);
  checkDeclaredImageSize(declared, maxPixels);
  const { width, height, data } = declared.width * declared.height <= inlinePixels ? PNG.sync.read(buffer) : await decodeInWorker(buffer);
  const pixels = new Float32Array(width * height * channels);
  for (let i = 0; i < width * height; i++) {
    const k = data[4 * i + 3]! / (255 * 255);
    const r = data[4 * i]! * k;
    const g = data[4 * i + 1]! * k;
    const b = data[4 * i + 2]! * k;
    if (channels === 1) {
      pixels[i] = 0.299 * r + 0.587 * g + 0.114 * b;
    } else {
      pixels[3 * i] = r;
      pixels[3 * i + 1] = g;
      pixels[3 * i + 2] = b;
    }
  }
  return { width, height, pixels };
}

/** A float image in [0, 1] (HWC, 1 or 3 channels) as a PNG: tests, examples and the misclassified images of a model. */
export function encodePng(pixels: ArrayLike<number>, width: number, height: number, channels: 1 | 3): Buffer {
  const png = new PNG({ width, height });
  for (let i = 0; i < width * height; i++) {
    const at = (c: number) => Math.round(Math.min(1, Math.max(0, pixels[i * channels + (channels === 1 ? 0 : c)]!)) * 255);
    png.data[4 * i] = at(0);
    png.data[4 * i + 1] = at(1);
    png.data[4 * i + 2] = at(2);
    png.data[4 * i + 3] = 255;
  }
  return PNG.sync.write(png);
}

// The worker is plain CommonJS given as source (no TypeScript loader needed under tsx or from dist/),
// requiring pngjs by the path this module resolves.
const decoderSource = `
const { parentPort, workerData } = require('node:worker_threads');
const { PNG } = require(workerData.pngjs);
try {
  const png = PNG.sync.read(Buffer.from(workerData.bytes.buffer, workerData.bytes.byteOffset, workerData.bytes.byteLength));
  const whole = png.data.byteOffset === 0 && png.data.byteLength === png.data.buffer.byteLength;
  parentPort.postMessage({ width: png.width, height: png.height, data: png.data }, whole ? [png.data.buffer] : []);
} catch (err) {
  parentPort.postMessage({ error: String((err && err.message) || err) });
}`;
const pngjsPath = createRequire(import.meta.url).resolve('pngjs');

// At most this many decoder threads at once; further large images wait for a slot, so a burst of
// requests cannot start a thread each.
const maxDecoders = Math.max(1, availableParallelism() - 1);
let decoders = 0;
const waiting: (() => void)[] = [];

async function decodeInWorker(buffer: Buffer): Promise<{ width: number; height: number; data: Uint8Array }> {
  if (decoders < maxDecoders) decoders += 1;
  else await new Promise<void>((takeSlot) => waiting.push(takeSlot));
  try {
    return await runDecoder(buffer);
  } finally {
    // Hand the slot straight to the next waiting image, or give it back.
    const next = waiting.shift();
    if (next) next();
    else decoders -= 1;
  }
}

function runDecoder(buffer: Buffer): Promise<{ width: number; height: number; data: Uint8Array }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(decoderSource, { eval: true, workerData: { pngjs: pngjsPath, bytes: buffer } });
    worker.once('message', (m: { width: number; height: number; data: Uint8Array } | { error: string }) => ('error' in m ? reject(new Error(m.error)) : resolve(m)));
    worker.once('error', reject);
    // Settles nothing after a message; otherwise the decoder died without one.
    worker.once('exit', (code) => reject(new Error(`the PNG decoder stopped (exit code ${code})`)));
  });
}
