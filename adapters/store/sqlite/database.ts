import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { tenantOf } from '../../../core/tenant.ts';

/**
 * Schema migrations, applied in order on open; `PRAGMA user_version` holds how many have run.
 * Append only: never edit a migration that has shipped. A function runs where SQL alone cannot
 * (filling a new column from core's rules).
 */
const MIGRATIONS: readonly (string | ((c: Database.Database) => void))[] = [
  `
  CREATE TABLE threads (
    key TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    state TEXT NOT NULL,
    owner TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX threads_updated_at ON threads(updated_at);
  CREATE INDEX threads_owner ON threads(owner);

  CREATE TABLE processed_events (
    key TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
  );
  CREATE INDEX processed_events_expires_at ON processed_events(expires_at);

  CREATE TABLE transcripts (
    thread_key TEXT NOT NULL,
    round_id TEXT NOT NULL,
    round_index INTEGER NOT NULL,
    user_hash TEXT NOT NULL,
    record TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (thread_key, round_id)
  );
  CREATE INDEX transcripts_created_at ON transcripts(created_at);
  CREATE INDEX transcripts_user_hash ON transcripts(user_hash);

  CREATE TABLE assets (
    id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    title TEXT NOT NULL,
    width INTEGER,
    height INTEGER,
    caption TEXT,
    hash TEXT,
    mtime INTEGER,
    size_bytes INTEGER,
    added_at INTEGER NOT NULL
  );
  `,
  // 2: tenants (core/tenant.ts) on threads and transcripts; gallery bindings; installations.
  (c) => {
    c.exec(`
      ALTER TABLE threads ADD COLUMN tenant TEXT NOT NULL DEFAULT '';
      ALTER TABLE transcripts ADD COLUMN tenant TEXT NOT NULL DEFAULT '';
      CREATE TABLE gallery_bindings (
        tenant TEXT NOT NULL,
        channel TEXT NOT NULL DEFAULT '',
        gallery TEXT NOT NULL,
        bound_at INTEGER NOT NULL,
        PRIMARY KEY (tenant, channel)
      );
      CREATE TABLE tenants (
        tenant TEXT PRIMARY KEY,
        installation TEXT,
        joined_at INTEGER NOT NULL,
        left_at INTEGER
      );
      CREATE INDEX tenants_left_at ON tenants(left_at);
    `);
    c.function('genir_tenant', { deterministic: true }, (key) => tenantOf(String(key)));
    c.exec(`
      UPDATE threads SET tenant = genir_tenant(key);
      UPDATE transcripts SET tenant = genir_tenant(thread_key);
      CREATE INDEX threads_tenant_owner ON threads(tenant, owner);
      CREATE INDEX transcripts_tenant_user ON transcripts(tenant, user_hash);
    `);
  },
];

export interface SqliteOpenOptions {
  /** How long a writer waits for another connection's lock before failing (ms). */
  busyTimeoutMs?: number;
  readonly?: boolean;
}

/** One SQLite file (or `:memory:`), WAL mode, migrated to the latest schema on open. */
export class SqliteDatabase {
  readonly path: string;
  /** The better-sqlite3 connection, for the store classes built on it. */
  readonly connection: Database.Database;

  private constructor(path: string, connection: Database.Database) {
    this.path = path;
    this.connection = connection;
  }

  /** Open (creating the file and its parent directories) and migrate. `:memory:` for tests. */
  static open(path: string, options: SqliteOpenOptions = {}): SqliteDatabase {
    const inMemory = path === ':memory:' || path === '';
    if (!inMemory && !options.readonly) mkdirSync(dirname(path), { recursive: true });
    const connection = new Database(path, { readonly: options.readonly ?? false });
    try {
      connection.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
      if (!options.readonly) {
        if (!inMemory) connection.pragma('journal_mode = WAL');
        connection.pragma('synchronous = NORMAL');
        migrate(connection);
      }
    } catch (error) {
      connection.close();
      throw error;
    }
    return new SqliteDatabase(path, connection);
  }

  /** Schema version (number of migrations applied). */
  get schemaVersion(): number {
    return this.connection.pragma('user_version', { simple: true }) as number;
  }

  static get latestSchemaVersion(): number {
    return MIGRATIONS.length;
  }

  /** Run fn in one write transaction (BEGIN IMMEDIATE), committing on return. */
  transaction<T>(fn: () => T): T {
    return this.connection.transaction(fn).immediate();
  }

  get isOpen(): boolean {
    return this.connection.open;
  }

  close(): void {
    if (this.connection.open) this.connection.close();
  }
}

function migrate(connection: Database.Database): void {
  const run = connection.transaction(() => {
    // Read inside the write lock, so two processes opening a new file do not both migrate.
    const current = connection.pragma('user_version', { simple: true }) as number;
    if (current > MIGRATIONS.length) {
      throw new Error(
        `database schema version ${current} is newer than this program knows (${MIGRATIONS.length}); upgrade genir-chat`,
      );
    }
    for (let v = current; v < MIGRATIONS.length; v++) {
      const step = MIGRATIONS[v] as string | ((c: Database.Database) => void);
      if (typeof step === 'string') connection.exec(step);
      else step(connection);
      connection.pragma(`user_version = ${v + 1}`);
    }
  });
  run.immediate();
}
