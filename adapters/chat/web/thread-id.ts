import { randomBytes } from 'node:crypto';
import { decodeThreadKey, encodeThreadKey } from '../../../core/thread-key.ts';
import type { ThreadKey } from '../../../core/types.ts';

export const PLATFORM = 'web';

/** A web thread id as it appears in URLs: 6–40 URL-safe characters, nothing else. */
const THREAD_ID = /^[A-Za-z0-9_-]{6,40}$/;

export function isThreadId(id: string): boolean {
  return THREAD_ID.test(id);
}

/** A fresh random thread id (72 bits, URL-safe). */
export function newThreadId(): string {
  return randomBytes(9).toString('base64url');
}

export function encodeThreadId(id: string): ThreadKey {
  if (!isThreadId(id)) throw new Error(`not a web thread id: ${JSON.stringify(id.slice(0, 60))}`);
  return encodeThreadKey(PLATFORM, [id]);
}

export function decodeThreadId(key: ThreadKey): { id: string } {
  const { platform, parts } = decodeThreadKey(key);
  const [id] = parts;
  if (platform !== PLATFORM || parts.length !== 1 || !id || !isThreadId(id)) {
    throw new Error(`not a web thread: ${key}`);
  }
  return { id };
}

/** The thread id of a key, or null when the key is not a web thread. */
export function webThreadIdOf(key: ThreadKey): string | null {
  try {
    return decodeThreadId(key).id;
  } catch {
    return null;
  }
}
