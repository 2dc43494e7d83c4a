import { REST, Routes } from 'discord.js';
import { slashCommands } from '../adapters/chat/discord/commands.ts';
import type { Config } from '../bots/config.ts';

export interface DiscordRegisterOptions {
  token: string;
  applicationId: string;
  /** Register in one server (instant; for development). Without it: global (all servers the app is in). */
  guildId?: string;
  /** REST base override (default https://discord.com/api). */
  apiUrl?: string;
}

export interface DiscordRegisterResult {
  scope: 'guild' | 'global';
  guildId?: string;
  /** Names of the registered top-level commands. */
  commands: string[];
}

/** PUTs the slash commands (replacing the app's previous set in that scope). */
export async function registerDiscordCommands(o: DiscordRegisterOptions): Promise<DiscordRegisterResult> {
  const rest = new REST(o.apiUrl ? { api: o.apiUrl } : {}).setToken(o.token);
  const body = slashCommands();
  const route = o.guildId
    ? Routes.applicationGuildCommands(o.applicationId, o.guildId)
    : Routes.applicationCommands(o.applicationId);
  const saved = (await rest.put(route, { body })) as { name: string }[];
  return {
    scope: o.guildId ? 'guild' : 'global',
    ...(o.guildId ? { guildId: o.guildId } : {}),
    commands: saved.map((c) => c.name),
  };
}

/**
 * `genir discord:register [--guild <id>]`: registers the commands with the app from the config.
 * Returns the line to print; throws with a message naming the missing variable or the API error.
 */
export async function discordRegister(config: Config, opts: { guild?: string } = {}): Promise<string> {
  if (!config.DISCORD_TOKEN) throw new Error('DISCORD_TOKEN is not set (see docs/discord.md).');
  if (!config.DISCORD_APPLICATION_ID)
    throw new Error('DISCORD_APPLICATION_ID is not set (see docs/discord.md).');
  if (opts.guild !== undefined && !/^\d{17,20}$/.test(opts.guild)) {
    throw new Error(`--guild must be a numeric server id, got "${opts.guild}".`);
  }
  const result = await registerDiscordCommands({
    token: config.DISCORD_TOKEN,
    applicationId: config.DISCORD_APPLICATION_ID,
    ...(opts.guild ? { guildId: opts.guild } : {}),
    ...(config.DISCORD_API_URL ? { apiUrl: config.DISCORD_API_URL } : {}),
  });
  const names = result.commands.map((n) => `/${n}`).join(', ');
  return result.scope === 'guild'
    ? `Registered ${names} in server ${result.guildId} (available now).`
    : `Registered ${names} globally (may take up to an hour to appear in every server).`;
}
