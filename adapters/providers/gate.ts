/**
 * The one wrapper every outbound provider call goes through:
 *
 *  - a bottleneck limiter per provider (max concurrent calls + a per-minute reservoir);
 *  - a per-attempt timeout, combined with the caller's AbortSignal (the round's deadline);
 *  - bounded retries with full jitter on 429 / 5xx / network errors / attempt timeouts,
 *    waiting at least Retry-After when the service sends it; no retry on other 4xx, on
 *    refusals (RefusedError passes through untouched) or once the caller has given up.
 *
 * Failures come out as ProviderError with a short, secret-free message that the engine may
 * show in the thread.
 */
import Bottleneck from 'bottleneck';
import { RefusedError } from '../../core/errors.ts';
import { classify, type Failure, isRetryable, ProviderError } from './errors.ts';

export interface GateLimits {
  /** Calls in flight at once (per provider). */
  maxConcurrent: number;
  /** Calls started per minute; 0 = no per-minute limit. Retries count too. */
  perMinute: number;
  /** Timeout of one attempt, ms. */
  timeoutMs: number;
  /** Extra attempts after the first (429/5xx/network/timeout only). */
  retries: number;
}

export interface GateOptions extends GateLimits {
  /** Shown in messages and logs: "openai", "replicate", … */
  name: string;
  /** Backoff base and cap for full jitter: delay = random() · min(cap, base · 2^attempt). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** A Retry-After longer than this fails now instead of holding the round (default 60 s). */
  maxRetryAfterMs?: number;
  /** Injectable for tests. */
  random?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Called before each retry (for logs / tests). */
  onRetry?: (info: RetryInfo) => void;
}

export interface RetryInfo {
  provider: string;
  label: string;
  attempt: number;
  delayMs: number;
  failure: Failure;
}

export interface RunOptions {
  /** The caller's signal (e.g. the round's generation deadline). */
  signal?: AbortSignal | undefined;
  /** Override the per-attempt timeout (e.g. a sync wait that legitimately takes longer). */
  timeoutMs?: number;
  /** Override the number of retries. */
  retries?: number;
}

export interface GateStats {
  calls: number;
  attempts: number;
  retries: number;
  failures: number;
}

class AttemptTimeout extends Error {
  override readonly name = 'TimeoutError';
}

