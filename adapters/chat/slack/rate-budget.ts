/**
 * Client-side budgets for Slack's Web API rate tiers, and the handling of a 429 for one call.
 * With `rejectRateLimitedCalls: true` the Web API client throws a 429 at once instead of pausing
 * its whole request queue for Retry-After; each caller here decides what a 429 means for it.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** Tier 3 ("50+ per minute", per method per workspace): a margin below it. */
export const TIER3_PER_MINUTE = 45;

/** A sliding-window budget of `perWindow` calls per `windowMs`. */
export class RateBudget {
  private readonly stamps: number[] = [];
  private blockedUntil = 0;

  constructor(
    readonly perWindow: number,
    readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Calls left in the window now. */
  get left(): number {
    const t = this.now();
    if (t < this.blockedUntil) return 0;
    while (this.stamps.length && (this.stamps[0] as number) <= t - this.windowMs) this.stamps.shift();
    return this.perWindow - this.stamps.length;
  }

  /** Takes a call if more than `reserve` are left (the reserve is for calls that must happen). */
  tryTake(reserve = 0): boolean {
    if (this.left <= reserve) return false;
    this.stamps.push(this.now());
    return true;
  }

  /** Waits until a call is left, then takes it. */
  async take(): Promise<void> {
    while (!this.tryTake()) {
      const t = this.now();
      const freed = t < this.blockedUntil ? this.blockedUntil : (this.stamps[0] ?? t) + this.windowMs;
      await sleep(Math.max(10, freed - t));
    }
  }

  /** Slack answered 429: nothing more before Retry-After has passed. */
  block(seconds: number): void {
    this.blockedUntil = Math.max(this.blockedUntil, this.now() + seconds * 1000);
  }
}

/** The Retry-After seconds of a rate-limited Web API call, or undefined for any other error. */
export function retryAfterOf(err: unknown): number | undefined {
  const e = err as { code?: string; retryAfter?: number };
  return e?.code === 'slack_webapi_rate_limited_error' ? (e.retryAfter ?? 1) : undefined;
}

/** How often one call is tried again after a 429 before the error is the caller's. */
const RATE_LIMIT_RETRIES = 3;

/**
 * Runs a call that must happen (a round's messages and pictures): after a 429 it waits the
 * Retry-After it was given and tries again; only this call (and the channel queue it runs in) waits.
 */
export async function retryingAfter429<T>(call: () => Promise<T>, budget?: RateBudget): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    if (budget) await budget.take();
    try {
      return await call();
    } catch (err) {
      const wait = retryAfterOf(err);
      if (wait === undefined || attempt >= RATE_LIMIT_RETRIES) throw err;
      budget?.block(wait);
      if (!budget) await sleep(wait * 1000);
    }
  }
}
