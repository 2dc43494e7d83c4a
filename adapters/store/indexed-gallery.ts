/**
 * Where an indexed gallery lives: `DATA_DIR/galleries/<name>/` with
 *   gallery.db     SQLite: the `assets` table (SqliteGallery: id, source, title, width, height,
 *                  hash, mtime, size) plus `index_files` (every file or URL seen → its asset, for
 *                  skip-unchanged, duplicates and prune) and `index_meta`
 *   index.usearch  (+ .wal) or index.exact — the vectors (Pinecone keeps them remotely)
 *   index.lock     held while `genir index` runs
 * A shard of a gallery (`genir index --shard i/n`) is a gallery of its own in
 * `DATA_DIR/galleries/<name>.shard-<i>-of-<n>/`, until `genir index merge <name> --shards n`
 * combines the n of them into `<name>`.
 * Asset ids are content ids (`img-` + 24 hex of the sha256): identical files are one asset, and a
 * moved file keeps its vector.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { SqliteDatabase } from './sqlite/index.ts';

export const GALLERIES_DIR = 'galleries';

export const assetIdForHash = (sha256hex: string): string => `img-${sha256hex.slice(0, 24)}`;

export interface GalleryPaths {
  dir: string;
  db: string;
  lock: string;
  usearch: string;
  exact: string;
}

export function galleryPaths(dir: string): GalleryPaths {
  return {
    dir,
    db: join(dir, 'gallery.db'),
    lock: join(dir, 'index.lock'),
    usearch: join(dir, 'index.usearch'),
    exact: join(dir, 'index.exact'),
  };
}

/** The folder name of shard `index` (1-based) of `count` of gallery `name`. */
export const shardGalleryName = (name: string, index: number, count: number): string =>
  `${name}.shard-${index}-of-${count}`;

/** A folder-safe name for a source: its base name plus a short hash of the absolute path. */
export function galleryNameFor(source: string, cwd = process.cwd()): string {
  const isUrl = /^https?:\/\//i.test(source);
  const absolute = isUrl ? source : resolve(cwd, source);
  const base = (isUrl ? new URL(source).hostname : basename(absolute))
    .toLowerCase()
    .replace(/\.[a-z0-9]+$/, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  const hash = createHash('sha256').update(absolute).digest('hex').slice(0, 8);
  return `${base || 'gallery'}-${hash}`;
}

export function validateGalleryName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name) || name === 'demo') {
    throw new Error(`gallery name "${name}": use letters, digits, '.', '_' or '-' (not "demo")`);
  }
  return name;
}

/**
 * The folder of gallery `value` (GALLERY, a binding, or what `genir index` was given): the gallery
 * of that name when DATA_DIR/galleries/<value> exists, else the gallery already indexed from that
 * folder or list file (whatever name it was given), else the one `genir index <value>` creates.
 */
export async function findGalleryDir(dataDir: string, value: string, cwd = process.cwd()): Promise<string> {
  const root = join(dataDir, GALLERIES_DIR);
  if (isGalleryName(value) && (await exists(join(root, value, 'gallery.db')))) return join(root, value);
  const source = /^https?:\/\//i.test(value) ? value : resolve(cwd, value);
  const indexed = (await listGalleries(dataDir)).find(
    (g) => g.shardOf === null && g.sources.includes(source),
  );
  return indexed ? indexed.dir : join(root, galleryNameFor(value, cwd));
}

const isGalleryName = (value: string) => /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(value);

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

export interface GalleryListing {
  name: string;
  dir: string;
  /** Folders, list files and URLs it was indexed from (absolute). */
  sources: string[];
  assets: number;
  /** Vector index kind and encoder it was built with (null: never completed a run). */
  index: string | null;
  encoder: string | null;
  /** For a shard (`genir index --shard`): the gallery it is a shard of. */
  shardOf: string | null;
}

/** Every gallery under DATA_DIR/galleries, by name; a folder that is no readable gallery is skipped. */
export async function listGalleries(dataDir: string): Promise<GalleryListing[]> {
  const root = join(dataDir, GALLERIES_DIR);
  const names = await readdir(root).catch(() => [] as string[]);
  const listings: GalleryListing[] = [];
  for (const dirName of names.sort()) {
    const dir = join(root, dirName);
    if (!(await exists(join(dir, 'gallery.db')))) continue;
    let db: SqliteDatabase | undefined;
    try {
      db = SqliteDatabase.open(join(dir, 'gallery.db'), { readonly: true });
      const meta = (key: string) =>
        (db as SqliteDatabase).connection
          .prepare<[string], { value: string }>('SELECT value FROM index_meta WHERE key = ?')
          .get(key)?.value ?? null;
      const assets =
        db.connection.prepare<[], { n: number }>('SELECT count(*) AS n FROM assets').get()?.n ?? 0;
      listings.push({
        name: meta('name') ?? dirName,
        dir,
        sources: JSON.parse(meta('sources') ?? '[]') as string[],
        assets,
        index: meta('index'),
        encoder: meta('encoder'),
        shardOf: (JSON.parse(meta('shard') ?? 'null') as { gallery: string } | null)?.gallery ?? null,
      });
    } catch {
      // Not indexed to the end yet (no index_meta table): not a gallery one can search.
    } finally {
      db?.close();
    }
  }
  return listings;
}

