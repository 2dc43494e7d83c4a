import type { TenantRecord, TenantStore } from '../../../core/ports.ts';
import type { TenantId } from '../../../core/tenant.ts';
import type { SqliteDatabase } from './database.ts';

interface Row {
  tenant: string;
  installation: string | null;
  joined_at: number;
  left_at: number | null;
}

/** Tenants the bot serves: joins, departures (kept for a grace period) and Slack installations. */
export class SqliteTenantStore implements TenantStore {
  private readonly statements;

  constructor(
    db: SqliteDatabase,
    private readonly now: () => number = Date.now,
  ) {
    const c = db.connection;
    this.statements = {
      join: c.prepare<[string, string | null, number]>(
        `INSERT INTO tenants (tenant, installation, joined_at, left_at) VALUES (?, ?, ?, NULL)
         ON CONFLICT (tenant) DO UPDATE SET left_at = NULL,
           installation = COALESCE(excluded.installation, tenants.installation),
           joined_at = CASE WHEN tenants.left_at IS NULL THEN tenants.joined_at ELSE excluded.joined_at END`,
      ),
      left: c.prepare<{ tenant: string; now: number; at: number }>(
        `INSERT INTO tenants (tenant, installation, joined_at, left_at) VALUES (@tenant, NULL, @now, @at)
         ON CONFLICT (tenant) DO UPDATE SET installation = NULL, left_at = COALESCE(tenants.left_at, @at)`,
      ),
      get: c.prepare<[string], Row>('SELECT * FROM tenants WHERE tenant = ?'),
      leftBefore: c.prepare<[number], { tenant: string }>(
        'SELECT tenant FROM tenants WHERE left_at IS NOT NULL AND left_at < ? ORDER BY left_at',
      ),
      remove: c.prepare<[string]>('DELETE FROM tenants WHERE tenant = ?'),
    };
  }

  async joined(tenant: TenantId, installation?: unknown): Promise<void> {
    const json = installation === undefined ? null : JSON.stringify(installation);
    this.statements.join.run(tenant, json, this.now());
  }

  async left(tenant: TenantId, at: number): Promise<void> {
    this.statements.left.run({ tenant, now: this.now(), at });
  }

  async get(tenant: TenantId): Promise<TenantRecord | null> {
    const row = this.statements.get.get(tenant);
    if (!row) return null;
    return {
      tenant: row.tenant,
      installation: row.installation === null ? null : (JSON.parse(row.installation) as unknown),
      joinedAt: row.joined_at,
      leftAt: row.left_at,
    };
  }

  async leftBefore(time: number): Promise<TenantId[]> {
    return this.statements.leftBefore.all(time).map((r) => r.tenant);
  }

  async remove(tenant: TenantId): Promise<void> {
    this.statements.remove.run(tenant);
  }
}
