/**
 * Reading a picture someone gave us — an upload, or a file of a gallery being indexed — and saying
 * precisely, in the same words everywhere, why one cannot be used: empty, not an image, a format
 * genir does not read, more pixels than the decompression-bomb guard allows, or damaged data.
 * sharp's own messages ("Input buffer has corrupt header: …", "(Unknown error)") never reach people.
 */
import sharp, { type Metadata } from 'sharp';

/** Larger pictures are refused: a decompression bomb must not take the bot down. */
export const MAX_INPUT_PIXELS = 40_000_000;

export type BadKind = 'empty' | 'not-an-image' | 'unsupported-format' | 'too-many-pixels' | 'corrupt';

/** A picture that cannot be used; the message is the reason, as people read it. */
export class BadImageError extends Error {
  override readonly name = 'BadImageError';
  constructor(
    readonly kind: BadKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function tooManyPixels(w: number, h: number, limit: number): BadImageError {
  return new BadImageError(
    'too-many-pixels',
    `${w}×${h} is more than ${Math.round(limit / 1e6)} megapixels (decompression bomb guard)`,
  );
}

/** What a failure of sharp on some bytes means, in words (never the library's text). */
export function badImageFrom(err: unknown, limit: number): BadImageError {
  if (err instanceof BadImageError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (/unsupported image format/i.test(message))
    return new BadImageError('not-an-image', 'not an image', { cause: err });
  if (/pixel limit/i.test(message)) {
    return new BadImageError(
      'too-many-pixels',
      `more than ${Math.round(limit / 1e6)} megapixels (decompression bomb guard)`,
      { cause: err },
    );
  }
  const detail = /premature end|unexpected end|truncat|end of file|eof/i.test(message)
    ? 'the file ends early'
    : /header/i.test(message)
      ? 'its header is damaged'
      : 'its data cannot be decoded';
  return new BadImageError('corrupt', `truncated or corrupt image (${detail})`, { cause: err });
}

/** Recognizable image (and image-like) formats genir does not read, by magic bytes. */
export function sniffUnsupported(bytes: Buffer): string | null {
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

/**
 * The picture's header, checked: its size within `limit` pixels (over it, the size it claims is
 * named), or a BadImageError with the reason.
 */
export async function readImageHeader(bytes: Buffer, limit = MAX_INPUT_PIXELS): Promise<Metadata> {
  if (bytes.length === 0) throw new BadImageError('empty', 'empty file (0 bytes)');
  const sniffed = sniffUnsupported(bytes);
  if (sniffed) throw new BadImageError('unsupported-format', `unsupported format (${sniffed})`);
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: limit }).metadata();
  } catch (err) {
    const bad = badImageFrom(err, limit);
    if (bad.kind === 'too-many-pixels') {
      // Reading the header alone is safe: name the claimed size.
      const header = await sharp(bytes, { limitInputPixels: false })
        .metadata()
        .catch(() => null);
      if (header?.width && header.height) throw tooManyPixels(header.width, header.height, limit);
    }
    throw bad;
  }
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  if (!w || !h) throw new BadImageError('not-an-image', 'not an image');
  if (w * h > limit) throw tooManyPixels(w, h, limit);
  return meta;
}

/** An uploaded picture, checked and normalized to PNG (first frame, EXIF rotation applied). */
export async function uploadToPng(data: Buffer): Promise<Buffer> {
  await readImageHeader(data);
  try {
    return await sharp(data, { limitInputPixels: MAX_INPUT_PIXELS })
      .rotate()
      .resize(1024, 1024, { fit: 'inside', withoutEnlargement: true })
      .png()
      .toBuffer();
  } catch (err) {
    throw badImageFrom(err, MAX_INPUT_PIXELS);
  }
}
