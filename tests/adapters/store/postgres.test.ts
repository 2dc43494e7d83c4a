import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { openPostgresStores, PostgresDatabase } from '../../../adapters/store/postgres/index.ts';
import { UserFacingError } from '../../../core/errors.ts';
import { newState, record, storeContract } from '../../contracts/store.ts';
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

  it('gives the threads and transcripts of a version-1 database their tenants when it migrates', async () => {
    await resetDatabase(url);
    const v1 = new pg.Client({ connectionString: url });
    await v1.connect();
    await v1.query(`
      CREATE TABLE genir_schema (version integer NOT NULL);
      INSERT INTO genir_schema (version) VALUES (1);
      CREATE TABLE threads (key text PRIMARY KEY, version integer NOT NULL, status text NOT NULL,
        state jsonb NOT NULL, owner text, created_at bigint NOT NULL, updated_at bigint NOT NULL);
      CREATE TABLE transcripts (thread_key text NOT NULL, round_id text NOT NULL, round_index integer NOT NULL,
        user_hash text NOT NULL, record jsonb NOT NULL, created_at bigint NOT NULL, PRIMARY KEY (thread_key, round_id));
    `);
    const key = 'slack:T1:C1:1.1';
    await v1.query("INSERT INTO threads VALUES ($1, 1, 'active', $2, 'u1', 1, 1)", [
      key,
      JSON.stringify(newState(key)),
    ]);
    await v1.query("INSERT INTO transcripts VALUES ($1, 'r0', 0, 'h1', $2, 1)", [
      key,
      JSON.stringify(record(key, 0, 1)),
    ]);
    await v1.end();
    const migrated = await openPostgresStores(url);
    expect(await migrated.db.schemaVersion()).toBe(PostgresDatabase.latestSchemaVersion);
    expect((await migrated.transcripts.list({ tenant: 'slack:T1' })).map((r) => r.threadKey)).toEqual([key]);
    expect(await migrated.threads.forgetOwner('u1', 'slack:T2')).toEqual([]);
    expect(await migrated.threads.forgetOwner('u1', 'slack:T1')).toEqual([key]);
    await migrated.db.close();
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
