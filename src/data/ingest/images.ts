import bmp from 'bmp-js';
import { PNG } from 'pngjs';
import sharp, { type Metadata, type OutputInfo, type Sharp } from 'sharp';
import { checkDeclaredImageSize, ImageSizeError } from '../image-size.js';
import { pngHasChunk, pngHeader } from '../png.js';

/**
 * Image decoding and conversion for ingestion, with sharp (libvips). BMP, which sharp's prebuilt
 * libvips does not read, is decoded by bmp-js and handed to sharp as raw pixels. Every image's
 * declared size is checked against the pixel cap from its header before anything is decoded.
 *
 * Datasets are mostly many small PNGs already of the dataset's size, where a sharp call costs ten
 * times the decoding (about 0.9 ms of CPU for a 28x28 digit, header read and pipeline, against 80 us
 * for pngjs): those are read from their IHDR chunk and decoded by pngjs on the calling thread (up to
 * 256x256), giving the very bytes sharp's pipeline would (test/data/ingest/images.test.ts compares
 * them). Anything larger, or that needs resizing, a colour conversion or a colour profile goes
 * through sharp.
 */

// Dataset images are small and many: one libvips thread per image, and parallelism across images
// (the libuv pool) instead, which wastes less on thread start-up and keeps the machine's cores shared.
sharp.concurrency(1);

export type ImageFormat = 'png' | 'jpeg' | 'webp' | 'tiff' | 'bmp';
export type SizeMode = 'resize' | 'centercrop';
export type Channels = 1 | 3;

export interface ImageHeader {
  format: ImageFormat;
  width: number;
  height: number;
  /** 1 for grey (with or without alpha), 3 for colour (with or without alpha). */
  channels: Channels;
}

export interface ConversionTarget {
  height: number;
  width: number;
  channels: Channels;
  sizeMode: SizeMode;
}

/** Why an image was left out; `reason` is the skip reason (a short phrase, shared by many images). */
export class ImageSkip extends Error {
  constructor(readonly reason: string, detail?: string) {
    super(detail ? `${reason}: ${detail}` : reason);
    this.name = 'ImageSkip';
  }
}

const sharpFormats = new Set(['png', 'jpeg', 'webp', 'tiff']);
const isBmp = (bytes: Buffer) => bytes.length >= 26 && bytes[0] === 0x42 && bytes[1] === 0x4d;

/** The BMP header's size (top-down images declare a negative height). */
function bmpDeclaredSize(bytes: Buffer): { width: number; height: number } {
  return { width: bytes.readInt32LE(18), height: Math.abs(bytes.readInt32LE(22)) };
}

