import { resolve } from 'node:path';
import type { Asset } from '../../../core/types.ts';
import {
  type AssetRow,
  type GalleryAssetRecord,
  readAssetFile,
  toAsset,
  toAssetRow,
  toRecord,
  type WritableGallery,
} from '../asset-file.ts';
import type { PostgresDatabase } from './database.ts';
import type { PostgresStoreOptions } from './threads.ts';

const COLUMNS = [
  'id',
  'source',
  'title',
  'width',
  'height',
  'caption',
  'hash',
  'mtime',
  'size_bytes',
  'added_at',
] as const;

/** The gallery's asset metadata (the vectors live in the index); files stay where they are. */
export class PostgresGallery implements WritableGallery {
  private readonly now: () => number;
  private readonly root: string;

  constructor(
    private readonly db: PostgresDatabase,
    options: PostgresStoreOptions & { root?: string } = {},
  ) {
    this.now = options.now ?? Date.now;
    this.root = resolve(options.root ?? '.');
  }

  async get(id: string): Promise<Asset | null> {
    const { rows } = await this.db.query<AssetRow>('SELECT * FROM assets WHERE id = $1', [id]);
    return rows[0] ? toAsset(rows[0]) : null;
  }

  async getMany(ids: string[]): Promise<Map<string, Asset>> {
    const out = new Map<string, Asset>();
    if (ids.length === 0) return out;
    const { rows } = await this.db.query<AssetRow>('SELECT * FROM assets WHERE id = ANY($1::text[])', [
      [...new Set(ids)],
    ]);
    for (const row of rows) out.set(row.id, toAsset(row));
    return out;
  }

  async count(): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM assets');
    return rows[0]?.n ?? 0;
  }

  read(asset: Asset): Promise<Buffer | null> {
    return readAssetFile(this.root, asset);
  }

  /** One statement per batch (unnest of column arrays): all rows or none. */
  async upsertAssets(assets: readonly GalleryAssetRecord[]): Promise<void> {
    if (assets.length === 0) return;
    const addedAt = this.now();
    const rows = assets.map((a) => toAssetRow(a, addedAt));
    const columns = COLUMNS.map((c) => rows.map((r) => r[c]));
    await this.db.query(
      `INSERT INTO assets (${COLUMNS.join(', ')})
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int[], $6::text[], $7::text[],
         $8::bigint[], $9::bigint[], $10::bigint[])
       ON CONFLICT (id) DO UPDATE SET
         source = excluded.source, title = excluded.title, width = excluded.width, height = excluded.height,
         caption = excluded.caption, hash = excluded.hash, mtime = excluded.mtime, size_bytes = excluded.size_bytes`,
      columns,
    );
  }

  async removeAssets(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const result = await this.db.query('DELETE FROM assets WHERE id = ANY($1::text[])', [[...ids]]);
    return result.rowCount ?? 0;
  }

  async all(): Promise<GalleryAssetRecord[]> {
    const { rows } = await this.db.query<AssetRow>('SELECT * FROM assets ORDER BY id COLLATE "C"');
    return rows.map(toRecord);
  }
}
