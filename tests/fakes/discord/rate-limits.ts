/**
 * Discord's REST rate limits as the fake applies them (docs.discord.com/developers/topics/rate-limits):
 * per-route buckets counted per top-level resource (channel, guild, webhook id + token), announced
 * on every answer with X-RateLimit-Limit / -Remaining / -Reset / -Reset-After / -Bucket; a request
 * over a bucket gets 429 with Retry-After and `{ message, retry_after, global }`. A global limit
 * (50 requests per second per bot) covers every authenticated route; interaction callbacks and
 * webhook routes (authenticated by their token) are not bound by it. Windows are configurable so
 * that tests run in milliseconds, not in Discord's seconds.
 */
import { createHash } from 'node:crypto';
import type { Reply } from './limits.ts';

export interface RateLimitOptions {
  /** Requests per bucket window (Discord: e.g. 5 messages per 5 s per channel). */
  bucket: { limit: number; windowMs: number };
  /** Requests per window for the whole bot (Discord: 50 per second). */
  global: { limit: number; windowMs: number };
}

export const DEFAULT_RATE_LIMITS: RateLimitOptions = {
  bucket: { limit: 5, windowMs: 250 },
  global: { limit: 50, windowMs: 1000 },
};

interface Window {
  resetAt: number;
  used: number;
}

export class RateLimits {
  private readonly windows = new Map<string, Window>();
  private readonly globalHits: number[] = [];
  /** Largest number of requests any one bucket window took (tests read it to see a bucket fill). */
  fullest = 0;

  constructor(private readonly o: RateLimitOptions = DEFAULT_RATE_LIMITS) {}

  /**
   * Counts a request to `route` (e.g. "POST /channels/:id/messages") on `resource` (its top-level
   * id). Returns the headers to send with the answer, or the 429 to answer instead.
   */
  take(
    route: string,
    resource: string,
    o: { global: boolean },
    now = Date.now(),
  ): { headers: Record<string, string> } | { limited: Reply } {
    if (o.global) {
      const { limit, windowMs } = this.o.global;
      while (this.globalHits.length && (this.globalHits[0] as number) <= now - windowMs)
        this.globalHits.shift();
      if (this.globalHits.length >= limit) {
        const retry = ((this.globalHits[0] as number) + windowMs - now) / 1000;
        return {
          limited: tooMany(retry, { 'x-ratelimit-global': 'true', 'x-ratelimit-scope': 'global' }, true),
        };
      }
    }
    const bucket = bucketHash(route);
    const key = `${bucket}:${resource}`;
    const { limit, windowMs } = this.o.bucket;
    let w = this.windows.get(key);
    if (!w || w.resetAt <= now) {
      w = { resetAt: now + windowMs, used: 0 };
      this.windows.set(key, w);
    }
    const resetAfter = (w.resetAt - now) / 1000;
    const headers = (remaining: number) => ({
      'x-ratelimit-limit': String(limit),
      'x-ratelimit-remaining': String(remaining),
      'x-ratelimit-reset': (w.resetAt / 1000).toFixed(3),
      'x-ratelimit-reset-after': resetAfter.toFixed(3),
      'x-ratelimit-bucket': bucket,
    });
    if (w.used >= limit) {
      return { limited: tooMany(resetAfter, { ...headers(0), 'x-ratelimit-scope': 'user' }, false) };
    }
    w.used++;
    this.fullest = Math.max(this.fullest, w.used);
    if (o.global) this.globalHits.push(now);
    return { headers: headers(limit - w.used) };
  }
}

/** Discord's bucket ids are opaque strings that stay the same for a route. */
function bucketHash(route: string): string {
  return createHash('sha1').update(route).digest('hex').slice(0, 16);
}

/** A 429 as Discord sends it; `retryAfter` in seconds. */
export function tooMany(retryAfter: number, headers: Record<string, string>, global: boolean): Reply {
  const seconds = Math.max(0.001, retryAfter);
  return {
    status: 429,
    headers: { 'retry-after': seconds.toFixed(3), ...headers },
    json: { message: 'You are being rate limited.', retry_after: seconds, global },
  };
}
