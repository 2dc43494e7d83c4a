import type { ThreadKey } from './types.ts';

/**
 * The one place thread keys are built and split. Each chat adapter's id codec calls these with
 * its own platform name and parts, so keys look alike everywhere: "<platform>:<part>:<part>…".
 * Parts are percent-encoded so a ':' inside a platform id cannot shift the fields.
 */
export function encodeThreadKey(platform: string, parts: readonly string[]): ThreadKey {
  if (!/^[a-z]+$/.test(platform)) throw new Error(`bad platform name: ${platform}`);
  return [platform, ...parts.map((p) => encodeURIComponent(p))].join(':');
}

export function decodeThreadKey(key: ThreadKey): { platform: string; parts: string[] } {
  const [platform, ...rest] = key.split(':');
  if (!platform || rest.length === 0) throw new Error(`not a thread key: ${key}`);
  return { platform, parts: rest.map((p) => decodeURIComponent(p)) };
}
