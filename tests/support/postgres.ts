/**
 * A PostgreSQL database for one test file: on TEST_DATABASE_URL's server (what `.ci/run` starts),
 * else on a throwaway cluster started here when the server binaries are installed. Each file gets
 * its own database, dropped at the end. Null (the tests skip, saying why) only when neither exists
 * and CI_REQUIRE_POSTGRES is unset.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);
const SCRIPT = resolve(import.meta.dirname, '../../scripts/pg-throwaway.sh');

export interface TestDatabase {
  url: string;
  /** Drops the database (and stops the cluster this file started). */
  drop(): Promise<void>;
}

function serverInstalled(): boolean {
  if (process.env.PG_BIN) return existsSync(join(process.env.PG_BIN, 'initdb'));
  const root = '/usr/lib/postgresql';
  return existsSync(root) && readdirSync(root).some((v) => existsSync(join(root, v, 'bin', 'initdb')));
}

/** Why the PostgreSQL tests of this run are skipped, or null when they run. */
export let skipReason: string | null = null;

export async function testDatabase(): Promise<TestDatabase | null> {
  let server = process.env.TEST_DATABASE_URL;
  let stopCluster: (() => Promise<void>) | null = null;
  if (!server) {
    if (!serverInstalled()) {
      skipReason =
        'PostgreSQL tests skipped: no TEST_DATABASE_URL and no PostgreSQL server binaries (apt-get install postgresql, or run .ci/run)';
      if (process.env.CI_REQUIRE_POSTGRES) throw new Error(skipReason);
      console.warn(skipReason);
      return null;
    }
    const { stdout } = await run(SCRIPT, ['start'], { timeout: 120_000 });
    const [dir, url] = stdout.trim().split(' ') as [string, string];
    server = url;
    stopCluster = async () => {
      await run(SCRIPT, ['stop', dir], { timeout: 60_000 });
    };
  }
  const name = `genir_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(server);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: server });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
      await stopCluster?.();
    },
  };
}

/** A fresh, empty database on the same server (for tests that need several). */
export async function resetDatabase(url: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public;');
  await c.end();
}
