/**
 * Image → model input tensor, as described by a `Preprocessing` record (stored in index headers).
 * Shared by the ONNX encoder and the gallery indexer.
 *
 * Steps: decode any format sharp reads (with a decompression-bomb guard), apply EXIF orientation,
 * flatten alpha onto white, force 3-channel sRGB, resize ('stretch' = fill the S×S square ignoring
 * aspect; 'shortest-crop' = the centre square, as CLIP's shortest-side resize + centre crop), then
 * raw RGB bytes → float32 CHW with (x/255 − mean) / std.
 */
import sharp, { type Sharp, type SharpOptions } from 'sharp';
import type { Preprocessing } from '../../../core/ports.ts';
import { areaResizeRgb } from './area-resize.ts';

/** 40 megapixels: far above any gallery photo, far below a decompression bomb. */
export const DEFAULT_LIMIT_INPUT_PIXELS = 40_000_000;

/** An input image that could not be decoded (corrupt, not an image, or over the pixel limit). */
export class ImageDecodeError extends Error {
  override readonly name = 'ImageDecodeError';
  /** Position of the image in the batch given to the encoder / preprocessor. */
  readonly index: number;

  constructor(index: number, reason: string, options?: { cause?: unknown }) {
    super(`image ${index} could not be decoded: ${reason}`, options);
    this.index = index;
  }
}

export interface PreprocessOptions {
  /** sharp `limitInputPixels`; defaults to DEFAULT_LIMIT_INPUT_PIXELS. */
  limitInputPixels?: number;
  /** Width × height of the image when the caller already read its header (saves a metadata call). */
  sourcePixels?: number;
}

/** Number of floats one image occupies in the input tensor (3 × size × size). */
export function tensorLength(p: Preprocessing): number {
  return 3 * p.size * p.size;
}

/**
 * Images up to this many times the model's input area are decoded whole and shrunk by area
 * averaging (cheap at that size); larger ones let sharp shrink while decoding (JPEG/WebP decode at
 * 1/2–1/8 scale), which is far cheaper than decoding every pixel of a photo.
 */
const DECODE_WHOLE_MAX_AREA_RATIO = 16;

