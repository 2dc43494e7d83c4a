/**
 * Getting a generated picture home safely: download with a size cap (Content-Length checked
 * first, then counted while streaming), data: URIs, base64, and conversion to PNG with sharp's
 * decompression-bomb guard.
 */
import sharp from 'sharp';
import { DownloadStatusError, DownloadTooLargeError, downloadCapped } from './download.ts';
import { BadResponseError, HttpStatusError, sanitize } from './errors.ts';

/** 20 MB: far above a 1024 px PNG, far below anything that would hurt the process. */
export const DEFAULT_MAX_IMAGE_BYTES = 20_000_000;
/** Generated images are at most a few megapixels; refuse bombs. */
const LIMIT_INPUT_PIXELS = 40_000_000;

/** A picture larger than the configured cap. Not retried (the next attempt would be as large). */
export class ImageTooLargeError extends BadResponseError {
  constructor(bytes: number | string, max: number) {
    super(`the image is too large (${bytes} bytes; the limit is ${max})`);
  }
}

export interface DownloadOptions {
  maxBytes: number;
  signal?: AbortSignal;
  fetch?: typeof fetch;
}

/** Fetch an http(s) URL or decode a data: URI, refusing more than maxBytes. */
export async function downloadImage(url: string, options: DownloadOptions): Promise<Buffer> {
  if (url.startsWith('data:')) return decodeDataUri(url, options.maxBytes);
  if (!/^https?:\/\//i.test(url))
    throw new BadResponseError(`unsupported image URL scheme (${sanitize(url, 40)})`);
  let bytes: Buffer;
  try {
    bytes = await downloadCapped(url, options);
  } catch (err) {
    if (err instanceof DownloadStatusError) {
      const text = await err.response.text().catch(() => '');
      throw new HttpStatusError(err.response.status, err.response.headers, sanitize(text, 120));
    }
    if (err instanceof DownloadTooLargeError)
      throw new ImageTooLargeError(err.declared ?? `more than ${err.maxBytes}`, err.maxBytes);
    throw err;
  }
  if (bytes.length === 0) throw new BadResponseError('the image download was empty');
  return bytes;
}

export function decodeDataUri(uri: string, maxBytes: number): Buffer {
  const match = /^data:([^;,]*)(;base64)?,(.*)$/s.exec(uri);
  if (!match) throw new BadResponseError('malformed data: URI');
  return decodeBase64(
    match[2] ? (match[3] as string) : Buffer.from(decodeURIComponent(match[3] as string)).toString('base64'),
    maxBytes,
  );
}

/** Decode base64 image bytes, refusing more than maxBytes (checked before decoding). */
export function decodeBase64(b64: string, maxBytes: number): Buffer {
  const estimated = Math.floor((b64.length * 3) / 4);
  if (estimated > maxBytes + 3) throw new ImageTooLargeError(estimated, maxBytes);
  const bytes = Buffer.from(b64, 'base64');
  if (bytes.length === 0) throw new BadResponseError('the image data was empty');
  if (bytes.length > maxBytes) throw new ImageTooLargeError(bytes.length, maxBytes);
  return bytes;
}

/** Any image sharp reads → PNG (fully decoded, so a corrupt body fails here, not in the encoder). */
export async function toPng(bytes: Buffer): Promise<Buffer> {
  try {
    return await sharp(bytes, { limitInputPixels: LIMIT_INPUT_PIXELS, failOn: 'error' }).png().toBuffer();
  } catch (err) {
    throw new BadResponseError(
      `the service sent something that is not a usable image (${sanitize((err as Error).message, 80)})`,
    );
  }
}