/** Reads the header only: format, size, channels; refuses sizes past `maxPixels`. */
export async function readImageHeader(bytes: Buffer, maxPixels: number): Promise<ImageHeader> {
  const png = plainPngHeader(bytes);
  if (png) {
    checkSize(png, maxPixels);
    return png;
  }
  if (isBmp(bytes)) {
    const declared = bmpDeclaredSize(bytes);
    checkSize(declared, maxPixels);
    const bitsPerPixel = bytes.readUInt16LE(28);
    return { format: 'bmp', ...declared, channels: bitsPerPixel <= 8 ? 1 : 3 };
  }
  let meta: Metadata;
  try {
    // Only the header is read here; the cap is ours (below), so sharp's own must not pre-empt its wording.
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch {
    throw new ImageSkip('not a readable image');
  }
  if (!meta.format || !sharpFormats.has(meta.format)) throw new ImageSkip('unsupported image format', meta.format);
  const declared = { width: meta.width ?? 0, height: meta.height ?? 0 };
  checkSize(declared, maxPixels);
  const colours = (meta.channels ?? 1) - (meta.hasAlpha ? 1 : 0);
  return { format: meta.format as ImageFormat, ...declared, channels: colours >= 3 ? 3 : 1 };
}

/**
 * Largest PNG decoded by pngjs, which holds the calling thread (a few ms at this size); larger
 * ones go to sharp, off the thread, where its per-call cost is small beside the decoding.
 */
const pngjsPixels = 256 * 256;

/** 8-bit grey or colour PNGs (with or without alpha), whose header is read without sharp. */
const plainPngTypes = new Map<number, Channels>([[0, 1], [4, 1], [2, 3], [6, 3]]);

/**
 * The header of a PNG that pngjs decodes exactly as sharp does: 8 bits, not a palette (libvips
 * decides their channels), no colour profile (sharp would apply it). Null for any other image.
 */
function plainPngHeader(bytes: Buffer): ImageHeader | null {
  let declared;
  try {
    declared = pngHeader(bytes);
  } catch {
    return null;
  }
  const channels = plainPngTypes.get(declared.colourType);
  if (declared.bitDepth !== 8 || channels === undefined || pngHasChunk(bytes, 'iCCP')) return null;
  return { format: 'png', width: declared.width, height: declared.height, channels };
}

function checkSize(declared: { width: number; height: number }, maxPixels: number): void {
  try {
    checkDeclaredImageSize(declared, maxPixels);
  } catch (err) {
    if (err instanceof ImageSizeError) throw new ImageSkip('image too large to decode', err.message);
    throw err;
  }
}

/**
 * The image converted to `target`: height x width x channels uint8, row-major, channels last.
 * `resize` stretches to the target size; `centercrop` scales the shorter side to fit and crops the
 * centre (augmentedImageDatastore's OutputSizeMode). Alpha is dropped; colour becomes grey by
 * luminance for one channel, grey is repeated for three.
 */
export async function convertImage(bytes: Buffer, target: ConversionTarget, maxPixels: number, knownHeader?: ImageHeader): Promise<Buffer> {
  // A header read (and checked against the same cap) in an earlier pass over the same bytes is reused.
  const header = knownHeader ?? (await readImageHeader(bytes, maxPixels));
  const shortcut = header.width === target.width && header.height === target.height && header.width * header.height <= pngjsPixels;
  const decoded = shortcut ? decodePlainPng(bytes, target.channels) : null;
  return decoded ?? convertWithSharp(bytes, header, target, maxPixels);
}

/** The conversion every image can take (and the reference the pngjs shortcut must equal). */
export async function convertWithSharp(bytes: Buffer, header: ImageHeader, target: ConversionTarget, maxPixels: number): Promise<Buffer> {
  const input = header.format === 'bmp' ? bmpToRaw(bytes) : sharp(bytes, { limitInputPixels: maxPixels, failOn: 'error' });
  return convertPipeline(input, target);
}

/**
 * A plain PNG (see plainPngHeader) of the target's size, decoded by pngjs to `channels` without
 * resizing: alpha dropped, grey kept or repeated, colour kept. Null when it is not such a PNG, is
 * colour for a grey target (libvips's luminance is sharp's to compute), or pngjs cannot read it
 * (sharp then decides whether it is corrupt).
 */
function decodePlainPng(bytes: Buffer, channels: Channels): Buffer | null {
  const header = plainPngHeader(bytes);
  if (!header || (header.channels === 3 && channels === 1)) return null;
  let rgba: Buffer;
  try {
    rgba = PNG.sync.read(bytes).data;
  } catch {
    return null;
  }
  const pixels = header.width * header.height;
  if (rgba.length !== pixels * 4) return null;
  const out = Buffer.allocUnsafe(pixels * channels);
  // pngjs gives RGBA whatever the PNG holds (grey repeated in R, G and B).
  if (channels === 1) for (let i = 0; i < pixels; i++) out[i] = rgba[4 * i]!;
  else for (let i = 0, o = 0; i < pixels; i++, o += 3) {
    out[o] = rgba[4 * i]!;
    out[o + 1] = rgba[4 * i + 1]!;
    out[o + 2] = rgba[4 * i + 2]!;
  }
  return out;
}

/** Raw grey pixels (an IDX image) converted to `target`. */
export function convertGrey(pixels: Uint8Array, width: number, height: number, target: ConversionTarget): Promise<Buffer> {
  if (width === target.width && height === target.height && target.channels === 1) return Promise.resolve(Buffer.from(pixels));
  return convertPipeline(sharp(pixels, { raw: { width, height, channels: 1 } }), target);
}

async function convertPipeline(image: Sharp, { height, width, channels, sizeMode }: ConversionTarget): Promise<Buffer> {
  image = image.resize(width, height, { fit: sizeMode === 'resize' ? 'fill' : 'cover', position: 'centre' }).removeAlpha();
  image = channels === 1 ? image.toColourspace('b-w') : image.toColourspace('srgb');
  let out: { data: Buffer; info: OutputInfo };
  try {
    out = await image.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new ImageSkip('corrupt image', (err as Error).message);
  }
  if (out.info.channels !== channels || out.data.length !== height * width * channels) {
    throw new ImageSkip('corrupt image', `converted to ${out.info.width}x${out.info.height}x${out.info.channels}`);
  }
  return out.data;
}

function bmpToRaw(bytes: Buffer): Sharp {
  let decoded: { width: number; height: number; data: Buffer };
  try {
    decoded = bmp.decode(bytes);
  } catch (err) {
    throw new ImageSkip('corrupt image', (err as Error).message);
  }
  const { width, height, data } = decoded;
  if (data.length < width * height * 4) throw new ImageSkip('corrupt image', 'the BMP holds fewer pixels than it declares');
  // bmp-js gives ABGR per pixel.
  const rgb = Buffer.alloc(width * height * 3);
  for (let i = 0, o = 0; o < rgb.length; i += 4, o += 3) {
    rgb[o] = data[i + 3]!;
    rgb[o + 1] = data[i + 2]!;
    rgb[o + 2] = data[i + 1]!;
  }
  return sharp(rgb, { raw: { width, height, channels: 3 } });
}
