/**
 * What went wrong with an outbound call, in one provider-neutral shape. The `openai` and
 * `replicate` clients, undici's fetch and our own HTTP helpers all fail differently; the gate
 * (gate.ts) decides from this record whether to retry and how long to wait.
 */
import { RefusedError } from '../../core/errors.ts';

export type FailureKind =
  /** HTTP 429: slow down (retried, honouring Retry-After). */
  | 'rate-limit'
  /** HTTP 5xx / 408 / 425: the service had a problem (retried). */
  | 'server'
  /** Connection refused/reset, DNS, TLS (retried). */
  | 'network'
  /** One attempt took longer than the per-attempt timeout (retried). */
  | 'timeout'
  /** The caller gave up (the round's time ran out, or it was abandoned): never retried. */
  | 'aborted'
  /** Other HTTP 4xx: our request or our key is wrong (never retried). */
  | 'client'
  /** 2xx with a body we cannot read (malformed JSON, missing fields). */
  | 'bad-response'
  /** A safety filter refused the content (never retried). */
  | 'refused'
  | 'unknown';

export interface Failure {
  kind: FailureKind;
  status?: number;
  /** From Retry-After / retry-after-ms, in milliseconds. */
  retryAfterMs?: number;
  /** A short, secret-free description of the cause (server message, error code). */
  detail?: string;
}

/** An outbound call that failed for good; the message is short and safe to show in a thread. */
export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  readonly provider: string;
  readonly kind: FailureKind;
  readonly status: number | undefined;
  readonly attempts: number;

  constructor(provider: string, failure: Failure, attempts: number, message?: string) {
    super(message ?? describeFailure(provider, failure, attempts));
    this.provider = provider;
    this.kind = failure.kind;
    this.status = failure.status;
    this.attempts = attempts;
  }
}

/** Thrown by our own HTTP helpers (downloads) for a non-2xx answer. */
export class HttpStatusError extends Error {
  override readonly name = 'HttpStatusError';
  constructor(
    readonly status: number,
    readonly headers: Headers,
    detail: string,
  ) {
    super(`HTTP ${status}${detail ? `: ${detail}` : ''}`);
  }
}

/** A 2xx answer whose content we cannot use; the message says what is wrong with it. */
export class BadResponseError extends Error {
  override readonly name = 'BadResponseError';
}

/** A BadResponseError raised outside the gate (e.g. while decoding) as the provider's ProviderError. */
export function withProvider(provider: string, err: unknown): unknown {
  return err instanceof BadResponseError
    ? new ProviderError(provider, { kind: 'bad-response', detail: sanitize(err.message) }, 1)
    : err;
}

const RETRYABLE: ReadonlySet<FailureKind> = new Set(['rate-limit', 'server', 'network', 'timeout']);

export const isRetryable = (f: Failure): boolean => RETRYABLE.has(f.kind);

