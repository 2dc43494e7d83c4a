/**
 * The fetch the Pinecone client is given (`fetchApi`, with the client's own retries off): every
 * HTTP attempt goes through a bottleneck limiter and has a timeout; 429 and 5xx answers, timeouts
 * and network errors are retried a bounded number of times with full-jitter exponential backoff,
 * waiting at least what a Retry-After header asks (capped). Request bodies are strings (JSON), so
 * a retry resends the same bytes; Pinecone upserts and deletes by id are idempotent.
 */
import Bottleneck from 'bottleneck';

export interface RetryingFetchOptions {
  /** Underlying fetch (default: global fetch). */
  fetch?: typeof fetch;
  limiter?: Bottleneck;
  /** Retries after the first attempt (default 4). */
  maxRetries?: number;
  /** Per-attempt timeout until response headers arrive (default 30 s). */
  timeoutMs?: number;
  /** First backoff ceiling (default 250 ms); doubles per retry up to maxDelayMs (default 20 s). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Longest Retry-After honoured (default 60 s). */
  maxRetryAfterMs?: number;
  /** For tests: random in [0, 1) and the wait. */
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Called before each retry (logging, counters). */
  onRetry?: (info: RetryInfo) => void;
  /** Called when a request fails for good (retryable failure, no retries left). */
  onGiveUp?: (info: RetryInfo) => void;
}

export interface RetryInfo {
  attempt: number;
  delayMs: number;
  reason: string;
  url: string;
}

export class RequestTimeoutError extends Error {
  override readonly name = 'RequestTimeoutError';
}

export const defaultLimiter = (): Bottleneck => new Bottleneck({ maxConcurrent: 4, minTime: 0 });

const sleepReal = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Parse Retry-After (delta seconds or an HTTP date) to ms; null when absent or invalid. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (value === null || value.trim() === '') return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

export function createRetryingFetch(options: RetryingFetchOptions = {}): typeof fetch {
  const base = options.fetch ?? globalThis.fetch;
  const limiter = options.limiter ?? defaultLimiter();
  const maxRetries = Math.max(0, options.maxRetries ?? 4);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const baseDelay = options.baseDelayMs ?? 250;
  const maxDelay = options.maxDelayMs ?? 20_000;
  const maxRetryAfter = options.maxRetryAfterMs ?? 60_000;
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? sleepReal;

  const backoff = (attempt: number) => random() * Math.min(maxDelay, baseDelay * 2 ** attempt);

  const attemptOnce = async (
    input: string | URL | Request,
    init: RequestInit | undefined,
  ): Promise<Response> => {
    const controller = new AbortController();
    const outer = init?.signal ?? null;
    const onOuterAbort = () => controller.abort(outer?.reason);
    if (outer) {
      if (outer.aborted) throw outer.reason ?? new Error('aborted');
      outer.addEventListener('abort', onOuterAbort, { once: true });
    }
    const timer = setTimeout(
      () => controller.abort(new RequestTimeoutError(`no response within ${timeoutMs} ms`)),
      timeoutMs,
    );
    try {
      return await base(input, { ...init, signal: controller.signal });
    } catch (err) {
      if (controller.signal.aborted && controller.signal.reason instanceof RequestTimeoutError) {
        throw controller.signal.reason;
      }
      throw err;
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuterAbort);
    }
  };

  const retrying = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await limiter.schedule(() => attemptOnce(input, init));
      } catch (err) {
        if (init?.signal?.aborted) throw err;
        if (attempt >= maxRetries) {
          options.onGiveUp?.({ attempt: attempt + 1, delayMs: 0, reason: describeError(err), url });
          throw err;
        }
        const delayMs = backoff(attempt);
        options.onRetry?.({ attempt: attempt + 1, delayMs, reason: describeError(err), url });
        await sleep(delayMs);
        continue;
      }
      const retryable = response.status === 429 || response.status >= 500;
      if (!retryable) return response;
      if (attempt >= maxRetries) {
        options.onGiveUp?.({ attempt: attempt + 1, delayMs: 0, reason: `HTTP ${response.status}`, url });
        return response;
      }
      const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
      const delayMs = Math.max(Math.min(retryAfter ?? 0, maxRetryAfter), backoff(attempt));
      await response.body?.cancel().catch(() => {});
      options.onRetry?.({ attempt: attempt + 1, delayMs, reason: `HTTP ${response.status}`, url });
      await sleep(delayMs);
    }
  };
  return retrying as typeof fetch;
}

function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: { code?: string } }).cause;
  return cause?.code ? `${err.message} (${cause.code})` : err.message;
}
