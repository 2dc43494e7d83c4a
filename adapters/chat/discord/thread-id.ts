import { decodeThreadKey, encodeThreadKey } from '../../../core/thread-key.ts';
import type { ThreadKey } from '../../../core/types.ts';

export const PLATFORM = 'discord';

export interface DiscordThreadId {
  guild: string;
  /** The text channel the thread belongs to (its parent). */
  channel: string;
  thread: string;
}

export function encodeThreadId(id: DiscordThreadId): ThreadKey {
  return encodeThreadKey(PLATFORM, [id.guild, id.channel, id.thread]);
}

export function decodeThreadId(key: ThreadKey): DiscordThreadId {
  const { platform, parts } = decodeThreadKey(key);
  if (platform !== PLATFORM || parts.length !== 3) throw new Error(`not a discord thread: ${key}`);
  const [guild, channel, thread] = parts as [string, string, string];
  return { guild, channel, thread };
}
