import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { openPostgresStores, PostgresDatabase } from '../../../adapters/store/postgres/index.ts';
import { UserFacingError } from '../../../core/errors.ts';
import { storeContract } from '../../contracts/store.ts';
import { resetDatabase, skipReason, testDatabase } from '../../support/postgres.ts';

const database = await testDatabase();
afterAll(() => database?.drop());

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe.skipIf(!database)(`PostgreSQL store${skipReason ? ` (${skipReason})` : ''}`, () => {
  const url = database?.url as string;

  storeContract('postgres', {
    async open({ now, root }) {
      await resetDatabase(url);
      const stores = await openPostgresStores(url, { now, root, leaseMs: 5000 });
      return { ...stores, close: () => stores.db.close() };
    },
    tempDir() {
      const d = mkdtempSync(join(tmpdir(), 'genir-pg-'));
      dirs.push(d);
      return d;
    },
  });

  it('migrates once when several instances start together, and reopens at the latest version', async () => {
    await resetDatabase(url);
    const dbs = await Promise.all([1, 2, 3].map(() => PostgresDatabase.open(url)));
    for (const db of dbs) expect(await db.schemaVersion()).toBe(PostgresDatabase.latestSchemaVersion);
    await Promise.all(dbs.map((db) => db.close()));
  });

  it('refuses to start on a schema newer than it knows, and says why', async () => {
    await resetDatabase(url);
    const db = await PostgresDatabase.open(url);
    await db.query('UPDATE genir_schema SET version = version + 1');
    await db.close();
    await expect(PostgresDatabase.open(url)).rejects.toThrow(
      /schema at DATABASE_URL is version \d+, newer than/,
    );
  });

  it('names DATABASE_URL (without its password) when the server cannot be reached', async () => {
    const down = 'postgres://genir:secret@127.0.0.1:1/nowhere';
    const opened = PostgresDatabase.open(down, { connectTimeoutMs: 2000 });
    await expect(opened).rejects.toThrow(/could not connect to PostgreSQL at DATABASE_URL/);
    const message = await opened.catch((e: Error) => e.message);
    expect(message).toContain('127.0.0.1:1');
    expect(message).not.toContain('secret');
  });

  it('takes over a lock whose holder vanished once its lease has run out', async () => {
    await resetDatabase(url);
    const stores = await openPostgresStores(url, { leaseMs: 5000 });
    // A holder that died without releasing: its row is there, its lease nearly over.
    await stores.db.query(
      "INSERT INTO thread_locks (key, holder, expires_at) VALUES ('web:t', 'dead', clock_timestamp() + interval '300 milliseconds')",
    );
    expect(await stores.locks.held('web:t')).toBe(true);
    const lease = await stores.locks.acquire('web:t');
    expect(await stores.locks.held('web:t')).toBe(true);
    await lease.release();
    expect(await stores.locks.held('web:t')).toBe(false);
    await stores.db.close();
  });

  it('turns a connection lost mid-statement into the "try again" answer, writes nothing, and reconnects', async () => {
    await resetDatabase(url);
    const stores = await openPostgresStores(url);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    // A statement in flight when the server goes away (here: its backend is terminated).
    const inFlight = stores.db
      .query("SELECT pg_sleep(5); INSERT INTO threads VALUES ('web:t', 1, 'active', '{}', null, 1, 1)")
      .catch((e: unknown) => e);
    await vi.waitFor(async () => {
      const { rows } = await admin.query(
        "SELECT 1 FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(5)%'",
      );
      expect(rows).toHaveLength(1);
    });
    await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'genir-chat' AND pid <> pg_backend_pid()",
    );
    const err = await inFlight;
    expect(err).toBeInstanceOf(UserFacingError);
    expect((err as UserFacingError).code).toBe('store-unavailable');
    expect(await stores.threads.load('web:t')).toBeNull();
    const state = {
      key: 'web:t',
      status: 'active' as const,
      rounds: [],
      version: 0,
      createdAt: 1,
      updatedAt: 1,
    };
    expect(await stores.threads.save(state, 0)).toBe(true);
    await admin.end();
    await stores.db.close();
  });
});
