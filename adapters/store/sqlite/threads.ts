import type { ThreadStore } from '../../../core/ports.ts';
import { type TenantId, tenantOf } from '../../../core/tenant.ts';
import type { ThreadKey, ThreadState } from '../../../core/types.ts';
import type { SqliteDatabase } from './database.ts';

export interface SqliteStoreOptions {
  /** Clock in ms since the epoch (tests inject one). */
  now?: () => number;
}

/** Purge expired dedupe rows once every this many claims. */
const PURGE_EVERY = 500;

/** Thread states (JSON, compare-and-set on version) and the processed-event dedupe table. */
export class SqliteThreadStore implements ThreadStore {
  private readonly now: () => number;
  private claimsSincePurge = 0;
  private readonly statements;

  constructor(db: SqliteDatabase, options: SqliteStoreOptions = {}) {
    this.now = options.now ?? Date.now;
    const c = db.connection;
    this.statements = {
      load: c.prepare<[string], { version: number; state: string }>(
        'SELECT version, state FROM threads WHERE key = ?',
      ),
      insert: c.prepare<[string, string, number, string, string, string | null, number, number]>(
        `INSERT INTO threads (key, tenant, version, status, state, owner, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (key) DO NOTHING`,
      ),
      update: c.prepare<[number, string, string, string | null, number, string, number]>(
        'UPDATE threads SET version = ?, status = ?, state = ?, owner = ?, updated_at = ? WHERE key = ? AND version = ?',
      ),
      delete: c.prepare<[string]>('DELETE FROM threads WHERE key = ?'),
      deleteOwned: c.prepare<[string, string], { key: string }>(
        'DELETE FROM threads WHERE owner = ? AND tenant = ? RETURNING key',
      ),
      deleteTenant: c.prepare<[string], { key: string }>(
        'DELETE FROM threads WHERE tenant = ? RETURNING key',
      ),
      // A key range instead of LIKE: no escaping of the prefix, and the primary key index serves it.
      listKeys: c.prepare<[string, string, number], { key: string }>(
        'SELECT key FROM threads WHERE key >= ? AND key < ? ORDER BY updated_at DESC LIMIT ?',
      ),
      claim: c.prepare<[string, number, number]>(
        `INSERT INTO processed_events (key, expires_at) VALUES (?, ?)
         ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE processed_events.expires_at <= ?`,
      ),
      purge: c.prepare<[number]>('DELETE FROM processed_events WHERE expires_at <= ?'),
    };
  }

  async load(key: ThreadKey): Promise<ThreadState | null> {
    const row = this.statements.load.get(key);
    if (!row) return null;
    const state = JSON.parse(row.state) as ThreadState;
    state.version = row.version;
    return state;
  }

  async save(state: ThreadState, expectedVersion: number): Promise<boolean> {
    const version = expectedVersion + 1;
    const json = JSON.stringify({ ...state, version });
    const now = this.now();
    const owner = state.ownerId ?? null;
    const result =
      expectedVersion === 0
        ? this.statements.insert.run(
            state.key,
            tenantOf(state.key),
            version,
            state.status,
            json,
            owner,
            state.createdAt,
            now,
          )
        : this.statements.update.run(version, state.status, json, owner, now, state.key, expectedVersion);
    if (result.changes !== 1) return false;
    state.version = version;
    return true;
  }

  async claimOnce(dedupeKey: string, ttlMs: number): Promise<boolean> {
    const now = this.now();
    if (++this.claimsSincePurge >= PURGE_EVERY) this.purgeExpired();
    return this.statements.claim.run(dedupeKey, now + Math.max(0, ttlMs), now).changes === 1;
  }

  /** Delete expired dedupe rows; returns how many. Also runs by itself every few hundred claims. */
  purgeExpired(): number {
    this.claimsSincePurge = 0;
    return this.statements.purge.run(this.now()).changes;
  }

  async delete(key: ThreadKey): Promise<void> {
    this.statements.delete.run(key);
  }

  async listKeys(prefix: string, limit: number): Promise<ThreadKey[]> {
    const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
    return this.statements.listKeys.all(prefix, end, limit).map((r) => r.key);
  }

  async forgetOwner(userId: string, tenant: TenantId): Promise<ThreadKey[]> {
    return this.statements.deleteOwned.all(userId, tenant).map((r) => r.key);
  }

  async forgetTenant(tenant: TenantId): Promise<ThreadKey[]> {
    return this.statements.deleteTenant.all(tenant).map((r) => r.key);
  }
}
