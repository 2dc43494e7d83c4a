import { describe, expect, it } from 'vitest';
import { openSqliteStores } from '../../adapters/store/sqlite/index.ts';
import { TenantGalleries } from '../../bots/galleries.ts';
import { TenantLifecycle } from '../../bots/tenant-lifecycle.ts';
import { errorText } from '../../core/error-text.ts';
import { placeOf, qualifiedUserId, tenantOf } from '../../core/tenant.ts';
import { engineWorld, fakeGallery, RecordingSink } from '../support/engine-world.ts';

const T1 = 'slack:T1:C1:1.1';
const T2 = 'slack:T2:C1:1.1';
const G1 = 'discord:111:21:31';
const G2 = 'discord:222:21:31';

/** Two Slack workspaces and two Discord guilds: galleries "brand" (b…) and "photos" (p…), one guild unbound. */
async function tenantsWorld(options: Parameters<typeof engineWorld>[0] = {}) {
  const state = openSqliteStores(':memory:');
  const opened = new Map(
    await Promise.all(
      [
        ['brand', 'b'],
        ['photos', 'p'],
        ['local', 'l'],
      ].map(async ([name, prefix]) => {
        const g = await fakeGallery(name as string, 30, prefix);
        return [name as string, { ...g, close: async () => {} }] as const;
      }),
    ),
  );
  const open = async (name: string) => {
    const g = opened.get(name);
    if (!g) throw new Error(`gallery ${name} has not been indexed yet`);
    return g;
  };
  const galleries = new TenantGalleries(state.bindings, await open('local'), open);
  await state.bindings.bind({ tenant: 'slack:T1', channel: null, gallery: 'brand' });
  await state.bindings.bind({ tenant: 'slack:T2', channel: null, gallery: 'photos' });
  await state.bindings.bind({ tenant: 'discord:111', channel: null, gallery: 'photos' });
  const w = await engineWorld({ transcripts: 'on', galleries, ...options });
  const as = (key: string, userId: string, text: string, sink: RecordingSink, extra: object = {}) =>
    w.engine.onMessage(
      { key, eventId: `${key}|${userId}|${text}|${Math.random()}`, userId, text, ...extra },
      sink,
    );
  return { ...w, state, galleries, as };
}

const assetsOf = (sink: RecordingSink) => sink.rounds().flatMap((r) => r.tiles.map((t) => t.assetId));

