/**
 * Slack OAuth mode end to end against the fake Slack: workspaces install the app at /slack/install
 * (Bolt's installer on our HTTP server, the installation kept as the tenant's record), each event
 * is served with its own workspace's bot token, and uninstalling removes the installation.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { webApi } from '@slack/bolt';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { BOT_SCOPES } from '../../../adapters/chat/slack/installation-store.ts';
import { encodeThreadId } from '../../../adapters/chat/slack/thread-id.ts';
import { openSqliteStores } from '../../../adapters/store/sqlite/index.ts';
import { REDIRECT_PATH, slackFrontEnd } from '../../../bots/slack.ts';
import { TenantLifecycle } from '../../../bots/tenant-lifecycle.ts';
import type { GalleryResolver } from '../../../core/ports.ts';
import { tenantOf } from '../../../core/tenant.ts';
import { FakeSlack } from '../../fakes/slack/fake-slack.ts';
import { PERSON, type SlackWorld, slackWorld } from '../../fakes/slack/world.ts';
import { fakeGallery } from '../../support/engine-world.ts';

const silent = { info() {}, warn() {}, error() {} };
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** The tenant store of a deployment (a SQLite file survives a restart), and the lifecycle on it. */
function deployment(path = ':memory:') {
  const stores = openSqliteStores(path);
  const tenants = new TenantLifecycle(
    {
      tenants: stores.tenants,
      bindings: stores.bindings,
      forgetTenant: async () => ({ threads: 0, records: 0 }),
      logger: silent,
    },
    30,
  );
  cleanup.push(async () => stores.db.close());
  return { stores, tenants };
}

async function oauthWorld(o: { fake?: FakeSlack; path?: string; galleries?: GalleryResolver } = {}) {
  const d = deployment(o.path);
  const w = await slackWorld({
    oauth: true,
    tenants: d.tenants,
    ...(o.fake ? { fake: o.fake } : {}),
    ...(o.galleries ? { galleries: o.galleries } : {}),
  });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await w.close();
  };
  cleanup.push(close);
  return { w: { ...w, close }, ...d };
}

const publicPosts = (w: SlackWorld) => w.fake.messages.filter((m) => m.via !== 'person' && !m.ephemeralTo);

