/**
 * Download one image URL for the indexer: http(s) only, a size cap (checked against
 * Content-Length first, then while streaming) and a timeout over the whole transfer.
 */

export class DownloadError extends Error {
  override readonly name = 'DownloadError';
}

export interface DownloadOptions {
  maxBytes: number;
  timeoutMs: number;
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

export async function download(url: string, options: DownloadOptions): Promise<Buffer> {
  const protocol = new URL(url).protocol;
  if (protocol !== 'http:' && protocol !== 'https:')
    throw new DownloadError(`unsupported URL scheme ${protocol}`);
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  const seconds = Math.round(options.timeoutMs / 100) / 10;
  const limit = formatBytes(options.maxBytes);
  try {
    const response = await (options.fetch ?? fetch)(url, { signal, redirect: 'follow' });
    if (!response.ok) {
      await response.body?.cancel().catch(() => {});
      throw new DownloadError(`download failed: HTTP ${response.status}`);
    }
    const declared = Number(response.headers.get('content-length'));
    if (Number.isFinite(declared) && declared > options.maxBytes) {
      await response.body?.cancel().catch(() => {});
      throw new DownloadError(`download is ${formatBytes(declared)}, over the ${limit} limit`);
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    if (response.body) {
      const reader = response.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.byteLength;
        if (total > options.maxBytes) {
          await reader.cancel().catch(() => {});
          throw new DownloadError(`download is over the ${limit} limit`);
        }
        chunks.push(value);
      }
    }
    return Buffer.concat(chunks, total);
  } catch (err) {
    if (err instanceof DownloadError) throw err;
    if (timeout.aborted) throw new DownloadError(`download timed out after ${seconds} s`);
    if (options.signal?.aborted) throw options.signal.reason ?? err;
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new DownloadError(`download failed: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
  }
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${Math.round((n / (1024 * 1024)) * 10) / 10} MB`;
  if (n >= 1024) return `${Math.round((n / 1024) * 10) / 10} KB`;
  return `${n} bytes`;
}
