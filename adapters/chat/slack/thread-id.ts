import { decodeThreadKey, encodeThreadKey } from '../../../core/thread-key.ts';
import type { ThreadKey } from '../../../core/types.ts';

export const PLATFORM = 'slack';

/**
 * The thread part of a direct-message conversation held at the top level of the DM (not in a
 * thread): every top-level message there belongs to one running search.
 */
export const NO_THREAD = '-';

export interface SlackThreadId {
  team: string;
  channel: string;
  /** ts of the thread's root message, or NO_THREAD for a top-level DM conversation. */
  threadTs: string;
}

export function encodeThreadId(team: string, channel: string, threadTs: string): ThreadKey {
  return encodeThreadKey(PLATFORM, [team, channel, threadTs]);
}

export function decodeThreadId(key: ThreadKey): SlackThreadId {
  const { platform, parts } = decodeThreadKey(key);
  if (platform !== PLATFORM || parts.length !== 3) throw new Error(`not a slack thread: ${key}`);
  const [team, channel, threadTs] = parts as [string, string, string];
  return { team, channel, threadTs };
}