describe('slack OAuth mode', () => {
  it('install → use → uninstall → reinstall, and the installation survives a restart', async () => {
    const fake = await FakeSlack.start();
    cleanup.push(() => fake.close());
    const dir = await mkdtemp(join(tmpdir(), 'genir-oauth-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'state.db');
    fake.addWorkspace('TA', ['CA1']);

    let { w, tenants } = await oauthWorld({ fake, path });
    const start = await w.startInstall();
    expect(start.authorizeUrl.searchParams.get('client_id')).toBe(fake.identity.clientId);
    expect(start.authorizeUrl.searchParams.get('scope')?.split(',')).toEqual([...BOT_SCOPES]);
    const page = await w.redirectBack(
      fake.approveInstall('TA', { scopes: BOT_SCOPES.join(',') }),
      start.state,
      start.cookie,
    );
    expect(page.status).toBe(200);
    expect(page.text).toContain('GenIR is installed');
    expect(page.text).toContain('genir gallery bind &#60;gallery&#62; --slack-team TA');
    const stored = (await tenants.installation('slack:TA')) as { bot?: { token: string; userId: string } };
    expect(stored.bot).toMatchObject({ token: fake.tokenOf('TA'), userId: 'UBTA' });

    // A restart: a new bot process on the same state file serves the workspace without reinstalling.
    await w.close();
    ({ w, tenants } = await oauthWorld({ fake, path }));
    const root = (await w.command('CA1', 'a red circle', PERSON, 'TA')) as string;
    expect(w.roundMessages('CA1', root)).toHaveLength(1);
    expect(w.botMessages('CA1', root).every((m) => m.team === 'TA' && m.user === 'UBTA')).toBe(true);
    const key = encodeThreadId('TA', 'CA1', root);
    expect(await w.world.engine.thread(key)).not.toBeNull();

    // The workspace removes the app: its installation goes, its searches stay for the grace period.
    fake.uninstall('TA');
    await w.senderFor('TA').event({ type: 'app_uninstalled' });
    await w.idle();
    expect(await tenants.installation('slack:TA')).toBeNull();
    expect((await w.world.engine.thread(key))?.rounds).toHaveLength(1);
    const before = publicPosts(w).length;
    await w.say({ channel: 'CA1', threadTs: root, text: 'it is blue', team: 'TA' });
    await w.command('CA1', 'a blue star', PERSON, 'TA');
    await w.idle();
    expect(publicPosts(w)).toHaveLength(before);
    expect((await w.world.engine.thread(key))?.rounds).toHaveLength(1);

    // Reinstalled: a new token, and the old search goes on.
    const again = await w.install('TA');
    expect(again.status).toBe(200);
    await w.say({ channel: 'CA1', threadTs: root, text: 'it is blue', team: 'TA' });
    await w.idle();
    expect(w.roundMessages('CA1', root)).toHaveLength(2);
    expect(w.roundMessages('CA1', root).at(-1)?.team).toBe('TA');
  });

  it('tokens_revoked naming only user tokens keeps the installation; naming the bot token removes it', async () => {
    const { w, tenants } = await oauthWorld();
    w.fake.addWorkspace('TA', ['CA1']);
    expect((await w.install('TA')).status).toBe(200);
    const revoked = (tokens: Record<string, string[]>) =>
      w.senderFor('TA').event({ type: 'tokens_revoked', tokens });
    await revoked({ oauth: ['UINSTALLER'] });
    await w.idle();
    expect(await tenants.installation('slack:TA')).not.toBeNull();
    await revoked({ bot: ['BBTA'] });
    await w.idle();
    expect(await tenants.installation('slack:TA')).toBeNull();
    expect(w.logs.some((l) => l.msg === 'the workspace removed the app')).toBe(true);
    await w.command('CA1', 'a red circle', PERSON, 'TA');
    expect(publicPosts(w)).toHaveLength(0);
    expect(w.logs.some((l) => l.msg === 'refused an event of a workspace the app is not installed in')).toBe(
      true,
    );
  });

  it("answers a thread without an event in hand (sinkFor) with that workspace's token, and not for a workspace without an installation", async () => {
    const { w } = await oauthWorld();
    w.fake.addWorkspace('TA', ['CA1']);
    w.fake.addWorkspace('TB', ['CB1']);
    expect((await w.install('TA')).status).toBe(200);
    expect(slackFrontEnd.describe(w.bot)).toContain(
      'workspaces install it at https://<your host>/slack/install',
    );
    const root = (await w.command('CA1', 'a red circle', PERSON, 'TA')) as string;
    const sink = w.bot.sinkFor(encodeThreadId('TA', 'CA1', root), PERSON);
    await sink?.send({ kind: 'notice', level: 'info', text: 'taken up by this instance' });
    const last = w.botMessages('CA1', root).at(-1);
    expect(last).toMatchObject({ team: 'TA', text: 'taken up by this instance' });
    const elsewhere = w.bot.sinkFor(encodeThreadId('TB', 'CB1', '1700000000.000001'), PERSON);
    await expect(elsewhere?.send({ kind: 'notice', level: 'info', text: 'x' })).rejects.toThrow(
      /not installed in Slack workspace TB/,
    );
    expect(publicPosts(w).filter((m) => m.channel === 'CB1')).toEqual([]);
  });

  it('two workspaces: each is answered with its own token and searches only its own gallery and threads', async () => {
    const [a, b] = [await fakeGallery('A', 20, 'a'), await fakeGallery('B', 20, 'b', 20_000)];
    const galleries: GalleryResolver = {
      forThread: async (key) => ({ 'slack:TA': a, 'slack:TB': b })[tenantOf(key)] ?? null,
    };
    const { w } = await oauthWorld({ galleries });
    w.fake.addWorkspace('TA', ['CA1']);
    w.fake.addWorkspace('TB', ['CB1']);
    expect((await w.install('TA')).status).toBe(200);
    expect((await w.install('TB')).status).toBe(200);

    const rootA = (await w.command('CA1', 'a red circle', PERSON, 'TA')) as string;
    const rootB = (await w.command('CB1', 'a red circle', PERSON, 'TB')) as string;
    expect(w.botMessages('CA1', rootA).every((m) => m.team === 'TA')).toBe(true);
    expect(w.botMessages('CB1', rootB).every((m) => m.team === 'TB')).toBe(true);
    const matches = async (team: string, channel: string, root: string) =>
      (await w.world.engine.thread(encodeThreadId(team, channel, root)))?.rounds[0]?.matches.map(
        (m) => m.assetId,
      ) ?? [];
    expect((await matches('TA', 'CA1', rootA)).every((id) => id.startsWith('a'))).toBe(true);
    expect((await matches('TB', 'CB1', rootB)).every((id) => id.startsWith('b'))).toBe(true);

    // A message from workspace B naming A's channel and thread is not A's thread: nothing happens.
    await w.say({ channel: 'CA1', threadTs: rootA, text: 'it is blue', team: 'TB' });
    await w.idle();
    expect(w.roundMessages('CA1', rootA)).toHaveLength(1);
    expect(await w.world.engine.thread(encodeThreadId('TB', 'CA1', rootA))).toBeNull();

    // A picture shared in B's thread is downloaded with B's token (A's would not get it).
    const picture = await sharp({
      create: { width: 8, height: 8, channels: 3, background: { r: 200, g: 30, b: 30 } },
    })
      .png()
      .toBuffer();
    const file = w.fake.hostFile('photo.png', 'image/png', picture, { team: 'TB' });
    await w.say({ channel: 'CB1', threadTs: rootB, text: 'like this one', files: [file], team: 'TB' });
    await w.idle();
    expect(w.fake.downloadAuth).toEqual([`Bearer ${w.fake.tokenOf('TB')}`]);
    const causes = (await w.world.engine.thread(encodeThreadId('TB', 'CB1', rootB)))?.rounds.map(
      (r) => r.cause,
    );
    expect(causes).toEqual(['find', 'image']);

    // And the fake holds each token to its workspace, as Slack does.
    const clientA = new webApi.WebClient(w.fake.tokenOf('TA'), {
      slackApiUrl: w.fake.apiUrl,
      retryConfig: { retries: 0 },
    });
    await expect(clientA.chat.postMessage({ channel: 'CB1', text: 'hello' })).rejects.toMatchObject({
      data: { error: 'channel_not_found' },
    });
  });

  it('refuses an install code given to the wrong redirect URL or exchanged with the wrong client credentials', async () => {
    const fake = await FakeSlack.start();
    cleanup.push(() => fake.close());
    fake.addWorkspace('TA');
    const client = new webApi.WebClient(undefined, { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } });
    const { clientId, clientSecret } = fake.identity;
    const exchange = (args: Record<string, string>) =>
      client.oauth.v2.access(args as never).catch((err: { data?: { error?: string } }) => err.data?.error);
    const redirectUri = 'https://genir.example/slack/oauth_redirect';
    expect(
      await exchange({
        client_id: clientId,
        client_secret: clientSecret,
        code: fake.approveInstall('TA', { redirectUri }),
        redirect_uri: 'https://evil.example/slack/oauth_redirect',
      }),
    ).toBe('bad_redirect_uri');
    const code = fake.approveInstall('TA');
    expect(await exchange({ client_id: clientId, client_secret: 'wrong-secret', code })).toBe(
      'bad_client_secret',
    );
    expect(await exchange({ client_id: '1.2', client_secret: clientSecret, code })).toBe('invalid_client_id');
    fake.limits.oauthCodeTtlMs = 0;
    expect(
      await exchange({ client_id: clientId, client_secret: clientSecret, code: fake.approveInstall('TA') }),
    ).toBe('invalid_code');
    fake.limits.oauthCodeTtlMs = 60_000;
    const ok = await client.oauth.v2.access({ client_id: clientId, client_secret: clientSecret, code });
    expect(ok).toMatchObject({
      ok: true,
      token_type: 'bot',
      team: { id: 'TA' },
      enterprise: null,
      is_enterprise_install: false,
      bot_user_id: 'UBTA',
      app_id: fake.identity.appId,
      authed_user: { id: 'UINSTALLER' },
    });
    expect(await exchange({ client_id: clientId, client_secret: clientSecret, code })).toBe('invalid_code');
  });

  it("asks for the manifest's bot scopes, and the manifest names the redirect URL the bot serves", async () => {
    const manifest = await readFile(new URL('../../../slack-manifest.yaml', import.meta.url), 'utf8');
    const bot = manifest.split(/\n\s+bot:\n/)[1]?.split(/\nsettings:/)[0] ?? '';
    const scopes = [...bot.matchAll(/^\s+- ([a-z_:.]+)$/gm)].map((m) => m[1]);
    expect(scopes).toEqual([...BOT_SCOPES]);
    expect(manifest).toMatch(new RegExp(`redirect_urls:\\n\\s+- https://YOUR-HOST${REDIRECT_PATH}\\n`));
  });
});
