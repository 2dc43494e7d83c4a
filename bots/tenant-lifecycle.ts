import type { GalleryBindingStore, Logger, TenantInstallations, TenantStore } from '../core/ports.ts';
import type { TenantId } from '../core/tenant.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Workspaces and guilds coming and going. Leaving (Slack app_uninstalled / tokens_revoked, Discord
 * guildDelete) deletes the installation's tokens at once but keeps the tenant's searches,
 * transcripts and gallery binding for TENANT_GRACE_DAYS, so a re-install within that time finds
 * everything; after it, purge() deletes them.
 */
export class TenantLifecycle implements TenantInstallations {
  constructor(
    private readonly deps: {
      tenants: TenantStore;
      bindings: GalleryBindingStore;
      forgetTenant: (tenant: TenantId) => Promise<{ threads: number; records: number }>;
      logger: Logger;
    },
    private readonly graceDays: number,
    private readonly now: () => number = Date.now,
  ) {}

  async joined(tenant: TenantId, installation?: unknown): Promise<void> {
    await this.deps.tenants.joined(tenant, installation);
    this.deps.logger.info({ tenant }, 'tenant joined');
  }

  async left(tenant: TenantId): Promise<void> {
    await this.deps.tenants.left(tenant, this.now());
    this.deps.logger.info(
      { tenant, graceDays: this.graceDays },
      'tenant left; its data is kept for the grace period',
    );
  }

  async installation(tenant: TenantId): Promise<unknown | null> {
    const record = await this.deps.tenants.get(tenant);
    return record && record.leftAt === null ? record.installation : null;
  }

  /** Deletes everything of tenants whose grace period is over; returns them. */
  async purge(): Promise<TenantId[]> {
    const gone = await this.deps.tenants.leftBefore(this.now() - this.graceDays * DAY_MS);
    for (const tenant of gone) {
      const { threads, records } = await this.deps.forgetTenant(tenant);
      const bindings = await this.deps.bindings.removeTenant(tenant);
      await this.deps.tenants.remove(tenant);
      this.deps.logger.info({ tenant, threads, records, bindings }, 'purged a tenant after its grace period');
    }
    return gone;
  }

  /** purge() now and then every hour; returns the timer to clear at shutdown. */
  schedule(): NodeJS.Timeout {
    const run = () =>
      void this.purge().catch((err: unknown) => this.deps.logger.error({ err }, 'tenant purge failed'));
    run();
    return setInterval(run, 60 * 60 * 1000).unref();
  }
}
