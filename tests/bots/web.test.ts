import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../bots/config.ts';
import { isWebTokenAdmin, sessionSecret, webAuth } from '../../bots/web.ts';

describe('web playground settings (bots/web.ts)', () => {
  const dirs: string[] = [];
  const dataDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'genir-web-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const config = (env: Record<string, string>) =>
    loadConfig({ DATA_DIR: dataDir(), ...env }, { dotenv: false });

  it('refuses a non-loopback address without sign-in, with a message saying what to set', () => {
    expect(() => webAuth(config({ WEB_HOST: '0.0.0.0' }))).toThrow(
      /WEB_HOST=0\.0\.0\.0 is not a loopback address.*WEB_AUTH=token/,
    );
    expect(
      webAuth(config({ WEB_HOST: '0.0.0.0', WEB_AUTH: 'token', WEB_TOKEN: 'a-long-shared-token' })),
    ).toMatchObject({
      mode: 'token',
      token: 'a-long-shared-token',
    });
    expect(webAuth(config({ WEB_HOST: '0.0.0.0', WEB_AUTH: 'header' }))).toMatchObject({
      mode: 'header',
      header: 'X-Forwarded-User',
    });
    expect(() => config({ WEB_AUTH: 'token' })).toThrow(/WEB_AUTH=token needs WEB_TOKEN/);
  });

  it('makes the session secret up once and keeps it in DATA_DIR (owner-only), unless WEB_SESSION_SECRET is set', () => {
    const c = config({});
    const first = sessionSecret(c);
    expect(first.length).toBeGreaterThanOrEqual(32);
    expect(sessionSecret(c)).toBe(first);
    const file = join(c.DATA_DIR, 'web-session-secret');
    expect(readFileSync(file, 'utf8').trim()).toBe(first);
    expect(statSync(file).mode & 0o077).toBe(0);
    expect(sessionSecret(config({ WEB_SESSION_SECRET: 's'.repeat(40) }))).toBe('s'.repeat(40));
  });

  it('the admin token makes a web admin in token mode only', () => {
    const token = config({
      WEB_AUTH: 'token',
      WEB_TOKEN: 'a-long-shared-token',
      WEB_ADMIN_TOKEN: 'an-admin-token-16+',
    });
    expect(isWebTokenAdmin(token, 'web:admin')).toBe(true);
    expect(isWebTokenAdmin(token, 'web:someone')).toBe(false);
    expect(isWebTokenAdmin(config({ WEB_AUTH: 'header' }), 'web:admin')).toBe(false);
    expect(
      isWebTokenAdmin(config({ WEB_AUTH: 'token', WEB_TOKEN: 'a-long-shared-token' }), 'web:admin'),
    ).toBe(false);
  });
});
