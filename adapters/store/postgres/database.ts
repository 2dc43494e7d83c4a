import pg from 'pg';
import { errorText } from '../../../core/error-text.ts';
import { UserFacingError } from '../../../core/errors.ts';
import { tenantOf } from '../../../core/tenant.ts';

type Migration = string | ((c: pg.PoolClient) => Promise<void>);

/**
 * Schema migrations, applied in order at start; the `genir_schema` row holds how many have run.
 * Append only: never edit a migration that has shipped. A function runs where SQL alone cannot
 * (filling a new column from core's rules).
 */
const MIGRATIONS: readonly Migration[] = [
  `
  CREATE TABLE threads (
    key text PRIMARY KEY,
    version integer NOT NULL,
    status text NOT NULL,
    state jsonb NOT NULL,
    owner text,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL
  );
  CREATE INDEX threads_updated_at ON threads (updated_at);
  CREATE INDEX threads_owner ON threads (owner);

  CREATE TABLE processed_events (
    key text PRIMARY KEY,
    expires_at bigint NOT NULL
  );
  CREATE INDEX processed_events_expires_at ON processed_events (expires_at);

  CREATE TABLE transcripts (
    thread_key text NOT NULL,
    round_id text NOT NULL,
    round_index integer NOT NULL,
    user_hash text NOT NULL,
    record jsonb NOT NULL,
    created_at bigint NOT NULL,
    PRIMARY KEY (thread_key, round_id)
  );
  CREATE INDEX transcripts_created_at ON transcripts (created_at);
  CREATE INDEX transcripts_user_hash ON transcripts (user_hash);

  CREATE TABLE assets (
    id text PRIMARY KEY,
    source text NOT NULL,
    title text NOT NULL,
    width integer,
    height integer,
    caption text,
    hash text,
    mtime bigint,
    size_bytes bigint,
    added_at bigint NOT NULL
  );

  CREATE TABLE round_images (
    ref text PRIMARY KEY,
    thread_key text NOT NULL,
    png bytea NOT NULL
  );
  CREATE INDEX round_images_thread_key ON round_images (thread_key);

  CREATE TABLE rate_hits (
    key text NOT NULL,
    at bigint NOT NULL
  );
  CREATE INDEX rate_hits_key_at ON rate_hits (key, at);

  CREATE TABLE thread_locks (
    key text PRIMARY KEY,
    holder text NOT NULL,
    expires_at timestamptz NOT NULL
  );

  CREATE TABLE thread_inbox (
    seq bigserial PRIMARY KEY,
    thread_key text NOT NULL,
    message jsonb NOT NULL,
    accepted_at bigint NOT NULL
  );
  CREATE INDEX thread_inbox_thread_key ON thread_inbox (thread_key, seq);
  `,
  // 2: tenants (core/tenant.ts) on threads and transcripts; gallery bindings; installations.
  async (c) => {
    await c.query(`
      ALTER TABLE threads ADD COLUMN tenant text NOT NULL DEFAULT '';
      ALTER TABLE transcripts ADD COLUMN tenant text NOT NULL DEFAULT '';
      CREATE TABLE gallery_bindings (
        tenant text NOT NULL,
        channel text NOT NULL DEFAULT '',
        gallery text NOT NULL,
        bound_at bigint NOT NULL,
        PRIMARY KEY (tenant, channel)
      );
      CREATE TABLE tenants (
        tenant text PRIMARY KEY,
        installation jsonb,
        joined_at bigint NOT NULL,
        left_at bigint
      );
      CREATE INDEX tenants_left_at ON tenants (left_at);
    `);
    await fillTenants(c, 'threads', 'key');
    await fillTenants(c, 'transcripts', 'thread_key');
    await c.query(`
      CREATE INDEX threads_tenant_owner ON threads (tenant, owner);
      CREATE INDEX transcripts_tenant_user ON transcripts (tenant, user_hash);
    `);
  },
];

/** Sets `tenant` from the thread key (core's tenantOf) on every existing row of the table. */
async function fillTenants(c: pg.PoolClient, table: string, keyColumn: string): Promise<void> {
  const { rows } = await c.query<{ key: string }>(`SELECT DISTINCT ${keyColumn} AS key FROM ${table}`);
  if (rows.length === 0) return;
  const keys = rows.map((r) => r.key);
  await c.query(
    `UPDATE ${table} SET tenant = t.tenant FROM unnest($1::text[], $2::text[]) AS t (key, tenant)
     WHERE ${table}.${keyColumn} = t.key`,
    [keys, keys.map(tenantOf)],
  );
}

