import type { DiscordAdapter } from '../adapters/chat/discord/adapter.ts';
import { required } from './config.ts';
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
      logger,
      ...(tenants ? { tenants } : {}),
    });
  },
  describe: () => 'GenIR is running on Discord (Ctrl+C to stop).',
};
