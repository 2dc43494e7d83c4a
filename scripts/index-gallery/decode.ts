/**
 * Decode one gallery file for the encoder, or say precisely why it cannot be indexed: empty,
 * not an image, an image format genir does not index, a decompression bomb (over sharp's
 * `limitInputPixels`), or truncated/corrupt data. Pixels come from the encoder's own
 * preprocessing (toRgbPixels), so gallery vectors match query vectors. The reasons are the ones
 * uploads get (adapters/pictures/sharp/image-input.ts).
 */
import type { Metadata } from 'sharp';
import { pngSize, toRgbPixels } from '../../adapters/encode/onnx/index.ts';
import {
  BadImageError,
  type BadKind,
  badImageFrom,
  readImageHeader,
  tooManyPixels,
} from '../../adapters/pictures/sharp/image-input.ts';
import type { Preprocessing } from '../../core/ports.ts';

export { BadImageError, type BadKind };

export interface DecodedImage {
  pixels: Uint8Array;
  width: number;
  height: number;
  format: string;
}

/** Formats genir indexes (sharp's names; AVIF is reported as heif with av1 compression). */
const INDEXED_FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff', 'heif']);

function formatName(meta: Metadata): string {
  if (meta.format === 'heif') return meta.compression === 'av1' ? 'avif' : 'heic';
  return meta.format ?? 'unknown';
}

async function decodePixels(
  bytes: Buffer,
  preprocessing: Preprocessing,
  limitInputPixels: number,
  sourcePixels: number,
): Promise<Uint8Array> {
  try {
    return await toRgbPixels(bytes, preprocessing, { limitInputPixels, sourcePixels });
  } catch (err) {
    throw badImageFrom(err, limitInputPixels);
  }
}

export async function decodeForIndex(
  bytes: Buffer,
  preprocessing: Preprocessing,
  limitInputPixels: number,
): Promise<DecodedImage> {
  if (bytes.length === 0) throw new BadImageError('empty', 'empty file (0 bytes)');
  // A PNG's size is in its first bytes: no need to ask sharp.
  const png = pngSize(bytes);
  if (png) {
    if (png.width * png.height > limitInputPixels)
      throw tooManyPixels(png.width, png.height, limitInputPixels);
    const pixels = await decodePixels(bytes, preprocessing, limitInputPixels, png.width * png.height);
    return { pixels, width: png.width, height: png.height, format: 'png' };
  }
  const meta = await readImageHeader(bytes, limitInputPixels);
  const format = formatName(meta);
  if (!meta.format || !INDEXED_FORMATS.has(meta.format) || format === 'heic') {
    throw new BadImageError('unsupported-format', `unsupported format (${format.toUpperCase()})`);
  }
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  const pixels = await decodePixels(bytes, preprocessing, limitInputPixels, w * h);
  const rotated = (meta.orientation ?? 1) >= 5;
  return { pixels, width: rotated ? h : w, height: rotated ? w : h, format };
}
