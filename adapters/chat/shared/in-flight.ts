import type { Logger } from '../../../core/ports.ts';

/**
 * The events a front end has taken in and not yet finished: `idle()` waits for all of them (also
 * for those taken in while it waits). A failure is logged with its stack, never thrown again.
 */
export class InFlight {
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly logger: Logger,
    private readonly what: string,
  ) {}

  track(work: Promise<void>, context: object = {}): Promise<void> {
    const p = work.catch((err: unknown) => this.logger.error({ ...context, err }, this.what));
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
    return p;
  }

  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }
}
