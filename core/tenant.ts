import { decodeThreadKey, encodeThreadKey } from './thread-key.ts';
import type { ThreadKey } from './types.ts';

/**
 * Who a thread belongs to: a Slack workspace ("slack:T…"), a Discord guild ("discord:<guild>"),
 * or the one local tenant of the web playground and the terminal ("local"). Galleries, admins,
 * rate limits, transcripts, export and forget are per tenant; nothing crosses tenants.
 */
export type TenantId = string;

export const LOCAL_TENANT: TenantId = 'local';

/** Platforms whose first thread-key part is the tenant (workspace / guild). */
const TENANT_PLATFORMS = new Set(['slack', 'discord']);

export interface ThreadPlace {
  tenant: TenantId;
  /** The channel the thread lives in, for per-channel galleries (none for the local tenant). */
  channel?: string;
}

export function placeOf(key: ThreadKey): ThreadPlace {
  const { platform, parts } = decodeThreadKey(key);
  if (!TENANT_PLATFORMS.has(platform)) return { tenant: LOCAL_TENANT };
  const [tenant, channel] = parts as [string, string | undefined];
  return { tenant: tenantId(platform, tenant), ...(channel ? { channel } : {}) };
}

export const tenantOf = (key: ThreadKey): TenantId => placeOf(key).tenant;

/** "slack" + "T123" → "slack:T123" (the platform's id percent-encoded like thread-key parts). */
export function tenantId(platform: string, id: string): TenantId {
  return encodeThreadKey(platform, [id]);
}

/**
 * A person's platform-qualified id, the form ADMIN_USER_IDS takes: "slack:T…:U…",
 * "discord:<guild>:<user>" (a Discord user is an admin in the guilds listed, nowhere else), and
 * "web:<id>" / "terminal:<id>" for the local tenant. The same person in two tenants is two ids.
 */
export function qualifiedUserId(key: ThreadKey, userId: string): string {
  const { platform, parts } = decodeThreadKey(key);
  const scope = TENANT_PLATFORMS.has(platform) ? [parts[0] as string] : [];
  return encodeThreadKey(platform, [...scope, userId]);
}
