import type { ThreadStore } from '../../../core/ports.ts';
import { type TenantId, tenantOf } from '../../../core/tenant.ts';
import type { ThreadKey, ThreadState } from '../../../core/types.ts';
import type { PostgresDatabase } from './database.ts';

export interface PostgresStoreOptions {
  /** Clock in ms since the epoch (tests inject one). */
  now?: () => number;
}

/** Purge expired dedupe rows once every this many claims. */
const PURGE_EVERY = 500;

/** Thread states (jsonb, compare-and-set on version) and the processed-event dedupe table. */
export class PostgresThreadStore implements ThreadStore {
  private readonly now: () => number;
  private claimsSincePurge = 0;

  constructor(
    private readonly db: PostgresDatabase,
    options: PostgresStoreOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  async load(key: ThreadKey): Promise<ThreadState | null> {
    const { rows } = await this.db.query<{ version: number; state: ThreadState }>(
      'SELECT version, state FROM threads WHERE key = $1',
      [key],
    );
    const row = rows[0];
    return row ? { ...row.state, version: row.version } : null;
  }

  async save(state: ThreadState, expectedVersion: number): Promise<boolean> {
    const version = expectedVersion + 1;
    const json = JSON.stringify({ ...state, version });
    const owner = state.ownerId ?? null;
    const result =
      expectedVersion === 0
        ? await this.db.query(
            `INSERT INTO threads (key, tenant, version, status, state, owner, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (key) DO NOTHING`,
            [state.key, tenantOf(state.key), version, state.status, json, owner, state.createdAt, this.now()],
          )
        : await this.db.query(
            `UPDATE threads SET version = $1, status = $2, state = $3, owner = $4, updated_at = $5
             WHERE key = $6 AND version = $7`,
            [version, state.status, json, owner, this.now(), state.key, expectedVersion],
          );
    if (result.rowCount !== 1) return false;
    state.version = version;
    return true;
  }

  async claimOnce(dedupeKey: string, ttlMs: number): Promise<boolean> {
    const now = this.now();
    if (++this.claimsSincePurge >= PURGE_EVERY) await this.purgeExpired();
    const result = await this.db.query(
      `INSERT INTO processed_events (key, expires_at) VALUES ($1, $2)
       ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE processed_events.expires_at <= $3`,
      [dedupeKey, now + Math.max(0, ttlMs), now],
    );
    return result.rowCount === 1;
  }

  /** Delete expired dedupe rows; returns how many. Also runs by itself every few hundred claims. */
  async purgeExpired(): Promise<number> {
    this.claimsSincePurge = 0;
    const result = await this.db.query('DELETE FROM processed_events WHERE expires_at <= $1', [this.now()]);
    return result.rowCount ?? 0;
  }

  async delete(key: ThreadKey): Promise<void> {
    await this.db.query('DELETE FROM threads WHERE key = $1', [key]);
  }

  async listKeys(prefix: string, limit: number): Promise<ThreadKey[]> {
    const { rows } = await this.db.query<{ key: string }>(
      'SELECT key FROM threads WHERE starts_with(key, $1) ORDER BY updated_at DESC LIMIT $2',
      [prefix, limit],
    );
    return rows.map((r) => r.key);
  }

  async forgetOwner(userId: string, tenant: TenantId): Promise<ThreadKey[]> {
    return this.deleteReturningKeys('DELETE FROM threads WHERE owner = $1 AND tenant = $2 RETURNING key', [
      userId,
      tenant,
    ]);
  }

  async forgetTenant(tenant: TenantId): Promise<ThreadKey[]> {
    return this.deleteReturningKeys('DELETE FROM threads WHERE tenant = $1 RETURNING key', [tenant]);
  }

  private async deleteReturningKeys(sql: string, params: unknown[]): Promise<ThreadKey[]> {
    const { rows } = await this.db.query<{ key: string }>(sql, params);
    return rows.map((r) => r.key);
  }
}
