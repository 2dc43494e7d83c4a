import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileRoundImageStore, roundImageRef, safeFileName } from '../../../adapters/store/files.ts';
import {
  openSqliteStores,
  SqliteDatabase,
  SqliteGallery,
  type SqliteStores,
  SqliteThreadStore,
} from '../../../adapters/store/sqlite/index.ts';
import type { TranscriptRecord } from '../../../core/ports.ts';
import type { Round, ThreadState } from '../../../core/types.ts';

const KEY = 'discord:g1:c1:t1';

function round(index: number, overrides: Partial<Round> = {}): Round {
  return {
    id: `r${index}`,
    index,
    cause: index === 0 ? 'find' : 'refine',
    userText: `message ${index}`,
    query: `query ${index}`,
    generated: { generatorId: 'sketch', seed: 7, image: `x/r${index}.png` },
    baseVector: [0.25, -0.5, 1e-7, 0.125],
    encoderId: 'tiny',
    matches: [{ assetId: 'a1', score: 0.9 }],
    feedback: [],
    notes: [],
    timings: { generate: 12 },
    userId: 'u1',
    createdAt: 1000 + index,
    ...overrides,
  };
}

function newState(key = KEY): ThreadState {
  return { key, status: 'active', rounds: [], version: 0, createdAt: 1000, updatedAt: 1000 };
}

function record(
  threadKey: string,
  roundIndex: number,
  createdAt: number,
  label: 0 | 1 = 0,
): TranscriptRecord {
  return {
    threadKey,
    roundId: `r${roundIndex}`,
    roundIndex,
    userHash: 'h',
    message: `m${roundIndex}`,
    query: `q${roundIndex}`,
    generatorId: 'sketch',
    seed: 1,
    syntheticImage: `t/r${roundIndex}.png`,
    encoderId: 'tiny',
    retrieved: [{ assetId: 'a1', score: 0.5 }],
    feedback: [],
    label,
    timings: {},
    createdAt,
  };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'genir-store-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('SqliteDatabase', () => {
  it('creates parent directories, uses WAL and migrates to the latest schema', () => {
    const db = SqliteDatabase.open(join(dir, 'a', 'b', 'genir.db'));
    expect(db.connection.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.connection.pragma('busy_timeout', { simple: true })).toBe(5000);
    expect(db.schemaVersion).toBe(SqliteDatabase.latestSchemaVersion);
    db.close();
    expect(db.isOpen).toBe(false);
    const again = SqliteDatabase.open(join(dir, 'a', 'b', 'genir.db'));
    expect(again.schemaVersion).toBe(SqliteDatabase.latestSchemaVersion);
    again.close();
  });

  it('gives the threads and transcripts of a version-1 database their tenants when it migrates', async () => {
    const path = join(dir, 'v1.db');
    const v1 = new Database(path);
    v1.exec(`
      CREATE TABLE threads (key TEXT PRIMARY KEY, version INTEGER NOT NULL, status TEXT NOT NULL,
        state TEXT NOT NULL, owner TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
      CREATE TABLE transcripts (thread_key TEXT NOT NULL, round_id TEXT NOT NULL, round_index INTEGER NOT NULL,
        user_hash TEXT NOT NULL, record TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (thread_key, round_id));
      CREATE TABLE processed_events (key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
      CREATE TABLE assets (id TEXT PRIMARY KEY, source TEXT NOT NULL, title TEXT NOT NULL, width INTEGER,
        height INTEGER, caption TEXT, hash TEXT, mtime INTEGER, size_bytes INTEGER, added_at INTEGER NOT NULL);
    `);
    const key = 'slack:T1:C1:1.1';
    v1.prepare('INSERT INTO threads VALUES (?, 1, ?, ?, ?, 1, 1)').run(
      key,
      'active',
      JSON.stringify(newState(key)),
      'u1',
    );
    v1.prepare('INSERT INTO transcripts VALUES (?, ?, 0, ?, ?, 1)').run(
      key,
      'r0',
      'h1',
      JSON.stringify(record(key, 0, 1)),
    );
    v1.pragma('user_version = 1');
    v1.close();
    const migrated = openSqliteStores(path);
    expect(migrated.db.schemaVersion).toBe(SqliteDatabase.latestSchemaVersion);
    expect((await migrated.transcripts.list({ tenant: 'slack:T1' })).map((r) => r.threadKey)).toEqual([key]);
    expect(await migrated.threads.forgetOwner('u1', 'slack:T2')).toEqual([]);
    expect(await migrated.threads.forgetOwner('u1', 'slack:T1')).toEqual([key]);
    migrated.db.close();
  });

  it('refuses a database from a newer version of the program', () => {
    const path = join(dir, 'future.db');
    const db = SqliteDatabase.open(path);
    db.connection.pragma(`user_version = ${SqliteDatabase.latestSchemaVersion + 1}`);
    db.close();
    expect(() => SqliteDatabase.open(path)).toThrow(/newer/);
  });
});

