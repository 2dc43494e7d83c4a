import { decodeThreadKey, encodeThreadKey } from '../../../core/thread-key.ts';
import type { ThreadKey } from '../../../core/types.ts';

export const PLATFORM = 'terminal';

export function encodeThreadId(session: string): ThreadKey {
  return encodeThreadKey(PLATFORM, [session]);
}

export function decodeThreadId(key: ThreadKey): { session: string } {
  const { platform, parts } = decodeThreadKey(key);
  if (platform !== PLATFORM || parts.length !== 1) throw new Error(`not a terminal thread: ${key}`);
  return { session: parts[0] as string };
}
