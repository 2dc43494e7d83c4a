import type { RateLimit, RateWindows } from './ports.ts';

/**
 * The ms until a key with these hits (times, oldest first, all inside the window) has room for one
 * more under `limit` (0: now; a limit of 0 means none).
 */
export function windowWait(hits: readonly number[], limit: number, windowMs: number, now: number): number {
  if (limit <= 0 || hits.length < limit) return 0;
  return (hits[hits.length - limit] as number) + windowMs - now;
}

/**
 * Sliding-window limits kept in this process. Unlike a queueing limiter it answers at once whether
 * an event may run now, and if not how long to wait: the person gets "slow down, try in N s".
 */
export class InProcessRateWindows implements RateWindows {
  private readonly hits = new Map<string, number[]>();

  constructor(private readonly now: () => number = Date.now) {}

  async check(limits: readonly RateLimit[], windowMs: number, take: boolean): Promise<number> {
    const t = this.now();
    let wait = 0;
    for (const { key, limit } of limits) {
      const recent = (this.hits.get(key) ?? []).filter((h) => h > t - windowMs);
      if (recent.length > 0) this.hits.set(key, recent);
      else this.hits.delete(key);
      wait = Math.max(wait, windowWait(recent, limit, windowMs, t));
    }
    if (take && wait === 0) {
      for (const { key, limit } of limits)
        if (limit > 0) this.hits.set(key, [...(this.hits.get(key) ?? []), t]);
    }
    return wait;
  }
}
