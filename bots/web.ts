import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WebChat } from '../adapters/chat/web/adapter.ts';
import { ADMIN_OWNER, type WebAuth } from '../adapters/chat/web/session.ts';
import { encodeThreadKey } from '../core/thread-key.ts';
import { type Config, ConfigError, required } from './config.ts';
import type { FrontEndFactory } from './front-ends.ts';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

const PHOTO_EXAMPLES = ['the banner with an orange fox', 'a photo of a red bicycle against a brick wall'];

/** Whether a user id is a web admin by WEB_AUTH=token's admin token (ADMIN_USER_IDS is checked apart). */
export function isWebTokenAdmin(config: Config, userId: string): boolean {
  return (
    config.WEB_AUTH === 'token' &&
    config.WEB_ADMIN_TOKEN !== undefined &&
    userId === encodeThreadKey('web', [ADMIN_OWNER])
  );
}

/**
 * WEB_SESSION_SECRET, or one made up on the first start and kept in DATA_DIR, so sessions survive
 * restarts.
 */
export function sessionSecret(config: Config): string {
  if (config.WEB_SESSION_SECRET) return config.WEB_SESSION_SECRET;
  const file = join(config.DATA_DIR, 'web-session-secret');
  try {
    const kept = readFileSync(file, 'utf8').trim();
    if (kept.length >= 32) return kept;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const secret = randomBytes(32).toString('base64url');
  mkdirSync(config.DATA_DIR, { recursive: true });
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

export function webAuth(config: Config): WebAuth {
  const loopback = LOOPBACK.has(config.WEB_HOST);
  if (config.WEB_AUTH === 'none' && !loopback) {
    throw new ConfigError(
      `WEB_HOST=${config.WEB_HOST} is not a loopback address, and WEB_AUTH=none lets anyone who reaches it in. ` +
        'Set WEB_AUTH=token (with WEB_TOKEN) or WEB_AUTH=header (behind a trusted proxy), or keep WEB_HOST=127.0.0.1. See docs/web.md.',
    );
  }
  const secret = sessionSecret(config);
  switch (config.WEB_AUTH) {
    case 'none':
      return { mode: 'none', secret };
    case 'token':
      return {
        mode: 'token',
        secret,
        token: required(config, 'WEB_TOKEN'),
        ...(config.WEB_ADMIN_TOKEN ? { adminToken: config.WEB_ADMIN_TOKEN } : {}),
      };
    case 'header':
      return { mode: 'header', secret, header: config.WEB_AUTH_HEADER };
  }
}

/** The local web playground on WEB_HOST:WEB_PORT: `npm start` when no chat platform is configured. */
export const webFrontEnd: FrontEndFactory<WebChat> = {
  name: 'web',
  configured: () => true,
  async create({ engine, config, logger, gallery, images }) {
    const auth = webAuth(config);
    const { DEFAULT_EXAMPLES, WebChat } = await import('../adapters/chat/web/adapter.ts');
    return new WebChat(
      { engine, gallery, images, logger },
      {
        port: config.WEB_PORT,
        host: config.WEB_HOST,
        localOnly: LOOPBACK.has(config.WEB_HOST),
        examples: config.GENERATOR === 'sketch' ? DEFAULT_EXAMPLES : PHOTO_EXAMPLES,
        auth,
        secureCookies: config.WEB_COOKIE_SECURE,
      },
    );
  },
  describe: (web) => `GenIR is running at ${web.url} — open it in a browser (Ctrl+C to stop).`,
};