describe('tenants', () => {
  it('reads the tenant and the channel from thread keys, and qualifies user ids by tenant', () => {
    expect(placeOf(T1)).toEqual({ tenant: 'slack:T1', channel: 'C1' });
    expect(tenantOf(G2)).toBe('discord:222');
    expect(tenantOf('web:abcdef')).toBe('local');
    expect(tenantOf('terminal:s1')).toBe('local');
    expect(qualifiedUserId(T1, 'U9')).toBe('slack:T1:U9');
    expect(qualifiedUserId(G1, '42')).toBe('discord:111:42');
    expect(qualifiedUserId('web:abcdef', 'u1')).toBe('web:u1');
  });

  it('each workspace and guild searches only its own gallery; an unbound one is told how to get one', async () => {
    const w = await tenantsWorld();
    const [s1, s2, g1, g2, local] = [0, 1, 2, 3, 4].map(() => new RecordingSink());
    await w.as(T1, 'U1', 'a red circle', s1 as RecordingSink);
    await w.as(T2, 'U1', 'a red circle', s2 as RecordingSink);
    await w.as(G1, '5', 'a red circle', g1 as RecordingSink);
    await w.as(G2, '5', 'a red circle', g2 as RecordingSink);
    await w.as('web:abcdefg', 'u1', 'a red circle', local as RecordingSink);
    expect(assetsOf(s1 as RecordingSink).every((id) => id.startsWith('b'))).toBe(true);
    expect(assetsOf(s2 as RecordingSink).every((id) => id.startsWith('p'))).toBe(true);
    expect(assetsOf(g1 as RecordingSink).every((id) => id.startsWith('p'))).toBe(true);
    expect(assetsOf(local as RecordingSink).every((id) => id.startsWith('l'))).toBe(true);
    expect(assetsOf(s1 as RecordingSink)).toHaveLength(10);
    expect((g2 as RecordingSink).rounds()).toEqual([]);
    expect((g2 as RecordingSink).notices()).toEqual([errorText('no-gallery')]);
    expect(await w.engine.thread(G2)).toBeNull();
  });

  it("a channel's own gallery wins over its workspace's; a bound gallery that cannot open says so", async () => {
    const w = await tenantsWorld();
    await w.state.bindings.bind({ tenant: 'slack:T1', channel: 'C7', gallery: 'photos' });
    const inC7 = new RecordingSink();
    await w.as('slack:T1:C7:2.2', 'U1', 'a blue star', inC7);
    expect(assetsOf(inC7).every((id) => id.startsWith('p'))).toBe(true);
    await w.state.bindings.bind({ tenant: 'slack:T2', channel: null, gallery: 'missing' });
    const broken = new RecordingSink();
    await w.as(T2, 'U1', 'a blue star', broken);
    expect(broken.notices()).toEqual([
      errorText('gallery-unavailable', {
        name: 'missing',
        reason: 'gallery missing has not been indexed yet',
      }),
    ]);
  });

  it('an admin of one tenant is nobody in another; the platform can say who administers it', async () => {
    const asked: string[] = [];
    const admin = {
      status: async (tenant: string) => `status of ${tenant}`,
      export: async (tenant: string) => {
        asked.push(tenant);
        return `exported ${tenant}`;
      },
    };
    const w = await tenantsWorld({ isAdmin: (id) => id === 'slack:T1:UA', admin });
    const sink = new RecordingSink();
    await w.as(T1, 'UA', '/status', sink);
    await w.as(T2, 'UA', '/status', sink);
    await w.as(G1, '7', '/export', sink, { platformAdmin: async () => true });
    await w.as(G2, '7', '/export', sink, { platformAdmin: async () => false });
    expect(sink.notices()).toEqual([
      'status of slack:T1',
      '/status is for admins of this workspace only.',
      'exported discord:111',
      '/export is for admins of this workspace only.',
    ]);
    expect(asked).toEqual(['discord:111']);
  });

  it('forget user and forget by a person reach only their tenant', async () => {
    const w = await tenantsWorld({ isAdmin: (id) => id === 'slack:T1:UA' });
    const sink = new RecordingSink();
    await w.as(T1, 'U1', 'a red circle', sink);
    await w.as(T2, 'U1', 'a red circle', sink);
    await w.as('slack:T1:C2:3.3', 'UA', '/forget user U1', sink);
    expect(sink.notices().at(-1)).toBe('Deleted 1 search and 1 transcript record of user U1.');
    expect(await w.engine.thread(T1)).toBeNull();
    expect(await w.engine.thread(T2)).not.toBeNull();
    await w.as('slack:T2:C2:3.3', 'UA', '/forget user U1', sink);
    expect(sink.notices().at(-1)).toMatch(/^Only admins/);
    await w.as('slack:T2:C2:3.3', 'U1', '/forget', sink);
    expect(await w.engine.thread(T2)).toBeNull();
    expect(await w.deps.transcripts.list()).toEqual([]);
  });

  it("one workspace's rounds do not use up another's allowance", async () => {
    const w = await tenantsWorld({ roundsPerWorkspacePerMinute: 1 });
    const sink = new RecordingSink();
    await w.as(T1, 'U1', 'a red circle', sink);
    expect(await w.engine.tooFast('slack:T1:C9:9.9', 'U2')).toMatch(/Slow down/);
    expect(await w.engine.tooFast(T2, 'U2')).toBeNull();
    expect(await w.engine.tooFast(G1, 'U2')).toBeNull();
  });

  it('a tenant that left keeps its data for the grace period, then loses all of it', async () => {
    let now = 1_000_000;
    const w = await tenantsWorld();
    const lifecycle = new TenantLifecycle(
      {
        tenants: w.state.tenants,
        bindings: w.state.bindings,
        forgetTenant: (t) => w.engine.forgetTenant(t),
        logger: { info() {}, warn() {}, error() {} },
      },
      30,
      () => now,
    );
    const sink = new RecordingSink();
    await w.as(G1, '5', 'a red circle', sink);
    await w.as(G2, '5', 'a red circle', sink);
    await lifecycle.joined('discord:111');
    await lifecycle.left('discord:111');
    now += 29 * 86_400_000;
    expect(await lifecycle.purge()).toEqual([]);
    expect(await w.engine.thread(G1)).not.toBeNull();
    now += 2 * 86_400_000;
    expect(await lifecycle.purge()).toEqual(['discord:111']);
    expect(await w.engine.thread(G1)).toBeNull();
    expect(await w.state.bindings.lookup('discord:111')).toBeNull();
    expect(await w.deps.transcripts.list({ tenant: 'discord:111' })).toEqual([]);
    expect(await w.state.bindings.lookup('slack:T1')).toBe('brand');
  });
});
