import { resolve } from 'node:path';
import type { Gallery } from '../../../core/ports.ts';
import type { Asset } from '../../../core/types.ts';
import {
  type AssetRow,
  type GalleryAssetRecord,
  readAssetFile,
  toAsset,
  toAssetRow,
  toRecord,
} from '../asset-file.ts';

export type { GalleryAssetRecord } from '../asset-file.ts';

import type { SqliteDatabase } from './database.ts';
import type { SqliteStoreOptions } from './threads.ts';

export interface SqliteGalleryOptions extends SqliteStoreOptions {
  /** Base directory for relative `source` paths (default: the process's working directory). */
  root?: string;
}

/** The gallery's asset metadata (the vectors live in the index); files stay where they are. */
export class SqliteGallery implements Gallery {
  private readonly now: () => number;
  private readonly root: string;
  private readonly statements;
  private readonly upsertMany: (assets: readonly GalleryAssetRecord[]) => void;
  private readonly removeMany: (ids: readonly string[]) => number;

  constructor(db: SqliteDatabase, options: SqliteGalleryOptions = {}) {
    this.now = options.now ?? Date.now;
    this.root = resolve(options.root ?? '.');
    const c = db.connection;
    this.statements = {
      get: c.prepare<[string], AssetRow>('SELECT * FROM assets WHERE id = ?'),
      getMany: c.prepare<[string], AssetRow>(
        'SELECT * FROM assets WHERE id IN (SELECT value FROM json_each(?))',
      ),
      count: c.prepare<[], { n: number }>('SELECT count(*) AS n FROM assets'),
      all: c.prepare<[], AssetRow>('SELECT * FROM assets ORDER BY id'),
      upsert: c.prepare<AssetRow>(
        `INSERT INTO assets (id, source, title, width, height, caption, hash, mtime, size_bytes, added_at)
         VALUES (@id, @source, @title, @width, @height, @caption, @hash, @mtime, @size_bytes, @added_at)
         ON CONFLICT (id) DO UPDATE SET
           source = excluded.source, title = excluded.title, width = excluded.width, height = excluded.height,
           caption = excluded.caption, hash = excluded.hash, mtime = excluded.mtime, size_bytes = excluded.size_bytes`,
      ),
      remove: c.prepare<[string]>('DELETE FROM assets WHERE id = ?'),
    };
    this.upsertMany = c.transaction((assets: readonly GalleryAssetRecord[]) => {
      const addedAt = this.now();
      for (const a of assets) this.statements.upsert.run(toAssetRow(a, addedAt));
    });
    this.removeMany = c.transaction((ids: readonly string[]) => {
      let removed = 0;
      for (const id of ids) removed += this.statements.remove.run(id).changes;
      return removed;
    });
  }

  async get(id: string): Promise<Asset | null> {
    const row = this.statements.get.get(id);
    return row ? toAsset(row) : null;
  }

  async getMany(ids: string[]): Promise<Map<string, Asset>> {
    const out = new Map<string, Asset>();
    if (ids.length === 0) return out;
    for (const row of this.statements.getMany.all(JSON.stringify([...new Set(ids)]))) {
      out.set(row.id, toAsset(row));
    }
    return out;
  }

  async count(): Promise<number> {
    return this.statements.count.get()?.n ?? 0;
  }

  /** The bytes of the asset's local file, or null (see readAssetFile). Never throws. */
  read(asset: Asset): Promise<Buffer | null> {
    return readAssetFile(this.root, asset);
  }

  /** Insert or update assets in one transaction (added_at is kept for existing ids). */
  async upsertAssets(assets: readonly GalleryAssetRecord[]): Promise<void> {
    if (assets.length > 0) this.upsertMany(assets);
  }

  /** Remove assets by id in one transaction; returns how many existed. */
  async removeAssets(ids: readonly string[]): Promise<number> {
    return ids.length > 0 ? this.removeMany(ids) : 0;
  }

  /** Every asset with its indexing fields, ordered by id. */
  async all(): Promise<GalleryAssetRecord[]> {
    return this.statements.all.all().map(toRecord);
  }

  /** Same as all(), one row at a time (for large galleries). Do not write to the db while iterating. */
  *iterate(): IterableIterator<GalleryAssetRecord> {
    for (const row of this.statements.all.iterate()) yield toRecord(row);
  }
}
