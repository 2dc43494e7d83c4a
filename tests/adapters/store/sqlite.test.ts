import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileRoundImageStore, roundImageRef, safeFileName } from '../../../adapters/store/files.ts';
import { openSqliteStores, SqliteDatabase } from '../../../adapters/store/sqlite/index.ts';
import { InProcessRateWindows } from '../../../core/rate-limit.ts';
import { InProcessInbox, InProcessLocks } from '../../../core/thread-locks.ts';
import { KEY, newState, record, round, storeContract } from '../../contracts/store.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

// SQLite is one instance's store: the lock, inbox and rate windows it runs with are the in-process ones.
storeContract('sqlite', {
  async open({ now, root }) {
    const stores = openSqliteStores(':memory:', { now, root });
    const images = new FileRoundImageStore(join(root, 'rounds'));
    return {
      ...stores,
      images,
      rates: new InProcessRateWindows(now),
      inbox: new InProcessInbox(now),
      locks: new InProcessLocks(),
      close: async () => stores.db.close(),
    };
  },
  tempDir() {
    const d = mkdtempSync(join(tmpdir(), 'genir-sqlite-'));
    dirs.push(d);
    return d;
  },
});

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