/** Any number of migrations run under this advisory lock, so instances starting together do not race. */
const MIGRATION_LOCK = 0x67656e69;

export interface PostgresOptions {
  /** Most connections this process opens (default 10). */
  maxConnections?: number;
  /** A statement running longer than this is cancelled by the server (ms, default 5000). */
  statementTimeoutMs?: number;
  /** How long to wait for a connection, from the pool or the server (ms, default 5000). */
  connectTimeoutMs?: number;
}

/** bigint (int8) columns hold ms timestamps and sequence numbers, all below 2^53: read them as numbers. */
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format as 'text')) as never,
};

/** The database is unreachable or went away: callers say "try again", nothing was written. */
export class DatabaseUnavailableError extends Error {
  override readonly name = 'DatabaseUnavailableError';
}

/** Errors that mean the connection, not the statement, failed. */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (typeof e?.code === 'string') {
    // 08: connection exception; 57P01..57P03: the server is shutting down or starting.
    if (e.code.startsWith('08') || /^57P0[1-3]$/.test(e.code)) return true;
    if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH'].includes(e.code)) {
      return true;
    }
  }
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
    e?.message ?? '',
  );
}

/** One pool on DATABASE_URL, migrated to the latest schema on open. */
export class PostgresDatabase {
  private constructor(readonly pool: pg.Pool) {}

  /**
   * Connects, checks the schema version (refusing a newer one), and migrates. A server that cannot
   * be reached fails with a message naming DATABASE_URL (the password is never repeated).
   */
  static async open(url: string, options: PostgresOptions = {}): Promise<PostgresDatabase> {
    const pool = new pg.Pool({
      connectionString: url,
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      idleTimeoutMillis: 30_000,
      statement_timeout: options.statementTimeoutMs ?? 5000,
      // A query waiting on a lock fails rather than blocking the pool.
      lock_timeout: options.statementTimeoutMs ?? 5000,
      application_name: 'genir-chat',
      types,
    });
    // A connection the server drops must not crash the process: the statement running on it fails
    // (and callers say "try again"), and the pool replaces the connection.
    pool.on('error', () => {});
    pool.on('connect', (client) => client.on('error', () => {}));
    const db = new PostgresDatabase(pool);
    try {
      await db.migrate();
    } catch (err) {
      await pool.end().catch(() => {});
      const cause = err instanceof UserFacingError ? err.cause : err;
      if (isConnectionError(cause) || (cause as { code?: string }).code === '28P01') {
        throw new DatabaseUnavailableError(
          `could not connect to PostgreSQL at DATABASE_URL (${redactUrl(url)}): ${(cause as Error).message}`,
          { cause },
        );
      }
      throw err;
    }
    return db;
  }

  static get latestSchemaVersion(): number {
    return MIGRATIONS.length;
  }

  async schemaVersion(): Promise<number> {
    const { rows } = await this.pool.query<{ version: number }>('SELECT version FROM genir_schema');
    return rows[0]?.version ?? 0;
  }

  /** One statement; a lost or timed-out connection becomes the "try again" answer people read. */
  async query<R extends pg.QueryResultRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(text, params);
    } catch (err) {
      throw unavailable(err);
    }
  }

  /** Runs fn in one transaction on one connection, committing when it returns. */
  async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw unavailable(err);
    }
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw unavailable(err);
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }

  private async migrate(): Promise<void> {
    await this.transaction(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await c.query('CREATE TABLE IF NOT EXISTS genir_schema (version integer NOT NULL)');
      const { rows } = await c.query<{ version: number }>('SELECT version FROM genir_schema');
      const current = rows[0]?.version ?? 0;
      if (rows.length === 0) await c.query('INSERT INTO genir_schema (version) VALUES (0)');
      if (current > MIGRATIONS.length) {
        throw new Error(
          `the PostgreSQL schema at DATABASE_URL is version ${current}, newer than this program knows (${MIGRATIONS.length}); upgrade genir-chat before starting it on this database`,
        );
      }
      for (let v = current; v < MIGRATIONS.length; v++) {
        const step = MIGRATIONS[v] as Migration;
        if (typeof step === 'string') await c.query(step);
        else await step(c);
      }
      await c.query('UPDATE genir_schema SET version = $1', [MIGRATIONS.length]);
    });
  }
}

/** A connection failure or a statement the server cancelled (statement_timeout) as people read it. */
function unavailable(err: unknown): unknown {
  const timedOut = (err as { code?: string }).code === '57014';
  if (!isConnectionError(err) && !timedOut) return err;
  return new UserFacingError('store-unavailable', errorText('store-unavailable'), { cause: err });
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(not a valid URL)';
  }
}
