/**
 * The dataset's own image ids beside the content ids of an indexed gallery: table
 * `dataset_images` in the gallery's SQLite file (dataset id → asset id, file, captions), written
 * by `genir dataset import`, read by `genir eval --dataset` and `genir dataset build` so targets
 * can be named as the dataset names them (COCO's 391895, Flickr30k's 1000092795.jpg).
 */
import type { SqliteDatabase } from '../../adapters/store/sqlite/index.ts';

export interface DatasetImage {
  datasetId: string;
  assetId: string;
  file: string;
  captions: string[];
}

interface Row {
  dataset_id: string;
  asset_id: string;
  file: string;
  captions: string;
}

const toImage = (r: Row): DatasetImage => ({
  datasetId: r.dataset_id,
  assetId: r.asset_id,
  file: r.file,
  captions: JSON.parse(r.captions) as string[],
});

export class DatasetImages {
  constructor(private readonly db: SqliteDatabase) {}

  private get c() {
    return this.db.connection;
  }

  /** Creates the tables (write connections only). */
  ensure(): void {
    this.c.exec(`
      CREATE TABLE IF NOT EXISTS dataset_images (
        dataset_id TEXT PRIMARY KEY,
        asset_id TEXT NOT NULL,
        file TEXT NOT NULL,
        captions TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS dataset_images_asset ON dataset_images(asset_id);
      CREATE TABLE IF NOT EXISTS dataset_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `);
  }

  private hasTable(): boolean {
    return (
      this.c.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'dataset_images'").get() !==
      undefined
    );
  }

  /** Replaces the whole mapping (an import is the full list of the dataset's images). */
  replace(images: readonly DatasetImage[], meta: Record<string, unknown>): void {
    this.ensure();
    const insert = this.c.prepare<Row>(
      'INSERT OR REPLACE INTO dataset_images (dataset_id, asset_id, file, captions) VALUES (@dataset_id, @asset_id, @file, @captions)',
    );
    const setMeta = this.c.prepare<[string, string]>(
      'INSERT INTO dataset_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    );
    this.db.transaction(() => {
      this.c.exec('DELETE FROM dataset_images');
      for (const i of images)
        insert.run({
          dataset_id: i.datasetId,
          asset_id: i.assetId,
          file: i.file,
          captions: JSON.stringify(i.captions),
        });
      for (const [k, v] of Object.entries(meta)) setMeta.run(k, JSON.stringify(v));
    });
  }

  /** Every image in import order; [] for a gallery not imported as a dataset. */
  all(): DatasetImage[] {
    if (!this.hasTable()) return [];
    return this.c.prepare<[], Row>('SELECT * FROM dataset_images ORDER BY rowid').all().map(toImage);
  }

  meta(): Record<string, unknown> {
    if (!this.hasTable()) return {};
    const rows = this.c
      .prepare<[], { key: string; value: string }>('SELECT key, value FROM dataset_meta')
      .all();
    return Object.fromEntries(rows.map((r) => [r.key, JSON.parse(r.value)]));
  }
}

/**
 * Target names → asset ids: a dataset id, or an asset id (img-…) as is. Unknown names are
 * returned in `missing`.
 */
export function resolveTargets(
  names: readonly string[],
  images: readonly DatasetImage[],
): { targets: { assetId: string; datasetId: string | null }[]; missing: string[] } {
  const byDatasetId = new Map(images.map((i) => [i.datasetId, i]));
  const byAssetId = new Map(images.map((i) => [i.assetId, i]));
  const targets: { assetId: string; datasetId: string | null }[] = [];
  const missing: string[] = [];
  for (const name of names) {
    const hit = byDatasetId.get(name) ?? byAssetId.get(name);
    if (hit) targets.push({ assetId: hit.assetId, datasetId: hit.datasetId });
    else if (/^img-[0-9a-f]{24}$/.test(name) && images.length === 0)
      targets.push({ assetId: name, datasetId: null });
    else missing.push(name);
  }
  return { targets, missing };
}
