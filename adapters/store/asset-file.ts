import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Gallery } from '../../core/ports.ts';
import type { Asset } from '../../core/types.ts';

/** An asset as indexers write it: the port's Asset plus what tells them a file changed. */
export interface GalleryAssetRecord extends Asset {
  /** File modification time, ms since the epoch. */
  mtime?: number;
  sizeBytes?: number;
  /** When the asset was first added (set by the store). */
  addedAt?: number;
}

/**
 * The bytes of an asset's local file (absolute path, path relative to `root`, or file: URL). Null
 * when the file is missing or unreadable, and for remote (http/https) sources, which galleries do
 * not fetch. Never throws.
 */
export async function readAssetFile(root: string, asset: Asset): Promise<Buffer | null> {
  const path = localPath(root, asset.source);
  if (!path) return null;
  try {
    return await readFile(path);
  } catch {
    return null;
  }
}

function localPath(root: string, source: string): string | null {
  if (!source) return null;
  if (/^file:/i.test(source)) {
    try {
      return fileURLToPath(source);
    } catch {
      return null;
    }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) return null;
  return isAbsolute(source) ? source : resolve(root, source);
}

/** A gallery whose asset metadata indexers and the demo gallery write (SQLite or PostgreSQL). */
export interface WritableGallery extends Gallery {
  /** Insert or update assets in one transaction (added_at is kept for existing ids). */
  upsertAssets(assets: readonly GalleryAssetRecord[]): Promise<void>;
  /** Remove assets by id in one transaction; returns how many existed. */
  removeAssets(ids: readonly string[]): Promise<number>;
  /** Every asset with its indexing fields, ordered by id. */
  all(): Promise<GalleryAssetRecord[]>;
}

/** An asset as a database row (the same columns in SQLite and PostgreSQL). */
export interface AssetRow {
  id: string;
  source: string;
  title: string;
  width: number | null;
  height: number | null;
  caption: string | null;
  hash: string | null;
  mtime: number | null;
  size_bytes: number | null;
  added_at: number;
}

export function toAssetRow(a: GalleryAssetRecord, addedAt: number): AssetRow {
  return {
    id: a.id,
    source: a.source,
    title: a.title,
    width: a.width ?? null,
    height: a.height ?? null,
    caption: a.caption ?? null,
    hash: a.hash ?? null,
    mtime: a.mtime ?? null,
    size_bytes: a.sizeBytes ?? null,
    added_at: a.addedAt ?? addedAt,
  };
}

export function toAsset(row: AssetRow): Asset {
  const asset: Asset = { id: row.id, source: row.source, title: row.title };
  if (row.width !== null) asset.width = row.width;
  if (row.height !== null) asset.height = row.height;
  if (row.caption !== null) asset.caption = row.caption;
  if (row.hash !== null) asset.hash = row.hash;
  return asset;
}

export function toRecord(row: AssetRow): GalleryAssetRecord {
  const record: GalleryAssetRecord = { ...toAsset(row), addedAt: row.added_at };
  if (row.mtime !== null) record.mtime = row.mtime;
  if (row.size_bytes !== null) record.sizeBytes = row.size_bytes;
  return record;
}
