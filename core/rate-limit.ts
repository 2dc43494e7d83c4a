/**
 * Sliding-window limit of events per key. Unlike a queueing limiter it answers at once whether
 * an event may run now, and if not how long to wait: the person gets "slow down, try in N s".
 */
export class SlidingWindowLimiter {
  private readonly hits = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records a hit and returns 0, or returns the ms to wait (recording nothing) when over the limit. */
  take(key: string): number {
    const wait = this.wait(key);
    if (wait === 0 && this.limit > 0) this.hits.get(key)?.push(this.now());
    return wait;
  }

  /** The ms to wait before a hit would be allowed (0: now), recording nothing. */
  wait(key: string): number {
    if (this.limit <= 0) return 0;
    const t = this.now();
    const recent = (this.hits.get(key) ?? []).filter((h) => h > t - this.windowMs);
    this.hits.set(key, recent);
    return recent.length >= this.limit ? (recent[0] as number) + this.windowMs - t : 0;
  }
}
