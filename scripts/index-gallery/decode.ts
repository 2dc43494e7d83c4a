/**
 * Decode one gallery file for the encoder, or say precisely why it cannot be indexed: empty,
 * not an image, an image format genir does not index, a decompression bomb (over sharp's
 * `limitInputPixels`), or truncated/corrupt data. Pixels come from the encoder's own
 * preprocessing (toRgbPixels), so gallery vectors match query vectors.
 */
import sharp, { type Metadata } from 'sharp';
import { pngSize, toRgbPixels } from '../../adapters/encode/onnx/index.ts';
import type { Preprocessing } from '../../core/ports.ts';

export type BadKind =
  | 'empty'
  | 'not-an-image'
  | 'unsupported-format'
  | 'too-many-pixels'
  | 'corrupt'
  | 'unreadable';

export class BadImageError extends Error {
  override readonly name = 'BadImageError';
  constructor(
    readonly kind: BadKind,
    message: string,
  ) {
    super(message);
  }
}

export interface DecodedImage {
  pixels: Uint8Array;
  width: number;
  height: number;
  format: string;
}

/** Formats genir indexes (sharp's names; AVIF is reported as heif with av1 compression). */
const INDEXED_FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff', 'heif']);

/** Recognizable image (and image-like) formats that are not indexed, by magic bytes. */
function sniffUnsupported(bytes: Buffer): string | null {
  const head = bytes.subarray(0, 64);
  const ascii = head.toString('latin1');
  if (
    ascii.startsWith('BM') &&
    bytes.length > 26 &&
    [12, 40, 52, 56, 64, 108, 124].includes(bytes.readUInt32LE(14))
  )
    return 'BMP';
  if (head[0] === 0 && head[1] === 0 && head[2] === 1 && head[3] === 0) return 'ICO';
  if (ascii.startsWith('8BPS')) return 'PSD';
  if (ascii.startsWith('%PDF')) return 'PDF';
  if (/^\s*(<\?xml[^>]*>\s*)?<svg[\s>]/i.test(bytes.subarray(0, 512).toString('utf8'))) return 'SVG';
  if (ascii.slice(4, 8) === 'ftyp') {
    const brand = ascii.slice(8, 12);
    if (/^(heic|heix|hevc|hevx|mif1|msf1|heim|heis)$/.test(brand)) return 'HEIC';
  }
  if (head[0] === 0xff && head[1] === 0x0a) return 'JPEG XL';
  if (ascii.startsWith('\u0000\u0000\u0000\u000cJXL ')) return 'JPEG XL';
  return null;
}

function formatName(meta: Metadata): string {
  if (meta.format === 'heif') return meta.compression === 'av1' ? 'avif' : 'heic';
  return meta.format ?? 'unknown';
}

function classifySharpError(err: unknown, limitInputPixels: number): BadImageError {
  const message = err instanceof Error ? err.message : String(err);
  if (/unsupported image format/i.test(message)) return new BadImageError('not-an-image', 'not an image');
  if (/pixel limit/i.test(message)) {
    return new BadImageError(
      'too-many-pixels',
      `more than ${Math.round(limitInputPixels / 1e6)} megapixels (decompression bomb guard)`,
    );
  }
  return new BadImageError('corrupt', `truncated or corrupt image (${message.split('\n')[0]})`);
}

function tooManyPixels(w: number, h: number, limit: number): BadImageError {
  return new BadImageError(
    'too-many-pixels',
    `${w}×${h} is more than ${Math.round(limit / 1e6)} megapixels (decompression bomb guard)`,
  );
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
    throw classifySharpError(err, limitInputPixels);
  }
}

export async function decodeForIndex(
  bytes: Buffer,
  preprocessing: Preprocessing,
  limitInputPixels: number,
): Promise<DecodedImage> {
  if (bytes.length === 0) throw new BadImageError('empty', 'empty file (0 bytes)');
  const png = pngSize(bytes);
  if (png) {
    if (png.width * png.height > limitInputPixels)
      throw tooManyPixels(png.width, png.height, limitInputPixels);
    const pixels = await decodePixels(bytes, preprocessing, limitInputPixels, png.width * png.height);
    return { pixels, width: png.width, height: png.height, format: 'png' };
  }
  const sniffed = sniffUnsupported(bytes);
  if (sniffed) throw new BadImageError('unsupported-format', `unsupported format (${sniffed})`);
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels }).metadata();
  } catch (err) {
    const bad = classifySharpError(err, limitInputPixels);
    if (bad.kind === 'too-many-pixels') {
      // Reading the header alone is safe: name the claimed size.
      const header = await sharp(bytes, { limitInputPixels: false })
        .metadata()
        .catch(() => null);
      if (header?.width && header.height) throw tooManyPixels(header.width, header.height, limitInputPixels);
    }
    throw bad;
  }
  const format = formatName(meta);
  if (!meta.format || !INDEXED_FORMATS.has(meta.format) || format === 'heic') {
    throw new BadImageError('unsupported-format', `unsupported format (${format.toUpperCase()})`);
  }
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  if (w * h > limitInputPixels) throw tooManyPixels(w, h, limitInputPixels);
  const pixels = await decodePixels(bytes, preprocessing, limitInputPixels, w * h);
  const rotated = (meta.orientation ?? 1) >= 5;
  return { pixels, width: rotated ? h : w, height: rotated ? w : h, format };
}