/** Retry-After (seconds or an HTTP date) or retry-after-ms → milliseconds from `now`. */
export function parseRetryAfter(headers: Headers | undefined | null, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.round(Number(ms));
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

function kindOfStatus(status: number): FailureKind {
  if (status === 429) return 'rate-limit';
  if (status >= 500 || status === 408 || status === 425) return 'server';
  if (status >= 400) return 'client';
  return 'bad-response';
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/** The errno-like code of an error or of its causes (undici wraps them in TypeError: fetch failed). */
export function networkCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Keep server messages short and free of anything that looks like a credential. */
export function sanitize(text: string, max = 160): string {
  const clean = text
    .replace(/(bearer|token|key|authorization)[\s:=]+\S+/gi, '$1 [redacted]')
    .replace(/\b(sk|r8|hf|xox[abp])[-_][A-Za-z0-9_-]{6,}/g, '[redacted]')
    .replace(/\s+/g, ' ')
    .trim();
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

function serverMessage(body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return typeof body === 'string' ? body : undefined;
  const o = body as Record<string, unknown>;
  const inner = (o.error && typeof o.error === 'object' ? o.error : o) as Record<string, unknown>;
  for (const key of ['message', 'detail', 'title']) {
    if (typeof inner[key] === 'string') return inner[key] as string;
  }
  if (typeof o.error === 'string') return o.error;
  return undefined;
}

/**
 * Classify anything a provider call may throw. `attemptTimedOut` tells a per-attempt timeout
 * apart from the caller's own abort (both surface as AbortError from fetch).
 */
export function classify(
  err: unknown,
  ctx: { callerAborted?: boolean; attemptTimedOut?: boolean } = {},
): Failure {
  if (err instanceof RefusedError) return { kind: 'refused', detail: err.message };
  if (ctx.callerAborted) return { kind: 'aborted' };
  if (ctx.attemptTimedOut) return { kind: 'timeout' };
  if (err instanceof HttpStatusError) {
    return {
      kind: kindOfStatus(err.status),
      status: err.status,
      ...withRetryAfter(err.headers),
      detail: sanitize(err.message),
    };
  }
  if (err instanceof BadResponseError) return { kind: 'bad-response', detail: sanitize(err.message) };
  if (err instanceof SyntaxError)
    return { kind: 'bad-response', detail: 'unreadable answer (malformed JSON)' };
  if (err && typeof err === 'object') {
    const e = err as Record<string, unknown>;
    // openai: APIError has numeric status + Headers; connection errors have status undefined.
    if (typeof e.status === 'number' && e.status >= 400) {
      const headers = e.headers instanceof Headers ? e.headers : undefined;
      const detail = sanitize(
        [typeof e.code === 'string' ? e.code : '', serverMessage(e.error) ?? ''].filter(Boolean).join(': '),
      );
      return {
        kind: kindOfStatus(e.status),
        status: e.status,
        ...withRetryAfter(headers),
        ...(detail ? { detail } : {}),
      };
    }
    // replicate: ApiError carries the fetch Response.
    const response = e.response as Response | undefined;
    if (response && typeof response === 'object' && typeof response.status === 'number') {
      const detail = typeof e.message === 'string' ? replicateDetail(e.message) : undefined;
      return {
        kind: kindOfStatus(response.status),
        status: response.status,
        ...withRetryAfter(response.headers),
        ...(detail ? { detail } : {}),
      };
    }
    const name = typeof e.name === 'string' ? e.name : '';
    if (name === 'APIConnectionTimeoutError') return { kind: 'timeout' };
    if (name === 'APIUserAbortError' || name === 'AbortError') return { kind: 'aborted' };
    if (name === 'TimeoutError') return { kind: 'timeout' };
    const code = networkCode(err);
    if (code) return { kind: 'network', detail: code };
    if (
      name === 'APIConnectionError' ||
      (err instanceof TypeError && /fetch failed|network/i.test(String(e.message)))
    ) {
      return { kind: 'network', detail: sanitize(String(e.message)) };
    }
  }
  return { kind: 'unknown', detail: sanitize(err instanceof Error ? err.message : String(err)) };
}

function withRetryAfter(headers: Headers | undefined): { retryAfterMs?: number } {
  const ms = parseRetryAfter(headers);
  return ms === undefined ? {} : { retryAfterMs: ms };
}

/** replicate's ApiError message is "Request to <url> failed with status N …: <body>." */
function replicateDetail(message: string): string | undefined {
  const body = message
    .split(/: (?=[{[])/)
    .slice(1)
    .join(': ');
  if (!body) return undefined;
  try {
    return sanitize(serverMessage(JSON.parse(body.replace(/\.$/, ''))) ?? '');
  } catch {
    return sanitize(body);
  }
}

/** One human sentence, e.g. "replicate: rate limited (HTTP 429), gave up after 3 attempts". */
export function describeFailure(provider: string, f: Failure, attempts: number): string {
  const after = attempts > 1 ? `, gave up after ${attempts} attempts` : '';
  const detail = f.detail ? `: ${f.detail}` : '';
  switch (f.kind) {
    case 'rate-limit':
      return `${provider}: rate limited (HTTP 429)${after}`;
    case 'server':
      return `${provider}: the service failed (HTTP ${f.status ?? '5xx'})${after}`;
    case 'network':
      return `${provider}: cannot reach the service${detail}${after}`;
    case 'timeout':
      return `${provider}: no answer in time${after}`;
    case 'aborted':
      return `${provider}: took longer than the round allows, so I stopped it`;
    case 'client':
      if (f.status === 401) return `${provider}: the API key was rejected (HTTP 401)`;
      if (f.status === 403) return `${provider}: access denied (HTTP 403)${detail}`;
      if (f.status === 404) return `${provider}: not found (HTTP 404)${detail}`;
      return `${provider}: request rejected (HTTP ${f.status ?? '4xx'})${detail}`;
    case 'bad-response':
      return `${provider}: ${f.detail || 'unreadable answer'}`;
    case 'refused':
      return f.detail ?? `${provider}: refused by a safety filter`;
    default:
      return `${provider}: ${f.detail || 'unexpected error'}`;
  }
}
