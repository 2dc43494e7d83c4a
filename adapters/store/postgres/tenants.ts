import type { TenantRecord, TenantStore } from '../../../core/ports.ts';
import type { TenantId } from '../../../core/tenant.ts';
import type { PostgresDatabase } from './database.ts';

interface Row {
  tenant: string;
  installation: unknown | null;
  joined_at: number;
  left_at: number | null;
}

/** Tenants the bot serves: joins, departures (kept for a grace period) and Slack installations. */
export class PostgresTenantStore implements TenantStore {
  constructor(
    private readonly db: PostgresDatabase,
    private readonly now: () => number = Date.now,
  ) {}

  async joined(tenant: TenantId, installation?: unknown): Promise<void> {
    const json = installation === undefined ? null : JSON.stringify(installation);
    await this.db.query(
      `INSERT INTO tenants (tenant, installation, joined_at, left_at) VALUES ($1, $2, $3, NULL)
       ON CONFLICT (tenant) DO UPDATE SET left_at = NULL,
         installation = COALESCE(excluded.installation, tenants.installation),
         joined_at = CASE WHEN tenants.left_at IS NULL THEN tenants.joined_at ELSE excluded.joined_at END`,
      [tenant, json, this.now()],
    );
  }

  async left(tenant: TenantId, at: number): Promise<void> {
    await this.db.query(
      `INSERT INTO tenants (tenant, installation, joined_at, left_at) VALUES ($1, NULL, $2, $3)
       ON CONFLICT (tenant) DO UPDATE SET installation = NULL, left_at = COALESCE(tenants.left_at, $3)`,
      [tenant, this.now(), at],
    );
  }

  async get(tenant: TenantId): Promise<TenantRecord | null> {
    const { rows } = await this.db.query<Row>('SELECT * FROM tenants WHERE tenant = $1', [tenant]);
    const row = rows[0];
    if (!row) return null;
    return {
      tenant: row.tenant,
      installation: row.installation,
      joinedAt: row.joined_at,
      leftAt: row.left_at,
    };
  }

  async leftBefore(time: number): Promise<TenantId[]> {
    const { rows } = await this.db.query<{ tenant: string }>(
      'SELECT tenant FROM tenants WHERE left_at IS NOT NULL AND left_at < $1 ORDER BY left_at',
      [time],
    );
    return rows.map((r) => r.tenant);
  }

  async remove(tenant: TenantId): Promise<void> {
    await this.db.query('DELETE FROM tenants WHERE tenant = $1', [tenant]);
  }
}
