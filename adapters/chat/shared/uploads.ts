import type { InboundMessage } from '../../../core/types.ts';
import { DownloadRedirectError, DownloadTooLargeError, downloadCapped } from '../../providers/download.ts';

export const MAX_UPLOAD_BYTES = 20 * 1024 * 1024;

export interface RemoteFile {
  name: string;
  url: string;
  /** As the platform reports it; may be missing or wrong, so the bytes are checked again later. */
  contentType?: string | null;
  size?: number | null;
}

/**
 * Headers that prove who we are (a bot token) and the only origins ("https://files.slack.com") they
 * may be sent to. A file anywhere else is refused without a request, and a redirect is never
 * followed: the credentials must not reach a host the platform did not name.
 */
export interface UploadCredentials {
  headers: Record<string, string>;
  origins: readonly string[];
  /** How the refusal names the trusted host to the person, e.g. "Slack's file server". */
  hostName: string;
}

export interface UploadOptions {
  maxBytes?: number;
  timeoutMs?: number;
  credentials?: UploadCredentials;
}

export type Uploads = Pick<InboundMessage, 'images' | 'rejectedFiles'>;

const IMAGE_TYPES = /^image\/(png|jpe?g|webp|gif|avif|tiff)$/i;
const IMAGE_NAMES = /\.(png|jpe?g|webp|gif|avif|tiff?)$/i;

/** `url`'s origin, or null when it is not an absolute URL. */
function originOf(url: string): string | null {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

/**
 * Downloads the image files a person attached, with a size cap and a timeout; everything else
 * is reported back as rejected with a reason the person can act on.
 */
export async function collectUploads(
  files: readonly RemoteFile[],
  options: UploadOptions = {},
): Promise<Uploads> {
  const maxBytes = options.maxBytes ?? MAX_UPLOAD_BYTES;
  const images: { name: string; data: Buffer }[] = [];
  const rejectedFiles: { name: string; reason: string }[] = [];
  const { credentials } = options;
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
    const origin = originOf(f.url);
    if (!origin) {
      rejectedFiles.push({ name: f.name, reason: 'I was given no link I could download it from' });
      continue;
    }
    if (credentials && !credentials.origins.includes(origin)) {
      rejectedFiles.push({
        name: f.name,
        reason: `its link does not point to ${credentials.hostName}, so I did not download it`,
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

async function download(url: string, maxBytes: number, options: UploadOptions): Promise<Buffer> {
  try {
    return await downloadCapped(url, {
      maxBytes,
      timeoutMs: options.timeoutMs ?? 15_000,
      ...(options.credentials ? { headers: options.credentials.headers, redirect: 'refuse' as const } : {}),
    });
  } catch (err) {
    if (err instanceof DownloadTooLargeError)
      throw new Error(`larger than ${Math.round(maxBytes / 1024 / 1024)} MB`);
    if (err instanceof DownloadRedirectError)
      throw new Error(
        `${options.credentials?.hostName ?? 'the server'} answered with a redirect instead of the file`,
      );
    throw err;
  }
}
