/**
 * Bolt's InstallationStore on the project's tenant store: an OAuth install is the tenant record's
 * installation (so it survives restarts), uninstalling deletes it and starts the tenant's grace
 * period. A workspace is "slack:T…"; an org-wide (Enterprise Grid) install is "slack:E…".
 */
import type { Installation, InstallationQuery, InstallationStore } from '@slack/bolt';
import type { TenantInstallations } from '../../../core/ports.ts';
import { type TenantId, tenantId } from '../../../core/tenant.ts';
import { PLATFORM } from './thread-id.ts';

/** The bot scopes an install asks for: the same as slack-manifest.yaml's oauth_config.scopes.bot. */
export const BOT_SCOPES = [
  'app_mentions:read',
  'channels:history',
  'groups:history',
  'im:history',
  'mpim:history',
  'chat:write',
  'commands',
  'files:write',
  'files:read',
] as const;

function tenantOfQuery(query: InstallationQuery<boolean>): TenantId {
  const id = query.isEnterpriseInstall ? query.enterpriseId : query.teamId;
  if (!id) throw new Error('a Slack installation query without a team or enterprise id');
  return tenantId(PLATFORM, id);
}

function tenantOfInstallation(installation: Installation): TenantId {
  const id = installation.isEnterpriseInstall ? installation.enterprise?.id : installation.team?.id;
  if (!id) throw new Error('Slack returned an installation without a team or enterprise id');
  return tenantId(PLATFORM, id);
}

/** The bot token of a workspace's installation, or null when the app is not installed there. */
export async function botTokenOf(installations: TenantInstallations, teamId: string): Promise<string | null> {
  const installation = (await installations.installation(tenantId(PLATFORM, teamId))) as Installation | null;
  return installation?.bot?.token ?? null;
}

export function tenantInstallationStore(installations: TenantInstallations): InstallationStore {
  return {
    async storeInstallation(installation) {
      await installations.joined(tenantOfInstallation(installation as Installation), installation);
    },
    async fetchInstallation(query) {
      const tenant = tenantOfQuery(query);
      const installation = await installations.installation(tenant);
      // Bolt's authorize turns this into a refusal of the event: no listener runs.
      if (!installation) throw new Error(`GenIR is not installed in ${tenant}`);
      return installation as Installation;
    },
    async deleteInstallation(query) {
      await installations.left(tenantOfQuery(query));
    },
  };
}
