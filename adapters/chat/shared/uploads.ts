import type { InboundMessage } from '../../../core/types.ts';
import { DownloadTooLargeError, downloadCapped } from '../../providers/download.ts';

export const MAX_UPLOAD_BYTES = 20 * 1024 * 1024;

export interface RemoteFile {
  name: string;
  url: string;
  /** As the platform reports it; may be missing or wrong, so the bytes are checked again later. */
  contentType?: string | null;
  size?: number | null;
}

const IMAGE_TYPES = /^image\/(png|jpe?g|webp|gif|avif|tiff)$/i;
const IMAGE_NAMES = /\.(png|jpe?g|webp|gif|avif|tiff?)$/i;

/**
 * Downloads the image files a person attached, with a size cap and a timeout; everything else
 * is reported back as rejected with a reason the person can act on.
 */
export async function collectUploads(
  files: readonly RemoteFile[],
  options: { maxBytes?: number; timeoutMs?: number; headers?: Record<string, string> } = {},
): Promise<Pick<InboundMessage, 'images' | 'rejectedFiles'>> {
  const maxBytes = options.maxBytes ?? MAX_UPLOAD_BYTES;
  const images: { name: string; data: Buffer }[] = [];
  const rejectedFiles: { name: string; reason: string }[] = [];
  for (const f of files) {
    const looksLikeImage = f.contentType ? IMAGE_TYPES.test(f.contentType) : IMAGE_NAMES.test(f.name);
    if (!looksLikeImage) {
      rejectedFiles.push({
        name: f.name,
        reason: 'it is not an image (I can use PNG, JPEG, WebP, GIF, AVIF or TIFF)',
      });
      continue;
    }
    if (f.size && f.size > maxBytes) {
      rejectedFiles.push({
        name: f.name,
        reason: `it is larger than ${Math.round(maxBytes / 1024 / 1024)} MB`,
      });
      continue;
    }
    try {
      images.push({ name: f.name, data: await download(f.url, maxBytes, options) });
    } catch (err) {
      rejectedFiles.push({ name: f.name, reason: `I could not download it (${(err as Error).message})` });
    }
  }
  return { ...(images.length ? { images } : {}), ...(rejectedFiles.length ? { rejectedFiles } : {}) };
}

async function download(
  url: string,
  maxBytes: number,
  options: { timeoutMs?: number; headers?: Record<string, string> },
): Promise<Buffer> {
  try {
    return await downloadCapped(url, {
      maxBytes,
      timeoutMs: options.timeoutMs ?? 15_000,
      ...(options.headers ? { headers: options.headers } : {}),
    });
  } catch (err) {
    if (err instanceof DownloadTooLargeError)
      throw new Error(`larger than ${Math.round(maxBytes / 1024 / 1024)} MB`);
    throw err;
  }
}
