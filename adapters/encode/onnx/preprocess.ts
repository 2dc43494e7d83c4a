/**
 * Image → model input tensor, as described by a `Preprocessing` record (stored in index headers).
 * Shared by the ONNX encoder and the gallery indexer.
 *
 * Steps: decode any format sharp reads (with a decompression-bomb guard), apply EXIF orientation,
 * flatten alpha onto white, force 3-channel sRGB, resize ('stretch' = fill the S×S square ignoring
 * aspect; 'shortest-crop' = shortest side to S with bicubic, then centre crop, as CLIP does), then
 * raw RGB bytes → float32 CHW with (x/255 − mean) / std.
 */
import sharp from 'sharp';
import type { Preprocessing } from '../../../core/ports.ts';

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
}

/** Number of floats one image occupies in the input tensor (3 × size × size). */
export function tensorLength(p: Preprocessing): number {
  return 3 * p.size * p.size;
}

/** Resize etc. with sharp; returns size×size×3 raw RGB bytes. Throws sharp's error on bad input. */
export async function toRgbPixels(
  image: Buffer,
  p: Preprocessing,
  options: PreprocessOptions = {},
): Promise<Buffer> {
  const { size } = p;
  const pipeline = sharp(image, {
    limitInputPixels: options.limitInputPixels ?? DEFAULT_LIMIT_INPUT_PIXELS,
    failOn: 'error',
    autoOrient: true,
  })
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .resize(size, size, {
      fit: p.resize === 'stretch' ? 'fill' : 'cover',
      position: 'centre',
      kernel: 'cubic',
    })
    .removeAlpha()
    .raw();
  const { data, info } = await pipeline.toBuffer({ resolveWithObject: true });
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
  let pixels: Buffer;
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