/** Take the gallery's lock (one indexer at a time); a lock left by a dead process is taken over. */
export async function acquireLock(path: string): Promise<() => Promise<void>> {
  await mkdir(resolve(path, '..'), { recursive: true });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return async () => {
        await rm(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new Error(`another genir index (pid ${pid}) is indexing this gallery; wait for it or stop it`);
      }
      await rm(path, { force: true });
    }
  }
  throw new Error(`cannot take the lock ${path}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface FileRow {
  /** Absolute path or URL. */
  source: string;
  assetId: string;
  hash: string;
  mtime: number | null;
  size: number | null;
  indexedAt: number;
}

interface Row {
  source: string;
  asset_id: string;
  hash: string;
  mtime: number | null;
  size_bytes: number | null;
  indexed_at: number;
}

const toFileRow = (r: Row): FileRow => ({
  source: r.source,
  assetId: r.asset_id,
  hash: r.hash,
  mtime: r.mtime,
  size: r.size_bytes,
  indexedAt: r.indexed_at,
});

/** The indexer's own tables in the gallery database (created on first use). */
export class IndexedFiles {
  private readonly s;
  private readonly upsertTx: (rows: readonly FileRow[]) => void;
  private readonly removeTx: (sources: readonly string[]) => void;

  constructor(
    private readonly db: SqliteDatabase,
    options: { readonly?: boolean } = {},
  ) {
    const c = db.connection;
    if (!options.readonly)
      c.exec(`
      CREATE TABLE IF NOT EXISTS index_files (
        source TEXT PRIMARY KEY,
        asset_id TEXT NOT NULL,
        hash TEXT NOT NULL,
        mtime INTEGER,
        size_bytes INTEGER,
        indexed_at INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS index_files_asset ON index_files(asset_id);
      CREATE TABLE IF NOT EXISTS index_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `);
    this.s = {
      all: c.prepare<[], Row>('SELECT * FROM index_files'),
      upsert: c.prepare<Row>(
        `INSERT INTO index_files (source, asset_id, hash, mtime, size_bytes, indexed_at)
         VALUES (@source, @asset_id, @hash, @mtime, @size_bytes, @indexed_at)
         ON CONFLICT (source) DO UPDATE SET asset_id = excluded.asset_id, hash = excluded.hash,
           mtime = excluded.mtime, size_bytes = excluded.size_bytes, indexed_at = excluded.indexed_at`,
      ),
      remove: c.prepare<[string]>('DELETE FROM index_files WHERE source = ?'),
      ofAsset: c.prepare<[string], Row>('SELECT * FROM index_files WHERE asset_id = ? ORDER BY source'),
      clear: c.prepare('DELETE FROM index_files'),
      getMeta: c.prepare<[string], { value: string }>('SELECT value FROM index_meta WHERE key = ?'),
      setMeta: c.prepare<[string, string]>(
        'INSERT INTO index_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      ),
    };
    this.upsertTx = c.transaction((rows: readonly FileRow[]) => {
      for (const r of rows) {
        this.s.upsert.run({
          source: r.source,
          asset_id: r.assetId,
          hash: r.hash,
          mtime: r.mtime,
          size_bytes: r.size,
          indexed_at: r.indexedAt,
        });
      }
    });
    this.removeTx = c.transaction((sources: readonly string[]) => {
      for (const s of sources) this.s.remove.run(s);
    });
  }

  all(): FileRow[] {
    return this.s.all.all().map(toFileRow);
  }

  /** Files holding an asset's content, by source. */
  ofAsset(assetId: string): FileRow[] {
    return this.s.ofAsset.all(assetId).map(toFileRow);
  }

  upsert(rows: readonly FileRow[]): void {
    if (rows.length > 0) this.upsertTx(rows);
  }

  remove(sources: readonly string[]): void {
    if (sources.length > 0) this.removeTx(sources);
  }

  clear(): void {
    this.s.clear.run();
  }

  getMeta(key: string): string | null {
    return this.s.getMeta.get(key)?.value ?? null;
  }

  setMeta(key: string, value: string): void {
    this.s.setMeta.run(key, value);
  }

  /** Run fn in one write transaction. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn);
  }
}
