import type { RateLimit, RateWindows } from '../../../core/ports.ts';
import { windowWait } from '../../../core/rate-limit.ts';
import type { PostgresDatabase } from './database.ts';
import type { PostgresStoreOptions } from './threads.ts';

/** Sliding-window rate limits in one table, shared by every instance on the database. */
export class PostgresRateWindows implements RateWindows {
  private readonly now: () => number;

  constructor(
    private readonly db: PostgresDatabase,
    options: PostgresStoreOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  async check(limits: readonly RateLimit[], windowMs: number, take: boolean): Promise<number> {
    const active = limits.filter((l) => l.limit > 0);
    if (active.length === 0) return 0;
    const keys = [...new Set(active.map((l) => l.key))].sort();
    return this.db.transaction(async (c) => {
      // Takers of one key go one at a time (keys in one order: no deadlock), so no two take the last slot.
      if (take) {
        for (const key of keys) await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 7))', [key]);
      }
      const t = this.now();
      await c.query('DELETE FROM rate_hits WHERE key = ANY($1::text[]) AND at <= $2', [keys, t - windowMs]);
      const { rows } = await c.query<{ key: string; at: number }>(
        'SELECT key, at FROM rate_hits WHERE key = ANY($1::text[]) ORDER BY at',
        [keys],
      );
      let wait = 0;
      for (const { key, limit } of active) {
        const hits = rows.filter((r) => r.key === key).map((r) => r.at);
        wait = Math.max(wait, windowWait(hits, limit, windowMs, t));
      }
      if (take && wait === 0) {
        await c.query('INSERT INTO rate_hits (key, at) SELECT unnest($1::text[]), $2', [
          active.map((l) => l.key),
          t,
        ]);
      }
      return wait;
    });
  }
}
