import { randomUUID } from 'node:crypto';
import type { ThreadLease, ThreadLocks } from '../../../core/ports.ts';
import type { ThreadKey } from '../../../core/types.ts';
import type { PostgresDatabase } from './database.ts';

export interface PostgresLockOptions {
  /** How long a lock outlives its last renewal: a crashed holder's lock frees after this (ms). */
  leaseMs?: number;
  /** Longest pause between two tries of a lock another instance holds (ms). */
  maxPollMs?: number;
}

/**
 * Per-thread locks as lease rows: taking one is an upsert that only wins over an expired row; the
 * holder renews it every third of the lease and deletes it on release. Expiry is the server's
 * clock, so instances' clocks need not agree. Unlike advisory locks no connection is pinned.
 */
export class PostgresThreadLocks implements ThreadLocks {
  private readonly leaseMs: number;
  private readonly maxPollMs: number;

  constructor(
    private readonly db: PostgresDatabase,
    options: PostgresLockOptions = {},
  ) {
    this.leaseMs = options.leaseMs ?? 30_000;
    this.maxPollMs = options.maxPollMs ?? 200;
  }

  async acquire(key: ThreadKey, signal?: AbortSignal): Promise<ThreadLease> {
    const token = randomUUID();
    for (let pause = 5; ; pause = Math.min(this.maxPollMs, pause * 2)) {
      signal?.throwIfAborted();
      if (await this.tryTake(key, token)) return this.lease(key, token);
      await sleep(pause / 2 + Math.random() * pause, signal);
    }
  }

  /** Whether the thread is locked by anyone now (for tests and the chaos script). */
  async held(key: ThreadKey): Promise<boolean> {
    const { rows } = await this.db.query(
      'SELECT 1 FROM thread_locks WHERE key = $1 AND expires_at > clock_timestamp()',
      [key],
    );
    return rows.length > 0;
  }

  private async tryTake(key: ThreadKey, token: string): Promise<boolean> {
    const result = await this.db.query(
      `INSERT INTO thread_locks (key, holder, expires_at)
       VALUES ($1, $2, clock_timestamp() + $3 * interval '1 millisecond')
       ON CONFLICT (key) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
       WHERE thread_locks.expires_at < clock_timestamp()`,
      [key, token, this.leaseMs],
    );
    return result.rowCount === 1;
  }

  private lease(key: ThreadKey, token: string): ThreadLease {
    const lost = new AbortController();
    const renew = async () => {
      try {
        const result = await this.db.query(
          `UPDATE thread_locks SET expires_at = clock_timestamp() + $3 * interval '1 millisecond'
           WHERE key = $1 AND holder = $2`,
          [key, token, this.leaseMs],
        );
        if (result.rowCount !== 1) lost.abort(new Error(`the lock of ${key} expired and was taken over`));
      } catch (err) {
        lost.abort(err);
      }
      if (lost.signal.aborted) clearInterval(timer);
    };
    const timer = setInterval(() => void renew(), Math.max(50, this.leaseMs / 3));
    timer.unref();
    return {
      lost: lost.signal,
      release: async () => {
        clearInterval(timer);
        await this.db.query('DELETE FROM thread_locks WHERE key = $1 AND holder = $2', [key, token]);
      },
    };
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}
