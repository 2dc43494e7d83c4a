import type { ClientOptions } from 'discord.js';
import type { DiscordAdapter } from '../adapters/chat/discord/adapter.ts';
import { type Config, required } from './config.ts';
import type { FrontEndFactory } from './front-ends.ts';

/** The Discord bot: DISCORD_TOKEN and DISCORD_APPLICATION_ID (docs/discord.md). */
export const discordFrontEnd: FrontEndFactory<DiscordAdapter> = {
  name: 'discord',
  configured: (config) => Boolean(config.DISCORD_TOKEN && config.DISCORD_APPLICATION_ID),
  async create({ engine, config, logger, tenants }) {
    const { DiscordAdapter } = await import('../adapters/chat/discord/adapter.ts');
    return new DiscordAdapter(engine, {
      token: required(config, 'DISCORD_TOKEN'),
      applicationId: required(config, 'DISCORD_APPLICATION_ID'),
      allowedChannelIds: config.DISCORD_ALLOWED_CHANNELS,
      ...(config.DISCORD_API_URL ? { apiUrl: config.DISCORD_API_URL } : {}),
      clientOptions: discordShardOptions(config),
      logger,
      ...(tenants ? { tenants } : {}),
    });
  },
  describe: () => 'GenIR is running on Discord (Ctrl+C to stop).',
};

/**
 * DISCORD_SHARDS / DISCORD_SHARD_IDS as discord.js's own sharding options: "auto" runs every shard
 * Discord recommends in this process; a count runs all of them, or the ids this instance owns.
 */
export function discordShardOptions(config: Config): Pick<ClientOptions, 'shards' | 'shardCount'> {
  const total = config.DISCORD_SHARDS;
  if (total === undefined) return {};
  if (total === 'auto') return { shards: 'auto' };
  const ids = config.DISCORD_SHARD_IDS ?? Array.from({ length: total }, (_, i) => i);
  return { shards: ids, shardCount: total };
}