describe('SqliteThreadStore', () => {
  let stores: SqliteStores;
  beforeEach(() => {
    stores = openSqliteStores(':memory:');
  });
  afterEach(() => stores.db.close());

  it('saves with compare-and-set: of two saves with the same expected version exactly one wins', async () => {
    const { threads } = stores;
    const a = newState();
    const b = newState();
    const results = await Promise.all([threads.save(a, 0), threads.save(b, 0)]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(a.version).toBe(1);
    expect(b.version).toBe(0);

    const loaded = (await threads.load(KEY))!;
    expect(loaded.version).toBe(1);
    const first = structuredClone(loaded);
    const second = structuredClone(loaded);
    first.rounds.push(round(0));
    second.rounds.push(round(0, { query: 'other' }));
    const [ok1, ok2] = await Promise.all([threads.save(first, 1), threads.save(second, 1)]);
    expect([ok1, ok2]).toEqual([true, false]);
    expect(first.version).toBe(2);
    expect(second.version).toBe(1);
    const now = (await threads.load(KEY))!;
    expect(now.version).toBe(2);
    expect(now.rounds[0]?.query).toBe('query 0');
  });

  it('rejects a stale or unknown expected version', async () => {
    const { threads } = stores;
    const s = newState();
    expect(await threads.save(s, 0)).toBe(true);
    expect(await threads.save(s, 1)).toBe(true);
    expect(await threads.save(s, 1)).toBe(false);
    expect(await threads.save(s, 5)).toBe(false);
    expect(await threads.save(newState('slack:T:C:1.2'), 3)).toBe(false);
    expect(await threads.load('slack:T:C:1.2')).toBeNull();
    expect((await threads.load(KEY))?.version).toBe(2);
  });

  it('forgets every thread a person started in one tenant and no other', async () => {
    const { threads } = stores;
    await threads.save({ ...newState('web:a'), ownerId: 'u1' }, 0);
    await threads.save({ ...newState('web:b'), ownerId: 'u2' }, 0);
    await threads.save({ ...newState('web:c'), ownerId: 'u1' }, 0);
    // The same platform user id in another workspace is another person.
    await threads.save({ ...newState('slack:T2:C:1.1'), ownerId: 'u1' }, 0);
    expect((await threads.forgetOwner('u1', 'local')).sort()).toEqual(['web:a', 'web:c']);
    expect(await threads.load('web:a')).toBeNull();
    expect(await threads.load('web:b')).not.toBeNull();
    expect(await threads.load('slack:T2:C:1.1')).not.toBeNull();
    expect(await threads.forgetOwner('u1', 'local')).toEqual([]);
    expect(await threads.forgetOwner('u1', 'slack:T2')).toEqual(['slack:T2:C:1.1']);
  });

  it('forgets every thread of a tenant and no other', async () => {
    const { threads } = stores;
    await threads.save(newState('slack:T1:C:1.1'), 0);
    await threads.save(newState('slack:T1:D:2.2'), 0);
    await threads.save(newState('slack:T10:C:1.1'), 0);
    await threads.save(newState('discord:1:2:3'), 0);
    expect((await threads.forgetTenant('slack:T1')).sort()).toEqual(['slack:T1:C:1.1', 'slack:T1:D:2.2']);
    expect(await threads.load('slack:T10:C:1.1')).not.toBeNull();
    expect(await threads.load('discord:1:2:3')).not.toBeNull();
  });

  it('deletes a thread', async () => {
    const { threads } = stores;
    await threads.save(newState(), 0);
    await threads.delete(KEY);
    expect(await threads.load(KEY)).toBeNull();
    expect(await threads.save(newState(), 0)).toBe(true);
  });

  it('claims a dedupe key once within its ttl and again after it expires', async () => {
    let now = 1_000_000;
    const db = SqliteDatabase.open(':memory:');
    const threads = new SqliteThreadStore(db, { now: () => now });
    expect(await threads.claimOnce('slack:Ev1', 50)).toBe(true);
    expect(await threads.claimOnce('slack:Ev1', 50)).toBe(false);
    expect(await threads.claimOnce('slack:Ev2', 50)).toBe(true);
    now += 49;
    expect(await threads.claimOnce('slack:Ev1', 50)).toBe(false);
    now += 1;
    expect(await threads.claimOnce('slack:Ev1', 50)).toBe(true);
    expect(await threads.claimOnce('slack:Ev1', 50)).toBe(false);
    now += 1000;
    expect(threads.purgeExpired()).toBe(2);
    expect(db.connection.prepare('SELECT count(*) AS n FROM processed_events').get()).toEqual({ n: 0 });
    db.close();
  });
});

describe('state survives close and reopen of a file database', () => {
  it('keeps threads, transcripts and assets', async () => {
    const path = join(dir, 'data', 'genir.db');
    const first = openSqliteStores(path);
    const state = newState();
    state.rounds.push(round(0), round(1, { feedback: [{ kind: 'picked', assetIds: ['a1'], at: 5 }] }));
    state.status = 'found';
    state.found = { assetId: 'a1', roundId: 'r1', userId: 'u1' };
    expect(await first.threads.save(state, 0)).toBe(true);
    await first.transcripts.put(record(KEY, 0, 10));
    await first.gallery.upsertAssets([{ id: 'a1', source: '/nowhere/a1.png', title: 'Fox' }]);
    expect(await first.threads.claimOnce('ev', 60_000)).toBe(true);
    first.db.close();

    const second = openSqliteStores(path);
    const loaded = await second.threads.load(KEY);
    expect(loaded).toEqual({ ...state, version: 1 });
    expect(loaded?.rounds[0]?.baseVector).toEqual([0.25, -0.5, 1e-7, 0.125]);
    expect(await second.transcripts.list()).toEqual([record(KEY, 0, 10)]);
    expect(await second.gallery.get('a1')).toEqual({ id: 'a1', source: '/nowhere/a1.png', title: 'Fox' });
    expect(await second.threads.claimOnce('ev', 60_000)).toBe(false);
    expect(await second.threads.save(loaded!, 1)).toBe(true);
    second.db.close();
  });

  it('lets two connections to one file see each other and keeps CAS across them', async () => {
    const path = join(dir, 'shared.db');
    const a = openSqliteStores(path);
    const b = openSqliteStores(path);
    expect(await a.threads.save(newState(), 0)).toBe(true);
    expect(await b.threads.save(newState(), 0)).toBe(false);
    const fromB = (await b.threads.load(KEY))!;
    expect(await b.threads.save(fromB, 1)).toBe(true);
    const stale = newState();
    expect(await a.threads.save(stale, 1)).toBe(false);
    a.db.close();
    b.db.close();
  });
});

describe('SqliteTranscriptStore', () => {
  let stores: SqliteStores;
  beforeEach(() => {
    stores = openSqliteStores(':memory:');
  });
  afterEach(() => stores.db.close());

  it('removes the records of one pseudonymous user (in one tenant) or one thread', async () => {
    const { transcripts } = stores;
    await transcripts.put({ ...record('web:a', 0, 1), userHash: 'h1' });
    await transcripts.put({ ...record('web:a', 1, 2), userHash: 'h2' });
    await transcripts.put({ ...record('web:b', 0, 3), userHash: 'h1' });
    await transcripts.put({ ...record('discord:1:2:3', 0, 3), userHash: 'h1' });
    expect(await transcripts.removeUser('h1', 'local')).toBe(2);
    expect((await transcripts.list({ tenant: 'discord:1' })).map((r) => r.userHash)).toEqual(['h1']);
    expect(await transcripts.removeTenant('discord:1')).toBe(1);
    expect((await transcripts.list()).map((r) => r.userHash)).toEqual(['h2']);
    expect(await transcripts.removeThread('web:a')).toBe(1);
    expect(await transcripts.list()).toEqual([]);
  });

  it('upserts, lists by thread and round index, filters by since and thread, removes a round', async () => {
    const { transcripts } = stores;
    const other = 'slack:T:C:1.5';
    await transcripts.put(record(KEY, 1, 200));
    await transcripts.put(record(other, 0, 50));
    await transcripts.put(record(KEY, 0, 100));
    await transcripts.put({
      ...record(KEY, 1, 200),
      label: 1,
      feedback: [{ kind: 'picked', assetIds: ['a1'] }],
    });

    const all = await transcripts.list();
    expect(all.map((r) => [r.threadKey, r.roundIndex])).toEqual([
      [KEY, 0],
      [KEY, 1],
      [other, 0],
    ]);
    expect(all[1]?.label).toBe(1);
    expect(all[1]?.feedback).toEqual([{ kind: 'picked', assetIds: ['a1'] }]);

    expect((await transcripts.list({ since: 100 })).map((r) => r.roundId)).toEqual(['r0', 'r1']);
    expect((await transcripts.list({ since: 101 })).map((r) => r.roundId)).toEqual(['r1']);
    expect((await transcripts.list({ threadKey: other })).map((r) => r.threadKey)).toEqual([other]);
    expect(await transcripts.list({ threadKey: other, since: 51 })).toEqual([]);

    await transcripts.removeRound(KEY, 'r1');
    await transcripts.removeRound(KEY, 'nope');
    expect((await transcripts.list({ threadKey: KEY })).map((r) => r.roundId)).toEqual(['r0']);
    expect(await transcripts.removeThread(other)).toBe(1);
    expect((await transcripts.list()).map((r) => r.threadKey)).toEqual([KEY]);
  });
});

describe('SqliteGallery', () => {
  let stores: SqliteStores;
  beforeEach(() => {
    stores = openSqliteStores(':memory:', { now: () => 42 });
  });
  afterEach(() => stores.db.close());

  it('upserts in one transaction, gets one or many, counts and removes', async () => {
    const { gallery } = stores;
    await gallery.upsertAssets([
      { id: 'a1', source: '/g/a1.png', title: 'Fox', width: 256, height: 128, caption: 'orange fox' },
      { id: 'a2', source: '/g/a2.png', title: 'Owl', hash: 'abc', mtime: 5, sizeBytes: 900 },
      { id: 'a3', source: '/g/a3.png', title: 'Cat' },
    ]);
    expect(await gallery.count()).toBe(3);
    expect(await gallery.get('a1')).toEqual({
      id: 'a1',
      source: '/g/a1.png',
      title: 'Fox',
      width: 256,
      height: 128,
      caption: 'orange fox',
    });
    expect(await gallery.get('zzz')).toBeNull();

    const many = await gallery.getMany(['a3', 'missing', 'a1', 'a1']);
    expect([...many.keys()].sort()).toEqual(['a1', 'a3']);
    expect(many.get('a3')).toEqual({ id: 'a3', source: '/g/a3.png', title: 'Cat' });
    expect((await gallery.getMany([])).size).toBe(0);

    await gallery.upsertAssets([{ id: 'a2', source: '/g/a2-new.png', title: 'Owl 2', hash: 'def' }]);
    const records = await gallery.all();
    expect(records.map((r) => r.id)).toEqual(['a1', 'a2', 'a3']);
    expect(records[1]).toEqual({
      id: 'a2',
      source: '/g/a2-new.png',
      title: 'Owl 2',
      hash: 'def',
      addedAt: 42,
    });
    expect([...gallery.iterate()].map((r) => r.id)).toEqual(['a1', 'a2', 'a3']);

    expect(await gallery.removeAssets(['a1', 'nope'])).toBe(1);
    expect(await gallery.count()).toBe(2);
  });

  it('rolls back a failed batch as a whole', async () => {
    const { gallery } = stores;
    const bad = { id: 'b2', source: '/g/b2.png', title: null } as unknown as {
      id: string;
      source: string;
      title: string;
    };
    await expect(
      gallery.upsertAssets([{ id: 'b1', source: '/g/b1.png', title: 'ok' }, bad]),
    ).rejects.toThrow();
    expect(await gallery.count()).toBe(0);
  });

  it('reads local files by path, relative path or file URL, and returns null when missing', async () => {
    const bytes = Buffer.from([1, 2, 3, 4]);
    await writeFile(join(dir, 'img.png'), bytes);
    const gallery = new SqliteGallery(stores.db, { root: dir });
    expect(await gallery.read({ id: 'x', source: join(dir, 'img.png'), title: '' })).toEqual(bytes);
    expect(await gallery.read({ id: 'x', source: 'img.png', title: '' })).toEqual(bytes);
    expect(
      await gallery.read({ id: 'x', source: pathToFileURL(join(dir, 'img.png')).href, title: '' }),
    ).toEqual(bytes);
    expect(await gallery.read({ id: 'x', source: join(dir, 'missing.png'), title: '' })).toBeNull();
    expect(await gallery.read({ id: 'x', source: dir, title: '' })).toBeNull();
    expect(await gallery.read({ id: 'x', source: 'https://example.com/a.png', title: '' })).toBeNull();
    expect(await gallery.read({ id: 'x', source: '', title: '' })).toBeNull();
  });
});

describe('FileRoundImageStore', () => {
  const png = Buffer.from('89504e47-fake-png');

  it('writes under a sanitized thread directory and reads back by the returned ref', async () => {
    const images = new FileRoundImageStore(join(dir, 'rounds'));
    const key = 'slack:T1:C/../../etc:1712.0001';
    const ref = await images.put(key, 'r_1', png);
    expect(ref).toBe(roundImageRef(key, 'r_1'));
    expect(ref).toMatch(/^[A-Za-z0-9_-]+\/r_1\.png$/);
    expect(ref.startsWith(safeFileName(key))).toBe(true);
    expect(await images.get(ref)).toEqual(png);
    expect(await images.get(`${safeFileName(key)}/other.png`)).toBeNull();
  });

  it('keeps keys that sanitize alike apart, and makes unsafe round ids safe', async () => {
    const images = new FileRoundImageStore(join(dir, 'rounds'));
    const a = await images.put('web:a:b', 'r1', Buffer.from('a'));
    const b = await images.put('web:a_b', 'r1', Buffer.from('b'));
    expect(a).not.toBe(b);
    expect(await images.get(a)).toEqual(Buffer.from('a'));
    expect(await images.get(b)).toEqual(Buffer.from('b'));
    const weird = await images.put('web:x', '../../evil', png);
    expect(weird).not.toContain('..');
    expect(await images.get(weird)).toEqual(png);
  });

  it('refuses refs that escape the root', async () => {
    const root = join(dir, 'rounds');
    const images = new FileRoundImageStore(root);
    await writeFile(join(dir, 'secret.png'), 'secret');
    await images.put('web:x', 'r1', png);
    for (const ref of ['../secret.png', 'web/../../secret.png', join(dir, 'secret.png'), '', '..', 'a\0b']) {
      await expect(images.get(ref)).rejects.toThrow(/escapes/);
    }
    await symlink(join(dir, 'secret.png'), join(root, 'link.png'));
    await expect(images.get('link.png')).rejects.toThrow(/escapes/);
  });

  it('deletes all images of a thread', async () => {
    const images = new FileRoundImageStore(join(dir, 'rounds'));
    const ref = await images.put('web:gone', 'r1', png);
    await images.deleteThread('web:gone');
    expect(await images.get(ref)).toBeNull();
  });
});

describe('SqliteGalleryBindingStore', () => {
  let stores: SqliteStores;
  beforeEach(() => {
    stores = openSqliteStores(':memory:', { now: () => 42 });
  });
  afterEach(() => stores.db.close());

  it("answers a channel's binding before its tenant's, and never another tenant's", async () => {
    const { bindings } = stores;
    await bindings.bind({ tenant: 'slack:T1', channel: null, gallery: 'brand' });
    await bindings.bind({ tenant: 'slack:T1', channel: 'C9', gallery: 'photos' });
    expect(await bindings.lookup('slack:T1', 'C1')).toBe('brand');
    expect(await bindings.lookup('slack:T1')).toBe('brand');
    expect(await bindings.lookup('slack:T1', 'C9')).toBe('photos');
    expect(await bindings.lookup('slack:T2', 'C9')).toBeNull();
    await bindings.bind({ tenant: 'slack:T1', channel: null, gallery: 'brand-2' });
    expect(await bindings.list()).toEqual([
      { tenant: 'slack:T1', channel: null, gallery: 'brand-2', boundAt: 42 },
      { tenant: 'slack:T1', channel: 'C9', gallery: 'photos', boundAt: 42 },
    ]);
    expect(await bindings.unbind('slack:T1', null)).toBe(true);
    expect(await bindings.unbind('slack:T1', null)).toBe(false);
    expect(await bindings.lookup('slack:T1', 'C1')).toBeNull();
    expect(await bindings.removeTenant('slack:T1')).toBe(1);
    expect(await bindings.list()).toEqual([]);
  });
});

describe('SqliteTenantStore', () => {
  let stores: SqliteStores;
  beforeEach(() => {
    stores = openSqliteStores(':memory:', { now: () => 1000 });
  });
  afterEach(() => stores.db.close());

  it('keeps an installation until the tenant leaves, and finds tenants whose grace period is over', async () => {
    const { tenants } = stores;
    await tenants.joined('slack:T1', { bot: { token: 'xoxb-1' } });
    await tenants.joined('slack:T1');
    expect(await tenants.get('slack:T1')).toEqual({
      tenant: 'slack:T1',
      installation: { bot: { token: 'xoxb-1' } },
      joinedAt: 1000,
      leftAt: null,
    });
    await tenants.left('slack:T1', 5000);
    await tenants.left('slack:T1', 9000);
    expect(await tenants.get('slack:T1')).toMatchObject({ installation: null, leftAt: 5000 });
    expect(await tenants.leftBefore(5000)).toEqual([]);
    expect(await tenants.leftBefore(5001)).toEqual(['slack:T1']);
    await tenants.joined('slack:T1', { bot: { token: 'xoxb-2' } });
    expect(await tenants.get('slack:T1')).toMatchObject({
      installation: { bot: { token: 'xoxb-2' } },
      leftAt: null,
    });
    expect(await tenants.leftBefore(Number.MAX_SAFE_INTEGER)).toEqual([]);
    await tenants.left('discord:7', 10);
    expect(await tenants.leftBefore(11)).toEqual(['discord:7']);
    await tenants.remove('discord:7');
    expect(await tenants.get('discord:7')).toBeNull();
  });
});
