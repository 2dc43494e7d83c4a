/**
 * One HTTP download with a byte cap, for whatever fetches bytes from a URL it was given (generated
 * pictures, files people attach, gallery images): the cap is checked against Content-Length
 * first, then counted while streaming, and the transfer stops as soon as it is exceeded. Errors
 * are typed so that each caller can word them for its own people; network errors and aborts
 * come through as fetch throws them.
 */

export interface CappedDownloadOptions {
  /** Refuse more than this many bytes. */
  maxBytes: number;
  /** Give up after this long, the whole transfer included. */
  timeoutMs?: number;
  /** The caller's own abort (combined with timeoutMs when both are given). */
  signal?: AbortSignal;
  headers?: Record<string, string>;
  /**
   * 'refuse': a 3xx answer is an error (DownloadRedirectError) and is never followed; for requests
   * that carry credentials, which must not travel to wherever a redirect points. Default 'follow'.
   */
  redirect?: 'follow' | 'refuse';
  fetch?: typeof fetch;
}

/** The server answered with an HTTP error status; `response` is unread (its body may say why). */
export class DownloadStatusError extends Error {
  override readonly name = 'DownloadStatusError';
  constructor(readonly response: Response) {
    super(`HTTP ${response.status}`);
  }
}

/** The server redirected and the caller asked not to follow; `location` is where it pointed (may be empty). */
export class DownloadRedirectError extends Error {
  override readonly name = 'DownloadRedirectError';
  constructor(
    readonly status: number,
    readonly location: string,
  ) {
    super(`HTTP ${status}: a redirect, not followed`);
  }
}

/** More than maxBytes: `declared` when Content-Length said so, undefined when counted while streaming. */
export class DownloadTooLargeError extends Error {
  override readonly name = 'DownloadTooLargeError';
  constructor(
    readonly maxBytes: number,
    readonly declared?: number,
  ) {
    super(`${declared ?? `more than ${maxBytes}`} bytes; the limit is ${maxBytes}`);
  }
}

/** GETs `url` and returns its body (empty when the answer has none), refusing more than maxBytes. */
export async function downloadCapped(url: string, options: CappedDownloadOptions): Promise<Buffer> {
  const { maxBytes } = options;
  const timeout = options.timeoutMs === undefined ? undefined : AbortSignal.timeout(options.timeoutMs);
  const signal =
    timeout && options.signal ? AbortSignal.any([timeout, options.signal]) : (timeout ?? options.signal);
  const res = await (options.fetch ?? fetch)(url, {
    ...(signal ? { signal } : {}),
    ...(options.headers ? { headers: options.headers } : {}),
    ...(options.redirect === 'refuse' ? { redirect: 'manual' as const } : {}),
  });
  if (options.redirect === 'refuse' && res.status >= 300 && res.status < 400) {
    await res.body?.cancel().catch(() => {});
    throw new DownloadRedirectError(res.status, res.headers.get('location') ?? '');
  }
  if (!res.ok) throw new DownloadStatusError(res);
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => {});
    throw new DownloadTooLargeError(maxBytes, declared);
  }
  if (!res.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let total = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new DownloadTooLargeError(maxBytes);
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks, total);
}
