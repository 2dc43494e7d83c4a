/**
 * At most `max` tasks at once, first come first served; a task starts at once (same tick) when a
 * slot is free, so an idle bot answers as fast as without the gate.
 */
export class Gate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly max: number) {
    if (!(max >= 1)) throw new Error(`a gate needs at least one slot (got ${max})`);
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running < this.max) this.running++;
    // A finishing task hands its slot straight to the first waiting one.
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