/** Sleep that ends early (rejecting) when the signal aborts. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export class ProviderGate {
  readonly name: string;
  readonly limits: GateLimits;
  readonly stats: GateStats = { calls: 0, attempts: 0, retries: 0, failures: 0 };
  private readonly limiter: Bottleneck;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly random: () => number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly onRetry: ((info: RetryInfo) => void) | undefined;

  constructor(options: GateOptions) {
    this.name = options.name;
    this.limits = {
      maxConcurrent: Math.max(1, Math.floor(options.maxConcurrent)),
      perMinute: Math.max(0, Math.floor(options.perMinute)),
      timeoutMs: Math.max(1, options.timeoutMs),
      retries: Math.max(0, Math.floor(options.retries)),
    };
    const { perMinute, maxConcurrent } = this.limits;
    this.limiter = new Bottleneck({
      maxConcurrent,
      ...(perMinute > 0
        ? { reservoir: perMinute, reservoirRefreshAmount: perMinute, reservoirRefreshInterval: 60_000 }
        : {}),
    });
    this.baseDelayMs = options.baseDelayMs ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 20_000;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000;
    this.random = options.random ?? Math.random;
    this.sleep = options.sleep ?? abortableSleep;
    this.onRetry = options.onRetry;
  }

  /**
   * Run `fn` under the limiter with timeout and retries. `fn` receives the signal of the current
   * attempt (aborts on the attempt timeout or when the caller aborts) and must pass it on.
   */
  async run<T>(label: string, fn: (signal: AbortSignal) => Promise<T>, options: RunOptions = {}): Promise<T> {
    const { signal } = options;
    const timeoutMs = options.timeoutMs ?? this.limits.timeoutMs;
    const retries = options.retries ?? this.limits.retries;
    this.stats.calls++;
    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted) throw this.fail({ kind: 'aborted' }, attempt);
      let failure: Failure;
      try {
        return await this.attempt(fn, signal, timeoutMs);
      } catch (err) {
        if (err instanceof RefusedError) throw err;
        failure = classify(err, {
          callerAborted: signal?.aborted === true,
          attemptTimedOut: err instanceof AttemptTimeout,
        });
        if (!isRetryable(failure) || attempt >= retries) throw this.fail(failure, attempt + 1);
      }
      const delayMs = this.delayFor(failure, attempt);
      if (delayMs === null) {
        const seconds = Math.ceil((failure.retryAfterMs ?? 0) / 1000);
        throw this.fail(
          failure,
          attempt + 1,
          `${this.name}: rate limited (HTTP 429); the service asks to wait ${seconds} s`,
        );
      }
      this.stats.retries++;
      this.onRetry?.({ provider: this.name, label, attempt: attempt + 1, delayMs, failure });
      try {
        await this.sleep(delayMs, signal);
      } catch {
        throw this.fail({ kind: 'aborted' }, attempt + 1);
      }
    }
  }

  /** Calls waiting for a slot (queued by the limiter) and running now. */
  queue(): { waiting: number; running: number } {
    const c = this.limiter.counts();
    return { waiting: (c.RECEIVED ?? 0) + (c.QUEUED ?? 0) + (c.RUNNING ?? 0), running: c.EXECUTING ?? 0 };
  }

  /** Calls left in this minute's budget (null when there is no per-minute limit). */
  async reservoir(): Promise<number | null> {
    return this.limits.perMinute > 0 ? this.limiter.currentReservoir() : null;
  }

  /** Wait for calls in flight, then refuse new ones. */
  async stop(): Promise<void> {
    await this.limiter.stop({ dropWaitingJobs: true }).catch(() => {});
  }

  /** Full jitter, at least Retry-After; null when Retry-After is beyond what a round can wait. */
  private delayFor(failure: Failure, attempt: number): number | null {
    const jitter = Math.round(this.random() * Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** attempt));
    const after = failure.retryAfterMs;
    if (after === undefined) return jitter;
    if (after > this.maxRetryAfterMs) return null;
    return Math.max(after, jitter);
  }

  private fail(failure: Failure, attempts: number, message?: string): ProviderError {
    this.stats.failures++;
    return new ProviderError(this.name, failure, attempts, message);
  }

  /** One attempt: queue in the limiter (abandon the queue if the caller aborts), then run with a timeout. */
  private attempt<T>(
    fn: (signal: AbortSignal) => Promise<T>,
    signal: AbortSignal | undefined,
    timeoutMs: number,
  ) {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const onAbort = () => {
        if (settled) return;
        settled = true;
        reject(signal?.reason ?? new DOMException('aborted', 'AbortError'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const job = this.limiter.schedule(async () => {
        if (settled) return undefined as T; // the caller left while we were queued
        this.stats.attempts++;
        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(new AttemptTimeout('attempt timed out')), timeoutMs);
        const combined = signal ? AbortSignal.any([signal, controller.signal]) : controller.signal;
        try {
          return await fn(combined);
        } catch (err) {
          throw controller.signal.aborted && !signal?.aborted ? new AttemptTimeout('attempt timed out') : err;
        } finally {
          clearTimeout(timer);
        }
      });
      job.then(
        (value) => {
          signal?.removeEventListener('abort', onAbort);
          if (settled) return;
          settled = true;
          resolve(value);
        },
        (err: unknown) => {
          signal?.removeEventListener('abort', onAbort);
          if (settled) return;
          settled = true;
          reject(err);
        },
      );
    });
  }
}
