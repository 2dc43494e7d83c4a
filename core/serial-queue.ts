/**
 * Runs the work of one key strictly in order, one item at a time, while different keys run
 * concurrently. Items still waiting may be merged by the caller (see `pending`).
 */
export class SerialQueues<T> {
  private readonly queues = new Map<string, { items: T[]; done: Promise<void> }>();

  constructor(private readonly run: (key: string, item: T) => Promise<void>) {}

  /** Items waiting (not yet running) for a key; the caller may mutate the last one to merge. */
  pending(key: string): T[] {
    return this.queues.get(key)?.items ?? [];
  }

  /** Whether the key has work running or waiting. */
  busy(key: string): boolean {
    return this.queues.has(key);
  }

  enqueue(key: string, item: T): void {
    const existing = this.queues.get(key);
    if (existing) {
      existing.items.push(item);
      return;
    }
    const q = { items: [item], done: Promise.resolve() };
    this.queues.set(key, q);
    q.done = this.drain(key, q);
  }

  /** Resolves when no key has work left. */
  async idle(): Promise<void> {
    while (this.queues.size > 0) await Promise.all([...this.queues.values()].map((q) => q.done));
  }

  private async drain(key: string, q: { items: T[] }): Promise<void> {
    // Let the caller's synchronous code (e.g. merging) finish before the first item runs.
    await Promise.resolve();
    for (let item = q.items.shift(); item !== undefined; item = q.items.shift()) {
      // run() reports its own errors; the queue only guarantees order.
      await this.run(key, item);
    }
    this.queues.delete(key);
  }
}
