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

/**
 * A web thread's key carries the browser it belongs to ("web:<owner>:<id>"): a thread id from
 * another browser names no thread of this one, so it is simply not found.
 */
export function encodeThreadId(owner: string, id: string): ThreadKey {
  if (!owner) throw new Error('a web thread needs an owner');
  if (!isThreadId(id)) throw new Error(`not a web thread id: ${JSON.stringify(id.slice(0, 60))}`);
  return encodeThreadKey(PLATFORM, [owner, id]);
}

export function decodeThreadId(key: ThreadKey): { owner: string; id: string } {
  const { platform, parts } = decodeThreadKey(key);
  const [owner, id] = parts;
  if (platform !== PLATFORM || parts.length !== 2 || !owner || !id || !isThreadId(id)) {
    throw new Error(`not a web thread: ${key}`);
  }
  return { owner, id };
}

/** The prefix of every thread key of one browser (owner). */
export function ownerPrefix(owner: string): string {
  return `${encodeThreadKey(PLATFORM, [owner])}:`;
}

/** The thread id of a key, or null when the key is not a web thread. */
export function webThreadIdOf(key: ThreadKey): string | null {
  try {
    return decodeThreadId(key).id;
  } catch {
    return null;
  }
}