/** size×size×3 raw RGB bytes for the model. Throws sharp's error on bad input. */
export async function toRgbPixels(
  image: Buffer,
  p: Preprocessing,
  options: PreprocessOptions = {},
): Promise<Uint8Array> {
  const limitInputPixels = options.limitInputPixels ?? DEFAULT_LIMIT_INPUT_PIXELS;
  const area = options.sourcePixels ?? (await sourcePixels(image));
  if (area !== null && area <= DECODE_WHOLE_MAX_AREA_RATIO * p.size * p.size) {
    const { data, info } = await rgb(sharp(image, decodeOptions(limitInputPixels))).toBuffer({
      resolveWithObject: true,
    });
    const side = Math.min(info.width, info.height);
    const window =
      p.resize === 'stretch'
        ? { x: 0, y: 0, width: info.width, height: info.height }
        : { x: (info.width - side) / 2, y: (info.height - side) / 2, width: side, height: side };
    if (info.channels === 3 && window.width >= p.size && window.height >= p.size) {
      return areaResizeRgb(data, info.width, info.height, p.size, p.size, window);
    }
    // Smaller than the model input: sharp enlarges it below.
  }
  return sharpResized(image, p, limitInputPixels);
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** PNG size from its IHDR chunk (saves a sharp metadata call on the most common format). */
export function pngSize(bytes: Buffer): { width: number; height: number } | null {
  if (bytes.length < 33 || !bytes.subarray(0, 8).equals(PNG_SIGNATURE)) return null;
  if (bytes.toString('latin1', 12, 16) !== 'IHDR') return null;
  const width = bytes.readUInt32BE(16);
  const height = bytes.readUInt32BE(20);
  return width > 0 && height > 0 ? { width, height } : null;
}

async function sourcePixels(image: Buffer): Promise<number | null> {
  const png = pngSize(image);
  if (png) return png.width * png.height;
  const meta = await sharp(image).metadata();
  return meta.width && meta.height ? meta.width * meta.height : null;
}

const decodeOptions = (limitInputPixels: number): SharpOptions => ({
  limitInputPixels,
  failOn: 'error',
  autoOrient: true,
});

/** Upright, alpha flattened onto white, 3-channel sRGB raw bytes. */
function rgb(pipeline: Sharp): Sharp {
  return pipeline.flatten({ background: '#ffffff' }).toColourspace('srgb').removeAlpha().raw();
}

async function sharpResized(image: Buffer, p: Preprocessing, limitInputPixels: number): Promise<Buffer> {
  const { size } = p;
  const pipeline = sharp(image, decodeOptions(limitInputPixels)).resize(size, size, {
    fit: p.resize === 'stretch' ? 'fill' : 'cover',
    position: 'centre',
    kernel: 'cubic',
  });
  const { data, info } = await rgb(pipeline).toBuffer({ resolveWithObject: true });
  if (info.width !== size || info.height !== size || info.channels !== 3) {
    throw new Error(`unexpected decoded shape ${info.width}x${info.height}x${info.channels}`);
  }
  return data;
}

/** Write one image's normalized CHW floats into `target` starting at `offset`. */
export function writeChw(pixels: Uint8Array, p: Preprocessing, target: Float32Array, offset = 0): void {
  const plane = p.size * p.size;
  if (pixels.length !== plane * 3) throw new Error(`expected ${plane * 3} RGB bytes, got ${pixels.length}`);
  if (offset + plane * 3 > target.length) throw new Error('target tensor too small');
  for (let c = 0; c < 3; c++) {
    const scale = 1 / (255 * p.std[c]!);
    const shift = p.mean[c]! / p.std[c]!;
    const base = offset + c * plane;
    for (let i = 0; i < plane; i++) target[base + i] = pixels[i * 3 + c]! * scale - shift;
  }
}

/**
 * Preprocess one image into a new float32 CHW array (length 3·S·S).
 * Errors are ImageDecodeError with the given index (0 when used on a single image).
 */
export async function preprocessImage(
  image: Buffer,
  p: Preprocessing,
  options: PreprocessOptions & { index?: number } = {},
): Promise<Float32Array> {
  const out = new Float32Array(tensorLength(p));
  await preprocessInto(image, p, out, 0, options.index ?? 0, options);
  return out;
}

/** Preprocess one image straight into a batch tensor; errors name `index`. */
export async function preprocessInto(
  image: Buffer,
  p: Preprocessing,
  target: Float32Array,
  offset: number,
  index: number,
  options: PreprocessOptions = {},
): Promise<void> {
  if (!Buffer.isBuffer(image) && !((image as unknown) instanceof Uint8Array)) {
    throw new ImageDecodeError(index, 'not a byte buffer');
  }
  if (image.length === 0) throw new ImageDecodeError(index, 'empty input');
  let pixels: Uint8Array;
  try {
    pixels = await toRgbPixels(image, p, options);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ImageDecodeError(index, reason, { cause: err });
  }
  writeChw(pixels, p, target, offset);
}

/** Throws a descriptive error when a preprocessing record is not usable. */
export function validatePreprocessing(p: Preprocessing): void {
  if (!Number.isInteger(p.size) || p.size < 8 || p.size > 2048) throw new Error(`bad size ${p.size}`);
  if (p.resize !== 'stretch' && p.resize !== 'shortest-crop') throw new Error(`bad resize "${p.resize}"`);
  for (const key of ['mean', 'std'] as const) {
    const v = p[key];
    if (!Array.isArray(v) || v.length !== 3 || v.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
      throw new Error(`${key} must be three finite numbers`);
    }
  }
  if (p.std.some((x) => x <= 0)) throw new Error('std values must be positive');
}
