import { DiscordAdapter } from '../adapters/chat/discord/adapter.ts';
import type { ConversationEngine } from '../core/engine.ts';
import type { Logger } from '../core/ports.ts';
import type { Config } from './config.ts';

/** True when the config has what the Discord bot needs to start. */
export function discordConfigured(config: Config): boolean {
  return Boolean(config.DISCORD_TOKEN && config.DISCORD_APPLICATION_ID);
}

/**
 * Starts the Discord bot on a shared engine; resolves once the gateway session is ready.
 * Rejects (with a message naming the problem, never the token) when it cannot log in.
 */
export async function startDiscordBot(
  engine: ConversationEngine,
  config: Config,
  logger: Logger,
): Promise<{ stop(): Promise<void> }> {
  if (!config.DISCORD_TOKEN || !config.DISCORD_APPLICATION_ID) {
    throw new Error('Discord needs DISCORD_TOKEN and DISCORD_APPLICATION_ID (see docs/discord.md).');
  }
  const adapter = new DiscordAdapter(engine, {
    token: config.DISCORD_TOKEN,
    applicationId: config.DISCORD_APPLICATION_ID,
    allowedChannelIds: config.DISCORD_ALLOWED_CHANNELS,
    ...(config.DISCORD_API_URL ? { apiUrl: config.DISCORD_API_URL } : {}),
    logger,
  });
  try {
    await adapter.start();
  } catch (err) {
    await adapter.client.destroy().catch(() => {});
    throw new Error(`Discord bot could not start: ${(err as Error).message}`);
  }
  if (adapter.client.user?.id && adapter.client.user.id !== config.DISCORD_APPLICATION_ID) {
    logger.warn(
      { botUser: adapter.client.user.id, applicationId: config.DISCORD_APPLICATION_ID },
      'DISCORD_APPLICATION_ID is not the id of the bot the token belongs to; slash commands may not reach it',
    );
  }
  return { stop: () => adapter.stop() };
}
