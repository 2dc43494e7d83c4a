import type { GalleryBinding, GalleryBindingStore } from '../../../core/ports.ts';
import type { TenantId } from '../../../core/tenant.ts';
import type { SqliteDatabase } from './database.ts';

/** The tenant-wide binding is stored with channel '' (SQLite primary keys treat NULLs as distinct). */
const TENANT_WIDE = '';

/** Which named gallery each tenant, or one of its channels, searches. */
export class SqliteGalleryBindingStore implements GalleryBindingStore {
  private readonly statements;

  constructor(
    db: SqliteDatabase,
    private readonly now: () => number = Date.now,
  ) {
    const c = db.connection;
    this.statements = {
      bind: c.prepare<[string, string, string, number]>(
        `INSERT INTO gallery_bindings (tenant, channel, gallery, bound_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (tenant, channel) DO UPDATE SET gallery = excluded.gallery, bound_at = excluded.bound_at`,
      ),
      unbind: c.prepare<[string, string]>('DELETE FROM gallery_bindings WHERE tenant = ? AND channel = ?'),
      // The channel's own binding sorts first ('' sorts before any channel id).
      lookup: c.prepare<[string, string, string], { gallery: string }>(
        `SELECT gallery FROM gallery_bindings WHERE tenant = ? AND channel IN (?, ?)
         ORDER BY channel DESC LIMIT 1`,
      ),
      list: c.prepare<[], { tenant: string; channel: string; gallery: string; bound_at: number }>(
        'SELECT tenant, channel, gallery, bound_at FROM gallery_bindings ORDER BY tenant, channel',
      ),
      removeTenant: c.prepare<[string]>('DELETE FROM gallery_bindings WHERE tenant = ?'),
    };
  }

  async bind(b: Omit<GalleryBinding, 'boundAt'>): Promise<void> {
    this.statements.bind.run(b.tenant, b.channel ?? TENANT_WIDE, b.gallery, this.now());
  }

  async unbind(tenant: TenantId, channel: string | null): Promise<boolean> {
    return this.statements.unbind.run(tenant, channel ?? TENANT_WIDE).changes > 0;
  }

  async lookup(tenant: TenantId, channel?: string): Promise<string | null> {
    return this.statements.lookup.get(tenant, channel ?? TENANT_WIDE, TENANT_WIDE)?.gallery ?? null;
  }

  async list(): Promise<GalleryBinding[]> {
    return this.statements.list.all().map((r) => ({
      tenant: r.tenant,
      channel: r.channel === TENANT_WIDE ? null : r.channel,
      gallery: r.gallery,
      boundAt: r.bound_at,
    }));
  }

  async removeTenant(tenant: TenantId): Promise<number> {
    return this.statements.removeTenant.run(tenant).changes;
  }
}
