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
    if (this.limit <= 0) return 0;
    const t = this.now();
    const recent = (this.hits.get(key) ?? []).filter((h) => h > t - this.windowMs);
    if (recent.length >= this.limit) {
      this.hits.set(key, recent);
      return (recent[0] as number) + this.windowMs - t;
    }
    recent.push(t);
    this.hits.set(key, recent);
    return 0;
  }
}
