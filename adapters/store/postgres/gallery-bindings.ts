import type { GalleryBinding, GalleryBindingStore } from '../../../core/ports.ts';
import type { TenantId } from '../../../core/tenant.ts';
import type { PostgresDatabase } from './database.ts';

/** The tenant-wide binding is stored with channel '' (a primary key column cannot be NULL). */
const TENANT_WIDE = '';

/** Which named gallery each tenant, or one of its channels, searches. */
export class PostgresGalleryBindingStore implements GalleryBindingStore {
  constructor(
    private readonly db: PostgresDatabase,
    private readonly now: () => number = Date.now,
  ) {}

  async bind(b: Omit<GalleryBinding, 'boundAt'>): Promise<void> {
    await this.db.query(
      `INSERT INTO gallery_bindings (tenant, channel, gallery, bound_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (tenant, channel) DO UPDATE SET gallery = excluded.gallery, bound_at = excluded.bound_at`,
      [b.tenant, b.channel ?? TENANT_WIDE, b.gallery, this.now()],
    );
  }

  async unbind(tenant: TenantId, channel: string | null): Promise<boolean> {
    const result = await this.db.query('DELETE FROM gallery_bindings WHERE tenant = $1 AND channel = $2', [
      tenant,
      channel ?? TENANT_WIDE,
    ]);
    return (result.rowCount ?? 0) > 0;
  }

  async lookup(tenant: TenantId, channel?: string): Promise<string | null> {
    // The channel's own binding sorts first ('' sorts before any channel id).
    const { rows } = await this.db.query<{ gallery: string }>(
      `SELECT gallery FROM gallery_bindings WHERE tenant = $1 AND channel IN ($2, $3)
       ORDER BY channel COLLATE "C" DESC LIMIT 1`,
      [tenant, channel ?? TENANT_WIDE, TENANT_WIDE],
    );
    return rows[0]?.gallery ?? null;
  }

  async list(): Promise<GalleryBinding[]> {
    const { rows } = await this.db.query<{
      tenant: string;
      channel: string;
      gallery: string;
      bound_at: number;
    }>(
      'SELECT tenant, channel, gallery, bound_at FROM gallery_bindings ORDER BY tenant COLLATE "C", channel COLLATE "C"',
    );
    return rows.map((r) => ({
      tenant: r.tenant,
      channel: r.channel === TENANT_WIDE ? null : r.channel,
      gallery: r.gallery,
      boundAt: r.bound_at,
    }));
  }

  async removeTenant(tenant: TenantId): Promise<number> {
    return (await this.db.query('DELETE FROM gallery_bindings WHERE tenant = $1', [tenant])).rowCount ?? 0;
  }
}
